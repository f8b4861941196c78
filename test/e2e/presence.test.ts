import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ApiGatewayConnections } from '../../shared/adapters/apigw-connections';
import { systemClock } from '../../shared/adapters/clock';
import { DynamoConnectionStore } from '../../shared/adapters/connection-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import { DynamoPresenceStore } from '../../shared/adapters/presence-store-dynamodb';
import type { ActiveSubscription, CommandArgs, ServerEvents, SubscriptionView, UcClient } from '../../client/src';
import type { Identity } from '../../shared/auth/identity';
import { Delivery } from '../../shared/connections/delivery';
import { newId } from '../../shared/ids';
import type { Timers } from '../../shared/ports';
import type { PresenceStore } from '../../shared/presence/ports';
import { PresenceService } from '../../shared/presence/service';
import { subscriptionPolicy } from '../../shared/presence/subscription';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { waitFor } from '../support/client';
import type { RecordedClient } from '../support/uc-client';
import { userBatch, users } from '../support/users';
import { loadConfig } from '../../shared/config';

/**
 * SPEC §5 end to end, with PRESENCE_SUBSCRIPTION_SECONDS = 4 (the server checks each subscription every 2 s; a 2 s
 * lifetime left a loaded machine too little slack between a check and the deadline),
 * through the client library (client/src) as a UI would use it. Raw frames (`cloud.connect`) only where a
 * test needs them: a connection's own first `session.resume` (the library sends one on connect) and
 * malformed arguments. `presence.notify` events pass through the library unchanged; it refreshes a
 * subscription by itself only on a version gap, which none of these tests has, and subscribes again only after an
 * unexpected termination (test/e2e/fault-injection-presence-archive.test.ts).
 */
let cloud: TestCloud;
const LIFETIME_MS = 4000;
/** Small quotas, so each refusal takes a few commands (no other test here holds more than 2 subscriptions of 2 targets). */
const QUOTAS = { subscriptions: 3, watchedTargets: 8, targetsPerSubscription: 5 };

beforeAll(async () => {
  cloud = await startTestCloud({
    env: {
      PRESENCE_SUBSCRIPTION_SECONDS: String(LIFETIME_MS / 1000),
      PRESENCE_MAX_SUBSCRIPTIONS_PER_USER: String(QUOTAS.subscriptions),
      PRESENCE_MAX_WATCHED_TARGETS_PER_USER: String(QUOTAS.watchedTargets),
      PRESENCE_MAX_TARGETS_PER_SUBSCRIPTION: String(QUOTAS.targetsPerSubscription),
    },
  });
});
afterAll(async () => {
  await cloud.stop();
});

function connectionStore(): DynamoConnectionStore {
  return new DynamoConnectionStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME, systemClock);
}

/** The ids of the user's connections as the store has them. */
async function connectionIdsOf(uri: string): Promise<string[]> {
  return (await connectionStore().listByUser(uri)).map((record) => record.connectionId);
}

/** Connects a new endpoint and answers it with the connection id the gateway gave it. */
async function connectWithId(uri: string, device: 'desktop' | 'mobile' = 'desktop'): Promise<{ client: RecordedClient; connectionId: string }> {
  const before = new Set(await connectionIdsOf(uri));
  const client = await cloud.client(uri, 'enterprise', device);
  const connectionId = await waitFor(`the new connection of ${uri}`, async () => (await connectionIdsOf(uri)).find((id) => !before.has(id)));
  return { client, connectionId };
}

type Notify = ServerEvents['presence.notify'];

/** A subscribe (without a clientId the library adds one: a subscription id derived from it, as a retry needs). */
async function subscribe(client: UcClient, targets: readonly string[], extra: Omit<CommandArgs<'presence.subscribe'>, 'targets'> = {}): Promise<ActiveSubscription> {
  return active(await client.request('presence.subscribe', { targets: [...targets], ...extra }));
}

function publish(client: UcClient, args: CommandArgs<'presence.publish'>) {
  return client.request('presence.publish', args);
}

async function refresh(client: UcClient, subscriptionId?: string): Promise<SubscriptionView[]> {
  const answer = await client.request('presence.refresh', subscriptionId ? { subscriptionId } : {});
  if (!('subscriptions' in answer)) throw new Error(`presence.refresh answered ${JSON.stringify(answer)}`);
  return answer.subscriptions;
}

