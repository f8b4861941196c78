import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateScheduleCommand, GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ClientEvents, CommandResult, DeactivationReason, UcClient } from '../../client/src';
import { systemClock } from '../../shared/adapters/clock';
import { DynamoConnectionStore } from '../../shared/adapters/connection-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import { DynamoPresenceStore } from '../../shared/adapters/presence-store-dynamodb';
import { COMPLIANCE_EXPORT_SCHEDULE, LOCAL_RESOURCE_NAMES } from '../../infra/functions';
import { localFunctionArn } from '../../infra/local/lambdas';
import { atExpression } from '../../shared/timers/schedule-names';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { waitFor } from '../support/client';
import { type Moto, motoAvailable, startMoto } from '../support/moto';
import { loadConfig } from '../../shared/config';

/**
 * Issue 20 items 1 and 2: the external-endpoint mode (AWS_ENDPOINT_URL = an emulator such as LocalStack) against
 * `moto_server`, which stores schedules and queues but fires nothing. The local cloud's driver
 * (infra/local/external-driver.ts) reads the project's schedule group and fires the due schedules into the
 * in-process functions, and polls the external compliance queue into its consumer: every rule timer fires and
 * the compliance export happens, with no emulator of this project running.
 */
// noJoin well after empty, so a late empty timer on a loaded machine still comes first for the empty meeting.
const SECONDS = { idle: 2, empty: 2, noEnterprise: 3, noJoin: 6, presenceLifetime: 4, export: 2 };

const MISSING = 'moto_server is not installed: pip install "moto[server]" (.ci/run checks it); the external-endpoint mode is tested against it';

test('moto_server is installed', () => {
  if (!motoAvailable()) throw new Error(MISSING);
});

let moto: Moto;
let cloud: TestCloud;
let exportDir: string;

