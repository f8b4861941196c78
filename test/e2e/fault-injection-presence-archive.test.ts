import type { ActiveSubscription } from '../../client/src';
import type { FaultRequest, FaultRule } from '../../infra/local/faults';
import { ApiGatewayConnections } from '../../shared/adapters/apigw-connections';
import { systemClock } from '../../shared/adapters/clock';
import { DynamoConnectionStore } from '../../shared/adapters/connection-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import { UnavailableError } from '../../shared/errors';
import { UnprocessedBatchError } from '../../shared/adapters/dynamodb-operations';
import { DynamoPresenceStore } from '../../shared/adapters/presence-store-dynamodb';
import type { Identity } from '../../shared/auth/identity';
import { Delivery } from '../../shared/connections/delivery';
import { newId } from '../../shared/ids';
import { PresenceService, REFRESH_TIMER_RULE } from '../../shared/presence/service';
import { subscriptionPolicy } from '../../shared/presence/subscription';
import { scheduleName } from '../../shared/timers/schedule-names';
import { type ArchivedEvent, type ArchivingCloud, bodyHas, readArchive, startArchivingCloud, storedComplianceEvents } from '../support/archive';
import type { TestCloud } from '../support/cloud';
import { type TestClient, waitFor } from '../support/client';
import { ok as okWithin } from '../support/commands';
import { users } from '../support/users';
import { loadConfig } from '../../shared/config';

/**
 * Issue 16, fault injection on presence, the compliance archive and the connection store, in a cloud of its own
 * (an export every 2 s into a directory of XML files; a 4 s presence lifetime, so the server checks every 2 s):
 * - text SQS refuses (U+FFFE, U+FFFF, lone surrogates) still reaches the archive: no acknowledged action missing
 *   from it, none twice, its text exactly as stored;
 * - a Scheduler that fails while a subscription's refresh timer is armed: the subscription is still refreshed;
 * - a BatchGetItem of users' connections that stays unprocessed fails loudly (503), after backoff, not by
 *   skipping those users.
 */
const EXPORT_SECONDS = 2;
const LIFETIME_SECONDS = 4;
const SLOW = 30_000;

let archiving: ArchivingCloud;
let cloud: TestCloud;

beforeAll(async () => {
  archiving = await startArchivingCloud('archive-faults', {
    exportSeconds: EXPORT_SECONDS,
    env: {
      PRESENCE_SUBSCRIPTION_SECONDS: String(LIFETIME_SECONDS),
      SQS_REQUEST_TIMEOUT_MS: '2500',
      SCHEDULER_REQUEST_TIMEOUT_MS: '2500',
    },
    schedulerRetryBaseDelayMs: 100,
  });
  cloud = archiving.cloud;
});
afterEach(() => cloud.cloud.faults.clear());
afterAll(() => archiving.stop());

const inject = (rule: FaultRule) => archiving.inject(rule);
const ok = (client: TestClient, action: string, args: Record<string, unknown> = {}) => okWithin(client, action, args, SLOW);

function connectionStore(): DynamoConnectionStore {
  return new DynamoConnectionStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME, systemClock);
}

// ---- the archive, read back (test/support/archive.ts) ----

const archive = () => readArchive(archiving.exportDir);

/** Event ids still pending export in the compliance store. */
async function pendingIds(): Promise<Set<string>> {
  return new Set((await storedComplianceEvents(cloud, 'CPEND')).map((event) => event.eventId));
}

/** Waits until every event `where` selects that the test expects is archived and none is pending, then answers them. */
async function archivedWhenSettled(expected: number, where: (event: ArchivedEvent) => boolean): Promise<ArchivedEvent[]> {
  return waitFor(
    `${expected} events in the archive, none pending`,
    async () => {
      const found = (await archive()).filter(where);
      if (new Set(found.map((event) => event.id)).size < expected) return undefined;
      const pending = await pendingIds();
      return found.some((event) => pending.has(event.id)) ? undefined : found;
    },
    SLOW,
  );
}

