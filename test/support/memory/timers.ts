import type { TimerFiring, TimerRequest, Timers } from '../../../shared/ports';

/**
 * Timers the test fires by hand, named as the Scheduler adapter names them (rule, subject, version): arming the same
 * name again moves it, as `CreateSchedule`/`UpdateSchedule` do. `due(now)` lists what the Scheduler would fire by
 * then; the test hands each to the service, as often, as late and in whatever order it likes.
 */
export class ManualTimers implements Timers {
  readonly armed = new Map<string, TimerRequest>();
  readonly cancelled: TimerFiring[] = [];
  readonly recurringJobs = new Map<string, { periodSeconds: number; input: TimerFiring }>();
  /** Calls to `arm` in order, including moves. */
  readonly history: TimerRequest[] = [];
  /** When set, the next `arm` calls reject with it (a Scheduler outage), then it is cleared. */
  failNextArms = 0;

  async arm(timer: TimerRequest): Promise<void> {
    if (this.failNextArms > 0) {
      this.failNextArms--;
      throw Object.assign(new Error('Scheduler is unavailable'), { name: 'ServiceUnavailable' });
    }
    this.history.push(timer);
    this.armed.set(nameOf(timer), timer);
  }

  async cancel(timer: TimerFiring): Promise<void> {
    this.cancelled.push(timer);
    this.armed.delete(nameOf(timer));
  }

  async recurring(name: string, periodSeconds: number, input: TimerFiring): Promise<void> {
    this.recurringJobs.set(name, { periodSeconds, input });
  }

  /** Armed timers for `rule` (all rules when omitted), earliest first. */
  pending(rule?: string): TimerRequest[] {
    return [...this.armed.values()].filter((timer) => rule === undefined || timer.rule === rule).sort((a, b) => a.at - b.at);
  }

  /** What would have fired by `now`, removed as a one-time schedule removes itself after it fires. */
  takeDue(now: number, rule?: string): TimerFiring[] {
    const due = this.pending(rule).filter((timer) => timer.at <= now);
    for (const timer of due) this.armed.delete(nameOf(timer));
    return due.map(({ rule: dueRule, subject, version }) => ({ rule: dueRule, subject, version }));
  }
}

function nameOf(timer: Pick<TimerRequest, 'rule' | 'subject' | 'version'>): string {
  return `${timer.rule}|${timer.subject}|${timer.version}`;
}