describe('external endpoint (moto_server): the local cloud drives what the emulator does not', () => {
  beforeAll(async () => {
    if (!motoAvailable()) throw new Error(MISSING);
    moto = await startMoto();
    exportDir = await mkdtemp(join(tmpdir(), 'uc-moto-archive-'));
    cloud = await startTestCloud({
      externalEndpoint: moto.url,
      schedulerRetryBaseDelayMs: 200,
      complianceVisibilitySeconds: 2,
      env: {
        CONVERSATION_IDLE_SECONDS: String(SECONDS.idle),
        CONFERENCE_EMPTY_GRACE_SECONDS: String(SECONDS.empty),
        CONFERENCE_NO_ENTERPRISE_SECONDS: String(SECONDS.noEnterprise),
        CONFERENCE_NO_JOIN_SECONDS: String(SECONDS.noJoin),
        PRESENCE_SUBSCRIPTION_SECONDS: String(SECONDS.presenceLifetime),
        COMPLIANCE_EXPORT_SECONDS: String(SECONDS.export),
        COMPLIANCE_EXPORT_DIR: exportDir,
      },
    });
  }, 60_000);
  afterAll(async () => {
    await cloud?.stop();
    await moto?.stop();
    if (exportDir) await rm(exportDir, { recursive: true, force: true });
  });

  let seq = 0;
  const user = (name: string) => `sip:${name}${seq}@contoso.com`;
  beforeEach(() => {
    seq++;
  });

  test('nothing of the emulators runs here; the resources and the export schedule are in moto, with no rate(N seconds)', async () => {
    expect(cloud.cloud.externalEndpoint).toBe(moto.url);
    expect([cloud.cloud.sqs, cloud.cloud.scheduler, cloud.cloud.s3]).toEqual([undefined, undefined, undefined]);
    expect(cloud.cloud.config.TABLE_NAME).toBeTruthy();
    const scheduler = new SchedulerClient({ endpoint: moto.url });
    try {
      const exportSchedule = await scheduler.send(new GetScheduleCommand({ Name: COMPLIANCE_EXPORT_SCHEDULE, GroupName: LOCAL_RESOURCE_NAMES.scheduleGroup }));
      expect(exportSchedule).toMatchObject({ ScheduleExpression: 'rate(1 minute)', Description: expect.stringContaining(`uc:period=${SECONDS.export}s`) });
    } finally {
      scheduler.destroy();
    }
  });

  test('an idle conversation ends: im.ended with reason idle, and its self-deleting schedule is gone from moto', async () => {
    const alice = await cloud.client(user('alice'));
    const bob = await cloud.client(user('bob'), 'enterprise', 'mobile');
    const sentAt = Date.now();
    const { conversationId } = await alice.request('im.send', { to: user('bob'), text: 'going quiet' });
    for (const client of [alice, bob]) {
      expect(await client.events.nextEvent('im.ended', (e) => e.conversationId === conversationId, 10_000)).toMatchObject({ reason: 'idle' });
    }
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(SECONDS.idle * 1000 - 50);
    // ActionAfterCompletion DELETE, applied by the driver: only the recurring export schedule stays.
    const scheduler = new SchedulerClient({ endpoint: moto.url });
    try {
      await waitFor('the fired one-time schedules to be deleted from moto', async () => {
        const { Schedules = [] } = await scheduler.send(new ListSchedulesCommand({ GroupName: LOCAL_RESOURCE_NAMES.scheduleGroup }));
        return Schedules.every((schedule) => schedule.Name === COMPLIANCE_EXPORT_SCHEDULE || !schedule.Name?.startsWith('conversation')) ? true : undefined;
      });
    } finally {
      scheduler.destroy();
    }
  });

  const deactivated = (confId: string, reason: DeactivationReason) => (event: ClientEvents['conf.deactivated']) => event.confId === confId && event.reason === reason;
  const state = (client: UcClient, confId: string): Promise<CommandResult<'conf.get'>> => client.request('conf.get', { confId });

  test('a meeting deactivates for each timer rule: empty, noEnterprise, inactivity', async () => {
    const alice = await cloud.client(user('alice'));
    const partner = await cloud.client(`sip:partner${seq}@fabrikam.com`, 'federated');
    const bob = await cloud.client(user('bob'));
    const startedAt = Date.now();

    const empty = (await alice.request('conf.schedule', { subject: 'empty', admission: 'anyone' })).confId;
    await alice.request('conf.join', { confId: empty });
    await alice.request('conf.leave', { confId: empty });
    const noEnterprise = (await alice.request('conf.schedule', { subject: 'noEnterprise', admission: 'anyone' })).confId;
    await partner.request('conf.join', { confId: noEnterprise });
    const inactivity = (await alice.request('conf.schedule', { subject: 'inactivity', admission: 'anyone' })).confId;
    await bob.request('conf.join', { confId: inactivity });

    await partner.events.nextEvent('conf.deactivated', deactivated(noEnterprise, 'noEnterprise'), 15_000);
    await bob.events.nextEvent('conf.deactivated', deactivated(inactivity, 'inactivity'), 15_000);
    const record = await waitFor('the empty deactivation', async () => {
      const current = await state(alice, empty);
      return current.state === 'deactivated' ? current : undefined;
    }, 15_000);
    expect(record).toMatchObject({ lastDeactivationReason: 'empty' });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(SECONDS.noJoin * 1000 - 50);
  });

  test('a presence refresh terminates the subscription of a subscriber whose connection vanished', async () => {
    const connections = new DynamoConnectionStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME, systemClock);
    await cloud.client(user('bob'));
    const aliceClient = await cloud.client(user('alice'));
    const connectionId = await waitFor('alice’s connection', async () => (await connections.listByUser(user('alice')))[0]?.connectionId);
    const view = await aliceClient.request('presence.subscribe', { targets: [user('bob')] });
    if (view.state === 'terminated') throw new Error('a new subscription answered terminated');
    expect(cloud.cloud.gateway.dropWithoutDisconnect(connectionId)).toBe(true);
    const presence = new DynamoPresenceStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME);
    const ended = await waitFor(
      'the subscription to terminate',
      async () => {
        const stored = await presence.getSubscription(view.subscriptionId);
        return stored?.state === 'terminated' ? stored : undefined;
      },
      4 * SECONDS.presenceLifetime * 1000,
    );
    expect(ended.reason).toBe('subscriberGone');
  });

  test('the driver honours the target: retries with the attempt number, the dead-letter queue after the last retry, SQS targets, ActionAfterCompletion', async () => {
    const scheduler = new SchedulerClient({ endpoint: moto.url });
    const sqs = new SQSClient({ endpoint: moto.url });
    try {
      const attempts: Record<string, number[]> = { flaky: [], broken: [] };
      cloud.cloud.lambdas.register(`flaky-${seq}`, async (event) => {
        attempts.flaky!.push((event as { attempt: number }).attempt);
        if (attempts.flaky!.length === 1) throw new Error('first attempt fails');
        return {};
      });
      cloud.cloud.lambdas.register(`broken-${seq}`, async (event) => {
        attempts.broken!.push((event as { attempt: number }).attempt);
        throw new Error('always fails');
      });
      const { QueueUrl: targetUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `driver-target-${seq}` }));
      const targetArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: targetUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
      const at = atExpression(Date.now() + 1000);
      const base = { GroupName: LOCAL_RESOURCE_NAMES.scheduleGroup, ScheduleExpression: at, FlexibleTimeWindow: { Mode: 'OFF' as const }, ActionAfterCompletion: 'DELETE' as const };
      const input = JSON.stringify({ attempt: '<aws.scheduler.attempt-number>' }).replace('"<aws.scheduler.attempt-number>"', '<aws.scheduler.attempt-number>');
      const role = LOCAL_RESOURCE_NAMES.schedulerRoleArn;
      await scheduler.send(new CreateScheduleCommand({ ...base, Name: `flaky-${seq}`, Target: { Arn: localFunctionArn(`flaky-${seq}`), RoleArn: role, Input: input, RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 } } }));
      await scheduler.send(
        new CreateScheduleCommand({
          ...base,
          Name: `broken-${seq}`,
          Target: { Arn: localFunctionArn(`broken-${seq}`), RoleArn: role, Input: input, RetryPolicy: { MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 60 }, DeadLetterConfig: { Arn: process.env.TIMER_DLQ_ARN! } },
        }),
      );
      await scheduler.send(new CreateScheduleCommand({ ...base, Name: `to-sqs-${seq}`, Target: { Arn: targetArn, RoleArn: role, Input: '{"to":"sqs"}' } }));

      const { Messages: delivered = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: targetUrl, WaitTimeSeconds: 10 }));
      expect(delivered.map((message) => message.Body)).toEqual(['{"to":"sqs"}']);
      const { QueueUrl: dlqUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: LOCAL_RESOURCE_NAMES.timerDeadLetterQueue }));
      const dead = await waitFor('the dead letter', async () => {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
        return Messages.find((message) => message.MessageAttributes?.SCHEDULE_ARN?.StringValue?.endsWith(`/broken-${seq}`));
      }, 10_000);
      expect(dead.MessageAttributes).toMatchObject({ RETRY_ATTEMPTS: { StringValue: '1' }, EXHAUSTED_RETRY_CONDITION: { StringValue: 'MaximumRetryAttempts' }, ERROR_MESSAGE: { StringValue: 'always fails' } });
      expect(attempts).toEqual({ flaky: [1, 2], broken: [1, 2] });
      await waitFor('the three schedules deleted after completion', async () => {
        const { Schedules = [] } = await scheduler.send(new ListSchedulesCommand({ GroupName: LOCAL_RESOURCE_NAMES.scheduleGroup }));
        return Schedules.some((schedule) => schedule.Name?.endsWith(`-${seq}`)) ? undefined : true;
      });
    } finally {
      scheduler.destroy();
      sqs.destroy();
    }
  });

  test('a chat post reaches the compliance export exactly once, through the external queue', async () => {
    const alice = await cloud.client(user('alice'));
    const { roomId } = await alice.request('room.create', { name: `moto archive ${seq}` });
    await alice.request('chat.join', { roomId });
    const post = await alice.post(roomId, 'archived through moto <&>');
    const id = `chat.post:${roomId}:${String(post.seq)}`;
    const copies = async () => {
      let count = 0;
      for (const file of (await readdir(exportDir)).filter((name) => name.endsWith('.xml'))) {
        count += (await readFile(join(exportDir, file), 'utf8')).split(`<event id="${id}"`).length - 1;
      }
      return count;
    };
    await waitFor('the post in the archive', async () => ((await copies()) > 0 ? true : undefined), 20_000);
    // Two more export periods: nothing exports it again.
    await waitFor('two more export periods', async () => ((cloud.cloud.driver?.firings.get(COMPLIANCE_EXPORT_SCHEDULE) ?? 0) >= 2 ? true : undefined), 10_000);
    const before = cloud.cloud.driver!.firings.get(COMPLIANCE_EXPORT_SCHEDULE)!;
    await waitFor('two more export runs', async () => (cloud.cloud.driver!.firings.get(COMPLIANCE_EXPORT_SCHEDULE)! >= before + 2 ? true : undefined), 10_000);
    expect(await copies()).toBe(1);
  });
});
