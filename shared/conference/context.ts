import type { Identity } from '../auth/identity';
import { actorOf, type ComplianceEvent } from '../compliance/event';
import type { ComplianceQueue } from '../compliance/ports';
import { type Retry, retryOnConflict } from '../concurrency';
import { ForbiddenError, GoneError, NotFoundError, UnavailableError } from '../errors';
import type { Clock, Connections, DomainEvent, EventDelivery, Timers } from '../ports';
import { decodeKeyCursor, encodeKeyCursor } from '../protocol/cursor';
import { countThatFits, MAX_LIST_ANSWER_BYTES } from '../protocol/frame-fit';
import { type Conference, type ConferenceDurations, isGone, type LeaveReason, type LobbyEntry, type Participant, type RosterEntry } from './conference';
import type { ConferenceEvents } from './events';
import type { ConferenceStore } from './ports';

/**
 * What every part of the conference use cases shares (service.ts composes the parts): the ports, the reads that
 * decide who may do what, delivery to the participants, and the compliance events of joins and leaves.
 */
export interface ConferenceDependencies {
  readonly store: ConferenceStore;
  readonly delivery: Pick<EventDelivery<ConferenceEvents>, 'toConnections'>;
  readonly timers: Timers;
  /** The compliance queue (SPEC §7): what a failed send means is its business (shared/compliance/publisher.ts). */
  readonly compliance: ComplianceQueue;
  /** Liveness of participants' connections (GetConnection): `$disconnect` is best-effort on API Gateway. */
  readonly connections: Pick<Connections, 'status'>;
  readonly clock: Clock;
  readonly durations: ConferenceDurations;
  readonly homeDomain: string;
  /** The web app's address (WEB_APP_URL): join links open it (SPEC §9). Only the functions that make links need it. */
  readonly webAppUrl?: string;
  readonly newId: (prefix: string) => string;
}

/** What a command answers when the conference kept changing under it for every attempt of the retry policy. */
export function conferenceKeptChanging(): UnavailableError {
  return new UnavailableError('the conference kept changing; retry', 200);
}

/**
 * `retryOnConflict` for best-effort work (`$disconnect`, ghost removal): when the attempts run out the work is left
 * as it is, not an error (a later read or timer finds it again). Any other error still propagates.
 */
export async function retryBestEffort(step: () => Promise<void | Retry>): Promise<void> {
  const gaveUp = new Error('gave up');
  await retryOnConflict(step, () => gaveUp).catch((error: unknown) => {
    if (error !== gaveUp) throw error;
  });
}

export class ConferenceContext {
  constructor(readonly deps: ConferenceDependencies) {}

  /** The conference, or 404; 410 once deleted or expired. */
  async load(confId: string): Promise<Conference> {
    const conference = await this.deps.store.get(confId);
    if (!conference) throw new NotFoundError(`no conference ${confId}`);
    if (isGone(conference, this.deps.clock.now(), this.deps.durations)) throw new GoneError(`conference ${confId} has been deleted or has expired`);
    return conference;
  }

  /** The user's participant record of the current activation, if the user is in. */
  async currentParticipant(conference: Conference, uri: string): Promise<Participant | undefined> {
    if (!conference.active || conference.state !== 'active') return undefined;
    const participant = await this.deps.store.participant(conference.confId, uri);
    return participant?.activationInstance === conference.active.activationInstance ? participant : undefined;
  }

  /** Presenters of the active conference, the organizer, or (when `scheduledOk`) a scheduled presenter. */
  async assertPresenter(conference: Conference, caller: Identity, scheduledOk = false): Promise<void> {
    if (caller.uri === conference.organizer) return;
    if (scheduledOk && conference.presenters.includes(caller.uri)) return;
    const participant = await this.currentParticipant(conference, caller.uri);
    if (participant?.role !== 'presenter') throw new ForbiddenError('only presenters may do this');
  }

  async mayReadRoster(conference: Conference, caller: Identity): Promise<boolean> {
    if (caller.uri === conference.organizer || caller.kind === 'admin') return true;
    return (await this.currentParticipant(conference, caller.uri)) !== undefined;
  }

