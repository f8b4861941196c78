import { GetItemCommand, PutItemCommand, UpdateItemCommand, ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetScheduleCommand, ResourceNotFoundException, SchedulerClient } from '@aws-sdk/client-scheduler';
import { makeTimerHandler, type TimerOutcome } from '../../functions/lib/timer-handler';
import { localFunctionArn } from '../../infra/local/lambdas';
import { SchedulerTimers } from '../../shared/adapters/scheduler-timers';
import type { TimerFiring } from '../../shared/ports';
import { scheduleName } from '../../shared/timers/schedule-names';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { waitFor } from '../support/client';

/**
 * Domain-free: a handler arms a timer through the production Scheduler adapter; the local Scheduler
 * fires the timer function; the rule re-reads a probe item and acts once for its version.
 */
let cloud: TestCloud;
let dynamo: DynamoDBClient;
let scheduler: SchedulerClient;
let timers: SchedulerTimers;
const firedAt: number[] = [];

const probeKey = (subject: string) => ({ PK: { S: `PROBE#${subject}` }, SK: { S: 'PROBE' } });

async function probe(subject: string): Promise<{ version: number; fired: number }> {
  const { Item } = await dynamo.send(new GetItemCommand({ TableName: cloud.cloud.config.TABLE_NAME, Key: probeKey(subject), ConsistentRead: true }));
  return { version: Number(Item?.version?.N ?? -1), fired: Number(Item?.fired?.N ?? 0) };
}

/** The rule: act only if the stored version is the firing's and it has not acted yet. */
async function probeRule(firing: TimerFiring): Promise<TimerOutcome> {
  firedAt.push(Date.now());
  try {
    await dynamo.send(
      new UpdateItemCommand({
        TableName: cloud.cloud.config.TABLE_NAME,
        Key: probeKey(firing.subject),
        UpdateExpression: 'SET fired = fired + :one',
        ConditionExpression: 'version = :version AND fired = :zero',
        ExpressionAttributeValues: { ':one': { N: '1' }, ':zero': { N: '0' }, ':version': { N: String(firing.version) } },
      }),
    );
    return 'acted';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'ignored';
    throw error;
  }
}

/** The arming "command": write the subject's state, then arm its timer. */
async function armProbe(event: { subject: string; version: number; inMs: number }): Promise<{ at: number }> {
  await dynamo.send(
    new PutItemCommand({
      TableName: cloud.cloud.config.TABLE_NAME,
      Item: { ...probeKey(event.subject), version: { N: String(event.version) }, fired: { N: '0' } },
    }),
  );
  const at = Date.now() + event.inMs;
  await timers.arm({ rule: 'probe', subject: event.subject, version: event.version, at });
  return { at };
}

beforeAll(async () => {
  cloud = await startTestCloud();
  dynamo = new DynamoDBClient({ endpoint: cloud.cloud.url });
  scheduler = new SchedulerClient({ endpoint: cloud.cloud.url });
  const config = cloud.cloud.config;
  timers = new SchedulerTimers(scheduler, {
    groupName: config.SCHEDULE_GROUP,
    targetArn: localFunctionArn('probe-timer'),
    roleArn: config.SCHEDULER_ROLE_ARN!,
    deadLetterArn: config.TIMER_DLQ_ARN,
  });
  cloud.cloud.lambdas.register('probe-timer', makeTimerHandler({ probe: probeRule }) as never);
  cloud.cloud.lambdas.register('probe-arm', armProbe as never);
});
afterAll(async () => {
  await cloud.stop();
});

test('a handler arms a timer for 2 s; the timer function runs once, on time, and the schedule deletes itself', async () => {
  const { at } = (await cloud.cloud.lambdas.invoke('probe-arm', { subject: 'once', version: 1, inMs: 2000 })) as { at: number };
  await waitFor('the probe to be acted on', async () => ((await probe('once')).fired === 1 ? true : undefined), 5000);
  const firing = firedAt.at(-1)!;
  expect(firing).toBeGreaterThanOrEqual(at - 5);
  expect(firing - at).toBeLessThan(1500);
  expect(cloud.cloud.lambdas.invocations.get('probe-timer')).toBe(1);
  const name = scheduleName({ rule: 'probe', subject: 'once', version: 1 });
  await waitFor('the schedule to delete itself', async () => {
    try {
      await scheduler.send(new GetScheduleCommand({ Name: name, GroupName: cloud.cloud.config.SCHEDULE_GROUP }));
      return undefined;
    } catch (error) {
      return error instanceof ResourceNotFoundException ? true : undefined;
    }
  });
});

test('a duplicate firing is harmless: the rule re-reads the state and ignores it', async () => {
  const outcome = await cloud.cloud.lambdas.invoke('probe-timer', { rule: 'probe', subject: 'once', version: 1 });
  expect(outcome).toEqual({ outcome: 'ignored' });
  expect((await probe('once')).fired).toBe(1);
});

test('a stale firing (an older version) changes nothing', async () => {
  await armProbe({ subject: 'stale', version: 5, inMs: 60_000 });
  const outcome = await cloud.cloud.lambdas.invoke('probe-timer', { rule: 'probe', subject: 'stale', version: 4 });
  expect(outcome).toEqual({ outcome: 'ignored' });
  expect(await probe('stale')).toEqual({ version: 5, fired: 0 });
  await timers.cancel({ rule: 'probe', subject: 'stale', version: 5 });
});

test('a cancelled timer never fires; cancelling again is fine', async () => {
  const before = cloud.cloud.lambdas.invocations.get('probe-timer') ?? 0;
  await armProbe({ subject: 'cancelled', version: 1, inMs: 1000 });
  await timers.cancel({ rule: 'probe', subject: 'cancelled', version: 1 });
  await timers.cancel({ rule: 'probe', subject: 'cancelled', version: 1 });
  // A sentinel armed after it, due later, proves the cancelled one's time has passed.
  await armProbe({ subject: 'sentinel', version: 1, inMs: 1500 });
  await waitFor('the sentinel to fire', async () => ((await probe('sentinel')).fired === 1 ? true : undefined), 5000);
  expect((await probe('cancelled')).fired).toBe(0);
  expect(cloud.cloud.lambdas.invocations.get('probe-timer')).toBe(before + 1);
});

test('re-arming the same timer moves it: it fires once, at the new time', async () => {
  const before = cloud.cloud.lambdas.invocations.get('probe-timer') ?? 0;
  await armProbe({ subject: 'moved', version: 1, inMs: 1000 });
  const movedTo = Date.now() + 2500;
  await timers.arm({ rule: 'probe', subject: 'moved', version: 1, at: movedTo });
  await waitFor('the moved timer to fire', async () => ((await probe('moved')).fired === 1 ? true : undefined), 6000);
  expect(firedAt.at(-1)!).toBeGreaterThanOrEqual(movedTo - 1000);
  expect(cloud.cloud.lambdas.invocations.get('probe-timer')).toBe(before + 1);
});

test('a malformed firing or an unknown rule is refused (Scheduler retries, then dead-letters it)', async () => {
  await expect(cloud.cloud.lambdas.invoke('probe-timer', { rule: 'probe' })).rejects.toThrow('malformed');
  await expect(cloud.cloud.lambdas.invoke('probe-timer', { rule: 'nope', subject: 'x', version: 1 })).rejects.toThrow("no timer rule named 'nope'");
});
