import type { ComplianceEvent } from '../../../shared/compliance/event';
import type { Conference, LobbyEntry, Participant, Role } from '../../../shared/conference/conference';
import { decodeMessageCursor, encodeMessageCursor, messageSortKey } from '../../../shared/conference/message-cursor';
import type {
  AddOutcome,
  ConferenceContent,
  ConferenceMessage,
  ConferenceStore,
  EntryConditions,
  MeetingIndexEntry,
  MeetingIndexPage,
  MessagePage,
  MessageResult,
  PostOutcome,
  ScheduleResult,
} from '../../../shared/conference/ports';
import { meetingIndexEntries, meetingIndexKey } from '../../../shared/conference/meeting-list';
import type { PageFit } from '../../../shared/protocol/frame-fit';
import type { MemoryOutbox } from './compliance';

/** The store's writes, by method name: what `beforeWrite` and `failNext` hook into. */
export type ConferenceWrite =
  | 'schedule'
  | 'commit'
  | 'activate'
  | 'addParticipant'
  | 'addConnection'
  | 'removeParticipant'
  | 'removeConnection'
  | 'setRole'
  | 'postMessage'
  | 'putLobby'
  | 'deleteLobby'
  | 'addContent'
  | 'indexInvitees'
  | 'unindexMeetings'
  | 'purgeContent'
  | 'clearActivation';

interface Hook {
  readonly write: ConferenceWrite;
  readonly run: () => Promise<void> | void;
}

/**
 * The conference store in memory, with DynamoDB's conditions (conference-store-dynamodb.ts) and held to the same
 * contract suite (test/support/contracts/conference-store.contract.ts). Each write's conditions are checked and applied
 * at once (one transaction); every method yields first, so concurrent commands interleave between reads and writes.
 *
 * For race tests: `beforeWrite(write, run)` runs `run` once just before the next write of that kind is decided (a
 * concurrent change slipped in between the command's read and its conditional write); `failNext(write, error)` makes
 * the next write of that kind reject (a throttled or unavailable table) without changing anything.
 */
export class MemoryConferenceStore implements ConferenceStore {
  readonly conferences = new Map<string, Conference>();
  /** `{confId}|{uri}` → the participant item (of whichever activation wrote it last). */
  readonly participantItems = new Map<string, Participant>();
  readonly lobbyItems = new Map<string, LobbyEntry & { readonly confId: string }>();
  /** `{connectionId}|{confId}` → whose link it is (`act#{activationInstance}` or `lobby#{since}`). */
  readonly links = new Map<string, { readonly connectionId: string; readonly confId: string; readonly owner: string }>();
  readonly contentItems = new Map<string, ConferenceContent & { readonly confId: string }>();
  readonly staticSpaces = new Map<string, { readonly confId: string; readonly result: ScheduleResult }>();
  readonly scheduleAnswers = new Map<string, ScheduleResult>();
  /** `{confId}|{activationInstance}|{sort key}` → a meeting IM message. */
  readonly messageItems = new Map<string, ConferenceMessage>();
  /** `{uri}|{clientMsgId}` → what that `conf.message` answered. */
  readonly messageAnswers = new Map<string, MessageResult>();
  /** `{uri}` → `{index key}` → the user's meeting index entry (`MYCONF#{uri}`). */
  readonly meetingIndex = new Map<string, Map<string, MeetingIndexEntry>>();
  /** Writes made, in order (a lost conditional write included), for assertions on what a command tried. */
  readonly writes: ConferenceWrite[] = [];
  private readonly hooks: Hook[] = [];
  private readonly failures: Array<{ readonly write: ConferenceWrite; readonly error: Error }> = [];
  private readonly losses = new Map<ConferenceWrite, number>();

  /** `outbox`: where the events written with joins, leaves and deactivations go (the transactional outbox). */
  constructor(private readonly outbox?: Pick<MemoryOutbox, 'add'>) {}

  beforeWrite(write: ConferenceWrite, run: () => Promise<void> | void): void {
    this.hooks.push({ write, run });
  }

  /** The next `times` conditional writes of that kind lose their race (false, or `notActive`) without changing anything. */
  loseNext(write: 'commit' | 'activate' | 'addParticipant' | 'addConnection' | 'removeParticipant' | 'removeConnection' | 'setRole' | 'postMessage', times = 1): void {
    this.losses.set(write, (this.losses.get(write) ?? 0) + times);
  }