  async toParticipants(conference: Conference, event: DomainEvent<ConferenceEvents>, except: readonly string[] = []): Promise<void> {
    if (!conference.active) return;
    const participants = await this.deps.store.participants(conference.confId, conference.active.activationInstance);
    const connectionIds = participants.flatMap((participant) => participant.connectionIds).filter((id) => !except.includes(id));
    await this.deps.delivery.toConnections(unique(connectionIds), event);
  }

  /** To the presenters of the activation (the people who admit or deny), but `exceptUri` (someone the event is about). */
  async toPresenters(confId: string, activationInstance: string | undefined, event: DomainEvent<ConferenceEvents>, exceptUri?: string): Promise<void> {
    if (activationInstance === undefined) return;
    const participants = await this.deps.store.participants(confId, activationInstance);
    const presenters = participants.filter((participant) => participant.role === 'presenter' && participant.uri !== exceptUri);
    const connectionIds = presenters.flatMap((participant) => participant.connectionIds);
    await this.deps.delivery.toConnections(unique(connectionIds), event);
  }

  /** Tells everyone waiting in the lobby whether a presenter is in now (`lobbyPresenterNews`); `lobby` when already read. */
  async tellLobby(confId: string, presenterPresent: boolean | undefined, lobby?: readonly LobbyEntry[]): Promise<void> {
    if (presenterPresent === undefined) return;
    const waiting = lobby ?? (await this.deps.store.lobby(confId));
    await this.deps.delivery.toConnections(unique(waiting.map((entry) => entry.connectionId)), { event: 'conf.lobbyWait', payload: { confId, presenterPresent } });
  }

  /** Only API Gateway's 410 is "gone": a check that fails otherwise counts as alive. */
  async isAlive(connectionId: string): Promise<boolean> {
    return this.deps.connections.status(connectionId).then(
      (status) => status !== undefined,
      () => true,
    );
  }

  complianceEvent(
    type: 'conf.join' | 'conf.leave',
    actor: Pick<Identity, 'uri' | 'kind' | 'name'>,
    conference: Conference,
    key: string,
    at: number,
    details?: ComplianceEvent['details'],
  ): ComplianceEvent {
    return {
      eventId: `${type}:${conference.confId}:${key}`,
      type,
      actor: actorOf(actor),
      target: { kind: 'conference', id: conference.confId, name: conference.subject },
      at,
      ...(details ? { details } : {}),
    };
  }

  /** A participant's leave, however it happens: one id per activation, participant and join time (item 4); `by`: who ejected them. */
  leaveEvent(conference: Conference, participant: Participant, reason: LeaveReason, at: number, by?: string): ComplianceEvent {
    return this.complianceEvent('conf.leave', participant, conference, `${participant.activationInstance}:${participant.uri}:${participant.joinedAt}`, at, {
      reason,
      ...(by !== undefined ? { by } : {}),
    });
  }

  /**
   * The event is already in the outbox, written with the change: the send is an optimisation. Sent, the outbox
   * item is cleared; not sent, it stays for the export job's sweep. Either way the store keeps one copy per id.
   */
  archive(event: ComplianceEvent): Promise<void> {
    return this.deps.compliance.publishOutboxed(event);
  }
}

export function rosterEntry(participant: Participant): RosterEntry {
  return { uri: participant.uri, name: participant.name, role: participant.role };
}

/** Trusted participants never appear in a roster. */
export function visibleRoster(participants: readonly Participant[]): RosterEntry[] {
  return participants.filter((participant) => !participant.hidden).map(rosterEntry);
}

/** What a roster answer holds besides the roster itself (`conf.get`'s definition and activation, at their caps). */
const ROSTER_ANSWER_RESERVE_BYTES = 8 * 1024;

/** The roster by URI from the cursor on, as much as one frame holds beside the rest of the answer. */
export function rosterPage(roster: readonly RosterEntry[], cursor?: string): { roster: RosterEntry[]; rosterCursor?: string } {
  const after = cursor === undefined ? undefined : decodeKeyCursor(cursor, 'rosterCursor');
  const sorted = [...roster].sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0)).filter((entry) => after === undefined || entry.uri > after);
  const kept = countThatFits(sorted, (entries) => ({ roster: entries }), MAX_LIST_ANSWER_BYTES - ROSTER_ANSWER_RESERVE_BYTES);
  const last = sorted[kept - 1];
  return { roster: sorted.slice(0, kept), ...(kept < sorted.length && last ? { rosterCursor: encodeKeyCursor(last.uri) } : {}) };
}

export function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