/** An active subscription's view (a terminated one fails the test). */
function active(view: SubscriptionView | undefined): ActiveSubscription {
  if (view?.state !== 'subscribed' && view?.state !== 'terminating') throw new Error(`not an active subscription: ${JSON.stringify(view)}`);
  return view;
}

function notifications(client: RecordedClient, subscriptionId: string): Notify[] {
  return client.events.eventsNamed('presence.notify').filter((event) => event.subscriptionId === subscriptionId);
}

function notified(client: RecordedClient, subscriptionId: string, availability: string, timeoutMs?: number): Promise<Notify> {
  return client.events.nextEvent('presence.notify', (event) => event.subscriptionId === subscriptionId && event.presence.availability === availability, timeoutMs);
}

describe('subscribing and publishing', () => {
  test('subscribe returns the current presence of each target with its version', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const bobClient = await cloud.client(bob!);
    await publish(bobClient, { availability: 'busy', activity: 'inAMeeting', note: 'until 3' });
    const aliceClient = await cloud.client(alice!);
    const before = Date.now();

    const subscription = await subscribe(aliceClient, [bob!, carol!]);

    expect(subscription).toMatchObject({
      state: 'subscribed',
      // bob: online when he connected (version 1), busy when he published (version 2); carol never connected.
      targets: [
        { uri: bob, presence: { availability: 'busy', activity: 'inAMeeting', note: 'until 3' }, version: 2 },
        { uri: carol, presence: { availability: 'offline' }, version: 0 },
      ],
    });
    expect(subscription.subscriptionId).toEqual(expect.any(String));
    expect(subscription.expiresAt).toBeGreaterThanOrEqual(before + LIFETIME_MS);
    expect(subscription.expiresAt).toBeLessThanOrEqual(Date.now() + LIFETIME_MS);
  });

  test('a retried subscribe with the same clientId gets the same subscription; targets can be added to it', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const aliceClient = await cloud.client(alice!);
    const carolClient = await cloud.client(carol!);
    const first = await subscribe(aliceClient, [bob!], { clientId: 'contacts' });
    const retry = await subscribe(aliceClient, [bob!], { clientId: 'contacts' });
    expect(retry.subscriptionId).toBe(first.subscriptionId);

    const added = await subscribe(aliceClient, [carol!], { subscriptionId: first.subscriptionId });
    expect(added).toMatchObject({ subscriptionId: first.subscriptionId, targets: [{ uri: carol, presence: { availability: 'online' }, version: 1 }] });
    await publish(carolClient, { availability: 'away' });
    expect(await notified(aliceClient, first.subscriptionId, 'away')).toMatchObject({ uri: carol, version: added.targets[0]!.version + 1 });
  });

  test('publish notifies every subscriber with the target’s new version; an unchanged publish notifies nobody', async () => {
    const [alice, bob] = users('alice', 'bob');
    const bobClient = await cloud.client(bob!);
    const aliceClient = await cloud.client(alice!);
    const { subscriptionId } = await subscribe(aliceClient, [bob!]);

    const answer = await publish(bobClient, { availability: 'away', note: 'back soon' });

    expect(answer).toEqual({ uri: bob, presence: { availability: 'away', note: 'back soon' }, version: 2 });
    // The event's payload as the library passes it on: the frame without `type` and `event`.
    expect(await notified(aliceClient, subscriptionId, 'away')).toEqual({
      subscriptionId,
      uri: bob,
      presence: { availability: 'away', note: 'back soon' },
      version: 2,
    });
    expect(await publish(bobClient, { availability: 'away' })).toMatchObject({ version: 2 });
    await aliceClient.request('ping');
    expect(notifications(aliceClient, subscriptionId)).toHaveLength(1);
  });

  test('two endpoints aggregate: the most available state wins, an explicit user state wins over machine state', async () => {
    const [alice, bob] = users('alice', 'bob');
    const bobDesktop = await cloud.client(bob!, 'enterprise', 'desktop');
    const aliceClient = await cloud.client(alice!);
    const { subscriptionId } = await subscribe(aliceClient, [bob!]);

    // The desktop goes idle by itself.
    expect(await publish(bobDesktop, { source: 'machine', availability: 'away' })).toMatchObject({ presence: { availability: 'away' } });
    await notified(aliceClient, subscriptionId, 'away');
    // A phone connects (online): the more available endpoint wins.
    const bobMobile = await cloud.client(bob!, 'enterprise', 'mobile');
    await notified(aliceClient, subscriptionId, 'online');
    // The phone is in a call: busy beats the idle desktop's away.
    expect(await publish(bobMobile, { source: 'machine', availability: 'busy', activity: 'inACall' })).toMatchObject({
      presence: { availability: 'busy', activity: 'inACall' },
    });
    await notified(aliceClient, subscriptionId, 'busy');
    // Bob chooses Do Not Disturb on the desktop: a user state wins over every machine state.
    expect(await publish(bobDesktop, { availability: 'doNotDisturb' })).toMatchObject({ presence: { availability: 'doNotDisturb' } });
    await notified(aliceClient, subscriptionId, 'doNotDisturb');

    expect(notifications(aliceClient, subscriptionId).map((event) => (event.presence as { availability: string }).availability)).toEqual([
      'away',
      'online',
      'busy',
      'doNotDisturb',
    ]);
  });

  test('closing all of a user’s connections makes them offline for subscribers, not closing one of two', async () => {
    const [alice, bob] = users('alice', 'bob');
    const bobDesktop = await cloud.client(bob!, 'enterprise', 'desktop');
    const bobMobile = await cloud.client(bob!, 'enterprise', 'mobile');
    const aliceClient = await cloud.client(alice!);
    const { subscriptionId } = await subscribe(aliceClient, [bob!]);

    await bobDesktop.disconnect();
    await waitFor('the desktop’s $disconnect', async () => ((await connectionIdsOf(bob!)).length === 1 ? true : undefined));
    await cloud.cloud.gateway.drain();
    await aliceClient.request('ping');
    expect(notifications(aliceClient, subscriptionId)).toHaveLength(0);

    await bobMobile.disconnect();
    expect(await notified(aliceClient, subscriptionId, 'offline')).toMatchObject({ uri: bob, version: 2 });
  });
});

