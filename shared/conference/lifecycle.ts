import type { Identity } from '../auth/identity';
import { RETRY, retryOnConflict } from '../concurrency';
import { ForbiddenError } from '../errors';
import type { TimerFiring } from '../ports';
import {
  AUTOMATIC_RULES,
  type AutomaticRule,
  type Conference,
  type DeactivationReason,
  deactivate,
  decideContentPurge,
  decideDeactivationTimer,
  decideExpiry,
  type PurgeDecision,
  rearmVersion,
} from './conference';
import { type ConferenceContext, conferenceKeptChanging, unique } from './context';
import type { Participation } from './participation';
import { CONTENT_PURGE_RULE, EXPIRY_RULE, type RuleTimers } from './rule-timers';

export type TimerOutcome = 'acted' | 'rearmed' | 'ignored';

/**
 * The activation lifecycle after activation (SPEC §4): the manual deactivations (end, delete, the organizer's
 * account deleted), the automatic ones (empty, 90-minute, 24-hour rules) when their timers fire, and content
 * purge and expiry after a deactivation. Timers are hints: each firing is decided again from the stored state.
 */
export class Lifecycle {
  constructor(
    private readonly ctx: ConferenceContext,
    private readonly participation: Participation,
    private readonly timers: RuleTimers,
  ) {}

  /** A presenter ends the meeting: everyone is removed at once. */
  async end(caller: Identity, confId: string): Promise<{ deactivated: boolean }> {
    const conference = await this.ctx.load(confId);
    await this.ctx.assertPresenter(conference, caller);
    return { deactivated: await this.deactivateNow(confId, 'ended') };
  }

  /** The organizer deletes it: deactivated at once, then deleted (410 from then on). */
  async delete(caller: Identity, confId: string): Promise<{ deleted: boolean }> {
    const conference = await this.ctx.load(confId);
    if (conference.organizer !== caller.uri) throw new ForbiddenError('only the organizer may delete the conference');
    await this.deleteConference(confId, 'deleted');
    return { deleted: true };
  }

  /** An administrator deletes a user's account: each conference the user organizes is deactivated and deleted. */
  async deleteUser(caller: Identity, uri: string): Promise<{ conferences: number }> {
    if (caller.kind !== 'admin') throw new ForbiddenError('only administrators may delete users');
    const confIds = await this.ctx.deps.store.conferencesOfOrganizer(uri.toLowerCase());
    for (const confId of confIds) await this.deleteConference(confId, 'organizerDeleted');
    return { conferences: confIds.length };
  }

  /** A deactivation rule's timer: subject `{confId}/{activationInstance}`. */
  async onDeactivationTimer(rule: AutomaticRule, firing: TimerFiring): Promise<TimerOutcome> {
    const { deps } = this.ctx;
    const [confId, activationInstance] = splitSubject(firing.subject);
    let conference = await deps.store.get(confId);
    // Ghosts (connections gone without `$disconnect`) keep nothing alive: they leave before the rule is decided.
    if (conference?.state === 'active' && conference.active?.activationInstance === activationInstance) conference = await this.participation.removeVanished(conference);
    const decision = decideDeactivationTimer(conference, rule, activationInstance, deps.clock.now(), deps.durations);
    if (decision.kind === 'ignore') return 'ignored';
    if (decision.kind === 'rearm') {
      const version = rearmVersion(conference!.stateVersion, firing.version);
      await deps.timers.arm({ rule: AUTOMATIC_RULES[rule], subject: firing.subject, version, at: decision.at });
      return 'rearmed';
    }
    const stillHolds = (current: Conference) => decideDeactivationTimer(current, rule, activationInstance, deps.clock.now(), deps.durations).kind === 'deactivate';
    return (await this.deactivateNow(confId, decision.reason, stillHolds)) ? 'acted' : 'ignored';
  }

  /** Content purge: subject `{confId}/{deactivatedAt}`. */
  async onContentPurgeTimer(firing: TimerFiring): Promise<TimerOutcome> {
    const { deps } = this.ctx;
    const [confId, deactivatedAt] = splitSubject(firing.subject);
    const conference = await deps.store.get(confId);
    const decision = decideContentPurge(conference, Number(deactivatedAt), deps.clock.now(), deps.durations);
    return this.purgeOrRearm(conference, decision, CONTENT_PURGE_RULE, firing);
  }

