import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  GetScheduleGroupCommand,
  ListScheduleGroupsCommand,
  ListSchedulesCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import { createEdgeServer } from '../../infra/local/edge';
import { type LambdaInvoker, localFunctionArn } from '../../infra/local/lambdas';
import { isoSeconds, LocalScheduler, type SqsTarget } from '../../infra/local/scheduler';
import { StallMeter, waitFor as waitUntil } from '../support/wait';

/** Contract tests: the real Scheduler SDK client against the local scheduler, with recording fake targets. */

const ROLE_ARN = 'arn:aws:iam::000000000000:role/scheduler';
const queueArn = (name: string): string => `arn:aws:sqs:us-east-1:000000000000:${name}`;

interface Invocation {
  arn: string;
  event: unknown;
  at: number;
}

class FakeInvoker implements LambdaInvoker {
  readonly invocations: Invocation[] = [];
  readonly failing = new Set<string>();
  /** Invocations of these functions wait until the gate opens, to act while a firing is in progress. */
  readonly gates = new Map<string, Promise<void>>();

  async invoke(functionNameOrArn: string, event: unknown): Promise<unknown> {
    this.invocations.push({ arn: functionNameOrArn, event, at: Date.now() });
    await this.gates.get(functionNameOrArn);
    if (this.failing.has(functionNameOrArn)) throw new Error(`${functionNameOrArn} failed on purpose`);
    return null;
  }

  to(functionName: string): Invocation[] {
    return this.invocations.filter((i) => i.arn === localFunctionArn(functionName));
  }
}

interface Sent {
  queueArn: string;
  body: string;
  attributes: Record<string, { DataType: string; StringValue?: string }> | undefined;
  at: number;
}

class FakeSqs implements SqsTarget {
  readonly sent: Sent[] = [];

  sendByArn(
    queue: string,
    body: string,
    messageAttributes?: Record<string, { DataType: string; StringValue?: string }>,
  ): string {
    this.sent.push({ queueArn: queue, body, attributes: messageAttributes, at: Date.now() });
    return `message-${this.sent.length}`;
  }

  to(queue: string): Sent[] {
    return this.sent.filter((s) => s.queueArn === queueArn(queue));
  }
}