describe('version (SPEC §5)', () => {
  /** What a client does with each notification of a target: it must be the version after the last it saw. */
  function firstGap(received: readonly Notify[], lastSeen: number): { expected: number; got: number } | undefined {
    let last = lastSeen;
    for (const event of received) {
      if (event.version !== last + 1) return { expected: last + 1, got: event.version };
      last = event.version;
    }
    return undefined;
  }

  test('rises by exactly one per change and every change is notified, so a version jump shows a lost notification; a refresh recovers', async () => {
    const [alice, bob] = users('alice', 'bob');
    const bobClient = await cloud.client(bob!);
    const aliceClient = await cloud.client(alice!);
    const { subscriptionId, targets } = await subscribe(aliceClient, [bob!]);
    const subscribedAt = targets[0]!.version;
    for (const availability of ['busy', 'away', 'beRightBack', 'doNotDisturb', 'online'] as const) await publish(bobClient, { availability });

    const received = await waitFor('five notifications', () => (notifications(aliceClient, subscriptionId).length >= 5 ? notifications(aliceClient, subscriptionId) : undefined));
    expect(received.map((event) => event.version)).toEqual([2, 3, 4, 5, 6]);
    expect(received.every((event) => !('seq' in event))).toBe(true);
    expect(firstGap(received, subscribedAt)).toBeUndefined();

    // The third notification is lost on the way: the client sees version 5 where it expected 4.
    const lossy = received.filter((event) => event.version !== 4);
    expect(firstGap(lossy, subscribedAt)).toEqual({ expected: 4, got: 5 });

    // On a gap the client refreshes: the current presence and its version, to go on from.
    const [current] = await refresh(aliceClient, subscriptionId);
    expect(current).toMatchObject({ subscriptionId, state: 'subscribed', targets: [{ uri: bob, presence: { availability: 'online' }, version: 6 }] });
    const baseline = active(current).targets[0]!.version;
    await publish(bobClient, { availability: 'away' });
    const next = await aliceClient.events.nextEvent('presence.notify', (event) => event.subscriptionId === subscriptionId && event.version > baseline);
    expect(firstGap([next], baseline)).toBeUndefined();
  });
});

