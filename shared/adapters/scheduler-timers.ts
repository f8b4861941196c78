import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import type { TimerFiring, TimerRequest, Timers } from '../ports';
import { atExpression, rateExpression, scheduleName } from '../timers/schedule-names';

export interface SchedulerTimersConfig {
  readonly groupName: string;
  /** The timer function every schedule invokes. */
  readonly targetArn: string;
  /** The role Scheduler assumes to invoke it. */
  readonly roleArn: string;
  /** Where Scheduler sends a firing it could not deliver after its retries. */
  readonly deadLetterArn?: string;
}

/** Timers on EventBridge Scheduler: one-time `at()` schedules that delete themselves after firing. */
export class SchedulerTimers implements Timers {
  constructor(
    private readonly client: SchedulerClient,
    private readonly config: SchedulerTimersConfig,
  ) {}

  async arm(timer: TimerRequest): Promise<void> {
    const input = this.scheduleInput(scheduleName(timer), atExpression(timer.at), timer, 'DELETE');
    try {
      await this.client.send(new CreateScheduleCommand(input));
    } catch (error) {
      if (!(error instanceof ConflictException)) throw error;
      await this.client.send(new UpdateScheduleCommand(input));
    }
  }

  async cancel(timer: TimerFiring): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: scheduleName(timer), GroupName: this.config.groupName }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }

  async recurring(name: string, periodSeconds: number, input: TimerFiring): Promise<void> {
    await putSchedule(this.client, this.scheduleInput(name, rateExpression(periodSeconds), input, 'NONE'));
  }

  private scheduleInput(name: string, expression: string, firing: TimerFiring, after: 'DELETE' | 'NONE'): CreateScheduleCommandInput {
    return {
      Name: name,
      GroupName: this.config.groupName,
      ScheduleExpression: expression,
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: after,
      Target: {
        Arn: this.config.targetArn,
        RoleArn: this.config.roleArn,
        // Scheduler substitutes its due time, so the timer function can measure its lateness (TimerLatenessSeconds).
        Input: JSON.stringify({ rule: firing.rule, subject: firing.subject, version: firing.version, scheduledTime: '<aws.scheduler.scheduled-time>' }),
        RetryPolicy: { MaximumRetryAttempts: 5, MaximumEventAgeInSeconds: 3600 },
        ...(this.config.deadLetterArn ? { DeadLetterConfig: { Arn: this.config.deadLetterArn } } : {}),
      },
    };
  }
}

/** Updates the schedule to this definition, or creates it: for recurring schedules, which keep their name. */
export async function putSchedule(client: SchedulerClient, schedule: CreateScheduleCommandInput): Promise<void> {
  try {
    await client.send(new UpdateScheduleCommand(schedule));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    try {
      await client.send(new CreateScheduleCommand(schedule));
    } catch (createError) {
      // Another process created it between the two calls: the schedule exists, which is all we need.
      if (!(createError instanceof ConflictException)) throw createError;
    }
  }
}