  /** Expiry: subject `{confId}`. */
  async onExpiryTimer(firing: TimerFiring): Promise<TimerOutcome> {
    const { deps } = this.ctx;
    const conference = await deps.store.get(firing.subject);
    const decision = decideExpiry(conference, deps.clock.now(), deps.durations);
    return this.purgeOrRearm(conference, decision, EXPIRY_RULE, firing, true);
  }

  /**
   * Deactivates (if active) and deletes, until `deleted` is what the store holds (item 7): a deactivation that
   * another one won leaves it `deactivated`, so the loop reads again and deletes that.
   */
  async deleteConference(confId: string, reason: 'deleted' | 'organizerDeleted'): Promise<void> {
    const { store } = this.ctx.deps;
    await retryOnConflict(async () => {
      const conference = await store.get(confId);
      if (!conference) return;
      if (conference.state === 'deleted') {
        await store.purgeContent(confId);
        return;
      }
      if (conference.state === 'active') await this.deactivateNow(confId, reason);
      else await store.commit({ ...conference, state: 'deleted', stateVersion: conference.stateVersion + 1 }, conference.stateVersion);
      // Committed or not, read again: deleted (purge its content), or changed by another writer (decide again).
      return RETRY;
    }, conferenceKeptChanging);
  }

  private async purgeOrRearm(conference: Conference | undefined, decision: PurgeDecision, rule: string, firing: TimerFiring, markDeleted = false): Promise<TimerOutcome> {
    const { deps } = this.ctx;
    if (decision.kind === 'ignore' || !conference) return 'ignored';
    if (decision.kind === 'rearm') {
      await deps.timers.arm({ rule, subject: firing.subject, version: rearmVersion(conference.stateVersion, firing.version), at: decision.at });
      return 'rearmed';
    }
    await deps.store.purgeContent(conference.confId);
    const now = deps.clock.now();
    const next: Conference = { ...conference, stateVersion: conference.stateVersion + 1, contentPurgedAt: now, ...(markDeleted ? { state: 'deleted' as const } : {}) };
    // A join that reactivated it meanwhile wins; the content is gone either way, as the rule said at the read.
    await deps.store.commit(next, conference.stateVersion);
    return 'acted';
  }

  /**
   * Deactivates the active conference (only `activationInstance`'s, when given): every participant and
   * waiting user is removed with `conf.deactivated`, and the content purge and expiry clocks start.
   * Each participant removed gets a `conf.leave` compliance event with the reason, written with the commit.
   * The purge and expiry timers are armed before the commit (item 8): if the commit loses they name a
   * deactivation that never was and are ignored when they fire; if arming fails nothing changed and a retry does it all.
   */
  private async deactivateNow(confId: string, reason: DeactivationReason, stillHolds: (conference: Conference) => boolean = () => true): Promise<boolean> {
    const { deps } = this.ctx;
    return retryOnConflict(async () => {
      const conference = await deps.store.get(confId);
      const active = conference?.active;
      if (!conference || !active || conference.state !== 'active') return false;
      // A rule decided on an earlier read is decided again on this one: a join may have come in between.
      if (!stillHolds(conference)) return false;
      const [participants, lobby] = await Promise.all([deps.store.participants(confId, active.activationInstance), deps.store.lobby(confId)]);
      const now = deps.clock.now();
      const next = deactivate(conference, reason, now);
      await this.timers.deactivated(next, now);
      const leaves = participants.map((participant) => this.ctx.leaveEvent(conference, participant, reason, now));
      if (!(await deps.store.commit(next, conference.stateVersion, leaves))) return RETRY;
      const connectionIds = [...participants.flatMap((participant) => participant.connectionIds), ...lobby.map((entry) => entry.connectionId)];
      await deps.delivery.toConnections(unique(connectionIds), { event: 'conf.deactivated', payload: { confId, reason, activationInstance: active.activationInstance } });
      // Only this activation's records: a rejoin since the commit is a new activation and keeps its own.
      await deps.store.clearActivation(confId, active.activationInstance, participants, lobby);
      for (const leave of leaves) await this.ctx.archive(leave);
      return true;
    }, conferenceKeptChanging);
  }
}

function splitSubject(subject: string): [string, string] {
  const slash = subject.indexOf('/');
  return slash < 0 ? [subject, ''] : [subject.slice(0, slash), subject.slice(slash + 1)];
}
