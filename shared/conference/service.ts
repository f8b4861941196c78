import type { Identity } from '../auth/identity';
import type { ComplianceEvent } from '../compliance/event';
import type { ComplianceOutbox } from '../compliance/ports';
import type { Delivery } from '../connections/delivery';
import { BadRequestError, ForbiddenError, GoneError, NotFoundError, UnavailableError } from '../errors';
import type { Clock, Connections, Queue, TimerFiring, Timers } from '../ports';
import { serverEvent } from '../protocol/envelope';
import { countThatFits, MAX_LIST_ANSWER_BYTES } from '../protocol/frame-fit';
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
  type LeaveReason,
  type LobbyEntry,
  type Participant,
  type PurgeDecision,
  rearmVersion,
  roleFor,
  type RosterEntry,
  ruleDeadline,
  visibleParticipantCount,
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
  /** Where each join's and leave's event waits, written with the change, until it is on the queue (SPEC §7). */
  readonly complianceOutbox: Pick<ComplianceOutbox, 'clear'>;
  /** Liveness of participants' connections (GetConnection): `$disconnect` is best-effort on API Gateway. */
  readonly connections: Pick<Connections, 'status'>;
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
  /** With `static`: the user's meeting space gets a new id; the old one is deleted (410). */
  readonly reset?: boolean;
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
  | {
      readonly state: 'joined';
      readonly confId: string;
      readonly role: Participant['role'];
      readonly activationInstance: string;
      readonly roster: RosterEntry[];
      /** The roster is cut to one frame (by URI); `conf.get {confId, rosterCursor}` reads the rest. */
      readonly rosterCursor?: string;
    }
  | { readonly state: 'lobby'; readonly confId: string };

export type { RosterEntry } from './conference';

