import type { Identity } from '../auth/identity';
import type { ComplianceEvent } from '../compliance/event';
import type { Delivery } from '../connections/delivery';
import { ForbiddenError, GoneError, NotFoundError, UnavailableError } from '../errors';
import type { Clock, Queue, TimerFiring, Timers } from '../ports';
import { serverEvent } from '../protocol/envelope';
import {
  activate,
  AUTOMATIC_RULES,
  type AutomaticRule,
  type Admission,
  type AutoPromote,
  type Conference,
  type ConferenceDurations,
  countsAsEnterprise,
  type DeactivationReason,
  deactivate,
  decideAdmission,
  decideContentPurge,
  decideDeactivationTimer,
  decideExpiry,
  expiryTime,
  isGone,
  isLargeMeeting,
  type LobbyEntry,
  type Participant,
  type PurgeDecision,
  roleFor,
  type RosterEntry,
  withFirstParticipant,
} from './conference';
import type { ConferenceContent, ConferenceStore, ScheduleResult } from './ports';

export const CONTENT_PURGE_RULE = 'conference.contentPurge';
export const EXPIRY_RULE = 'conference.expiry';

export interface ConferenceDependencies {
  readonly store: ConferenceStore;
  readonly delivery: Pick<Delivery, 'toConnections'>;
  readonly timers: Timers;
  readonly complianceQueue: Queue;
  readonly clock: Clock;
  readonly durations: ConferenceDurations;
  readonly homeDomain: string;
  readonly newId: (prefix: string) => string;
}

export interface ScheduleCommand {
  readonly subject: string;
  readonly admission: Admission;
  readonly autoPromote: AutoPromote;
  readonly pstnLobbyBypass: boolean;
  readonly invitees: readonly string[];
  readonly presenters: readonly string[];
  readonly static: boolean;
  readonly expiresAt?: number;
  readonly clientId?: string;
}

export interface UpdateCommand {
  readonly locked?: boolean;
  readonly admission?: Admission;
  readonly autoPromote?: AutoPromote;
  readonly pstnLobbyBypass?: boolean;
}

export type JoinResult =
  | { readonly state: 'joined'; readonly confId: string; readonly role: Participant['role']; readonly activationInstance: string; readonly roster: RosterEntry[] }
  | { readonly state: 'lobby'; readonly confId: string };

export type { RosterEntry } from './conference';

/** How often a command re-reads and retries after losing a race on the conference's version. */
const MAX_ATTEMPTS = 12;

/** A short, growing, jittered pause before a retry, so racing writers spread out. */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * (attempt + 1)));
}

/** The Focus: admission, roster, and the lifecycle of SPEC §4 over the ports. */
export class ConferenceService {
  constructor(private readonly deps: ConferenceDependencies) {}

  async schedule(organizer: Identity, command: ScheduleCommand): Promise<ScheduleResult> {
    if (organizer.kind !== 'enterprise') throw new ForbiddenError('only enterprise users may schedule conferences');
    const confId = this.deps.newId('conf');
    const now = this.deps.clock.now();
    const conference: Conference = {
      confId,
      organizer: organizer.uri,
      subject: command.subject,
      admission: command.admission,
      autoPromote: command.autoPromote,
      pstnLobbyBypass: command.pstnLobbyBypass,
      invitees: unique(command.invitees),
      presenters: unique(command.presenters),
      static: command.static,
      ...(command.expiresAt !== undefined ? { expiresAt: command.expiresAt } : {}),
      createdAt: now,
      state: 'scheduled',
      stateVersion: 1,
    };
    const user = organizer.uri.slice(4, organizer.uri.indexOf('@'));
    const result = { confId, joinUrl: `https://meet.${this.deps.homeDomain}/${encodeURIComponent(user)}/${confId}` };
    return this.deps.store.schedule(conference, result, command.clientId);
  }