  failNext(write: ConferenceWrite, error: Error = Object.assign(new Error('the table is unavailable'), { name: 'ServiceUnavailable' })): void {
    this.failures.push({ write, error });
  }

  async get(confId: string): Promise<Conference | undefined> {
    await tick();
    return copy(this.conferences.get(confId));
  }

  async schedule(conference: Conference, result: ScheduleResult, clientKey?: string, staticSpace?: { readonly replacing?: string }): Promise<ScheduleResult> {
    await this.writing('schedule');
    const answerKey = clientKey ? `${conference.organizer}|${clientKey}` : undefined;
    const space = this.staticSpaces.get(conference.organizer);
    const answerTaken = answerKey !== undefined && this.scheduleAnswers.has(answerKey);
    const spaceTaken = staticSpace !== undefined && (staticSpace.replacing ? space?.confId !== staticSpace.replacing : space !== undefined);
    if (answerTaken) return copy(this.scheduleAnswers.get(answerKey!))!;
    if (spaceTaken && space) return copy(space.result);
    if (this.conferences.has(conference.confId) || spaceTaken) throw conditionFailed();
    this.conferences.set(conference.confId, copy(conference));
    const [organizerEntry] = meetingIndexEntries(conference);
    if (organizerEntry) this.index(organizerEntry);
    if (staticSpace) this.staticSpaces.set(conference.organizer, { confId: conference.confId, result: copy(result) });
    if (answerKey) this.scheduleAnswers.set(answerKey, copy(result));
    return copy(result);
  }

  async scheduled(organizer: string, clientKey: string): Promise<ScheduleResult | undefined> {
    await tick();
    return copy(this.scheduleAnswers.get(`${organizer}|${clientKey}`));
  }

  async staticSpace(organizer: string): Promise<ScheduleResult | undefined> {
    await tick();
    return copy(this.staticSpaces.get(organizer)?.result);
  }

  async commit(next: Conference, seenVersion: number, events: readonly ComplianceEvent[] = []): Promise<boolean> {
    if (await this.writing('commit')) return false;
    if (this.conferences.get(next.confId)?.stateVersion !== seenVersion) return false;
    this.conferences.set(next.confId, copy(next));
    for (const event of events) this.outbox?.add(copy(event));
    return true;
  }

  async activate(
    next: Conference,
    seenVersion: number,
    participant: Participant,
    connectionId: string,
    joinEvent: ComplianceEvent,
    conditions: Pick<EntryConditions, 'fromLobby'> = {},
  ): Promise<boolean> {
    if (await this.writing('activate')) return false;
    if (this.conferences.get(next.confId)?.stateVersion !== seenVersion) return false;
    if (!this.stillWaiting(next.confId, conditions.fromLobby)) return false;
    this.conferences.set(next.confId, copy(next));
    this.participantItems.set(key(next.confId, participant.uri), copy(participant));
    this.link(connectionId, next.confId, participantLink(participant));
    this.lobbyItems.delete(key(next.confId, participant.uri));
    this.outbox?.add(copy(joinEvent));
    return true;
  }

  async addParticipant(
    confId: string,
    participant: Participant,
    connectionId: string,
    enterprise: boolean,
    joinEvent: ComplianceEvent,
    conditions: EntryConditions = {},
  ): Promise<AddOutcome> {
    if (await this.writing('addParticipant')) return 'notActive';
    const conference = this.conferences.get(confId);
    if (!isActiveInstance(conference, participant.activationInstance)) return 'notActive';
    if (conditions.unlocked && conference.active.locked) return 'notActive';
    if (!this.stillWaiting(confId, conditions.fromLobby)) return 'notWaiting';
    if (this.participantItems.get(key(confId, participant.uri))?.activationInstance === participant.activationInstance) return 'alreadyIn';
    const active = conference.active;
    this.conferences.set(confId, {
      ...conference,
      stateVersion: conference.stateVersion + 1,
      active: {
        ...active,
        lastJoinTime: participant.joinedAt,
        participantCount: active.participantCount + 1,
        enterpriseCount: active.enterpriseCount + (enterprise ? 1 : 0),
        hiddenCount: (active.hiddenCount ?? 0) + (participant.hidden ? 1 : 0),
      },
    });
    this.participantItems.set(key(confId, participant.uri), copy(participant));
    this.link(connectionId, confId, participantLink(participant));
    this.lobbyItems.delete(key(confId, participant.uri));
    this.outbox?.add(copy(joinEvent));
    return 'added';
  }