/** Participants whose connections are checked at once when looking for ghosts. */
const LIVENESS_CONCURRENCY = 25;

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
    if (command.reset && !command.static) throw new BadRequestError("'reset' applies to the static meeting space only (static: true)");
    if (!command.static) return this.scheduleConference(organizer, command);
    // A user has one static meeting space (Lync's "my meeting space"): the same id every time until reset.
    // A retried reset (same clientId) answers as before rather than resetting again.
    const earlier = command.clientId ? await this.deps.store.scheduled(organizer.uri, command.clientId) : undefined;
    if (earlier) return earlier;
    const space = await this.deps.store.staticSpace(organizer.uri);
    const current = space && (await this.deps.store.get(space.confId));
    const alive = current !== undefined && current.state !== 'deleted';
    if (space && alive && !command.reset) return space;
    if (space && alive) await this.deleteConference(space.confId, 'deleted');
    // Conditional on the space read: when another request created or reset it first, the store answers that space.
    return this.scheduleConference(organizer, command, space ? { replacing: space.confId } : {});
  }

  private async scheduleConference(organizer: Identity, command: ScheduleCommand, staticSpace?: { readonly replacing?: string }): Promise<ScheduleResult> {
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
    return this.deps.store.schedule(conference, result, command.clientId, staticSpace);
  }

  async get(caller: Identity, confId: string, rosterCursor?: string) {
    let conference = await this.load(confId);
    const readsRoster = conference.active !== undefined && (await this.mayReadRoster(conference, caller));
    // A roster shows no ghost: participants whose every connection is gone are removed first, as if they left.
    if (readsRoster) conference = await this.removeVanished(conference);
    const active = conference.active;
    const roster = active && readsRoster ? rosterPage(visibleRoster(await this.deps.store.participants(confId, active.activationInstance)), rosterCursor) : undefined;
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
        // Trusted participants are hidden: from the count as from the roster.
        participantCount: visibleParticipantCount(active),
      },
      ...(roster ? { roster: roster.roster, ...(roster.rosterCursor ? { rosterCursor: roster.rosterCursor } : {}) } : {}),
    };
  }

  async join(identity: Identity, connectionId: string, confId: string): Promise<JoinResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const conference = await this.load(confId);
      // A lock keeps out new participants, not another device of someone already in.
      const alreadyIn = conference.active?.locked === true && (await this.currentParticipant(conference, identity.uri)) !== undefined;
      const admission = decideAdmission(conference, identity, this.deps.homeDomain, alreadyIn);
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
      if (!participant) {
        // Perhaps a retry of a leave whose timer could not be armed after its write: finish that work.
        await this.armRuleTimersNow(conference);
        return { left: false };
      }
      if (await this.removeParticipant(conference, participant, 'left')) return { left: true };
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
            ? await this.removeParticipant(conference, participant, 'disconnected')
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

  /** In the order added, a frame at a time: `cursor` (the last item answered) when more remain (issue 17 item 2). */
  async listContent(caller: Identity, confId: string, cursor?: string): Promise<{ content: ConferenceContent[]; cursor?: string }> {
    const conference = await this.load(confId);
    if (!(await this.mayReadRoster(conference, caller))) throw new ForbiddenError('only participants and the organizer see meeting content');
    const after = cursor === undefined ? undefined : decodeKeyCursor(cursor);
    const content = (await this.deps.store.content(confId))
      .sort((a, b) => (contentOrder(a) < contentOrder(b) ? -1 : 1))
      .filter((item) => after === undefined || contentOrder(item) > after);
    const kept = countThatFits(content, (items) => ({ content: items }));
    const last = content[kept - 1];
    return { content: content.slice(0, kept), ...(kept < content.length && last ? { cursor: encodeKeyCursor(contentOrder(last)) } : {}) };
  }

  /** A deactivation rule's timer: subject `{confId}/{activationInstance}`. */
  async onDeactivationTimer(rule: AutomaticRule, firing: TimerFiring): Promise<'acted' | 'rearmed' | 'ignored'> {
    const [confId, activationInstance] = splitSubject(firing.subject);
    let conference = await this.deps.store.get(confId);
    // Ghosts (connections gone without `$disconnect`) keep nothing alive: they leave before the rule is decided.
    if (conference?.state === 'active' && conference.active?.activationInstance === activationInstance) conference = await this.removeVanished(conference);
    const decision = decideDeactivationTimer(conference, rule, activationInstance, this.deps.clock.now(), this.deps.durations);
    if (decision.kind === 'ignore') return 'ignored';
    if (decision.kind === 'rearm') {
      const version = rearmVersion(conference!.stateVersion, firing.version);
      await this.deps.timers.arm({ rule: AUTOMATIC_RULES[rule], subject: firing.subject, version, at: decision.at });
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
    return this.purgeOrRearm(conference, decision, CONTENT_PURGE_RULE, firing);
  }

  /** Expiry: subject `{confId}`. */
  async onExpiryTimer(firing: TimerFiring): Promise<'acted' | 'rearmed' | 'ignored'> {
    const conference = await this.deps.store.get(firing.subject);
    const decision = decideExpiry(conference, this.deps.clock.now(), this.deps.durations);
    return this.purgeOrRearm(conference, decision, EXPIRY_RULE, firing, true);
  }

  private async purgeOrRearm(
    conference: Conference | undefined,
    decision: PurgeDecision,
    rule: string,
    firing: TimerFiring,
    markDeleted = false,
  ): Promise<'acted' | 'rearmed' | 'ignored'> {
    if (decision.kind === 'ignore' || !conference) return 'ignored';
    if (decision.kind === 'rearm') {
      await this.deps.timers.arm({ rule, subject: firing.subject, version: rearmVersion(conference.stateVersion, firing.version), at: decision.at });
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
    // Stable id (activation, user, connection): a retried join names the same event, archived once.
    const joinEvent = this.complianceEvent('conf.join', identity, conference, `${active.activationInstance}:${identity.uri}:${connectionId}`, now);
    if (activating) {
      // Arm first: a failed arm then leaves nothing active without its timers (a retry would find it active and
      // never arm them); if the activation below loses, these timers name an activation that never was and are ignored.
      await this.armActivationTimers(activated);
      const first = withFirstParticipant(activated, enterprise, participant.hidden);
      if (!(await this.deps.store.activate(first, conference.stateVersion, participant, connectionId, joinEvent))) return undefined;
    } else {
      const outcome = await this.deps.store.addParticipant(conference.confId, participant, connectionId, enterprise, joinEvent);
      if (outcome === 'notActive') return undefined;
      if (outcome === 'alreadyIn') {
        // Another endpoint of someone already in: same participant, same role, counted once.
        const existing = await this.currentParticipant(conference, identity.uri);
        if (!existing) return undefined;
        if (!existing.connectionIds.includes(connectionId) && !(await this.deps.store.addConnection(conference.confId, existing, connectionId, joinEvent))) return undefined;
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
    await this.archive(joinEvent);
    return { state: 'joined' as const, confId: conference.confId, role, activationInstance: active.activationInstance, ...rosterPage(roster) };
  }

  /**
   * True when the participant was removed; false when a race was lost (the caller re-reads). The timers the leave
   * starts (the empty rule, the 90-minute rule) are armed before the write, from the counters read with this
   * participant out (item 8: a failed arm then changes nothing and the retry does it all); a concurrent leave
   * that emptied the conference after that read is caught by the read after the write.
   */
  private async removeParticipant(conference: Conference, participant: Participant, reason: LeaveReason): Promise<boolean> {
    const now = this.deps.clock.now();
    const enterprise = countsAsEnterprise(participant, this.deps.homeDomain);
    const read = conference.active!;
    const subject = `${conference.confId}/${participant.activationInstance}`;
    const armsEmpty = read.participantCount <= 1;
    const armsNoEnterprise = enterprise && read.enterpriseCount <= 1;
    const version = conference.stateVersion + 1;
    await Promise.all([
      armsEmpty && this.deps.timers.arm({ rule: AUTOMATIC_RULES.empty, subject, version, at: now + this.deps.durations.emptyGraceMs }),
      armsNoEnterprise && this.deps.timers.arm({ rule: AUTOMATIC_RULES.noEnterprise, subject, version, at: now + this.deps.durations.noEnterpriseMs }),
    ]);
    const leaveEvent = this.leaveEvent(conference, participant, reason, now);
    if (!(await this.deps.store.removeParticipant(conference.confId, participant, enterprise, now, leaveEvent))) return false;
    const after = await this.deps.store.get(conference.confId);
    const active = after?.active;
    if (after && active && active.activationInstance === participant.activationInstance) {
      if (active.participantCount === 0 && !armsEmpty) {
        await this.deps.timers.arm({ rule: AUTOMATIC_RULES.empty, subject, version: after.stateVersion, at: now + this.deps.durations.emptyGraceMs });
      }
      if (enterprise && active.enterpriseCount === 0 && !armsNoEnterprise) {
        await this.deps.timers.arm({ rule: AUTOMATIC_RULES.noEnterprise, subject, version: after.stateVersion, at: now + this.deps.durations.noEnterpriseMs });
      }
      if (!participant.hidden) {
        await this.toParticipants(after, serverEvent('conf.roster', { confId: conference.confId, change: 'left', participant: rosterEntry(participant) }));
      }
    }
    await this.archive(leaveEvent);
    return true;
  }

  /**
   * The timers the counters call for now (the empty rule when nobody is in, the 90-minute rule when no enterprise
   * user is), at their deadlines: what a retried leave does when the first attempt's post-write arming failed.
   */
  private async armRuleTimersNow(conference: Conference): Promise<void> {
    const active = conference.active;
    if (conference.state !== 'active' || !active) return;
    const subject = `${conference.confId}/${active.activationInstance}`;
    const rules = (['empty', 'noEnterprise'] as const).filter((rule) => ruleDeadline(rule, active, this.deps.durations) !== undefined);
    await Promise.all(
      rules.map((rule) =>
        this.deps.timers.arm({ rule: AUTOMATIC_RULES[rule], subject, version: conference.stateVersion, at: ruleDeadline(rule, active, this.deps.durations)! }),
      ),
    );
  }

  /**
   * Item 9: participants of the active conference whose every connection is gone (GetConnection: 410) leave as
   * if they had left (`connectionLost`); a gone connection of a participant still in on another is dropped.
   * Answers the conference as stored after that.
   */
  private async removeVanished(conference: Conference): Promise<Conference> {
    const active = conference.active;
    if (!active) return conference;
    const participants = await this.deps.store.participants(conference.confId, active.activationInstance);
    const vanished: { participant: Participant; gone: string[] }[] = [];
    // A bounded number of GetConnection calls at a time; a failed check counts as alive (only a 410 is "gone").
    for (let start = 0; start < participants.length; start += LIVENESS_CONCURRENCY) {
      await Promise.all(
        participants.slice(start, start + LIVENESS_CONCURRENCY).map(async (participant) => {
          const alive = await Promise.all(participant.connectionIds.map((connectionId) => this.isAlive(connectionId)));
          const gone = participant.connectionIds.filter((_, index) => !alive[index]);
          if (gone.length > 0) vanished.push({ participant, gone });
        }),
      );
    }
    if (vanished.length === 0) return conference;
    for (const { participant, gone } of vanished) {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const current = await this.deps.store.get(conference.confId);
        if (!current || current.state !== 'active' || current.active?.activationInstance !== participant.activationInstance) break;
        const stored = await this.currentParticipant(current, participant.uri);
        if (!stored || stored.joinedAt !== participant.joinedAt) break;
        const dead = stored.connectionIds.filter((connectionId) => gone.includes(connectionId));
        if (dead.length === 0) break;
        const leaves = dead.length === stored.connectionIds.length;
        const done = leaves
          ? await this.removeParticipant(current, stored, 'connectionLost')
          : await this.deps.store.removeConnection(conference.confId, stored, dead[0]!);
        if (done && leaves) break;
        // A lost race is decided again; a dropped connection is followed by the next dead one.
        if (!done) await backoff(attempt);
      }
    }
    return (await this.deps.store.get(conference.confId)) ?? conference;
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
   * Each participant removed gets a `conf.leave` compliance event with the reason, written with the commit.
   * The purge and expiry timers are armed before the commit (item 8): if the commit loses they name a
   * deactivation that never was and are ignored when they fire; if arming fails nothing changed and a retry does it all.
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
      if (next.state === 'deactivated') {
        await Promise.all([
          this.deps.timers.arm({ rule: CONTENT_PURGE_RULE, subject: `${confId}/${now}`, version: next.stateVersion, at: now + this.deps.durations.contentGraceMs }),
          !next.static && this.deps.timers.arm({ rule: EXPIRY_RULE, subject: confId, version: next.stateVersion, at: expiryTime(next, this.deps.durations) }),
        ]);
      }
      const leaves = participants.map((participant) => this.leaveEvent(conference, participant, reason, now));
      if (!(await this.deps.store.commit(next, conference.stateVersion, leaves))) {
        await backoff(attempt);
        continue;
      }
      const connectionIds = [...participants.flatMap((participant) => participant.connectionIds), ...lobby.map((entry) => entry.connectionId)];
      await this.deps.delivery.toConnections(unique(connectionIds), serverEvent('conf.deactivated', { confId, reason, activationInstance: active.activationInstance }));
      // Only this activation's records: a rejoin since the commit is a new activation and keeps its own.
      await this.deps.store.clearActivation(confId, active.activationInstance, participants, lobby);
      for (const leave of leaves) await this.archive(leave);
      return true;
    }
    throw new UnavailableError('the conference kept changing; retry', 200);
  }

  /**
   * Deactivates (if active) and deletes, until `deleted` is what the store holds (item 7): a deactivation that
   * another one won leaves it `deactivated`, so the loop reads again and deletes that.
   */
  private async deleteConference(confId: string, reason: 'deleted' | 'organizerDeleted'): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const conference = await this.deps.store.get(confId);
      if (!conference) return;
      if (conference.state === 'deleted') {
        await this.deps.store.purgeContent(confId);
        return;
      }
      const committed =
        conference.state === 'active'
          ? await this.deactivateNow(confId, reason)
          : await this.deps.store.commit({ ...conference, state: 'deleted', stateVersion: conference.stateVersion + 1 }, conference.stateVersion);
      if (!committed) await backoff(attempt);
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

  /** Only API Gateway's 410 is "gone": a check that fails otherwise counts as alive. */
  private async isAlive(connectionId: string): Promise<boolean> {
    return this.deps.connections.status(connectionId).then(
      (status) => status !== undefined,
      () => true,
    );
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

  private complianceEvent(
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
      actor: { uri: actor.uri, kind: actor.kind, name: actor.name },
      target: { kind: 'conference', id: conference.confId, name: conference.subject },
      at,
      ...(details ? { details } : {}),
    };
  }

  /** A participant's leave, however it happens: one id per activation, participant and join time (item 4). */
  private leaveEvent(conference: Conference, participant: Participant, reason: LeaveReason, at: number): ComplianceEvent {
    return this.complianceEvent('conf.leave', participant, conference, `${participant.activationInstance}:${participant.uri}:${participant.joinedAt}`, at, { reason });
  }

  /**
   * The event is already in the outbox, written with the change: the send is an optimisation. Sent, the outbox
   * item is cleared; not sent, it stays for the export job's sweep. Either way the store keeps one copy per id.
   */
  private async archive(event: ComplianceEvent): Promise<void> {
    try {
      await this.deps.complianceQueue.send(event);
    } catch {
      return;
    }
    await this.deps.complianceOutbox.clear(event).catch(() => undefined);
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
/** What a roster answer holds besides the roster itself (`conf.get`'s definition and activation, at their caps). */
const ROSTER_ANSWER_RESERVE_BYTES = 8 * 1024;

/** The roster by URI from the cursor on, as much as one frame holds beside the rest of the answer. */
function rosterPage(roster: readonly RosterEntry[], cursor?: string): { roster: RosterEntry[]; rosterCursor?: string } {
  const after = cursor === undefined ? undefined : decodeKeyCursor(cursor, 'rosterCursor');
  const sorted = [...roster].sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0)).filter((entry) => after === undefined || entry.uri > after);
  const kept = countThatFits(sorted, (entries) => ({ roster: entries }), MAX_LIST_ANSWER_BYTES - ROSTER_ANSWER_RESERVE_BYTES);
  const last = sorted[kept - 1];
  return { roster: sorted.slice(0, kept), ...(kept < sorted.length && last ? { rosterCursor: encodeKeyCursor(last.uri) } : {}) };
}

function contentOrder(content: ConferenceContent): string {
  return `${String(content.addedAt).padStart(15, '0')}#${content.contentId}`;
}

function encodeKeyCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeKeyCursor(cursor: string, field = 'cursor'): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (key.length === 0) throw new BadRequestError(`field '${field}': not a cursor this server gave`, field);
  return key;
}

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