describe('the compliance queue carries any JSON text (SQS refuses U+FFFE, U+FFFF and lone surrogates)', () => {
  test('posts, a renamed room, an IM and a meeting subject with characters SQS refuses: each acknowledged, in the archive exactly once with its text as stored; no acknowledged action missing, none twice', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const roomId = String((await ok(aliceClient, 'room.create', { name: `refused chars ${newId('n')}` })).roomId);
    await ok(aliceClient, 'chat.join', { roomId });
    await ok(bobClient, 'chat.join', { roomId });

    const texts = [
      'noncharacter U+FFFE: \uFFFE.',
      'noncharacter U+FFFF: \uFFFF.',
      'a lone high surrogate: \uD83D.',
      'a lone low surrogate: \uDE00.',
      'all of them \uFFFE\uFFFF\uD800\uDFFF\uDC00\uD800 with a real pair 😀, a tab\t and a control \u0001',
    ];
    const posted: { seq: number; text: string }[] = [];
    for (const [index, text] of texts.entries()) {
      const answer = await ok(aliceClient, 'chat.grpchat', { roomId, text, clientMsgId: `refused-${index}` });
      posted.push({ seq: Number(answer.seq), text });
    }
    // One more whose queue send fails for good on the first try (the SDK's 3 attempts): 503, and the retry with
    // the same clientMsgId is acknowledged; the archive holds it once.
    const failing = inject({ service: 'sqs', operation: 'SendMessage', match: bodyHas('retried after 503'), fault: { status: 500, type: 'InternalError' }, times: 3 });
    const retriedText = 'retried after 503 \uFFFF\uD800';
    const first = await aliceClient.request('chat.grpchat', { roomId, text: retriedText, clientMsgId: 'refused-retried' }, SLOW);
    expect(first).toMatchObject({ status: 503 });
    expect(failing.hits).toBe(3);
    posted.push({ seq: Number((await ok(aliceClient, 'chat.grpchat', { roomId, text: retriedText, clientMsgId: 'refused-retried' })).seq), text: retriedText });

    // The room is renamed to a name SQS refuses: every later post carries it as the target's name.
    const newName = `renamed \uFFFE\uDBFF ${newId('n')}`;
    await ok(aliceClient, 'room.update', { roomId, name: newName });
    const afterRename = 'after the rename';
    posted.push({ seq: Number((await ok(aliceClient, 'chat.grpchat', { roomId, text: afterRename, clientMsgId: 'after-rename' })).seq), text: afterRename });

    // History holds them as stored: the archive must hold the same text.
    const history = (await ok(bobClient, 'chat.bccontext', { roomId, limit: 50 })).messages as { seq: number; text: string }[];
    for (const { seq, text } of posted) expect(history.find((message) => message.seq === seq)?.text).toBe(text);

    // An IM message and a meeting with such a subject.
    const imText = 'im \uFFFE\uFFFF\uDFFF';
    const im = await ok(aliceClient, 'im.send', { to: bob, text: imText, clientMsgId: newId('m') });
    const subject = `subject \uFFFF\uD801 ${newId('s')}`;
    const confId = String((await ok(aliceClient, 'conf.schedule', { subject, clientId: newId('c') })).confId);
    await ok(aliceClient, 'conf.join', { confId });

    const postIds = posted.map(({ seq }) => `chat.post:${roomId}:${seq}`);
    const archived = await archivedWhenSettled(postIds.length + 2, (event) =>
      postIds.includes(event.id) || (event.type === 'im.message' && event.targetId === im.conversationId) || (event.type === 'conf.join' && event.targetId === confId),
    );

    // No acknowledged action missing, none twice.
    const ids = archived.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { seq, text } of posted) {
      const event = archived.find((candidate) => candidate.id === `chat.post:${roomId}:${seq}`);
      expect({ seq, content: event?.content }).toEqual({ seq, content: text });
    }
    const renamedPost = archived.find((event) => event.id === `chat.post:${roomId}:${posted.at(-1)!.seq}`);
    expect(renamedPost?.targetName).toBe(newName);
    expect(archived.find((event) => event.type === 'im.message')?.content).toBe(imText);
    expect(archived.find((event) => event.type === 'conf.join')?.targetName).toBe(subject);
  });
});

