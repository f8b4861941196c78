import { CompliancePublisher } from '../../shared/compliance/publisher';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { UcClient } from '../../client/src';
import { lambdaHandler } from '../../functions/lib/command-handler';
import { makeComplianceConsumer } from '../../functions/lib/compliance-consumer-handler';
import { complianceArchiveFrom, complianceExporterFrom, makeComplianceExportHandler } from '../../functions/lib/compliance-export-handler';
import { productionDependencies } from '../../functions/lib/dependencies';
import { makeImHandler } from '../../functions/lib/im-handler';
import { systemClock } from '../../shared/adapters/clock';
import { DynamoComplianceOutbox } from '../../shared/adapters/compliance-outbox-dynamodb';
import { DynamoComplianceStore } from '../../shared/adapters/compliance-store-dynamodb';
import { DynamoConversationStore } from '../../shared/adapters/conversation-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import type { ComplianceEvent } from '../../shared/compliance/event';
import type { ComplianceArchive, ComplianceStore } from '../../shared/compliance/ports';
import type { ConversationStore } from '../../shared/conversation/ports';
import { ConversationService } from '../../shared/conversation/service';
import { newId } from '../../shared/ids';
import type { Queue } from '../../shared/ports';
import { type ArchivedEvent, nothingLeftToExport, readArchive } from '../support/archive';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { waitFor } from '../support/client';
import { answerStatus } from '../support/uc-client';
import { users } from '../support/users';
import { loadConfig } from '../../shared/config';

/**
 * SPEC §7 end to end, with an export every 2 seconds into a directory of XML files: what commands
 * acknowledge reaches the archive exactly once, whatever fails on the way (fault injection through the
 * local Lambda host, which runs the same handlers over doubles of one port each). Commands go through the client
 * library (client/src) as a UI would send them; where a test sees a 503 and retries itself, its client has
 * the library's automatic retry off (`maxRetries: 0`).
 */
const EXPORT_SECONDS = 2;
const EXPORT_PERIOD_MS = EXPORT_SECONDS * 1000;
let cloud: TestCloud;
let exportDir: string;

beforeAll(async () => {
  exportDir = await mkdtemp(join(tmpdir(), 'uc-archive-'));
  cloud = await startTestCloud({ env: { COMPLIANCE_EXPORT_SECONDS: String(EXPORT_SECONDS), COMPLIANCE_EXPORT_DIR: exportDir }, complianceVisibilitySeconds: 1 });
});
afterEach(() => {
  // Back to the production handlers after a test that replaced one.
  const config = cloud.cloud.config;
  cloud.cloud.lambdas.register('im', lambdaHandler(makeImHandler(productionDependencies())) as never);
  cloud.cloud.lambdas.register('compliance-consumer', makeComplianceConsumer(new DynamoComplianceStore(dynamoDocumentClient(loadConfig()), config.TABLE_NAME, systemClock)) as never);
  cloud.cloud.lambdas.register('compliance-export', makeComplianceExportHandler(complianceExporterFrom(config, systemClock)) as never);
});
afterAll(async () => {
  await cloud.stop();
  await rm(exportDir, { recursive: true, force: true });
});

const archive = () => readArchive(exportDir);

/** Waits until `wanted` are all in the archive (by default within two export periods); answers the whole archive. */
async function inArchive(what: string, wanted: (events: ArchivedEvent[]) => boolean, timeoutMs = 2 * EXPORT_PERIOD_MS): Promise<ArchivedEvent[]> {
  return waitFor(`${what} in the archive`, async () => {
    const events = await archive();
    return wanted(events) ? events : undefined;
  }, timeoutMs);
}

/** Nothing of these events is left to export: not pending, not in the outbox, no batch in flight. */
async function settled(eventIds: readonly string[]): Promise<void> {
  await waitFor('the events to leave the store and the outbox', () => nothingLeftToExport(cloud, (event) => eventIds.includes(event.eventId)));
}

/** Asserts each event id is in the archive exactly once, now and (nothing being left to export) for good. */
async function expectArchivedOnce(eventIds: readonly string[]): Promise<void> {
  await settled(eventIds);
  const events = await archive();
  for (const id of eventIds) expect({ id, copies: events.filter((event) => event.id === id).length }).toEqual({ id, copies: 1 });
}

