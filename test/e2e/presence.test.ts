import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ApiGatewayConnections } from '../../shared/adapters/apigw-connections';
import { systemClock } from '../../shared/adapters/clock';
import { DynamoConnectionStore } from '../../shared/adapters/connection-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/dynamodb';
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

/**
 * SPEC §5 end to end, with PRESENCE_SUBSCRIPTION_SECONDS = 2 (the server checks each subscription after 1 s),
 * through the client library (client/src) as a UI would use it. Raw frames (`cloud.connect`) only where a
 * test needs them: a connection's own first `session.resume` (the library sends one on connect) and
 * malformed arguments. `presence.notify` events pass through the library unchanged; it refreshes a
 * subscription by itself only on a seq gap, which none of these tests has.
 */
let cloud: TestCloud;
const LIFETIME_MS = 2000;

beforeAll(async () => {
  cloud = await startTestCloud({ env: { PRESENCE_SUBSCRIPTION_SECONDS: String(LIFETIME_MS / 1000) } });
});
afterAll(async () => {
  await cloud.stop();
});

let userSeq = 0;
/** Fresh users per test, so events of one test never satisfy another's waits. */
function users(...names: string[]): string[] {
  userSeq++;
  return names.map((name) => `sip:${name}${userSeq}@contoso.com`);
}

function connectionStore(): DynamoConnectionStore {
  return new DynamoConnectionStore(dynamoDocumentClient(), cloud.cloud.config.TABLE_NAME, systemClock);
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
      seq: 0,
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
    expect(await notified(aliceClient, first.subscriptionId, 'away')).toMatchObject({ uri: carol, seq: added.seq + 1 });
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
      seq: 1,
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
    expect(await notified(aliceClient, subscriptionId, 'offline')).toMatchObject({ uri: bob, seq: 1, version: 2 });
  });
});

