import { createHash } from 'node:crypto';
import type { TimerFiring } from '../ports';

/**
 * The schedule of a timer: one name per rule, subject and version, so a timer re-armed while its
 * predecessor is firing never collides with the predecessor's own delete-after-completion (callers re-arm
 * under a version other than the firing's). Scheduler names are at most 64 characters of [0-9a-zA-Z-_.]:
 * subject and version are hashed with the rule, so the name's length does not grow with the version (a
 * static meeting space's `stateVersion` grows forever). The rule stays readable for operators.
 */
export function scheduleName(timer: TimerFiring): string {
  const hash = createHash('sha256').update(JSON.stringify([timer.rule, timer.subject, timer.version])).digest('hex').slice(0, 32);
  const name = `${timer.rule}--${hash}`;
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
