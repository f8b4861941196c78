import type { Identity } from '../auth/identity';
import { RETRY } from '../concurrency';
import { activate, AUTOMATIC_RULES, type Conference, countsAsEnterprise, type LeaveReason, lobbyPresenterNews, type Participant, roleFor, type RosterEntry, withFirstParticipant } from './conference';
import { type ConferenceContext, retryBestEffort, rosterEntry, rosterPage, visibleRoster } from './context';
import type { EntryConditions } from './ports';
import type { RuleTimers } from './rule-timers';

/** Participants whose connections are checked at once when looking for ghosts. */
const LIVENESS_CONCURRENCY = 25;

/** What `enter` answers: the joined answer of `conf.join` (and what `conf.admitted` carries). */
export interface Entered {
  readonly state: 'joined';
  readonly confId: string;
  readonly role: Participant['role'];
  readonly activationInstance: string;
  readonly roster: RosterEntry[];
  /** The roster is cut to one frame (by URI); `conf.get {confId, rosterCursor}` reads the rest. */
  readonly rosterCursor?: string;
}

/**
 * Entering and leaving an activation: the counters on the conference move atomically with the participant record
 * and its compliance event (ports.ts); the rule timers a change calls for are armed around the write (item 8).
 * One attempt each: a lost race answers undefined/false and the caller (admission.ts, lifecycle.ts) re-reads.
 */
export class Participation {
  constructor(
    private readonly ctx: ConferenceContext,
    private readonly timers: RuleTimers,
  ) {}

  /**
   * Enters a participant (activating the conference if needed); undefined when a race was lost. `conditions`: what
   * the admission was decided on, checked again by the write (still unlocked; the lobby wait admitted from still there).
   */
  async enter(conference: Conference, identity: Identity, connectionId: string, conditions: EntryConditions = {}): Promise<Entered | undefined> {
    const { deps } = this.ctx;
    const now = deps.clock.now();
    const enterprise = countsAsEnterprise(identity, deps.homeDomain);
    const activating = conference.state !== 'active' || !conference.active;
    const activated = activating ? activate(conference, deps.newId('act'), now) : conference;
    const active = activated.active!;
    const participant: Participant = {
      uri: identity.uri,
      name: identity.name,
      kind: identity.kind,
      role: roleFor(conference, identity, deps.homeDomain),
      joinedAt: now,
      activationInstance: active.activationInstance,
      connectionIds: [connectionId],
      hidden: identity.kind === 'application',
    };
    /** Who entered, as stored: this participant, or the record of someone already in on another endpoint. */
    let entrant: Participant = participant;
    // Stable id (activation, user, connection): a retried join names the same event, archived once.
    const joinEvent = this.ctx.complianceEvent('conf.join', identity, conference, `${active.activationInstance}:${identity.uri}:${connectionId}`, now);
    if (activating) {
      // Arm first: a failed arm then leaves nothing active without its timers (a retry would find it active and
      // never arm them); if the activation below loses, these timers name an activation that never was and are ignored.
      await this.timers.activation(activated);
      const first = withFirstParticipant(activated, enterprise, participant.hidden);
      const fromLobby = conditions.fromLobby ? { fromLobby: conditions.fromLobby } : {};
      if (!(await deps.store.activate(first, conference.stateVersion, participant, connectionId, joinEvent, fromLobby))) return undefined;
    } else {
      const outcome = await deps.store.addParticipant(conference.confId, participant, connectionId, enterprise, joinEvent, conditions);
      if (outcome === 'notActive' || outcome === 'notWaiting') return undefined;
      if (outcome === 'alreadyIn') {
        // Another endpoint of someone already in: same participant, same role, counted once.
        const existing = await this.ctx.currentParticipant(conference, identity.uri);
        if (!existing) return undefined;
        if (!existing.connectionIds.includes(connectionId) && !(await deps.store.addConnection(conference.confId, existing, connectionId, joinEvent))) return undefined;
        entrant = existing;
      }
    }
    // Another endpoint of someone already in keeps their role and is no news to the roster.
    const newcomer = entrant === participant;
    const role = entrant.role;
    // The list after this entry is built, not trusted to the read: whatever the read saw of this very write, whoever
    // entered is in it with the role they entered with (the lobby news and the roster hold with a read that missed it).
    const others = (await deps.store.participants(conference.confId, active.activationInstance)).filter((other) => other.uri !== identity.uri);
    const participants = [...others, entrant];
    const roster = visibleRoster(participants);
    if (newcomer && !participant.hidden) {
      await this.ctx.toParticipants(activated, { event: 'conf.roster', payload: { confId: conference.confId, change: 'joined', participant: rosterEntry({ ...participant, role }) } }, [connectionId]);
    }
    if (role === 'presenter') {
      const lobby = await deps.store.lobby(conference.confId);
      for (const entry of lobby) {
        await deps.delivery.toConnections([connectionId], { event: 'conf.lobby', payload: { confId: conference.confId, uri: entry.uri, name: entry.name, kind: entry.kind } });
      }
      // The first presenter in: whoever waits hears that someone can let them in now.
      if (newcomer && lobby.length > 0) await this.ctx.tellLobby(conference.confId, lobbyPresenterNews(others, participants), lobby);
    }
    await this.ctx.archive(joinEvent);
    return { state: 'joined' as const, confId: conference.confId, role, activationInstance: active.activationInstance, ...rosterPage(roster) };
  }