const imEventId = (sent: { conversationId: string; messageId: string }) => `im.message:${sent.conversationId}:${sent.messageId}`;

/** The IM function over the production adapters, with one of them replaced. */
function registerIm(overrides: { store?: ConversationStore; complianceQueue?: Queue }): void {
  const production = productionDependencies();
  const conversations = new ConversationService({
    store: overrides.store ?? new DynamoConversationStore(dynamoDocumentClient(loadConfig()), production.config.TABLE_NAME),
    delivery: production.delivery,
    timers: production.timers,
    compliance: new CompliancePublisher(overrides.complianceQueue ?? production.complianceQueue, new DynamoComplianceOutbox(dynamoDocumentClient(loadConfig()), production.config.TABLE_NAME)),
    clock: production.clock,
    idleMs: production.config.CONVERSATION_IDLE_SECONDS * 1000,
    newId,
  });
  cloud.cloud.lambdas.register('im', lambdaHandler(makeImHandler({ config: production.config, conversations })) as never);
}

/** The consumer over the real store, seen from outside: every batch it got and what it reported failed. */
function registerConsumer(store: ComplianceStore, before: (event: SQSEvent) => Promise<void> = async () => undefined) {
  const consumer = makeComplianceConsumer(store);
  const batches: { messageIds: string[]; eventIds: string[]; failed: string[] }[] = [];
  cloud.cloud.lambdas.register('compliance-consumer', (async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    await before(event);
    const result = await consumer(event, context);
    batches.push({
      messageIds: event.Records.map((record) => record.messageId),
      eventIds: event.Records.map((record) => (JSON.parse(record.body) as ComplianceEvent).eventId),
      failed: result.batchItemFailures.map((failure) => failure.itemIdentifier),
    });
    return result;
  }) as never);
  return batches;
}

function realComplianceStore(): DynamoComplianceStore {
  return new DynamoComplianceStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME, systemClock);
}

async function createRoom(client: UcClient): Promise<string> {
  const { roomId } = await client.request('room.create', { name: `archive ${newId('n')}` });
  await client.request('chat.join', { roomId });
  return roomId;
}

test('a post, a history read, a conference join and an IM message are each in the exported XML within two export periods, once', async () => {
  const [alice, bob] = users('alice', 'bob');
  const aliceClient = await cloud.client(alice!);
  await cloud.client(bob!);
  const roomId = await createRoom(aliceClient);
  const post = await aliceClient.post(roomId, 'for the record <&>');
  await aliceClient.request('chat.bccontext', { roomId });
  const { confId } = await aliceClient.request('conf.schedule', { subject: 'Archive review' });
  await aliceClient.request('conf.join', { confId });
  const im = await aliceClient.request('im.send', { to: bob, text: 'an archived IM' });

  const events = await inArchive('the post, the history read, the join and the IM', (all) =>
    [
      (e: ArchivedEvent) => e.id === `chat.post:${roomId}:${String(post.seq)}`,
      (e: ArchivedEvent) => e.type === 'chat.history' && e.targetId === roomId,
      (e: ArchivedEvent) => e.type === 'conf.join' && e.targetId === confId,
      (e: ArchivedEvent) => e.id === imEventId(im),
    ].every((match) => all.some(match)),
  );
  expect(events.find((e) => e.type === 'chat.post' && e.targetId === roomId)).toMatchObject({ content: 'for the record <&>' });
  expect(events.find((e) => e.id === imEventId(im))).toMatchObject({ type: 'im.message', content: 'an archived IM' });
  const ids = events.filter((e) => e.targetId === roomId || e.targetId === confId || e.id === imEventId(im)).map((e) => e.id);
  await expectArchivedOnce([...new Set(ids)]);
});