/** An at() expression for a whole second 1–2 s from now, and that time in epoch ms. */
function atSoon(secondsAhead = 1): { expression: string; dueAt: number } {
  const dueAt = Math.ceil((Date.now() + secondsAhead * 1000) / 1000) * 1000;
  return { expression: `at(${new Date(dueAt).toISOString().slice(0, 19)})`, dueAt };
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  await waitUntil(what, condition, timeoutMs, 25);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('local EventBridge Scheduler (REST-JSON, real SDK client)', () => {
  const invoker = new FakeInvoker();
  const sqs = new FakeSqs();
  const dataDir = mkdtempSync(join(tmpdir(), 'local-scheduler-'));
  let scheduler = new LocalScheduler({ invoker, sqs, retryBaseDelayMs: 20 });
  let server: Server;
  let client: SchedulerClient;
  // "Within a second of its time" allows for the longest stall of this process too (test/support/README.md).
  const stalls = StallMeter.start();
  let sentinels = 0;

  const lambdaSchedule = (
    name: string,
    expression: string,
    extra: Partial<CreateScheduleCommandInput> = {},
  ): CreateScheduleCommandInput => ({
    Name: name,
    ScheduleExpression: expression,
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: { Arn: localFunctionArn(name), RoleArn: ROLE_ARN, Input: JSON.stringify({ job: name }) },
    ...extra,
  });

  /**
   * Returns once the scheduler has fired everything due by `dueAt`: a sentinel one-time schedule at that time (the
   * next whole second) fires in the same pass as, or after, any schedule due earlier (`fireDue` launches every due
   * schedule at once), so a schedule that has not fired by then did not fire for that time. Then waits for the
   * firings in progress to settle. This replaces "sleep, then assert nothing more happened".
   */
  const firedEverythingDueBy = async (dueAt: number): Promise<void> => {
    sentinels += 1;
    const name = `sentinel-${sentinels}`;
    const at = Math.ceil(dueAt / 1000) * 1000;
    await client.send(new CreateScheduleCommand(lambdaSchedule(name, `at(${isoSeconds(at).slice(0, 19)})`, { ActionAfterCompletion: 'DELETE' })));
    await waitFor(() => invoker.to(name).length > 0, `the sentinel due at ${new Date(at).toISOString()}`, Math.max(0, at - Date.now()) + 10_000);
    await scheduler.whenIdle();
  };

  const exists = async (name: string, groupName?: string): Promise<boolean> => {
    try {
      await client.send(new GetScheduleCommand({ Name: name, GroupName: groupName }));
      return true;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return false;
      throw error;
    }
  };

  beforeAll(async () => {
    scheduler.start();
    // The services callback is read per request, so the restart test can swap the scheduler in place.
    server = createEdgeServer(() => [scheduler]);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new SchedulerClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  afterAll(async () => {
    stalls.stop();
    client.destroy();
    await scheduler.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a one-time schedule invokes its Lambda target once, within a second of its time, then deletes itself', async () => {
    const { expression, dueAt } = atSoon();
    await client.send(new CreateScheduleCommand(lambdaSchedule('once-lambda', expression, { ActionAfterCompletion: 'DELETE' })));

    await waitFor(() => invoker.to('once-lambda').length > 0, 'the Lambda invocation');
    const [invocation] = invoker.to('once-lambda');
    expect(invocation?.event).toEqual({ job: 'once-lambda' });
    expect(invocation?.at).toBeGreaterThanOrEqual(dueAt);
    expect(invocation?.at).toBeLessThan(dueAt + 1000 + stalls.maxMs());

    await waitFor(async () => !(await exists('once-lambda')), 'the schedule to delete itself');
    expect(await rejection(client.send(new GetScheduleCommand({ Name: 'once-lambda' })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
    // Deleted after its only firing settled: nothing is left that could fire it again.
    await scheduler.whenIdle();
    expect(invoker.to('once-lambda')).toHaveLength(1);
  });

  test('a one-time schedule sends its Input to an SQS target, then deletes itself', async () => {
    const { expression, dueAt } = atSoon();
    await client.send(
      new CreateScheduleCommand({
        Name: 'once-sqs',
        ScheduleExpression: expression,
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: queueArn('jobs'), RoleArn: ROLE_ARN, Input: 'plain text body' },
        ActionAfterCompletion: 'DELETE',
      }),
    );

    await waitFor(() => sqs.to('jobs').length > 0, 'the SQS message');
    expect(sqs.to('jobs')[0]?.body).toBe('plain text body');
    expect(sqs.to('jobs')[0]?.at).toBeLessThan(dueAt + 1000 + stalls.maxMs());
    await waitFor(async () => !(await exists('once-sqs')), 'the schedule to delete itself');
    expect(sqs.to('jobs')).toHaveLength(1);
  });

  test('an updated schedule fires at its new time only, with its new definition', async () => {
    const first = atSoon();
    await client.send(new CreateScheduleCommand(lambdaSchedule('moved', first.expression)));
    const second = { dueAt: first.dueAt + 1000, expression: `at(${new Date(first.dueAt + 1000).toISOString().slice(0, 19)})` };
    await client.send(
      new UpdateScheduleCommand({
        ...lambdaSchedule('moved', second.expression),
        Target: { Arn: localFunctionArn('moved'), RoleArn: ROLE_ARN, Input: '{"version":2}' },
      }),
    );

    await waitFor(() => invoker.to('moved').length > 0, 'the moved invocation');
    const [invocation] = invoker.to('moved');
    expect(invocation?.at).toBeGreaterThanOrEqual(second.dueAt);
    expect(invocation?.event).toEqual({ version: 2 });
    // A one-time schedule has no next time after its firing: once it is deleted, the count is final.
    await scheduler.whenIdle();
    await client.send(new DeleteScheduleCommand({ Name: 'moved' }));
    expect(invoker.to('moved')).toHaveLength(1);
  });

  test('a schedule deleted before its time never fires', async () => {
    const { expression, dueAt } = atSoon();
    await client.send(new CreateScheduleCommand(lambdaSchedule('cancelled', expression)));
    await client.send(new DeleteScheduleCommand({ Name: 'cancelled' }));

    await firedEverythingDueBy(dueAt);
    expect(invoker.to('cancelled')).toHaveLength(0);
    expect(await rejection(client.send(new DeleteScheduleCommand({ Name: 'cancelled' })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  test('ActionAfterCompletion NONE keeps a fired one-time schedule without firing it again', async () => {
    const { expression } = atSoon();
    await client.send(new CreateScheduleCommand(lambdaSchedule('kept', expression, { ActionAfterCompletion: 'NONE' })));

    await waitFor(() => invoker.to('kept').length > 0, 'the invocation');
    // Settled: ActionAfterCompletion has been applied (or not) by now.
    await scheduler.whenIdle();
    const kept = await client.send(new GetScheduleCommand({ Name: 'kept' }));
    expect(kept.ActionAfterCompletion).toBe('NONE');
    expect(kept.State).toBe('ENABLED');
    await client.send(new DeleteScheduleCommand({ Name: 'kept' }));
    expect(invoker.to('kept')).toHaveLength(1);
  });

  test('a failing target is retried per its RetryPolicy, then dead-lettered with the documented attributes', async () => {
    invoker.failing.add(localFunctionArn('flaky'));
    const { expression } = atSoon();
    const { ScheduleArn } = await client.send(
      new CreateScheduleCommand(
        lambdaSchedule('flaky', expression, {
          ActionAfterCompletion: 'DELETE',
          Target: {
            Arn: localFunctionArn('flaky'),
            RoleArn: ROLE_ARN,
            Input: '{"report":"nightly"}',
            RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
            DeadLetterConfig: { Arn: queueArn('scheduler-dlq') },
          },
        }),
      ),
    );

    await waitFor(() => sqs.to('scheduler-dlq').length > 0, 'the dead letter');
    expect(invoker.to('flaky')).toHaveLength(3);
    const [deadLetter] = sqs.to('scheduler-dlq');
    expect(deadLetter?.body).toBe('{"report":"nightly"}');
    const attribute = (name: string): string | undefined => deadLetter?.attributes?.[name]?.StringValue;
    expect(deadLetter?.attributes?.ERROR_CODE?.DataType).toBe('String');
    expect(attribute('ERROR_CODE')).toBe('Error');
    expect(attribute('ERROR_MESSAGE')).toContain('failed on purpose');
    expect(attribute('EXECUTION_ID')).toMatch(/^[0-9a-f-]{36}$/);
    expect(attribute('RETRY_ATTEMPTS')).toBe('2');
    expect(attribute('EXHAUSTED_RETRY_CONDITION')).toBe('MaximumRetryAttempts');
    expect(attribute('TARGET_ARN')).toBe(localFunctionArn('flaky'));
    expect(attribute('GROUP')).toBe('default');
    expect(attribute('SCHEDULE_ARN')).toBe(ScheduleArn);
    expect(ScheduleArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule/default/flaky');
    await waitFor(async () => !(await exists('flaky')), 'ActionAfterCompletion after the dead letter');
  });

  test('a schedule deleted while its firing is in progress is neither retried nor dead-lettered', async () => {
    const arn = localFunctionArn('doomed');
    let open = (): void => {};
    invoker.gates.set(arn, new Promise<void>((resolve) => { open = resolve; }));
    invoker.failing.add(arn);
    // Without a StartDate a rate schedule fires right away, so the firing is in progress at once.
    await client.send(
      new CreateScheduleCommand(
        lambdaSchedule('doomed', 'rate(1 hour)', {
          Target: {
            Arn: arn,
            RoleArn: ROLE_ARN,
            RetryPolicy: { MaximumRetryAttempts: 5, MaximumEventAgeInSeconds: 60 },
            DeadLetterConfig: { Arn: queueArn('doomed-dlq') },
          },
        }),
      ),
    );
    await waitFor(() => invoker.to('doomed').length > 0, 'the first attempt');
    await client.send(new DeleteScheduleCommand({ Name: 'doomed' }));
    open();

    // The firing ends with its first attempt: any retry or dead letter would happen before it settles.
    await scheduler.whenIdle();
    expect(invoker.to('doomed')).toHaveLength(1);
    expect(sqs.to('doomed-dlq')).toHaveLength(0);
  });

  test('a rate(1 second) schedule fires repeatedly until deleted', async () => {
    await client.send(
      new CreateScheduleCommand(
        lambdaSchedule('ticker', 'rate(1 second)', {
          Target: { Arn: localFunctionArn('ticker'), RoleArn: ROLE_ARN, Input: '{"scheduledTime":"<aws.scheduler.scheduled-time>"}' },
        }),
      ),
    );

    await waitFor(() => invoker.to('ticker').length >= 3, 'three ticks');
    await client.send(new DeleteScheduleCommand({ Name: 'ticker' }));
    // The times it fired for, not when the machine got round to it: a stall may bunch the calls, never the times.
    const scheduled = invoker.to('ticker').map((i) => Date.parse((i.event as { scheduledTime: string }).scheduledTime));
    const gaps = scheduled.slice(1).map((at, index) => at - (scheduled[index] ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(1000);
    for (const [index, invocation] of invoker.to('ticker').entries()) expect(invocation.at).toBeGreaterThanOrEqual(scheduled[index] ?? 0);
    const count = scheduled.length;
    // Its next time (one period after the last) has passed, and it did not fire then.
    await firedEverythingDueBy(Math.max(...invoker.to('ticker').map((i) => i.at)) + 1000);
    expect(invoker.to('ticker')).toHaveLength(count);
  });

  test('stores and returns the definition AWS returns, with dates as Date values', async () => {
    const startDate = new Date(Date.now() + 3_600_000);
    const endDate = new Date(Date.now() + 7_200_000);
    await client.send(
      new CreateScheduleCommand(
        lambdaSchedule('described', 'rate(5 minutes)', {
          Description: 'every five minutes',
          State: 'DISABLED',
          StartDate: startDate,
          EndDate: endDate,
          FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 5 },
        }),
      ),
    );
    const schedule = await client.send(new GetScheduleCommand({ Name: 'described', GroupName: 'default' }));
    expect(schedule).toMatchObject({
      Arn: 'arn:aws:scheduler:us-east-1:000000000000:schedule/default/described',
      Name: 'described',
      GroupName: 'default',
      ScheduleExpression: 'rate(5 minutes)',
      ScheduleExpressionTimezone: 'UTC',
      Description: 'every five minutes',
      State: 'DISABLED',
      ActionAfterCompletion: 'NONE',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 5 },
      Target: {
        Arn: localFunctionArn('described'),
        RoleArn: ROLE_ARN,
        Input: '{"job":"described"}',
        RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
      },
    });
    expect(schedule.StartDate?.getTime()).toBe(startDate.getTime());
    expect(schedule.EndDate?.getTime()).toBe(endDate.getTime());
    expect(schedule.CreationDate).toBeInstanceOf(Date);
    expect(schedule.LastModificationDate).toBeInstanceOf(Date);
    await client.send(new DeleteScheduleCommand({ Name: 'described' }));
  });

  test('creating an existing name is a ConflictException; unsupported or malformed expressions are ValidationExceptions', async () => {
    await client.send(new CreateScheduleCommand(lambdaSchedule('dup', 'rate(1 hour)')));
    expect(await rejection(client.send(new CreateScheduleCommand(lambdaSchedule('dup', 'rate(2 hours)'))))).toBeInstanceOf(
      ConflictException,
    );
    await client.send(new DeleteScheduleCommand({ Name: 'dup' }));

    for (const expression of ['cron(0 12 * * ? *)', 'rate(5 fortnights)', 'at(2030-02-30T10:00:00)', 'every day']) {
      const error = await rejection(client.send(new CreateScheduleCommand(lambdaSchedule('bad', expression))));
      expect(error).toBeInstanceOf(ValidationException);
    }
    const cron = await rejection(client.send(new CreateScheduleCommand(lambdaSchedule('bad', 'cron(0 12 * * ? *)'))));
    expect((cron as ValidationException).message).toContain('not supported');
    const zoned = await rejection(
      client.send(
        new CreateScheduleCommand(
          lambdaSchedule('bad', 'at(2030-01-01T10:00:00)', { ScheduleExpressionTimezone: 'Europe/Paris' }),
        ),
      ),
    );
    expect(zoned).toBeInstanceOf(ValidationException);
    expect(
      await rejection(client.send(new UpdateScheduleCommand(lambdaSchedule('never-created', 'rate(1 hour)')))),
    ).toBeInstanceOf(ResourceNotFoundException);
  });

  test('schedule groups: lifecycle, ListSchedules by group and NamePrefix, deleting a group deletes its schedules', async () => {
    expect(
      await rejection(client.send(new CreateScheduleCommand(lambdaSchedule('orphan', 'rate(1 hour)', { GroupName: 'nope' })))),
    ).toBeInstanceOf(ResourceNotFoundException);

    const { ScheduleGroupArn } = await client.send(
      new CreateScheduleGroupCommand({ Name: 'reports', Tags: [{ Key: 'team', Value: 'uc' }] }),
    );
    expect(ScheduleGroupArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule-group/reports');
    expect(await rejection(client.send(new CreateScheduleGroupCommand({ Name: 'reports' })))).toBeInstanceOf(
      ConflictException,
    );
    expect((await client.send(new GetScheduleGroupCommand({ Name: 'reports' }))).State).toBe('ACTIVE');
    expect((await client.send(new ListTagsForResourceCommand({ ResourceArn: ScheduleGroupArn }))).Tags).toEqual([
      { Key: 'team', Value: 'uc' },
    ]);
    const groups = await client.send(new ListScheduleGroupsCommand({}));
    expect(groups.ScheduleGroups?.map((g) => g.Name)).toEqual(['default', 'reports']);

    for (const name of ['daily-a', 'daily-b', 'weekly']) {
      await client.send(new CreateScheduleCommand(lambdaSchedule(name, 'rate(1 day)', { GroupName: 'reports' })));
    }
    await client.send(new CreateScheduleCommand(lambdaSchedule('daily-elsewhere', 'rate(1 day)')));

    const daily = await client.send(new ListSchedulesCommand({ GroupName: 'reports', NamePrefix: 'daily' }));
    expect(daily.Schedules?.map((s) => s.Name)).toEqual(['daily-a', 'daily-b']);
    expect(daily.Schedules?.[0]).toMatchObject({
      Arn: 'arn:aws:scheduler:us-east-1:000000000000:schedule/reports/daily-a',
      GroupName: 'reports',
      State: 'ENABLED',
      Target: { Arn: localFunctionArn('daily-a') },
    });
    const firstPage = await client.send(new ListSchedulesCommand({ NamePrefix: 'daily', MaxResults: 2 }));
    expect(firstPage.Schedules).toHaveLength(2);
    const secondPage = await client.send(
      new ListSchedulesCommand({ NamePrefix: 'daily', MaxResults: 2, NextToken: firstPage.NextToken }),
    );
    expect(secondPage.Schedules).toHaveLength(1);
    expect(secondPage.NextToken).toBeUndefined();
    expect(await exists('weekly')).toBe(false);
    expect(await exists('weekly', 'reports')).toBe(true);

    await client.send(new DeleteScheduleGroupCommand({ Name: 'reports' }));
    expect(await rejection(client.send(new GetScheduleGroupCommand({ Name: 'reports' })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
    expect(await exists('weekly', 'reports')).toBe(false);
    expect((await client.send(new ListSchedulesCommand({}))).Schedules?.map((s) => s.Name)).toEqual(['daily-elsewhere']);
    expect(await rejection(client.send(new DeleteScheduleGroupCommand({ Name: 'default' })))).toBeInstanceOf(
      ValidationException,
    );
    await client.send(new DeleteScheduleCommand({ Name: 'daily-elsewhere' }));
  });

  test('with a dataDir, schedules survive a restart and one that came due while down fires at start', async () => {
    const original = scheduler;
    const first = new LocalScheduler({ invoker, sqs, dataDir, retryBaseDelayMs: 20 });
    first.start();
    scheduler = first;
    try {
      const { expression, dueAt } = atSoon();
      await client.send(new CreateScheduleCommand(lambdaSchedule('durable', expression, { ActionAfterCompletion: 'DELETE' })));
      await first.stop();

      // Stopped, it has no timer: that nothing fires while the time passes is the code's guarantee, not luck.
      await waitFor(() => Date.now() > dueAt + 200, 'the due time to pass while stopped');
      expect(invoker.to('durable')).toHaveLength(0);

      const second = new LocalScheduler({ invoker, sqs, dataDir, retryBaseDelayMs: 20 });
      scheduler = second;
      expect((await client.send(new GetScheduleCommand({ Name: 'durable' }))).ScheduleExpression).toBe(expression);
      const startedAt = Date.now();
      second.start();
      try {
        await waitFor(() => invoker.to('durable').length > 0, 'the overdue invocation after restart');
        expect(invoker.to('durable')[0]?.at).toBeLessThan(startedAt + 1000 + stalls.maxMs());
        await waitFor(async () => !(await exists('durable')), 'the schedule to delete itself');
      } finally {
        await second.stop();
      }
      expect(invoker.to('durable')).toHaveLength(1);
      // The deletion was persisted too: a third start finds nothing to fire.
      const third = new LocalScheduler({ invoker, sqs, dataDir });
      scheduler = third;
      expect(await exists('durable')).toBe(false);
    } finally {
      scheduler = original;
    }
  });
});