  /**
   * True when the participant was removed; false when a race was lost (the caller re-reads). The timers the leave
   * starts (the empty rule, the 90-minute rule) are armed before the write, from the counters read with this
   * participant out (item 8: a failed arm then changes nothing and the retry does it all); a concurrent leave
   * that emptied the conference after that read is caught by the read after the write. `by`: the presenter who ejected them.
   */
  async remove(conference: Conference, participant: Participant, reason: LeaveReason, by?: string): Promise<boolean> {
    const { deps } = this.ctx;
    const now = deps.clock.now();
    const enterprise = countsAsEnterprise(participant, deps.homeDomain);
    const read = conference.active!;
    const subject = `${conference.confId}/${participant.activationInstance}`;
    const armsEmpty = read.participantCount <= 1;
    const armsNoEnterprise = enterprise && read.enterpriseCount <= 1;
    const version = conference.stateVersion + 1;
    await Promise.all([
      armsEmpty && deps.timers.arm({ rule: AUTOMATIC_RULES.empty, subject, version, at: now + deps.durations.emptyGraceMs }),
      armsNoEnterprise && deps.timers.arm({ rule: AUTOMATIC_RULES.noEnterprise, subject, version, at: now + deps.durations.noEnterpriseMs }),
    ]);
    const leaveEvent = this.ctx.leaveEvent(conference, participant, reason, now, by);
    if (!(await deps.store.removeParticipant(conference.confId, participant, enterprise, now, leaveEvent))) return false;
    const after = await deps.store.get(conference.confId);
    const active = after?.active;
    if (after && active && active.activationInstance === participant.activationInstance) {
      if (active.participantCount === 0 && !armsEmpty) {
        await deps.timers.arm({ rule: AUTOMATIC_RULES.empty, subject, version: after.stateVersion, at: now + deps.durations.emptyGraceMs });
      }
      if (enterprise && active.enterpriseCount === 0 && !armsNoEnterprise) {
        await deps.timers.arm({ rule: AUTOMATIC_RULES.noEnterprise, subject, version: after.stateVersion, at: now + deps.durations.noEnterpriseMs });
      }
      if (!participant.hidden) {
        await this.ctx.toParticipants(after, { event: 'conf.roster', payload: { confId: conference.confId, change: 'left', participant: rosterEntry(participant) } });
      }
      if (participant.role === 'presenter') {
        // The last presenter gone (rather than the meeting ended): whoever waits hears nobody can let them in for now.
        // This stay is taken out of the read, not trusted to be gone from it (a new stay of the same user stays in).
        const remaining = (await deps.store.participants(conference.confId, participant.activationInstance)).filter(
          (other) => other.uri !== participant.uri || other.joinedAt !== participant.joinedAt,
        );
        await this.ctx.tellLobby(conference.confId, lobbyPresenterNews([...remaining, participant], remaining));
      }
    }
    await this.ctx.archive(leaveEvent);
    return true;
  }

  /**
   * Item 9: participants of the active conference whose every connection is gone (GetConnection: 410) leave as
   * if they had left (`connectionLost`); a gone connection of a participant still in on another is dropped.
   * Answers the conference as stored after that.
   */
  async removeVanished(conference: Conference): Promise<Conference> {
    const { deps } = this.ctx;
    const active = conference.active;
    if (!active) return conference;
    const participants = await deps.store.participants(conference.confId, active.activationInstance);
    const vanished: { participant: Participant; gone: string[] }[] = [];
    // A bounded number of GetConnection calls at a time; a failed check counts as alive (only a 410 is "gone").
    for (let start = 0; start < participants.length; start += LIVENESS_CONCURRENCY) {
      await Promise.all(
        participants.slice(start, start + LIVENESS_CONCURRENCY).map(async (participant) => {
          const alive = await Promise.all(participant.connectionIds.map((connectionId) => this.ctx.isAlive(connectionId)));
          const gone = participant.connectionIds.filter((_, index) => !alive[index]);
          if (gone.length > 0) vanished.push({ participant, gone });
        }),
      );
    }
    if (vanished.length === 0) return conference;
    for (const { participant, gone } of vanished) {
      // Best effort: a participant still contended after every attempt is found again by the next read or timer.
      await retryBestEffort(async () => {
        const current = await deps.store.get(conference.confId);
        if (!current || current.state !== 'active' || current.active?.activationInstance !== participant.activationInstance) return;
        const stored = await this.ctx.currentParticipant(current, participant.uri);
        if (!stored || stored.joinedAt !== participant.joinedAt) return;
        const dead = stored.connectionIds.filter((connectionId) => gone.includes(connectionId));
        if (dead.length === 0) return;
        if (dead.length === stored.connectionIds.length) return (await this.remove(current, stored, 'connectionLost')) ? undefined : RETRY;
        // One dead connection dropped, or a lost race: read again and drop the next (or decide again).
        await deps.store.removeConnection(conference.confId, stored, dead[0]!);
        return RETRY;
      });
    }
    return (await deps.store.get(conference.confId)) ?? conference;
  }
}