describe('fault injection: every acknowledged event in the archive exactly once', () => {
  test('the queue send fails; the client retries with the same clientMsgId', async () => {
    const production = productionDependencies();
    let failures = 1;
    registerIm({
      complianceQueue: {
        send: async (body) => {
          if (failures-- > 0) throw new Error('SQS is unavailable');
          return production.complianceQueue.send(body);
        },
        sendBatch: (bodies) => production.complianceQueue.sendBatch(bodies),
      },
    });
    const [alice, bob] = users('alice', 'bob');
    // No automatic retry (maxRetries 0): the 503 reaches the test, which retries itself.
    const aliceClient = await cloud.client(alice!, 'enterprise', 'desktop', { maxRetries: 0 });
    await expect(aliceClient.request('im.send', { to: bob, text: 'retried', clientMsgId: 'retry-1' })).rejects.toMatchObject({ status: 503, code: 'Unavailable' });
    expect(aliceClient.events.eventsNamed('retry')).toEqual([]);
    const sent = await aliceClient.request('im.send', { to: bob, text: 'retried', clientMsgId: 'retry-1' });
    await inArchive('the retried message', (all) => all.some((e) => e.id === imEventId(sent)));
    await expectArchivedOnce([imEventId(sent)]);
  });

  test('the consumer fails on part of a batch; the failed part is redelivered and stored', async () => {
    const real = realComplianceStore();
    const failOnce = new Set<string>();
    const failedAlready = new Set<string>();
    // The first batch waits until every post is acknowledged, so the next batch holds several messages.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batches = registerConsumer(
      {
        record: async (event) => {
          if (failOnce.has(event.eventId) && !failedAlready.has(event.eventId)) {
            failedAlready.add(event.eventId);
            throw new Error('the store is throttling');
          }
          return real.record(event);
        },
      },
      () => gate,
    );
    const [alice] = users('alice');
    const aliceClient = await cloud.client(alice!);
    const roomId = await createRoom(aliceClient);
    const posts = [];
    for (let n = 1; n <= 6; n++) posts.push(await aliceClient.post(roomId, `post ${n}`));
    const postIds = posts.map((post) => `chat.post:${roomId}:${post.seq}`);
    for (const id of postIds.filter((_, index) => index % 2 === 1)) failOnce.add(id);
    release();

    await inArchive('every post', (all) => postIds.every((id) => all.some((e) => e.id === id)), 5 * EXPORT_PERIOD_MS);
    const partial = batches.find((batch) => batch.failed.length > 0 && batch.failed.length < batch.messageIds.length);
    expect(partial).toBeDefined();
    expect([...failedAlready].sort()).toEqual([...failOnce].sort());
    await expectArchivedOnce(postIds);
  });

  test('the same message is delivered twice (its acknowledgement was lost); it is stored and archived once', async () => {
    const [alice, bob] = users('alice', 'bob');
    const consumer = makeComplianceConsumer(realComplianceStore());
    const deliveries: string[] = [];
    let targetId: string | undefined;
    cloud.cloud.lambdas.register('compliance-consumer', (async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
      const result = await consumer(event, context);
      const target = event.Records.find((record) => {
        const body = JSON.parse(record.body) as ComplianceEvent;
        return body.actor.uri === alice && body.content === 'delivered twice';
      });
      if (!target) return result;
      deliveries.push(target.messageId);
      targetId = (JSON.parse(target.body) as ComplianceEvent).eventId;
      // Stored, but reported failed the first time: SQS delivers the very same message again.
      return deliveries.length === 1 ? { batchItemFailures: [...result.batchItemFailures, { itemIdentifier: target.messageId }] } : result;
    }) as never);
    const aliceClient = await cloud.client(alice!);
    const sent = await aliceClient.request('im.send', { to: bob, text: 'delivered twice' });
    await waitFor('the second delivery of the same message', () => (deliveries.length >= 2 ? true : undefined), 15_000);
    expect(new Set(deliveries).size).toBe(1);
    expect(targetId).toBe(imEventId(sent));
    await inArchive('the message delivered twice', (all) => all.some((e) => e.id === imEventId(sent)), 3 * EXPORT_PERIOD_MS);
    await expectArchivedOnce([imEventId(sent)]);
  });

  test('the adapter fails for one run; the next run exports the events, once', async () => {
    const config = cloud.cloud.config;
    const real = complianceArchiveFrom(config);
    let failures = 1;
    const failingOnce: ComplianceArchive = {
      location: real.location,
      write: async (batch) => {
        if (failures-- > 0) throw new Error('the archive is unavailable');
        return real.write(batch);
      },
    };
    cloud.cloud.lambdas.register('compliance-export', makeComplianceExportHandler(complianceExporterFrom(config, systemClock, { archive: failingOnce })) as never);
    const [alice] = users('alice');
    const aliceClient = await cloud.client(alice!);
    const roomId = await createRoom(aliceClient);
    const post = await aliceClient.post(roomId, 'survives a failed export');
    const postId = `chat.post:${roomId}:${post.seq}`;
    await waitFor('the failed export run', () => (failures <= 0 ? true : undefined), 3 * EXPORT_PERIOD_MS);
    await inArchive('the post after the failed run', (all) => all.some((e) => e.id === postId), 3 * EXPORT_PERIOD_MS);
    await expectArchivedOnce([postId]);
  });

  test('the export dies between the archive write and the delete; the next run finishes the same batch, same file', async () => {
    const config = cloud.cloud.config;
    const real = complianceArchiveFrom(config);
    const writes: { batchId: string; outcome: string }[] = [];
    let dies = 1;
    const store = realComplianceStore();
    const dying = Object.assign(Object.create(store) as DynamoComplianceStore, {
      markExported: async (...args: Parameters<DynamoComplianceStore['markExported']>) => {
        if (dies-- > 0) throw new Error('the process died after the archive write');
        return store.markExported(...args);
      },
    });
    const exporter = complianceExporterFrom(config, systemClock, {
      store: dying,
      archive: {
        location: real.location,
        write: async (batch) => {
          const outcome = await real.write(batch);
          writes.push({ batchId: batch.batchId, outcome });
          return outcome;
        },
      },
    });
    cloud.cloud.lambdas.register('compliance-export', makeComplianceExportHandler(exporter) as never);
    const [alice] = users('alice');
    const aliceClient = await cloud.client(alice!);
    const roomId = await createRoom(aliceClient);
    const post = await aliceClient.post(roomId, 'exported across a crash');
    const postId = `chat.post:${roomId}:${post.seq}`;
    await waitFor('the batch to be written again by the next run', () => (writes.some((w) => w.outcome === 'exists') ? true : undefined), 4 * EXPORT_PERIOD_MS);
    const first = writes.find((w) => w.outcome === 'written')!;
    expect(writes.find((w) => w.outcome === 'exists')!.batchId).toBe(first.batchId);
    await expectArchivedOnce([postId]);
    expect((await archive()).find((e) => e.id === postId)!.file).toBe(`${first.batchId}.xml`);
  });

  test('the process stops between the command’s write and the queue send; the sweep archives the message', async () => {
    const real = new DynamoConversationStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME);
    let written: { conversationId: string; messageId: string } | undefined;
    const dying = Object.assign(Object.create(real) as ConversationStore, {
      open: async (...args: Parameters<ConversationStore['open']>) => {
        await real.open(...args);
        written = { conversationId: args[2].conversationId, messageId: args[2].messageId };
        throw new Error('the process died after its write');
      },
    });
    const sends: unknown[] = [];
    registerIm({ store: dying, complianceQueue: { send: async (body) => void sends.push(body), sendBatch: async (bodies) => void sends.push(...bodies) } });
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.client(alice!);
    const bobClient = await cloud.client(bob!);
    // A 500 is not retried by the library (only 429 and 503 are).
    expect(await answerStatus(aliceClient.request('im.send', { to: bob, text: 'written, never sent', clientMsgId: 'crash-1' }))).toBe(500);
    // Stored (Bob can read it), yet nothing reached the queue and the client never retries: only the outbox has it.
    expect(sends).toHaveLength(0);
    expect(aliceClient.events.eventsNamed('retry')).toEqual([]);
    const history = await bobClient.request('im.history', { conversationId: written!.conversationId });
    expect(history.messages).toEqual([expect.objectContaining({ messageId: written!.messageId, text: 'written, never sent' })]);
    const eventId = imEventId(written!);
    await inArchive('the message the process died on', (all) => all.some((e) => e.id === eventId), 3 * EXPORT_PERIOD_MS);
    await expectArchivedOnce([eventId]);
    // A late retry of the same send (production handler) replays it and archives it again: still one copy.
    cloud.cloud.lambdas.register('im', lambdaHandler(makeImHandler(productionDependencies())) as never);
    const consumed = registerConsumer(realComplianceStore());
    expect(await aliceClient.request('im.send', { to: bob, text: 'written, never sent', clientMsgId: 'crash-1' })).toMatchObject(written!);
    await waitFor('the retry’s event to be consumed', () => (consumed.some((batch) => batch.eventIds.includes(eventId)) ? true : undefined));
    await expectArchivedOnce([eventId]);
  });
});