  async get(caller: Identity, confId: string) {
    const conference = await this.load(confId);
    const active = conference.active;
    const roster = active && (await this.mayReadRoster(conference, caller)) ? visibleRoster(await this.deps.store.participants(confId, active.activationInstance)) : undefined;
    return {
      confId,
      subject: conference.subject,
      organizer: conference.organizer,
      admission: conference.admission,
      autoPromote: conference.autoPromote,
      pstnLobbyBypass: conference.pstnLobbyBypass,
      static: conference.static,
      expiresAt: conference.static ? undefined : expiryTime(conference, this.deps.durations),
      state: conference.state,
      lastDeactivationReason: conference.lastDeactivationReason,
      active: active && {
        confId,
        activationInstance: active.activationInstance,
        stateVersion: conference.stateVersion,
        locked: active.locked,
        admissionType: active.admission,
        autoPromote: active.autoPromote,
        pstnLobbyBypass: active.pstnLobbyBypass,
        lastEnterpriseLeaveTime: active.lastEnterpriseLeaveTime,
        lastJoinTime: active.lastJoinTime,
        isLargeMeeting: isLargeMeeting(active),
        participantCount: active.participantCount,
      },
      ...(roster ? { roster } : {}),
    };
  }

  async join(identity: Identity, connectionId: string, confId: string): Promise<JoinResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const conference = await this.load(confId);
      const admission = decideAdmission(conference, identity, this.deps.homeDomain);
      if (admission.kind === 'refuse') throw new ForbiddenError(admission.why);
      if (admission.kind === 'lobby') {
        const entry: LobbyEntry = { uri: identity.uri, name: identity.name, kind: identity.kind, connectionId, since: this.deps.clock.now() };
        await this.deps.store.putLobby(confId, entry);
        await this.announceLobby(conference, entry);
        return { state: 'lobby', confId };
      }
      const entered = await this.enter(conference, identity, connectionId);
      if (entered) return entered;
      await backoff(attempt);
    }
    throw new UnavailableError('the conference kept changing; retry', 200);
  }

  async admit(presenter: Identity, confId: string, uri: string): Promise<{ admitted: string }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const conference = await this.load(confId);
      await this.assertPresenter(conference, presenter);
      const entry = await this.deps.store.lobbyEntry(confId, uri);
      if (!entry) throw new NotFoundError(`${uri} is not waiting in the lobby`);
      const entered = await this.enter(conference, { uri: entry.uri, name: entry.name, kind: entry.kind, device: 'desktop' }, entry.connectionId);
      if (!entered) {
        await backoff(attempt);
        continue;
      }
      await this.deps.delivery.toConnections([entry.connectionId], serverEvent('conf.admitted', { confId, role: entered.role, activationInstance: entered.activationInstance }));
      return { admitted: uri };
    }
    throw new UnavailableError('the conference kept changing; retry', 200);
  }

  async deny(presenter: Identity, confId: string, uri: string): Promise<{ denied: string }> {
    const conference = await this.load(confId);
    await this.assertPresenter(conference, presenter);
    const entry = await this.deps.store.lobbyEntry(confId, uri);
    if (!entry) throw new NotFoundError(`${uri} is not waiting in the lobby`);
    await this.deps.store.deleteLobby(confId, entry);
    await this.deps.delivery.toConnections([entry.connectionId], serverEvent('conf.denied', { confId }));
    return { denied: uri };
  }

  async leave(identity: Identity, confId: string): Promise<{ left: boolean }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const conference = await this.load(confId);
      const participant = await this.currentParticipant(conference, identity.uri);
      if (!participant) return { left: false };
      if (await this.removeParticipant(conference, participant)) return { left: true };
      await backoff(attempt);
    }
    throw new UnavailableError('the conference kept changing; retry', 200);
  }

  /** `$disconnect`: the connection leaves its conferences (the user stays in while another device is in). */
  async disconnected(identity: Identity, connectionId: string): Promise<void> {
    for (const confId of await this.deps.store.conferencesOfConnection(connectionId)) {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const conference = await this.deps.store.get(confId);
        if (!conference) break;
        const waiting = await this.deps.store.lobbyEntry(confId, identity.uri);
        if (waiting?.connectionId === connectionId) {
          await this.deps.store.deleteLobby(confId, waiting);
          break;
        }
        const participant = await this.currentParticipant(conference, identity.uri);
        if (!participant?.connectionIds.includes(connectionId)) break;
        const done =
          participant.connectionIds.length === 1
            ? await this.removeParticipant(conference, participant)
            : await this.deps.store.removeConnection(confId, participant, connectionId);
        if (done) break;
        await backoff(attempt);
      }
    }
  }

  async update(caller: Identity, confId: string, command: UpdateCommand) {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const conference = await this.load(confId);
      await this.assertPresenter(conference, caller, true);
      if (command.locked !== undefined && !conference.active) throw new GoneError('only an active conference can be locked or unlocked');
      const policy = {
        admission: command.admission ?? conference.admission,
        autoPromote: command.autoPromote ?? conference.autoPromote,
        pstnLobbyBypass: command.pstnLobbyBypass ?? conference.pstnLobbyBypass,
      };
      const next: Conference = {
        ...conference,
        ...policy,
        stateVersion: conference.stateVersion + 1,
        ...(conference.active ? { active: { ...conference.active, ...policy, locked: command.locked ?? conference.active.locked } } : {}),
      };
      if (!(await this.deps.store.commit(next, conference.stateVersion))) continue;
      if (next.active) {
        const payload = { confId, stateVersion: next.stateVersion, locked: next.active.locked, ...policy };
        await this.toParticipants(next, serverEvent('conf.updated', payload));
      }
      return { confId, stateVersion: next.stateVersion, locked: next.active?.locked ?? false, ...policy };
    }
    throw new UnavailableError('the conference kept changing; retry', 200);
  }

  /** A presenter ends the meeting: everyone is removed at once. */
  async end(caller: Identity, confId: string): Promise<{ deactivated: boolean }> {
    const conference = await this.load(confId);
    await this.assertPresenter(conference, caller);
    return { deactivated: await this.deactivateNow(confId, 'ended') };
  }

  /** The organizer deletes it: deactivated at once, then deleted (410 from then on). */
  async delete(caller: Identity, confId: string): Promise<{ deleted: boolean }> {
    const conference = await this.load(confId);
    if (conference.organizer !== caller.uri) throw new ForbiddenError('only the organizer may delete the conference');
    await this.deleteConference(confId, 'deleted');
    return { deleted: true };
  }

  /** An administrator deletes a user's account: each conference the user organizes is deactivated and deleted. */
  async deleteUser(caller: Identity, uri: string): Promise<{ conferences: number }> {
    if (caller.kind !== 'admin') throw new ForbiddenError('only administrators may delete users');
    const confIds = await this.deps.store.conferencesOfOrganizer(uri.toLowerCase());
    for (const confId of confIds) await this.deleteConference(confId, 'organizerDeleted');
    return { conferences: confIds.length };
  }

  async addContent(caller: Identity, confId: string, content: Pick<ConferenceContent, 'title' | 'kind' | 'body'>): Promise<ConferenceContent> {
    const conference = await this.load(confId);
    await this.assertPresenter(conference, caller);
    const added: ConferenceContent = { ...content, contentId: this.deps.newId('content'), addedBy: caller.uri, addedAt: this.deps.clock.now() };
    await this.deps.store.addContent(confId, added);
    return added;
  }

  async listContent(caller: Identity, confId: string): Promise<{ content: ConferenceContent[] }> {
    const conference = await this.load(confId);
    if (!(await this.mayReadRoster(conference, caller))) throw new ForbiddenError('only participants and the organizer see meeting content');
    return { content: await this.deps.store.content(confId) };
  }

  /** A deactivation rule's timer: subject `{confId}/{activationInstance}`. */
  async onDeactivationTimer(rule: AutomaticRule, firing: TimerFiring): Promise<'acted' | 'rearmed' | 'ignored'> {
    const [confId, activationInstance] = splitSubject(firing.subject);
    const conference = await this.deps.store.get(confId);
    const decision = decideDeactivationTimer(conference, rule, activationInstance, this.deps.clock.now(), this.deps.durations);
    if (decision.kind === 'ignore') return 'ignored';
    if (decision.kind === 'rearm') {
      await this.deps.timers.arm({ rule: AUTOMATIC_RULES[rule], subject: firing.subject, version: conference!.stateVersion, at: decision.at });
      return 'rearmed';
    }
    const stillHolds = (current: Conference) =>
      decideDeactivationTimer(current, rule, activationInstance, this.deps.clock.now(), this.deps.durations).kind === 'deactivate';
    return (await this.deactivateNow(confId, decision.reason, stillHolds)) ? 'acted' : 'ignored';
  }

  /** Content purge: subject `{confId}/{deactivatedAt}`. */
  async onContentPurgeTimer(firing: TimerFiring): Promise<'acted' | 'rearmed' | 'ignored'> {
    const [confId, deactivatedAt] = splitSubject(firing.subject);
    const conference = await this.deps.store.get(confId);
    const decision = decideContentPurge(conference, Number(deactivatedAt), this.deps.clock.now(), this.deps.durations);
    return this.purgeOrRearm(conference, decision, CONTENT_PURGE_RULE, firing.subject);
  }

  /** Expiry: subject `{confId}`. */
  async onExpiryTimer(firing: TimerFiring): Promise<'acted' | 'rearmed' | 'ignored'> {
    const conference = await this.deps.store.get(firing.subject);
    const decision = decideExpiry(conference, this.deps.clock.now(), this.deps.durations);
    return this.purgeOrRearm(conference, decision, EXPIRY_RULE, firing.subject, true);
  }

  private async purgeOrRearm(
    conference: Conference | undefined,
    decision: PurgeDecision,
    rule: string,
    subject: string,
    markDeleted = false,
  ): Promise<'acted' | 'rearmed' | 'ignored'> {
    if (decision.kind === 'ignore' || !conference) return 'ignored';
    if (decision.kind === 'rearm') {
      await this.deps.timers.arm({ rule, subject, version: conference.stateVersion, at: decision.at });
      return 'rearmed';
    }
    await this.deps.store.purgeContent(conference.confId);
    const now = this.deps.clock.now();
    const next: Conference = { ...conference, stateVersion: conference.stateVersion + 1, contentPurgedAt: now, ...(markDeleted ? { state: 'deleted' as const } : {}) };
    // A join that reactivated it meanwhile wins; the content is gone either way, as the rule said at the read.
    await this.deps.store.commit(next, conference.stateVersion);
    return 'acted';
  }

  /** Enters a participant (activating the conference if needed); undefined when a race was lost. */
  private async enter(conference: Conference, identity: Identity, connectionId: string) {
    const now = this.deps.clock.now();
    const enterprise = countsAsEnterprise(identity, this.deps.homeDomain);
    const activating = conference.state !== 'active' || !conference.active;
    const activated = activating ? activate(conference, this.deps.newId('act'), now) : conference;
    const active = activated.active!;
    const participant: Participant = {
      uri: identity.uri,
      name: identity.name,
      kind: identity.kind,
      role: roleFor(conference, identity, this.deps.homeDomain),
      joinedAt: now,
      activationInstance: active.activationInstance,
      connectionIds: [connectionId],
      hidden: identity.kind === 'application',
    };
    let newcomer = true;
    let role = participant.role;
    if (activating) {
      // Arm first: a failed arm then leaves nothing active without its timers (a retry would find it active and
      // never arm them); if the activation below loses, these timers name an activation that never was and are ignored.
      await this.armActivationTimers(activated);
      if (!(await this.deps.store.activate(withFirstParticipant(activated, enterprise), conference.stateVersion, participant, connectionId))) return undefined;
    } else {
      const outcome = await this.deps.store.addParticipant(conference.confId, participant, connectionId, enterprise);
      if (outcome === 'notActive') return undefined;
      if (outcome === 'alreadyIn') {
        // Another endpoint of someone already in: same participant, same role, counted once.
        const existing = await this.currentParticipant(conference, identity.uri);
        if (!existing) return undefined;
        if (!existing.connectionIds.includes(connectionId) && !(await this.deps.store.addConnection(conference.confId, existing, connectionId))) return undefined;
        newcomer = false;
        role = existing.role;
      }
    }
    const roster = visibleRoster(await this.deps.store.participants(conference.confId, active.activationInstance));
    if (newcomer && !participant.hidden) {
      await this.toParticipants(activated, serverEvent('conf.roster', { confId: conference.confId, change: 'joined', participant: rosterEntry({ ...participant, role }) }), [connectionId]);
    }
    if (role === 'presenter') {
      for (const entry of await this.deps.store.lobby(conference.confId)) {
        await this.deps.delivery.toConnections([connectionId], serverEvent('conf.lobby', { confId: conference.confId, uri: entry.uri, name: entry.name, kind: entry.kind }));
      }
    }
    await this.archive('conf.join', identity, conference, `${active.activationInstance}:${identity.uri}:${connectionId}`, now);
    return { state: 'joined' as const, confId: conference.confId, role, activationInstance: active.activationInstance, roster };
  }

  /** True when the participant was removed; false when a race was lost (the caller re-reads). */
  private async removeParticipant(conference: Conference, participant: Participant): Promise<boolean> {
    const now = this.deps.clock.now();
    const enterprise = countsAsEnterprise(participant, this.deps.homeDomain);
    if (!(await this.deps.store.removeParticipant(conference.confId, participant, enterprise, now))) return false;
    // The timers a leave starts, read from the counters after it: the empty rule and the 90-minute rule.
    const after = await this.deps.store.get(conference.confId);
    const active = after?.active;
    if (after && active && active.activationInstance === participant.activationInstance) {
      const subject = `${conference.confId}/${participant.activationInstance}`;
      if (active.participantCount === 0) {
        await this.deps.timers.arm({ rule: AUTOMATIC_RULES.empty, subject, version: after.stateVersion, at: now + this.deps.durations.emptyGraceMs });
      }
      if (enterprise && active.enterpriseCount === 0) {
        await this.deps.timers.arm({ rule: AUTOMATIC_RULES.noEnterprise, subject, version: after.stateVersion, at: now + this.deps.durations.noEnterpriseMs });
      }
      if (!participant.hidden) {
        await this.toParticipants(after, serverEvent('conf.roster', { confId: conference.confId, change: 'left', participant: rosterEntry(participant) }));
      }
    }
    await this.archive('conf.leave', participant, conference, `${participant.activationInstance}:${participant.uri}:${now}`, now);
    return true;
  }

  /** At activation: the 90-minute rule counts from activation until an enterprise user joins; the 24-hour rule from the last join. */
  private async armActivationTimers(conference: Conference): Promise<void> {
    const active = conference.active!;
    const subject = `${conference.confId}/${active.activationInstance}`;
    await Promise.all([
      this.deps.timers.arm({ rule: AUTOMATIC_RULES.noEnterprise, subject, version: conference.stateVersion, at: active.activatedAt + this.deps.durations.noEnterpriseMs }),
      this.deps.timers.arm({ rule: AUTOMATIC_RULES.inactivity, subject, version: conference.stateVersion, at: active.activatedAt + this.deps.durations.noJoinMs }),
    ]);
  }

  /**
   * Deactivates the active conference (only `activationInstance`'s, when given): every participant and
   * waiting user is removed with `conf.deactivated`, and the content purge and expiry clocks start.
   */
  private async deactivateNow(confId: string, reason: DeactivationReason, stillHolds: (conference: Conference) => boolean = () => true): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const conference = await this.deps.store.get(confId);
      const active = conference?.active;
      if (!conference || !active || conference.state !== 'active') return false;
      // A rule decided on an earlier read is decided again on this one: a join may have come in between.
      if (!stillHolds(conference)) return false;
      const [participants, lobby] = await Promise.all([this.deps.store.participants(confId, active.activationInstance), this.deps.store.lobby(confId)]);
      const now = this.deps.clock.now();
      const next = deactivate(conference, reason, now);
      if (!(await this.deps.store.commit(next, conference.stateVersion))) {
        await backoff(attempt);
        continue;
      }
      const connectionIds = [...participants.flatMap((participant) => participant.connectionIds), ...lobby.map((entry) => entry.connectionId)];
      await this.deps.delivery.toConnections(unique(connectionIds), serverEvent('conf.deactivated', { confId, reason, activationInstance: active.activationInstance }));
      await this.deps.store.clearActivation(confId, participants, lobby);
      if (next.state === 'deactivated') {
        await this.deps.timers.arm({ rule: CONTENT_PURGE_RULE, subject: `${confId}/${now}`, version: next.stateVersion, at: now + this.deps.durations.contentGraceMs });
        if (!next.static) await this.deps.timers.arm({ rule: EXPIRY_RULE, subject: confId, version: next.stateVersion, at: expiryTime(next, this.deps.durations) });
      }
      return true;
    }
    throw new UnavailableError('the conference kept changing; retry', 200);
  }

  private async deleteConference(confId: string, reason: 'deleted' | 'organizerDeleted'): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const conference = await this.deps.store.get(confId);
      if (!conference || conference.state === 'deleted') return;
      if (conference.state === 'active') {
        await this.deactivateNow(confId, reason);
      } else if (!(await this.deps.store.commit({ ...conference, state: 'deleted', stateVersion: conference.stateVersion + 1 }, conference.stateVersion))) {
        continue;
      }
      await this.deps.store.purgeContent(confId);
      return;
    }
    throw new UnavailableError('the conference kept changing; retry', 200);
  }

  private async announceLobby(conference: Conference, entry: LobbyEntry): Promise<void> {
    await this.deps.delivery.toConnections([entry.connectionId], serverEvent('conf.lobbyWait', { confId: conference.confId }));
    if (!conference.active) return;
    const presenters = (await this.deps.store.participants(conference.confId, conference.active.activationInstance)).filter((p) => p.role === 'presenter');
    const event = serverEvent('conf.lobby', { confId: conference.confId, uri: entry.uri, name: entry.name, kind: entry.kind });
    await this.deps.delivery.toConnections(presenters.flatMap((p) => p.connectionIds), event);
  }

  private async toParticipants(conference: Conference, event: unknown, except: readonly string[] = []): Promise<void> {
    if (!conference.active) return;
    const participants = await this.deps.store.participants(conference.confId, conference.active.activationInstance);
    const connectionIds = participants.flatMap((participant) => participant.connectionIds).filter((id) => !except.includes(id));
    await this.deps.delivery.toConnections(unique(connectionIds), event);
  }

  private async currentParticipant(conference: Conference, uri: string): Promise<Participant | undefined> {
    if (!conference.active || conference.state !== 'active') return undefined;
    const participant = await this.deps.store.participant(conference.confId, uri);
    return participant?.activationInstance === conference.active.activationInstance ? participant : undefined;
  }

  /** Presenters of the active conference, the organizer, or (when `scheduledOk`) a scheduled presenter. */
  private async assertPresenter(conference: Conference, caller: Identity, scheduledOk = false): Promise<void> {
    if (caller.uri === conference.organizer) return;
    if (scheduledOk && conference.presenters.includes(caller.uri)) return;
    const participant = await this.currentParticipant(conference, caller.uri);
    if (participant?.role !== 'presenter') throw new ForbiddenError('only presenters may do this');
  }

  private async mayReadRoster(conference: Conference, caller: Identity): Promise<boolean> {
    if (caller.uri === conference.organizer || caller.kind === 'admin') return true;
    return (await this.currentParticipant(conference, caller.uri)) !== undefined;
  }

  private async archive(type: 'conf.join' | 'conf.leave', actor: Pick<Identity, 'uri' | 'kind' | 'name'>, conference: Conference, key: string, at: number) {
    const event: ComplianceEvent = {
      eventId: `${type}:${conference.confId}:${key}`,
      type,
      actor: { uri: actor.uri, kind: actor.kind, name: actor.name },
      target: { kind: 'conference', id: conference.confId, name: conference.subject },
      at,
    };
    try {
      await this.deps.complianceQueue.send(event);
    } catch {
      throw new UnavailableError('the change is made but not yet archived; retry', 1000);
    }
  }

  private async load(confId: string): Promise<Conference> {
    const conference = await this.deps.store.get(confId);
    if (!conference) throw new NotFoundError(`no conference ${confId}`);
    if (isGone(conference, this.deps.clock.now(), this.deps.durations)) throw new GoneError(`conference ${confId} has been deleted or has expired`);
    return conference;
  }
}

function rosterEntry(participant: Participant): RosterEntry {
  return { uri: participant.uri, name: participant.name, role: participant.role };
}

/** Trusted participants never appear in a roster. */
function visibleRoster(participants: readonly Participant[]): RosterEntry[] {
  return participants.filter((participant) => !participant.hidden).map(rosterEntry);
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function splitSubject(subject: string): [string, string] {
  const slash = subject.indexOf('/');
  return slash < 0 ? [subject, ''] : [subject.slice(0, slash), subject.slice(slash + 1)];
}
