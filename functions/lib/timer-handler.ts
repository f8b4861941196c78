import { z } from 'zod';
import type { TimerFiring } from '../../shared/ports';
import { logger } from './logger';
import { emitMetric, METRIC_NAMES, MetricUnit } from './observability';

/** What a rule did with a firing: acted on it, armed a later timer, or found it stale or moot. */
export type TimerOutcome = 'acted' | 'rearmed' | 'ignored';

/** A timer rule re-reads its subject and acts only if the rule still holds for that version. */
export type TimerRule = (firing: TimerFiring) => Promise<TimerOutcome>;

const firingSchema = z.object({
  rule: z.string().min(1),
  subject: z.string().min(1),
  version: z.number().int(),
  /** Scheduler's `<aws.scheduler.scheduled-time>`: when the firing was due (absent on older schedules). */
  scheduledTime: z.string().optional(),
});

/**
 * The one function EventBridge Scheduler invokes, with `{rule, subject, version}`. A firing is a hint:
 * duplicates, late and stale firings reach the rule, which decides from the stored state. A firing that
 * cannot be understood throws: Lambda retries it twice, then sends it (wrapped in `requestPayload`) to the
 * function's on-failure destination, where the TimerFailureAlarm tells an operator (docs/deploy.md).
 */
export function makeTimerHandler(rules: Readonly<Record<string, TimerRule>>) {
  return async (event: unknown): Promise<{ outcome: TimerOutcome }> => {
    const parsed = firingSchema.safeParse(event);
    if (!parsed.success) throw new Error(`timer firing is malformed: ${parsed.error.issues[0]?.path.join('.')}`);
    const { scheduledTime, ...firing } = parsed.data;
    const dueMs = scheduledTime === undefined ? Number.NaN : Date.parse(scheduledTime);
    if (Number.isFinite(dueMs)) emitMetric(METRIC_NAMES.timerLateness, MetricUnit.Seconds, Math.max(0, (Date.now() - dueMs) / 1000), { rule: firing.rule });
    const rule = Object.hasOwn(rules, firing.rule) ? rules[firing.rule] : undefined;
    if (!rule) throw new Error(`no timer rule named '${firing.rule}'`);
    const outcome = await rule(firing);
    logger.info('timer fired', { rule: firing.rule, subject: firing.subject, version: firing.version, outcome });
    return { outcome };
  };
}