  async addConnection(confId: string, participant: Participant, connectionId: string, joinEvent: ComplianceEvent): Promise<boolean> {
    if (await this.writing('addConnection')) return false;
    const stored = this.participantItems.get(key(confId, participant.uri));
    if (stored?.activationInstance !== participant.activationInstance) return false;
    this.participantItems.set(key(confId, participant.uri), { ...stored, connectionIds: [...stored.connectionIds, connectionId] });
    this.link(connectionId, confId, participantLink(participant));
    this.outbox?.add(copy(joinEvent));
    return true;
  }

  async removeParticipant(confId: string, participant: Participant, enterprise: boolean, now: number, leaveEvent: ComplianceEvent): Promise<boolean> {
    if (await this.writing('removeParticipant')) return false;
    const conference = this.conferences.get(confId);
    if (!isActiveInstance(conference, participant.activationInstance)) return false;
    const stored = this.participantItems.get(key(confId, participant.uri));
    if (!sameEndpoints(stored, participant) || stored.joinedAt !== participant.joinedAt) return false;
    const active = conference.active;
    this.conferences.set(confId, {
      ...conference,
      stateVersion: conference.stateVersion + 1,
      active: {
        ...active,
        lastLeaveTime: now,
        ...(enterprise ? { lastEnterpriseLeaveTime: now } : {}),
        participantCount: active.participantCount - 1,
        enterpriseCount: active.enterpriseCount - (enterprise ? 1 : 0),
        hiddenCount: (active.hiddenCount ?? 0) - (participant.hidden ? 1 : 0),
      },
    });
    this.participantItems.delete(key(confId, participant.uri));
    for (const connectionId of participant.connectionIds) this.links.delete(key(connectionId, confId));
    this.outbox?.add(copy(leaveEvent));
    return true;
  }

  async removeConnection(confId: string, participant: Participant, connectionId: string): Promise<boolean> {
    if (await this.writing('removeConnection')) return false;
    const stored = this.participantItems.get(key(confId, participant.uri));
    if (!sameEndpoints(stored, participant)) return false;
    this.participantItems.set(key(confId, participant.uri), { ...stored, connectionIds: participant.connectionIds.filter((id) => id !== connectionId) });
    this.links.delete(key(connectionId, confId));
    return true;
  }

  async setRole(confId: string, participant: Participant, role: Role): Promise<boolean> {
    if (await this.writing('setRole')) return false;
    const stored = this.participantItems.get(key(confId, participant.uri));
    if (!sameStay(stored, participant)) return false;
    this.participantItems.set(key(confId, participant.uri), { ...stored, role });
    return true;
  }

  async postMessage(
    message: ConferenceMessage,
    result: MessageResult,
    sender: Pick<Participant, 'uri' | 'activationInstance' | 'joinedAt'>,
    complianceEvent: ComplianceEvent,
    clientMsgId?: string,
  ): Promise<PostOutcome> {
    if (await this.writing('postMessage')) return { kind: 'lost' };
    const answerKey = clientMsgId === undefined ? undefined : key(sender.uri, clientMsgId);
    const earlier = answerKey === undefined ? undefined : this.messageAnswers.get(answerKey);
    if (earlier) return { kind: 'replayed', result: copy(earlier) };
    if (!sameStay(this.participantItems.get(key(message.confId, sender.uri)), sender)) return { kind: 'lost' };
    this.messageItems.set(`${message.confId}|${message.activationInstance}|${messageSortKey(message)}`, copy(message));
    if (answerKey !== undefined) this.messageAnswers.set(answerKey, copy(result));
    this.outbox?.add(copy(complianceEvent));
    return { kind: 'posted' };
  }

  async replayMessage(uri: string, clientMsgId: string): Promise<MessageResult | undefined> {
    await tick();
    return copy(this.messageAnswers.get(key(uri, clientMsgId)));
  }

  async messages(confId: string, activationInstance: string, limit: number, before?: string, fit?: PageFit<ConferenceMessage>): Promise<MessagePage> {
    await tick();
    const prefix = `${confId}|${activationInstance}|`;
    const after = before === undefined ? undefined : prefix + decodeMessageCursor(before);
    const newestFirst = [...this.messageItems.entries()]
      .filter(([itemKey]) => itemKey.startsWith(prefix) && (after === undefined || itemKey < after))
      .sort(([a], [b]) => compare(b, a));
    const all = newestFirst.slice(0, limit).map(([, message]) => copy(message));
    const kept = fit ? fit(all) : all.length;
    const last = all[kept - 1];
    return { messages: all.slice(0, kept), ...(newestFirst.length > kept && last ? { cursor: encodeMessageCursor(messageSortKey(last)) } : {}) };
  }

