import { systemClock } from '../../shared/adapters/clock';
import { DynamoConnectionStore } from '../../shared/adapters/connection-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import { DynamoPresenceStore } from '../../shared/adapters/presence-store-dynamodb';
import type { ActiveSubscription, UcClient } from '../../client/src';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { waitFor } from '../support/client';
import type { RecordedClient } from '../support/uc-client';
import { users } from '../support/users';
import { loadConfig } from '../../shared/config';

/**
 * SPEC §5, a subscriber that vanished without `$disconnect`, in a cloud of its own: whether the server finds
 * the subscriber gone before the subscription's time is up depends on its first check firing in time. With
 * presence.test.ts's 2 s lifetime a loaded machine can fire it after the expiry (and then `expired` is the
 * right answer); a 6 s lifetime gives the check (at 3 s) 3 s of slack.
 */
let cloud: TestCloud;
const LONG_LIFETIME_MS = 6000;

beforeAll(async () => {
  cloud = await startTestCloud({ env: { PRESENCE_SUBSCRIPTION_SECONDS: String(LONG_LIFETIME_MS / 1000) } });
});
afterAll(async () => {
  await cloud.stop();
});

function presenceStore(): DynamoPresenceStore {
  return new DynamoPresenceStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME);
}

async function connectionIdsOf(uri: string): Promise<string[]> {
  const store = new DynamoConnectionStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME, systemClock);
  return (await store.listByUser(uri)).map((record) => record.connectionId);
}

async function connectWithId(uri: string): Promise<{ client: RecordedClient; connectionId: string }> {
  const before = new Set(await connectionIdsOf(uri));
  const client = await cloud.client(uri);
  const connectionId = await waitFor(`the new connection of ${uri}`, async () => (await connectionIdsOf(uri)).find((id) => !before.has(id)));
  return { client, connectionId };
}

async function subscribe(client: UcClient, targets: readonly string[]): Promise<ActiveSubscription> {
  const view = await client.request('presence.subscribe', { targets: [...targets] });
  if (view.state === 'terminated') throw new Error(`a new subscription answered terminated: ${JSON.stringify(view)}`);
  return view;
}

test('a subscriber whose connection vanished without $disconnect is cleaned up by the server refresh', async () => {
  const [alice, bob, carol] = users('alice', 'bob', 'carol');
  await cloud.client(bob!);
  const { client: aliceClient, connectionId } = await connectWithId(alice!);
  const { subscriptionId } = await subscribe(aliceClient, [bob!]);

  expect(cloud.cloud.gateway.dropWithoutDisconnect(connectionId)).toBe(true);
  await aliceClient.events.waitClosed(); // reconnect is off in tests: the library reports the drop as closed
  // No $disconnect ran: the record would say Alice is still connected.
  expect(await connectionIdsOf(alice!)).toEqual([connectionId]);

  // The scheduled refresh asks the management API (GetConnection: gone) and cleans the connection.
  await waitFor('the stale connection to be cleaned', async () => ((await connectionIdsOf(alice!)).length === 0 ? true : undefined), LONG_LIFETIME_MS);
  const carolClient = await cloud.client(carol!);
  expect((await subscribe(carolClient, [alice!])).targets).toEqual([{ uri: alice, presence: { availability: 'offline' }, version: 2 }]);

  // Its subscriber gone, the subscription is retried until its end, then terminated with the reason.
  const ended = await waitFor(
    'the subscription to terminate',
    async () => {
      const stored = await presenceStore().getSubscription(subscriptionId);
      return stored?.state === 'terminated' ? stored : undefined;
    },
    2 * LONG_LIFETIME_MS,
  );
  expect(ended).toMatchObject({ reason: 'subscriberGone' });
  expect(ended.connectionId).toBeUndefined();
  // The watch items go in the write after the subscription's: wait for it rather than race it.
  await waitFor('the watch item to be removed', async () =>
    (await presenceStore().watchersPage(bob!)).subscriptionIds.includes(subscriptionId) ? undefined : true,
  );

  // Back again, Alice learns what ended while she was away, once: in the answer to the session.resume the
  // library sends on connect (its `resumed` event), and not in the next one.
  const aliceAgain = await cloud.client(alice!);
  const resumed = await aliceAgain.events.nextEvent('resumed');
  expect(resumed).toEqual({ presence: { subscriptions: [{ subscriptionId, state: 'terminated', reason: 'subscriberGone', uris: [bob] }] }, reconnect: false });
  expect(await aliceAgain.request('session.resume', {})).toEqual({ presence: { subscriptions: [] } });
});
