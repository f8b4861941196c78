import { createHash } from 'node:crypto';
import type { TimerFiring } from '../ports';

/**
 * The schedule of a timer: one name per rule, subject and version, so a timer re-armed while its
 * predecessor is firing never collides with the predecessor's own delete-after-completion.
 * Scheduler names are at most 64 characters of [0-9a-zA-Z-_.].
 */
export function scheduleName(timer: TimerFiring): string {
  const subjectHash = createHash('sha256').update(timer.subject).digest('hex').slice(0, 32);
  const name = `${timer.rule}--${subjectHash}--${timer.version}`;
  if (!/^[0-9a-zA-Z_.-]{1,64}$/.test(name)) throw new Error(`timer rule '${timer.rule}' makes an invalid schedule name`);
  return name;
}

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC, rounded up to the second so a timer never fires early. */
export function atExpression(epochMs: number): string {
  const seconds = Math.ceil(epochMs / 1000);
  return `at(${new Date(seconds * 1000).toISOString().slice(0, 19)})`;
}

/**
 * `rate(...)` for a period: whole minutes as Scheduler accepts them; shorter periods use the local
 * cloud's `rate(N seconds)` extension (tests), which AWS refuses.
 */
export function rateExpression(periodSeconds: number): string {
  if (periodSeconds % 60 === 0) {
    const minutes = periodSeconds / 60;
    return `rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`;
  }
  return `rate(${periodSeconds} ${periodSeconds === 1 ? 'second' : 'seconds'})`;
}