  async participants(confId: string, activationInstance: string): Promise<Participant[]> {
    await tick();
    return [...this.participantItems.entries()]
      .filter(([itemKey, participant]) => itemKey.startsWith(`${confId}|`) && participant.activationInstance === activationInstance)
      .sort(([a], [b]) => compare(a, b))
      .map(([, participant]) => copy(participant));
  }

  async participant(confId: string, uri: string): Promise<Participant | undefined> {
    await tick();
    return copy(this.participantItems.get(key(confId, uri)));
  }

  async putLobby(confId: string, entry: LobbyEntry): Promise<void> {
    await this.writing('putLobby');
    this.lobbyItems.set(key(confId, entry.uri), { ...copy(entry), confId });
    this.link(entry.connectionId, confId, lobbyLink(entry));
  }

  async deleteLobby(confId: string, entry: LobbyEntry): Promise<boolean> {
    await this.writing('deleteLobby');
    const link = this.links.get(key(entry.connectionId, confId));
    if (!this.stillWaiting(confId, entry) || (link && link.owner !== lobbyLink(entry))) return false;
    this.lobbyItems.delete(key(confId, entry.uri));
    this.links.delete(key(entry.connectionId, confId));
    return true;
  }

  async lobby(confId: string): Promise<LobbyEntry[]> {
    await tick();
    return [...this.lobbyItems.entries()]
      .filter(([itemKey]) => itemKey.startsWith(`${confId}|`))
      .sort(([a], [b]) => compare(a, b))
      .map(([, entry]) => withoutConfId(entry));
  }

  async lobbyEntry(confId: string, uri: string): Promise<LobbyEntry | undefined> {
    await tick();
    const entry = this.lobbyItems.get(key(confId, uri));
    return entry && withoutConfId(entry);
  }

  async conferencesOfConnection(connectionId: string): Promise<string[]> {
    await tick();
    return [...this.links.values()]
      .filter((link) => link.connectionId === connectionId)
      .map((link) => link.confId)
      .sort(compare);
  }

  async conferencesOfOrganizer(uri: string): Promise<string[]> {
    await tick();
    return [...this.conferences.values()]
      .filter((conference) => conference.organizer === uri)
      .map((conference) => conference.confId)
      .sort(compare);
  }

  async indexInvitees(conference: Conference): Promise<void> {
    await this.writing('indexInvitees');
    for (const entry of meetingIndexEntries(conference)) if (entry.role !== 'organizer') this.index(entry);
  }

  async meetingsOf(uri: string, limit: number, after?: string): Promise<MeetingIndexPage> {
    await tick();
    const keys = [...(this.meetingIndex.get(uri)?.keys() ?? [])].sort(compare).reverse().filter((key) => after === undefined || key < after);
    const entries = keys.slice(0, limit).map((key) => copy(this.meetingIndex.get(uri)!.get(key)!));
    const last = entries[entries.length - 1];
    return { entries, ...(keys.length > limit && last ? { next: meetingIndexKey(last) } : {}) };
  }

  async getMany(confIds: readonly string[]): Promise<Map<string, Conference>> {
    await tick();
    return new Map(confIds.flatMap((confId) => (this.conferences.has(confId) ? [[confId, copy(this.conferences.get(confId)!)] as const] : [])));
  }

  async unindexMeetings(uri: string, entries: readonly MeetingIndexEntry[]): Promise<void> {
    await this.writing('unindexMeetings');
    for (const entry of entries) this.meetingIndex.get(uri)?.delete(meetingIndexKey(entry));
  }

  private index(entry: MeetingIndexEntry & { readonly uri: string }): void {
    const { uri, ...stored } = entry;
    const mine = this.meetingIndex.get(uri) ?? new Map<string, MeetingIndexEntry>();
    mine.set(meetingIndexKey(stored), stored);
    this.meetingIndex.set(uri, mine);
  }

  async addContent(confId: string, content: ConferenceContent): Promise<void> {
    await this.writing('addContent');
    this.contentItems.set(`${confId}|${contentOrder(content)}`, { ...copy(content), confId });
  }