describe('presence refresh timers under Scheduler faults', () => {
  function presenceStore(): DynamoPresenceStore {
    return new DynamoPresenceStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME);
  }

  const timerName = (subscriptionId: string, version: number) => scheduleName({ rule: REFRESH_TIMER_RULE, subject: subscriptionId, version });

  test('CreateSchedule fails for the subscribe’s timer (503, the retry arms it) and for the refresh timer’s re-arm (the firing is retried): the subscription stays subscribed past its lifetime', async () => {
    const [alice, bob] = users('alice', 'bob');
    await cloud.client(bob!);
    const aliceClient = await cloud.client(alice!, 'enterprise', 'desktop', { maxRetries: 0 });
    const clientId = newId('contacts');

    // Every CreateSchedule of a presence refresh timer fails, through the SDK's 3 attempts: the subscribe answers 503.
    const presenceTimers = (request: FaultRequest) => request.body.includes(REFRESH_TIMER_RULE);
    const down = inject({ service: 'scheduler', operation: 'CreateSchedule', match: presenceTimers, fault: { status: 500, type: 'InternalServerException' }, times: 3 });
    await expect(aliceClient.request('presence.subscribe', { targets: [bob!], clientId })).rejects.toMatchObject({ status: 503 });
    expect(down.hits).toBe(3);

    // The retry (same clientId) subscribes and arms the first timer.
    const subscription = (await aliceClient.request('presence.subscribe', { targets: [bob!], clientId })) as ActiveSubscription;
    expect(subscription.state).toBe('subscribed');
    const subscribedAt = Date.now();

    // The first firing cannot re-arm (version 2) for its first invocation: the handler fails, Scheduler retries it.
    const rearm = inject({
      service: 'scheduler',
      operation: 'CreateSchedule',
      match: (request) => request.resource === timerName(subscription.subscriptionId, 2),
      fault: { status: 500, type: 'InternalServerException' },
      times: 3,
    });
    await waitFor('the re-arm to fail', () => (rearm.hits >= 3 ? true : undefined), SLOW);

    // Two lifetimes later it is still subscribed and still notified, and its subscriber was never told otherwise.
    await waitFor('two lifetimes', async () => {
      const stored = await presenceStore().getSubscription(subscription.subscriptionId);
      expect(stored?.state).toBe('subscribed');
      return Date.now() - subscribedAt > 2 * LIFETIME_SECONDS * 1000 && (stored?.timerVersion ?? 0) >= 3 ? true : undefined;
    }, 6 * LIFETIME_SECONDS * 1000);
    const stored = await presenceStore().getSubscription(subscription.subscriptionId);
    expect(stored!.expiresAt).toBeGreaterThan(Date.now());
    const bobAgain = await cloud.client(bob!, 'enterprise', 'mobile');
    await bobAgain.request('presence.publish', { availability: 'busy' });
    await aliceClient.events.nextEvent('presence.notify', (event) => event.subscriptionId === subscription.subscriptionId && event.presence.availability === 'busy');
  });
});

describe('a refresh timer lost for good (Scheduler gave up and dead-lettered it)', () => {
  test('the subscription does not go quiet: past its deadline, the next change of its target ends it visibly (terminated, expired)', async () => {
    const [alice, bob] = users('alice', 'bob');
    const bobClient = await cloud.client(bob!);
    const aliceClient = await cloud.client(alice!);
    const [aliceConnection] = await connectionStore().listByUser(alice!);
    // The same service the handlers run, whose Scheduler takes the timer and never fires it.
    const connections = new ApiGatewayConnections(cloud.cloud.url, loadConfig());
    const service = new PresenceService({
      store: new DynamoPresenceStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME),
      connectionStore: connectionStore(),
      connections,
      delivery: new Delivery(connections, connectionStore(), 8),
      timers: { arm: () => Promise.resolve(), cancel: () => Promise.resolve(), recurring: () => Promise.resolve() },
      clock: systemClock,
      policy: subscriptionPolicy(LIFETIME_SECONDS),
      homeDomain: 'contoso.com',
      concurrency: 8,
      newId,
    });
    const identity: Identity = { uri: alice!, kind: 'enterprise', name: 'Alice', device: 'desktop' };
    const view = await service.subscribe(identity, aliceConnection!.connectionId, { targets: [bob!] });
    if (view.state === 'terminated') throw new Error('a new subscription answered terminated');

    await waitFor('the deadline to pass', () => (Date.now() > view.expiresAt ? true : undefined), 2 * LIFETIME_SECONDS * 1000);
    await bobClient.request('presence.publish', { availability: 'busy' });

    const ended = await aliceClient.events.nextEvent('presence.subscriptionState', (event) => event.subscriptionId === view.subscriptionId);
    expect(ended).toEqual({ subscriptionId: view.subscriptionId, state: 'terminated', reason: 'expired' });
    expect(aliceClient.events.eventsNamed('presence.notify').filter((event) => event.subscriptionId === view.subscriptionId)).toEqual([]);
  });
});