describe('subscription lifetime and failures', () => {
  test('server refresh rule (SPEC §5): with its subscriber connected and its target readable, a subscription no client refreshes stays subscribed past its lifetime', async () => {
    const [alice, bob] = users('alice', 'bob');
    const bobClient = await cloud.client(bob!);
    const aliceClient = await cloud.client(alice!);
    const subscribedAt = Date.now();
    const { subscriptionId, expiresAt } = await subscribe(aliceClient, [bob!]);

    // The server checks it every 2 s (half its lifetime): wait for two lifetimes of its own refreshes.
    const stored = await waitFor(
      'two lifetimes of server refreshes',
      async () => {
        const current = await new DynamoPresenceStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME).getSubscription(subscriptionId);
        if (current?.state !== 'subscribed') throw new Error(`the subscription left subscribed: ${JSON.stringify(current)}`);
        return Date.now() - subscribedAt > 2 * LIFETIME_MS && current.timerVersion >= 4 ? current : undefined;
      },
      6 * LIFETIME_MS,
    );

    expect(stored.expiresAt).toBeGreaterThan(expiresAt + LIFETIME_MS);
    expect(aliceClient.events.eventsNamed('presence.subscriptionState')).toEqual([]);
    // Still live: notified of a change, with the next version.
    await publish(bobClient, { availability: 'busy' });
    expect(await notified(aliceClient, subscriptionId, 'busy')).toMatchObject({ uri: bob, version: 2 });
  });

  test('the refresh timer is versioned: a stale or duplicate firing changes nothing', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.client(alice!);
    await cloud.client(bob!);
    const { subscriptionId } = await subscribe(aliceClient, [bob!]);
    const fire = (version: number) => cloud.cloud.lambdas.invoke('timer', { rule: 'presence.refresh', subject: subscriptionId, version });

    expect(await fire(7)).toEqual({ outcome: 'ignored' });
    // The armed version, early: the check passes and the next timer (version 2) is armed.
    expect(await fire(1)).toEqual({ outcome: 'rearmed' });
    expect(await fire(1)).toEqual({ outcome: 'ignored' });
    expect(aliceClient.events.eventsNamed('presence.subscriptionState')).toHaveLength(0);
  });

  test('refresh returns the current state, finds a vanished target now, and keeps the subscription alive', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const { connectionId: bobConnection } = await connectWithId(bob!);
    await cloud.client(carol!);
    const aliceClient = await cloud.client(alice!);
    const first = await subscribe(aliceClient, [bob!]);
    const second = await subscribe(aliceClient, [carol!]);
    expect(first.targets).toEqual([{ uri: bob, presence: { availability: 'online' }, version: 1 }]);

    // Bob's client vanishes: nothing tells the server, his endpoint still says online.
    cloud.cloud.gateway.dropWithoutDisconnect(bobConnection);
    const [refreshed] = await refresh(aliceClient, first.subscriptionId);
    expect(refreshed).toMatchObject({ subscriptionId: first.subscriptionId, state: 'subscribed', targets: [{ uri: bob, presence: { availability: 'offline' }, version: 2 }] });
    expect(active(refreshed).expiresAt).toBeGreaterThan(first.expiresAt);

    // Without an id: every subscription of this connection.
    expect((await refresh(aliceClient)).map((view) => view.subscriptionId).sort()).toEqual([first.subscriptionId, second.subscriptionId].sort());

    // Refreshed four times per lifetime, as a client would, they outlive it.
    const startedAt = Date.now();
    let refreshedAt = 0;
    await waitFor(
      'two lifetimes of refreshes',
      async () => {
        if (Date.now() - refreshedAt >= LIFETIME_MS / 4) {
          refreshedAt = Date.now();
          expect((await refresh(aliceClient)).map((view) => view.state)).toEqual(['subscribed', 'subscribed']);
        }
        return Date.now() - startedAt > 2 * LIFETIME_MS ? true : undefined;
      },
      4 * LIFETIME_MS,
    );
    expect(aliceClient.events.eventsNamed('presence.subscriptionState')).toHaveLength(0);
  });

  test('unsubscribe ends it: terminated with reason unsubscribed, and no more notifications', async () => {
    const [alice, bob] = users('alice', 'bob');
    const bobClient = await cloud.client(bob!);
    const aliceClient = await cloud.client(alice!);
    const { subscriptionId } = await subscribe(aliceClient, [bob!]);

    const answer = await aliceClient.request('presence.unsubscribe', { subscriptionId });

    expect(answer).toMatchObject({ subscriptionId, state: 'terminated', reason: 'unsubscribed', uris: [bob] });
    expect(await aliceClient.events.nextEvent('presence.subscriptionState', (event) => event.subscriptionId === subscriptionId)).toMatchObject({
      state: 'terminated',
      reason: 'unsubscribed',
    });
    await publish(bobClient, { availability: 'busy' });
    await aliceClient.request('ping');
    expect(notifications(aliceClient, subscriptionId)).toHaveLength(0);
  });
});