  async content(confId: string): Promise<ConferenceContent[]> {
    await tick();
    return [...this.contentItems.entries()]
      .filter(([itemKey]) => itemKey.startsWith(`${confId}|`))
      .sort(([a], [b]) => compare(a, b))
      .map(([, { confId: _confId, ...content }]) => content);
  }

  async purgeContent(confId: string): Promise<void> {
    await this.writing('purgeContent');
    for (const itemKey of [...this.contentItems.keys()]) if (itemKey.startsWith(`${confId}|`)) this.contentItems.delete(itemKey);
  }

  async clearActivation(confId: string, activationInstance: string, participants: readonly Participant[], lobby: readonly LobbyEntry[]): Promise<void> {
    await this.writing('clearActivation');
    const owner = participantLink({ activationInstance });
    for (const itemKey of [...this.messageItems.keys()]) if (itemKey.startsWith(`${confId}|${activationInstance}|`)) this.messageItems.delete(itemKey);
    for (const participant of participants) {
      if (this.participantItems.get(key(confId, participant.uri))?.activationInstance === activationInstance) this.participantItems.delete(key(confId, participant.uri));
      for (const connectionId of participant.connectionIds) if (this.links.get(key(connectionId, confId))?.owner === owner) this.links.delete(key(connectionId, confId));
    }
    for (const entry of lobby) {
      if (this.lobbyItems.get(key(confId, entry.uri))?.since === entry.since) this.lobbyItems.delete(key(confId, entry.uri));
      if (this.links.get(key(entry.connectionId, confId))?.owner === lobbyLink(entry)) this.links.delete(key(entry.connectionId, confId));
    }
  }

  /**
   * Yields (so others interleave), runs a hook waiting for this write, then throws an injected failure, if any.
   * True when the write is to lose its race (`loseNext`).
   */
  private async writing(write: ConferenceWrite): Promise<boolean> {
    await tick();
    this.writes.push(write);
    const hook = this.hooks.findIndex((candidate) => candidate.write === write);
    if (hook >= 0) await this.hooks.splice(hook, 1)[0]!.run();
    const failure = this.failures.findIndex((candidate) => candidate.write === write);
    if (failure >= 0) throw this.failures.splice(failure, 1)[0]!.error;
    const losses = this.losses.get(write) ?? 0;
    if (losses > 0) this.losses.set(write, losses - 1);
    return losses > 0;
  }

  /** No wait named: nothing to check; else that wait (same `since`) is still there. */
  private stillWaiting(confId: string, wait: Pick<LobbyEntry, 'uri' | 'since'> | undefined): boolean {
    return wait === undefined || this.lobbyItems.get(key(confId, wait.uri))?.since === wait.since;
  }

  private link(connectionId: string, confId: string, owner: string): void {
    this.links.set(key(connectionId, confId), { connectionId, confId, owner });
  }
}

function key(first: string, second: string): string {
  return `${first}|${second}`;
}

const participantLink = (participant: Pick<Participant, 'activationInstance'>) => `act#${participant.activationInstance}`;
const lobbyLink = (entry: Pick<LobbyEntry, 'since'>) => `lobby#${entry.since}`;

function contentOrder(content: ConferenceContent): string {
  return `${String(content.addedAt).padStart(15, '0')}#${content.contentId}`;
}

function isActiveInstance(conference: Conference | undefined, activationInstance: string): conference is Conference & { active: NonNullable<Conference['active']> } {
  return conference?.state === 'active' && conference.active?.activationInstance === activationInstance;
}

/** The participant item is still the one read: same activation, same endpoints (in order, as DynamoDB compares lists). */
function sameEndpoints(stored: Participant | undefined, read: Participant): stored is Participant {
  return stored?.activationInstance === read.activationInstance && JSON.stringify(stored.connectionIds) === JSON.stringify(read.connectionIds);
}

/** The participant item is still the stay read: same activation, same join time. */
function sameStay(stored: Participant | undefined, read: Pick<Participant, 'activationInstance' | 'joinedAt'>): stored is Participant {
  return stored?.activationInstance === read.activationInstance && stored.joinedAt === read.joinedAt;
}

function withoutConfId({ confId: _confId, ...entry }: LobbyEntry & { readonly confId: string }): LobbyEntry {
  return entry;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Stored and answered as copies, as a table would: a caller mutating what it read changes nothing stored. */
function copy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function conditionFailed(): Error {
  return Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
