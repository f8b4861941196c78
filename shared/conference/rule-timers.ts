import { AUTOMATIC_RULES, type Conference, expiryTime, ruleDeadline } from './conference';
import type { ConferenceDependencies } from './context';

/** The content purge timer (subject `{confId}/{deactivatedAt}`) and the expiry timer (subject `{confId}`). */
export const CONTENT_PURGE_RULE = 'conference.contentPurge';
export const EXPIRY_RULE = 'conference.expiry';

/**
 * The timers of the activation lifecycle, as hints: every firing is decided again from the stored state
 * (lifecycle.ts). Deactivation rules are named `{confId}/{activationInstance}`, so a timer of an earlier
 * activation is recognised and ignored.
 */
export class RuleTimers {
  constructor(private readonly deps: Pick<ConferenceDependencies, 'timers' | 'durations'>) {}

  /** At activation: the 90-minute rule counts from activation until an enterprise user joins; the 24-hour rule from the last join. */
  async activation(conference: Conference): Promise<void> {
    const active = conference.active!;
    const subject = `${conference.confId}/${active.activationInstance}`;
    await Promise.all([
      this.deps.timers.arm({ rule: AUTOMATIC_RULES.noEnterprise, subject, version: conference.stateVersion, at: active.activatedAt + this.deps.durations.noEnterpriseMs }),
      this.deps.timers.arm({ rule: AUTOMATIC_RULES.inactivity, subject, version: conference.stateVersion, at: active.activatedAt + this.deps.durations.noJoinMs }),
    ]);
  }

  /**
   * The timers the counters call for now (the empty rule when nobody is in, the 90-minute rule when no enterprise
   * user is), at their deadlines: what a retried leave does when the first attempt's post-write arming failed.
   */
  async dueByCounters(conference: Conference): Promise<void> {
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

  /** A deactivation (not a deletion) starts the content purge clock and, unless static, the expiry clock. */
  async deactivated(next: Conference, now: number): Promise<void> {
    if (next.state !== 'deactivated') return;
    await Promise.all([
      this.deps.timers.arm({ rule: CONTENT_PURGE_RULE, subject: `${next.confId}/${now}`, version: next.stateVersion, at: now + this.deps.durations.contentGraceMs }),
      !next.static && this.deps.timers.arm({ rule: EXPIRY_RULE, subject: next.confId, version: next.stateVersion, at: expiryTime(next, this.deps.durations) }),
    ]);
  }
}