describe('session.resume', () => {
  test('restores the user’s subscriptions on the new connection, with a full snapshot, then live notifications', async () => {
    const [alice, bob] = users('alice', 'bob');
    const bobClient = await cloud.client(bob!);
    const aliceClient = await cloud.client(alice!);
    const { subscriptionId } = await subscribe(aliceClient, [bob!]);

    await aliceClient.disconnect();
    await publish(bobClient, { availability: 'busy', note: 'while you were away' });
    // Raw frames: this connection's first session.resume is the test's own (with a room it does not follow),
    // where the library would send its own on connect.
    const aliceAgain = await cloud.connect(alice!);
    const resumed = await aliceAgain.request('session.resume', { since: { 'room-not-yet': 3 } });

    expect(resumed).toMatchObject({ status: 200 });
    const { subscriptions } = (resumed.body as { presence: { subscriptions: ActiveSubscription[] } }).presence;
    expect(subscriptions).toEqual([
      {
        subscriptionId,
        state: 'subscribed',
        expiresAt: expect.any(Number),
        targets: [{ uri: bob, presence: { availability: 'busy', note: 'while you were away' }, version: 2 }],
      },
    ]);
    await publish(bobClient, { availability: 'online' });
    const online = await aliceAgain.nextEvent('presence.notify', (event) => event.subscriptionId === subscriptionId && (event.presence as { availability: string }).availability === 'online');
    expect(online).toMatchObject({ uri: bob, version: 3 });
  });

  test('subscriptions another live connection of the user holds stay there', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceDesktop = await cloud.client(alice!, 'enterprise', 'desktop');
    await subscribe(aliceDesktop, [bob!]);
    const aliceMobile = await cloud.client(alice!, 'enterprise', 'mobile');

    // The session.resume the library sent on connect, and one more.
    expect(await aliceMobile.events.nextEvent('resumed')).toEqual({ presence: { subscriptions: [] }, reconnect: false });
    expect(await aliceMobile.request('session.resume', {})).toEqual({ presence: { subscriptions: [] } });
  });
});