describe('seq', () => {
  /** What a client does with each notification: it must be the one after the last it saw. */
  function firstGap(received: readonly Notify[], lastSeen = 0): { expected: number; got: number } | undefined {
    let last = lastSeen;
    for (const event of received) {
      const seq = event.seq;
      if (seq !== last + 1) return { expected: last + 1, got: seq };
      last = seq;
    }
    return undefined;
  }

  test('rises by one per notification, so a client detects a lost one and recovers with a refresh', async () => {
    const [alice, bob] = users('alice', 'bob');
    const bobClient = await cloud.client(bob!);
    const aliceClient = await cloud.client(alice!);
    const { subscriptionId } = await subscribe(aliceClient, [bob!]);
    for (const availability of ['busy', 'away', 'beRightBack', 'doNotDisturb', 'online'] as const) await publish(bobClient, { availability });

    const received = await waitFor('five notifications', () => (notifications(aliceClient, subscriptionId).length >= 5 ? notifications(aliceClient, subscriptionId) : undefined));
    expect(received.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(received.map((event) => event.version)).toEqual([2, 3, 4, 5, 6]);
    expect(firstGap(received)).toBeUndefined();

    // The third notification is lost on the way: the client sees 4 where it expected 3.
    const lossy = received.filter((event) => event.seq !== 3);
    expect(firstGap(lossy)).toEqual({ expected: 3, got: 4 });

    // On a gap the client refreshes: the current presence, and the seq to continue from.
    const [current] = await refresh(aliceClient, subscriptionId);
    expect(current).toMatchObject({ subscriptionId, state: 'subscribed', seq: 5, targets: [{ uri: bob, presence: { availability: 'online' }, version: 6 }] });
    const baseline = active(current).seq;
    await publish(bobClient, { availability: 'away' });
    const next = await aliceClient.events.nextEvent('presence.notify', (event) => event.subscriptionId === subscriptionId && event.seq > baseline);
    expect(firstGap([next], baseline)).toBeUndefined();
  });
});

describe('subscription lifetime and failures', () => {
  test('a subscription not refreshed expires: presence.subscriptionState terminated, reason expired', async () => {
    const [alice, bob] = users('alice', 'bob');
    const bobClient = await cloud.client(bob!);
    const aliceClient = await cloud.client(alice!);
    const subscribedAt = Date.now();
    const { subscriptionId } = await subscribe(aliceClient, [bob!]);

    const ended = await aliceClient.events.nextEvent('presence.subscriptionState', (event) => event.subscriptionId === subscriptionId, 8000);

    expect(ended).toEqual({ subscriptionId, state: 'terminated', reason: 'expired' });
    expect(Date.now() - subscribedAt).toBeGreaterThanOrEqual(LIFETIME_MS - 50);
    await publish(bobClient, { availability: 'busy' });
    await aliceClient.request('ping');
    expect(notifications(aliceClient, subscriptionId)).toHaveLength(0);
    // The event reported it; nothing is left of it.
    await expect(aliceClient.request('presence.refresh', { subscriptionId })).rejects.toMatchObject({ status: 404 });
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
        seq: expect.any(Number),
        targets: [{ uri: bob, presence: { availability: 'busy', note: 'while you were away' }, version: 2 }],
      },
    ]);
    await publish(bobClient, { availability: 'online' });
    const online = await aliceAgain.nextEvent('presence.notify', (event) => event.subscriptionId === subscriptionId && (event.presence as { availability: string }).availability === 'online');
    expect(online).toMatchObject({ seq: subscriptions[0]!.seq + 1, version: 3 });
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
  test('a publish reads only the target’s subscribers: one index query for the target, one write per subscriber', async () => {
    const [bob, carol, ...watchers] = users('bob', 'carol', 'w1', 'w2', 'w3', 'x1', 'x2', 'x3', 'x4');
    const { connectionId: bobConnection } = await connectWithId(bob!);
    await cloud.client(carol!);
    const bobWatchers = await Promise.all(watchers.slice(0, 3).map((uri) => cloud.client(uri)));
    const bobSubscriptions = await Promise.all(bobWatchers.map(async (client) => (await subscribe(client, [bob!])).subscriptionId));
    // Subscriptions to someone else, which a scan would read.
    for (const uri of watchers.slice(3)) await subscribe(await cloud.client(uri), [carol!]);

    // The same service the handlers run, on the same table, with its store calls and DynamoDB requests counted.
    const requests: Array<{ command: string; input: Record<string, unknown>; output: Record<string, unknown> }> = [];
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
    const connections = new ApiGatewayConnections(cloud.cloud.url);
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
    const bobIdentity: Identity = { uri: bob!, kind: 'enterprise', name: 'Bob', device: 'desktop' };

    expect(await service.publish(bobIdentity, bobConnection, { source: 'user', availability: 'busy' })).toMatchObject({ version: 2 });

    for (const [index, watcher] of bobWatchers.entries()) await notified(watcher, bobSubscriptions[index]!, 'busy');
    expect(storeCalls.filter((call) => call.method === 'watchersPage').map((call) => call.args[0])).toEqual([bob]);
    expect(storeCalls.filter((call) => call.method === 'nextSeq').map((call) => call.args[0]).sort()).toEqual([...bobSubscriptions].sort());
    expect(storeCalls.map((call) => call.method)).not.toContain('listSubscriptionsOf');
    // Every DynamoDB request of the publish: no scan, and a cost that grows by one write per subscriber.
    expect(requests.map((request) => request.command)).toEqual([
      'QueryCommand', // the publisher's endpoints (PRES#bob)
      'PutItemCommand', // the endpoint's new state
      'QueryCommand', // the endpoints again, to aggregate
      'PutItemCommand', // the aggregate, version 2
      'QueryCommand', // the index: PWATCH#bob
      ...bobSubscriptions.map(() => 'UpdateItemCommand'), // seq + 1 on each of bob's subscriptions
    ]);
    const queries = requests.filter((request) => request.command === 'QueryCommand');
    expect(queries.map((query) => keyValue(query.input, ':pk'))).toEqual([`PRES#${bob}`, `PRES#${bob}`, `PWATCH#${bob}`]);
    expect(queries[2]!.output).toMatchObject({ Count: 3, ScannedCount: 3 });
    const numbered = requests.filter((request) => request.command === 'UpdateItemCommand').map((request) => keyValue(request.input, 'Key.PK'));
    expect(numbered.sort()).toEqual(bobSubscriptions.map((id) => `PSUB#${id}`).sort());
  });
});

describe('refusals', () => {
  test('anonymous guests may not watch enterprise users (403), but may watch others', async () => {
    const [alice] = users('alice');
    const guest = await cloud.client(`sip:guest${userSeq}@guest.example.com`, 'anonymous', 'web');
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
