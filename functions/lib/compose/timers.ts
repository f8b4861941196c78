import { schedulerClient } from '../../../shared/adapters/aws-clients/scheduler';
import { SchedulerTimers } from '../../../shared/adapters/scheduler-timers';
import { type Config, requireSetting } from '../../../shared/config';
import type { Timers } from '../../../shared/ports';
import { timersOnFirstUse } from './lazy';

let timers: Timers | undefined;

/**
 * Timers on EventBridge Scheduler, once per process. The client and the Scheduler settings are taken at the
 * first arm or cancel, so loading a function that may arm needs none of them.
 */
export function schedulerTimers(config: Config): Timers {
  timers ??= timersOnFirstUse(
    () =>
      new SchedulerTimers(schedulerClient(config), {
        groupName: config.SCHEDULE_GROUP,
        targetArn: requireSetting(config, 'TIMER_FUNCTION_ARN'),
        roleArn: requireSetting(config, 'SCHEDULER_ROLE_ARN'),
        deadLetterArn: config.TIMER_DLQ_ARN,
      }),
  );
  return timers;
}