describe('fan-out', () => {
  type CountedRequest = { command: string; input: Record<string, unknown>; output: Record<string, unknown> };
  const WRITE_COMMANDS = ['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand', 'TransactWriteItemsCommand'];

  /** The same service the handlers run, on the same table, with its store calls and DynamoDB requests counted. */
  function countedService(): { service: PresenceService; requests: CountedRequest[]; storeCalls: Array<{ method: string; args: unknown[] }> } {
    const requests: CountedRequest[] = [];
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: cloud.cloud.url }), { marshallOptions: { removeUndefinedValues: true } });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        requests.push({ command: String(context.commandName), input: args.input as Record<string, unknown>, output: result.output as Record<string, unknown> });
        return result;
      },
      { step: 'initialize', name: 'countRequests' },
    );
    const storeCalls: Array<{ method: string; args: unknown[] }> = [];
    const store = countingStore(new DynamoPresenceStore(client, cloud.cloud.config.TABLE_NAME), storeCalls);
    const connections = new ApiGatewayConnections(cloud.cloud.url, loadConfig());
    const connectionsStore = new DynamoConnectionStore(client, cloud.cloud.config.TABLE_NAME, systemClock);
    const service = new PresenceService({
      store,
      connectionStore: connectionsStore,
      connections,
      delivery: new Delivery(connections, connectionsStore, 8),
      timers: noTimers,
      clock: systemClock,
      policy: subscriptionPolicy(LIFETIME_MS / 1000),
      homeDomain: 'contoso.com',
      concurrency: 8,
      newId,
    });
    return { service, requests, storeCalls };
  }

  /** Bob with `count` subscribers (and subscriptions to someone else, which a scan would read) publishes once, counted. */
  async function publishTo(count: number) {
    const [bob, carol, ...watchers] = users('bob', 'carol', ...Array.from({ length: count + 3 }, (_, n) => `w${n}-of-${count}-`));
    const { connectionId: bobConnection } = await connectWithId(bob!);
    await cloud.client(carol!);
    const bobWatchers = await Promise.all(watchers.slice(0, count).map((uri) => cloud.client(uri)));
    const subscriptionIds = await Promise.all(bobWatchers.map(async (client) => (await subscribe(client, [bob!])).subscriptionId));
    for (const uri of watchers.slice(count)) await subscribe(await cloud.client(uri), [carol!]);
    const counted = countedService();
    const bobIdentity: Identity = { uri: bob!, kind: 'enterprise', name: 'Bob', device: 'desktop' };

    expect(await counted.service.publish(bobIdentity, bobConnection, { source: 'user', availability: 'busy' })).toMatchObject({ version: 2 });

    for (const [index, watcher] of bobWatchers.entries()) expect(await notified(watcher, subscriptionIds[index]!, 'busy')).toMatchObject({ uri: bob, version: 2 });
    return { bob: bob!, subscriptionIds, ...counted };
  }

  test('O(1) writes per publish (issue 21): at 1 and at 20 subscribers the same write requests, at most 3; the index read page by page and its subscriptions in one batch read, no scan', async () => {
    const one = await publishTo(1);
    const twenty = await publishTo(20);

    const writes = (requests: CountedRequest[]) => requests.filter((request) => WRITE_COMMANDS.includes(request.command)).map((request) => request.command);
    expect(writes(twenty.requests)).toEqual(writes(one.requests));
    expect(writes(twenty.requests).length).toBeLessThanOrEqual(3);
    for (const { bob, subscriptionIds, requests, storeCalls } of [one, twenty]) {
      // Every DynamoDB request of the publish: no scan, no write per subscriber.
      expect(requests.map((request) => request.command)).toEqual([
        'QueryCommand', // the publisher's endpoints and own state (PRES#bob)
        'UpdateItemCommand', // the user's explicit state (SPEC §9: the user's, not the endpoint's)
        'QueryCommand', // the endpoints again, to aggregate
        'PutItemCommand', // the aggregate, version 2: the one write of the change
        'QueryCommand', // the index: PWATCH#bob, one page
        'BatchGetItemCommand', // the page's subscriptions (where to post, expiry): reads only
      ]);
      const queries = requests.filter((request) => request.command === 'QueryCommand');
      expect(queries.map((query) => keyValue(query.input, ':pk'))).toEqual([`PRES#${bob}`, `PRES#${bob}`, `PWATCH#${bob}`]);
      expect(queries[2]!.output).toMatchObject({ Count: subscriptionIds.length, ScannedCount: subscriptionIds.length });
      expect(storeCalls.filter((call) => call.method === 'watchersPage').map((call) => call.args[0])).toEqual([bob]);
      expect(storeCalls.filter((call) => call.method === 'getSubscriptions').flatMap((call) => call.args[0] as string[]).sort()).toEqual([...subscriptionIds].sort());
      expect(storeCalls.map((call) => call.method)).not.toContain('listSubscriptionsOf');
    }
  });

  test('an index item whose subscription is gone is removed by the next fan-out that reads it, once, in one batch', async () => {
    const { bob, subscriptionIds } = await publishTo(2);
    const store = new DynamoPresenceStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME);
    // The subscription vanishes without its index item (a clean-up that died half-way).
    await store.deleteSubscription(subscriptionIds[0]!);
    const { service, requests } = countedService();
    const bobIdentity: Identity = { uri: bob, kind: 'enterprise', name: 'Bob', device: 'desktop' };
    const [bobConnection] = await connectionIdsOf(bob);

    await service.publish(bobIdentity, bobConnection!, { source: 'user', availability: 'away' });
    expect(requests.filter((request) => request.command === 'BatchWriteItemCommand')).toHaveLength(1);
    expect((await store.watchersPage(bob)).subscriptionIds).toEqual([subscriptionIds[1]]);

    requests.length = 0;
    await service.publish(bobIdentity, bobConnection!, { source: 'user', availability: 'busy' });
    expect(requests.map((request) => request.command)).not.toContain('BatchWriteItemCommand');
  });
});