describe('the client library re-subscribes after an unexpected termination', () => {
  test('a target unreadable through the server’s retries: terminated (targetGone), then the library subscribes again with backoff and the new subscription is notified', async () => {
    const [alice, bob] = users('alice', 'bob');
    const bobClient = await cloud.client(bob!);
    const aliceClient = await cloud.client(alice!, 'enterprise', 'desktop', { resubscribe: { initialDelayMs: 200, maxDelayMs: 2000 } });
    const { subscriptionId } = (await aliceClient.request('presence.subscribe', { targets: [bob!] })) as ActiveSubscription;

    // Bob's presence cannot be read (every Query of PRES#bob fails): the server's checks find him unreachable.
    const unreadable = inject({
      service: 'dynamodb',
      operation: 'Query',
      match: bodyHas(`PRES#${bob}`),
      fault: { status: 500, type: 'InternalServerError' },
      times: Infinity,
    });
    const ended = await aliceClient.events.nextEvent(
      'presence.subscriptionState',
      (event) => event.subscriptionId === subscriptionId && event.state === 'terminated',
      6 * LIFETIME_SECONDS * 1000,
    );
    expect(ended).toMatchObject({ reason: 'targetGone' });
    unreadable.remove();

    const resubscribed = await aliceClient.events.nextEvent('presence.resubscribed', (event) => event.previousSubscriptionId === subscriptionId, SLOW);
    expect(resubscribed).toMatchObject({ reason: 'targetGone', targets: [bob] });
    expect(resubscribed.subscriptionId).not.toBe(subscriptionId);
    await bobClient.request('presence.publish', { availability: 'away' });
    expect(await aliceClient.events.nextEvent('presence.notify', (event) => event.subscriptionId === resubscribed.subscriptionId && event.presence.availability === 'away')).toMatchObject({
      uri: bob,
    });
  });
});

describe('the connection store under a BatchGetItem done in part', () => {
  test('connectionIdsOf retries unprocessed keys with backoff, and fails loudly (503) when they stay unprocessed, never skipping a user', async () => {
    const [alice, bob] = users('alice', 'bob');
    await cloud.client(alice!);
    await cloud.client(bob!);
    const ofBob = (request: FaultRequest) => request.body.includes(`USER#${bob}`);
    const holdBackBob = { holdBack: (_index: number, key: Record<string, unknown>) => JSON.stringify(key).includes(`USER#${bob}`) };

    // Held back twice: the retries with backoff get it.
    const twice = inject({ service: 'dynamodb', operation: 'BatchGetItem', match: ofBob, fault: holdBackBob, times: 2 });
    const both = await connectionStore().connectionIdsOf([alice!, bob!]);
    expect(twice.hits).toBe(2);
    expect(both).toHaveLength(2);

    // Held back for good: an error the envelope maps to 503, not a list without Bob.
    const always = inject({ service: 'dynamodb', operation: 'BatchGetItem', match: ofBob, fault: holdBackBob, times: Infinity });
    const failure = await connectionStore().connectionIdsOf([alice!, bob!]).then(
      (ids) => ids,
      (error: unknown) => error,
    );
    always.remove();
    expect(failure).toBeInstanceOf(UnprocessedBatchError);
    expect(always.hits).toBeGreaterThan(3);
    expect(failure).toBeInstanceOf(UnavailableError); // the domain's 503 (shared/errors.ts)
  });

  test('a chat post whose follower’s connections stay unprocessed answers 503 (not 200 with the follower skipped)', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const roomId = String((await ok(aliceClient, 'room.create', { name: `batch get ${newId('n')}` })).roomId);
    await ok(aliceClient, 'chat.join', { roomId });
    await ok(bobClient, 'chat.join', { roomId });
    const holdBackBob = { holdBack: (_index: number, key: Record<string, unknown>) => JSON.stringify(key).includes(`USER#${bob}`) };
    const always = inject({ service: 'dynamodb', operation: 'BatchGetItem', match: (request) => request.body.includes(`USER#${bob}`), fault: holdBackBob, times: Infinity });

    const first = await aliceClient.request('chat.grpchat', { roomId, text: 'to bob', clientMsgId: 'batch-get' }, SLOW);
    expect(first).toMatchObject({ status: 503 });
    always.remove();
    expect(always.hits).toBeGreaterThan(3);
  });
});