describe('refusals', () => {
  test('anonymous guests may not watch enterprise users (403), but may watch others', async () => {
    const [alice] = users('alice');
    const guest = await cloud.client(`sip:guest${userBatch()}@guest.example.com`, 'anonymous', 'web');
    await expect(guest.request('presence.subscribe', { targets: [alice!] })).rejects.toMatchObject({ status: 403, code: 'Forbidden' });
    await expect(guest.request('presence.subscribe', { targets: ['sip:partner@fabrikam.com', alice!] })).rejects.toMatchObject({ status: 403 });
    await guest.request('presence.subscribe', { targets: ['sip:partner@fabrikam.com'] }); // a 200: a refusal rejects
  });

  // Malformed arguments (numbers for ids, unknown values) are what the typed client exists to prevent, so
  // this test sends raw frames and checks the error frame on the wire.
  test('bad arguments are 400 naming the field', async () => {
    const [alice] = users('alice');
    const client = await cloud.connect(alice!);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['presence.subscribe', {}, 'targets'],
      ['presence.subscribe', { targets: [] }, 'targets'],
      ['presence.subscribe', { targets: ['bob'] }, 'targets.0'],
      ['presence.subscribe', { targets: [alice], subscriptionId: 5 }, 'subscriptionId'],
      ['presence.publish', {}, 'availability'],
      ['presence.publish', { availability: 'sleepy' }, 'availability'],
      ['presence.publish', { availability: 'busy', reset: true }, 'availability'],
      ['presence.publish', { reset: true, source: 'machine' }, 'reset'],
      ['presence.publish', { availability: 'busy', note: 5 }, 'note'],
      ['presence.refresh', { subscriptionId: 7 }, 'subscriptionId'],
      ['presence.unsubscribe', {}, 'subscriptionId'],
      ['session.resume', { since: { room: -1 } }, 'since.room'],
    ];
    for (const [action, args, field] of cases) {
      expect({ action, args, response: await client.request(action, args) }).toMatchObject({ response: { status: 400, error: { code: 'BadRequest', field } } });
    }
  });

  test('someone else’s subscription is 403; an unknown one 404', async () => {
    const [alice, bob, mallory] = users('alice', 'bob', 'mallory');
    const aliceClient = await cloud.client(alice!);
    const malloryClient = await cloud.client(mallory!);
    const { subscriptionId } = await subscribe(aliceClient, [bob!]);

    for (const attempt of [
      () => malloryClient.request('presence.unsubscribe', { subscriptionId }),
      () => malloryClient.request('presence.refresh', { subscriptionId }),
      () => malloryClient.request('presence.subscribe', { subscriptionId, targets: [mallory!] }),
    ]) {
      await expect(attempt()).rejects.toMatchObject({ status: 403, code: 'Forbidden' });
    }
    await expect(malloryClient.request('presence.unsubscribe', { subscriptionId: 'psub_nope' })).rejects.toMatchObject({ status: 404, code: 'NotFound' });
    // Alice's subscription is untouched.
    expect(await refresh(aliceClient, subscriptionId)).toMatchObject([{ subscriptionId, state: 'subscribed' }]);
  });
});

describe('quotas (issue 17)', () => {
  /** Targets nobody needs to be connected as: offline users are watched all the same. */
  function targetsOf(owner: string, count: number, from = 0): string[] {
    return Array.from({ length: count }, (_, n) => owner.replace('sip:', `sip:t${from + n}-`));
  }

  async function storedSubscriptionsOf(uri: string) {
    return (await new DynamoPresenceStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME).listSubscriptionsOf(uri)).filter((held) => held.state !== 'terminated');
  }

  test('quota PRESENCE_MAX_SUBSCRIPTIONS_PER_USER: one subscription more is refused 403 naming the limit; unsubscribing one makes room', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.client(alice!);
    const targets = targetsOf(alice!, QUOTAS.subscriptions + 1);
    const held = [];
    for (const target of targets.slice(0, QUOTAS.subscriptions)) held.push(await subscribe(aliceClient, [target]));

    const refused = aliceClient.request('presence.subscribe', { targets: [targets[QUOTAS.subscriptions]!] });
    await expect(refused).rejects.toMatchObject({ status: 403, code: 'Forbidden', message: expect.stringContaining(`PRESENCE_MAX_SUBSCRIPTIONS_PER_USER`) });
    await expect(refused).rejects.toMatchObject({ message: expect.stringContaining(`at most ${QUOTAS.subscriptions} presence subscriptions`) });
    expect(await storedSubscriptionsOf(alice!)).toHaveLength(QUOTAS.subscriptions);

    await aliceClient.request('presence.unsubscribe', { subscriptionId: held[0]!.subscriptionId });
    expect(await subscribe(aliceClient, [targets[QUOTAS.subscriptions]!])).toMatchObject({ state: 'subscribed' });
  });

  test('quota PRESENCE_MAX_WATCHED_TARGETS_PER_USER: targets over it, in a new subscription or added to one, are refused 403 naming the limit', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.client(alice!);
    const first = await subscribe(aliceClient, targetsOf(alice!, QUOTAS.targetsPerSubscription));
    const second = await subscribe(aliceClient, targetsOf(alice!, QUOTAS.watchedTargets - QUOTAS.targetsPerSubscription, 100));
    const overLimit = { status: 403, code: 'Forbidden', message: expect.stringContaining(`PRESENCE_MAX_WATCHED_TARGETS_PER_USER: a user watches at most ${QUOTAS.watchedTargets} targets`) };

    await expect(aliceClient.request('presence.subscribe', { targets: targetsOf(alice!, 1, 200) })).rejects.toMatchObject(overLimit);
    await expect(aliceClient.request('presence.subscribe', { targets: targetsOf(alice!, 1, 200), subscriptionId: second.subscriptionId })).rejects.toMatchObject(overLimit);
    // Nothing was added: the second subscription still watches what it did.
    expect((await storedSubscriptionsOf(alice!)).find((held) => held.subscriptionId === second.subscriptionId)?.targets).toEqual(second.targets.map((target) => target.uri));
    // A target the subscription already watches is no more: adding it again is fine.
    expect(await subscribe(aliceClient, [second.targets[0]!.uri], { subscriptionId: second.subscriptionId })).toMatchObject({ state: 'subscribed' });
    expect(first.state).toBe('subscribed');
  });

  test('PRESENCE_MAX_TARGETS_PER_SUBSCRIPTION: a subscription over it, at once or by adding, is refused 400 naming targets and the limit', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.client(alice!);
    const overLimit = { status: 400, code: 'BadRequest', field: 'targets', message: expect.stringContaining(`at most ${QUOTAS.targetsPerSubscription} users (PRESENCE_MAX_TARGETS_PER_SUBSCRIPTION)`) };
    await expect(aliceClient.request('presence.subscribe', { targets: targetsOf(alice!, QUOTAS.targetsPerSubscription + 1) })).rejects.toMatchObject(overLimit);

    const full = await subscribe(aliceClient, targetsOf(alice!, QUOTAS.targetsPerSubscription));
    await expect(aliceClient.request('presence.subscribe', { targets: targetsOf(alice!, 1, 100), subscriptionId: full.subscriptionId })).rejects.toMatchObject(overLimit);
  });

  test('a repeated subscribe to targets a subscription of the same connection already watches reuses it: no second subscription, even at the quota', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const bobClient = await cloud.client(bob!);
    const aliceClient = await cloud.client(alice!);
    const first = await subscribe(aliceClient, [bob!, carol!]);

    const again = await subscribe(aliceClient, [bob!]);
    expect(again).toMatchObject({ subscriptionId: first.subscriptionId, state: 'subscribed' });
    expect(again.expiresAt).toBeGreaterThanOrEqual(first.expiresAt);
    expect(again.targets.map((target) => target.uri).sort()).toEqual([bob, carol].sort());
    // Many more (the 2,000, here more than the quota): still the one subscription, never a refusal.
    for (let n = 0; n < QUOTAS.subscriptions + 1; n++) expect((await subscribe(aliceClient, [carol!, bob!])).subscriptionId).toBe(first.subscriptionId);
    expect((await storedSubscriptionsOf(alice!)).map((held) => held.subscriptionId)).toEqual([first.subscriptionId]);

    // And it is live: one notification per change, on the one subscription.
    await publish(bobClient, { availability: 'busy' });
    await notified(aliceClient, first.subscriptionId, 'busy');
    await aliceClient.request('ping');
    expect(aliceClient.events.eventsNamed('presence.notify')).toHaveLength(1);

    // Another connection of the same user gets a subscription of its own (events go to one connection).
    const aliceMobile = await cloud.client(alice!, 'enterprise', 'mobile');
    expect((await subscribe(aliceMobile, [bob!])).subscriptionId).not.toBe(first.subscriptionId);
  });
});

/** A string value of a DynamoDB request, in the wire format the middleware sees (`{S: ...}`). */
function keyValue(input: Record<string, unknown>, path: string): string | undefined {
  const [container, name] = path.startsWith(':') ? ['ExpressionAttributeValues', path] : path.split('.');
  const attribute = (input[container!] as Record<string, { S?: string } | string | undefined> | undefined)?.[name!];
  return typeof attribute === 'string' ? attribute : attribute?.S;
}

/** A fan-out arms no timer; this fails the test if it tried. */
const noTimers: Timers = {
  arm: () => Promise.reject(new Error('a fan-out arms no timer')),
  cancel: () => Promise.reject(new Error('a fan-out cancels no timer')),
  recurring: () => Promise.reject(new Error('a fan-out schedules nothing')),
};

/** The store, with every call recorded by method and arguments. */
function countingStore(store: PresenceStore, calls: Array<{ method: string; args: unknown[] }>): PresenceStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push({ method: String(property), args });
        return (value as (...callArgs: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
