import { randomUUID } from 'node:crypto';
import { inParallel } from '../../../shared/concurrency';
import type { PresenceStore } from '../../../shared/presence/ports';
import type { EndpointPresence } from '../../../shared/presence/presence';
import type { Subscription } from '../../../shared/presence/subscription';

/**
 * What every `PresenceStore` promises (shared/presence/ports.ts), run against `MemoryPresenceStore`
 * (test/unit/contracts/presence-store.memory.test.ts) and `DynamoPresenceStore` on DynamoDB Local
 * (test/integration/contracts/presence-store.dynamodb.test.ts): the aggregate's version rises by exactly one per
 * conditional save and a stale save loses; subscription writes are conditional on `rev`; the watch index is read a
 * page at a time, complete and without repeats; a missing item is absent, never an error; nothing is removed by time
 * (expiry is checked by the code, TTL is not relied on).
 */
export function presenceStoreContract(makeStore: () => Promise<PresenceStore>): void {
  let store: PresenceStore;
  const NOW = 1_800_000_000_000;

  beforeAll(async () => {
    store = await makeStore();
  });

  /** Ids unique to the test, so one store (one table) serves the whole suite. */
  const unique = () => randomUUID().slice(0, 8);
  const userUri = (name: string) => `sip:${name}-${unique()}@contoso.com`;
  const endpoint = (connectionId: string, overrides: Partial<EndpointPresence> = {}): EndpointPresence => ({
    connectionId,
    device: 'desktop',
    expiresAt: NOW + 7_200_000,
    machine: { availability: 'online', at: NOW },
    ...overrides,
  });
  const subscription = (overrides: Partial<Subscription> = {}): Subscription => ({
    subscriptionId: `psub_${unique()}`,
    ownerUri: userUri('owner'),
    connectionId: `conn-${unique()}`,
    targets: [userUri('target')],
    state: 'subscribed',
    expiresAt: NOW + 3_600_000,
    createdAt: NOW,
    timerVersion: 1,
    attempts: 0,
    rev: 1,
    ...overrides,
  });

  describe('endpoints', () => {
    it('a user never seen has no endpoints and no aggregate (absent, not an error)', async () => {
      const uri = userUri('nobody');
      expect(await store.readUser(uri)).toEqual({ endpoints: [] });
      expect((await store.readAggregates([uri])).has(uri)).toBe(false);
    });

    it('putEndpoint writes an endpoint; with mustExist it never resurrects a closed one', async () => {
      const uri = userUri('alice');
      expect(await store.putEndpoint(uri, endpoint('c1'), true)).toBe(false);
      expect((await store.readUser(uri)).endpoints).toEqual([]);
      expect(await store.putEndpoint(uri, endpoint('c1'), false)).toBe(true);
      const published = endpoint('c1', { machine: { availability: 'busy', activity: 'inACall', at: NOW + 1 } });
      expect(await store.putEndpoint(uri, published, true)).toBe(true);
      expect((await store.readUser(uri)).endpoints).toEqual([published]);
      await store.removeEndpoint(uri, 'c1');
      expect(await store.putEndpoint(uri, published, true)).toBe(false);
      expect((await store.readUser(uri)).endpoints).toEqual([]);
    });

    it('readUser returns every endpoint of the user, and only theirs', async () => {
      const uri = userUri('bob');
      const other = userUri('carol');
      await store.putEndpoint(uri, endpoint('b1'), false);
      await store.putEndpoint(uri, endpoint('b2', { device: 'mobile' }), false);
      await store.putEndpoint(other, endpoint('c1'), false);
      const ids = (await store.readUser(uri)).endpoints.map((stored) => stored.connectionId).sort();
      expect(ids).toEqual(['b1', 'b2']);
    });

    it('markEndpointChecked records the check on an existing endpoint, and creates nothing for a closed one', async () => {
      const uri = userUri('dave');
      await store.putEndpoint(uri, endpoint('d1'), false);
      await store.markEndpointChecked(uri, 'd1', NOW + 5);
      await store.markEndpointChecked(uri, 'closed', NOW + 5);
      expect((await store.readUser(uri)).endpoints).toEqual([{ ...endpoint('d1'), checkedAt: NOW + 5 }]);
    });
  });

  describe("the user's own state (SPEC §9)", () => {
    const state = (availability: 'busy' | 'doNotDisturb' | 'offline', at: number) => ({ availability, at, expiresAt: at + 43_200_000 });
    const note = (text: string, at: number) => ({ text, at, expiresAt: at + 43_200_000 });

    it('a user who never chose anything has no state (absent, not an error)', async () => {
      const uri = userUri('nobody');
      await store.putEndpoint(uri, endpoint('n1'), false);
      expect((await store.readUser(uri)).user).toBeUndefined();
    });

    it('updateUserState sets each part given and leaves the other as it is; readUser returns it beside the endpoints', async () => {
      const uri = userUri('gina');
      await store.putEndpoint(uri, endpoint('g1'), false);
      await store.updateUserState(uri, { state: state('doNotDisturb', NOW), note: note('focus time', NOW) });
      await store.updateUserState(uri, { state: state('busy', NOW + 1) });
      expect(await store.readUser(uri)).toMatchObject({ endpoints: [endpoint('g1')], user: { state: state('busy', NOW + 1), note: note('focus time', NOW) } });
      await store.updateUserState(uri, { note: note('back at 3', NOW + 2) });
      expect((await store.readUser(uri)).user).toEqual({ state: state('busy', NOW + 1), note: note('back at 3', NOW + 2) });
    });

    it('null removes a part; a change that only removes creates nothing for a user without state', async () => {
      const uri = userUri('hank');
      await store.updateUserState(uri, { state: state('offline', NOW), note: note('away', NOW) });
      await store.updateUserState(uri, { state: null });
      expect((await store.readUser(uri)).user).toEqual({ note: note('away', NOW) });
      await store.updateUserState(uri, { note: null });
      expect((await store.readUser(uri)).user?.state).toBeUndefined();
      expect((await store.readUser(uri)).user?.note).toBeUndefined();
      const fresh = userUri('ivy');
      await store.updateUserState(fresh, { state: null, note: null });
      expect((await store.readUser(fresh)).user).toBeUndefined();
    });

    it('an expired part is still returned (expiry is the code\'s, never TTL\'s) and the state survives its endpoints', async () => {
      const uri = userUri('jill');
      await store.putEndpoint(uri, endpoint('j1'), false);
      await store.updateUserState(uri, { state: { availability: 'busy', at: NOW - 10, expiresAt: NOW - 5 } });
      await store.removeEndpoint(uri, 'j1');
      expect(await store.readUser(uri)).toEqual({ endpoints: [], user: { state: { availability: 'busy', at: NOW - 10, expiresAt: NOW - 5 } } });
    });
  });

  describe('the aggregate and its version', () => {
    it('saveAggregate stores version seen + 1 only while the stored version is the one seen', async () => {
      const uri = userUri('erin');
      expect(await store.saveAggregate(uri, { availability: 'online' }, 0, NOW)).toBe(true);
      expect(await store.saveAggregate(uri, { availability: 'busy' }, 0, NOW)).toBe(false);
      expect(await store.saveAggregate(uri, { availability: 'away', note: 'lunch' }, 1, NOW)).toBe(true);
      expect(await store.saveAggregate(uri, { availability: 'busy' }, 1, NOW)).toBe(false);
      expect((await store.readUser(uri)).aggregate).toEqual({ presence: { availability: 'away', note: 'lunch' }, version: 2 });
      expect((await store.readAggregates([uri])).get(uri)).toEqual({ presence: { availability: 'away', note: 'lunch' }, version: 2 });
    });

    it('of concurrent saves from the same version exactly one wins (no version is written twice)', async () => {
      const uri = userUri('frank');
      await store.saveAggregate(uri, { availability: 'online' }, 0, NOW);
      const results = await Promise.all(
        (['busy', 'away', 'doNotDisturb', 'beRightBack'] as const).map((availability) => store.saveAggregate(uri, { availability }, 1, NOW)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.readUser(uri)).aggregate?.version).toBe(2);
    });

    it('readAggregates answers many users at once; those never seen are absent', async () => {
      const [a, b, never] = [userUri('a'), userUri('b'), userUri('never')];
      await store.saveAggregate(a, { availability: 'online' }, 0, NOW);
      await store.saveAggregate(b, { availability: 'busy' }, 0, NOW);
      const records = await store.readAggregates([a, b, never]);
      expect([...records.keys()].sort()).toEqual([a, b].sort());
      expect(records.get(b)).toEqual({ presence: { availability: 'busy' }, version: 1 });
    });
  });

  describe('subscriptions', () => {
    it('createSubscription creates it with its index items once; again with the same id answers exists', async () => {
      const created = subscription({ targets: [userUri('t1'), userUri('t2')] });
      expect(await store.createSubscription(created)).toBe('created');
      expect(await store.createSubscription({ ...created, targets: [userUri('t3')] })).toBe('exists');
      expect(await store.getSubscription(created.subscriptionId)).toEqual(created);
      for (const target of created.targets) expect((await store.watchersPage(target)).subscriptionIds).toEqual([created.subscriptionId]);
      expect((await store.listSubscriptionsOf(created.ownerUri)).map((held) => held.subscriptionId)).toEqual([created.subscriptionId]);
    });

    it('a subscription never created is absent from get, getSubscriptions and the owner list', async () => {
      expect(await store.getSubscription(`psub_${unique()}`)).toBeUndefined();
      expect((await store.getSubscriptions([`psub_${unique()}`])).size).toBe(0);
      expect(await store.listSubscriptionsOf(userUri('nobody'))).toEqual([]);
    });

    it('updateSubscription applies the change with rev + 1 if rev is still the one seen; null removes a field', async () => {
      const created = subscription({ state: 'terminating', reason: 'targetGone', attempts: 1 });
      await store.createSubscription(created);
      const updated = await store.updateSubscription(created, { state: 'subscribed', reason: null, attempts: 0, connectionId: null, timerVersion: 2 }, NOW);
      const { reason: _reason, connectionId: _connectionId, ...rest } = created;
      expect(updated).toEqual({ ...rest, state: 'subscribed', attempts: 0, timerVersion: 2, rev: 2 });
      expect(await store.getSubscription(created.subscriptionId)).toEqual(updated);
      // A writer that read rev 1 lost: nothing it decided is written.
      expect(await store.updateSubscription(created, { state: 'terminated', reason: 'expired' }, NOW)).toBeUndefined();
      expect(await store.getSubscription(created.subscriptionId)).toEqual(updated);
    });

    it('of concurrent updates from the same rev exactly one wins', async () => {
      const created = subscription();
      await store.createSubscription(created);
      const results = await Promise.all([1, 2, 3, 4].map((attempts) => store.updateSubscription(created, { attempts }, NOW)));
      expect(results.filter((result) => result !== undefined)).toHaveLength(1);
      expect((await store.getSubscription(created.subscriptionId))?.rev).toBe(2);
    });

    it('addTargets adds the targets and their index items with the change, conditional on rev and not terminated', async () => {
      const created = subscription();
      await store.createSubscription(created);
      const added = userUri('added');
      expect(await store.addTargets(created, [added], { expiresAt: NOW + 7_200_000 }, NOW)).toBe(true);
      const after = await store.getSubscription(created.subscriptionId);
      expect(after).toEqual({ ...created, targets: [...created.targets, added], expiresAt: NOW + 7_200_000, rev: 2 });
      expect((await store.watchersPage(added)).subscriptionIds).toEqual([created.subscriptionId]);
      // Stale rev: lost, and no index item written for the target it tried to add.
      const late = userUri('late');
      expect(await store.addTargets(created, [late], {}, NOW)).toBe(false);
      expect((await store.watchersPage(late)).subscriptionIds).toEqual([]);
      // Terminated: never grows again.
      const ended = await store.updateSubscription(after!, { state: 'terminated', reason: 'unsubscribed' }, NOW);
      expect(await store.addTargets(ended!, [late], {}, NOW)).toBe(false);
      expect((await store.getSubscription(created.subscriptionId))?.targets).toEqual([...created.targets, added]);
    });

    it('getSubscriptions reads many at once; one that is gone is absent', async () => {
      const [a, b] = [subscription(), subscription()];
      await store.createSubscription(a);
      await store.createSubscription(b);
      await store.deleteSubscription(b.subscriptionId);
      const found = await store.getSubscriptions([a.subscriptionId, b.subscriptionId]);
      expect([...found.keys()]).toEqual([a.subscriptionId]);
      expect(found.get(a.subscriptionId)).toEqual(a);
    });

    it('listSubscriptionsOf lists every subscription of the owner, whatever its state or connection', async () => {
      const owner = userUri('owner');
      const held = [subscription({ ownerUri: owner }), subscription({ ownerUri: owner, connectionId: undefined }), subscription({ ownerUri: owner, state: 'terminated', reason: 'expired' })];
      for (const one of held) await store.createSubscription(one);
      await store.createSubscription(subscription());
      const listed = await store.listSubscriptionsOf(owner);
      expect(listed.map((one) => one.subscriptionId).sort()).toEqual(held.map((one) => one.subscriptionId).sort());
    });

    it('expiry is checked by code: a subscription past its deadline is still stored, read and updatable', async () => {
      const expired = subscription({ expiresAt: NOW - 60_000, createdAt: NOW - 3_660_000 });
      await store.createSubscription(expired);
      expect(await store.getSubscription(expired.subscriptionId)).toEqual(expired);
      expect((await store.getSubscriptions([expired.subscriptionId])).has(expired.subscriptionId)).toBe(true);
      expect((await store.listSubscriptionsOf(expired.ownerUri)).map((one) => one.subscriptionId)).toEqual([expired.subscriptionId]);
      expect((await store.watchersPage(expired.targets[0]!)).subscriptionIds).toEqual([expired.subscriptionId]);
      expect((await store.updateSubscription(expired, { state: 'terminated', reason: 'expired' }, NOW))?.state).toBe('terminated');
    });

    it('deleteSubscription removes it; deleting one that is gone is not an error', async () => {
      const created = subscription();
      await store.createSubscription(created);
      await store.deleteSubscription(created.subscriptionId);
      await store.deleteSubscription(created.subscriptionId);
      expect(await store.getSubscription(created.subscriptionId)).toBeUndefined();
    });
  });

  describe('the watch index', () => {
    it('watchersPage reads the watchers a page at a time: every one exactly once, ending without a cursor', async () => {
      const target = userUri('popular');
      const ids = Array.from({ length: 101 }, (_, index) => `psub_${String(index).padStart(3, '0')}_${unique()}`);
      await inParallel(ids, 8, (subscriptionId) => store.createSubscription(subscription({ subscriptionId, targets: [target] })));
      const seen: string[] = [];
      let pages = 0;
      let cursor: string | undefined;
      do {
        const page = await store.watchersPage(target, cursor);
        seen.push(...page.subscriptionIds);
        cursor = page.cursor;
        pages++;
      } while (cursor && pages < 10);
      expect(cursor).toBeUndefined();
      expect(pages).toBeGreaterThan(1);
      expect(seen.sort()).toEqual([...ids].sort());
    });

    it('removeWatches and removeWatchesOf drop index items only; the subscription stays', async () => {
      const [t1, t2] = [userUri('t1'), userUri('t2')];
      const a = subscription({ targets: [t1, t2] });
      const b = subscription({ targets: [t1] });
      await store.createSubscription(a);
      await store.createSubscription(b);
      await store.removeWatchesOf(t1, [b.subscriptionId]);
      expect((await store.watchersPage(t1)).subscriptionIds).toEqual([a.subscriptionId]);
      await store.removeWatches(a.subscriptionId, a.targets);
      expect((await store.watchersPage(t1)).subscriptionIds).toEqual([]);
      expect((await store.watchersPage(t2)).subscriptionIds).toEqual([]);
      expect(await store.getSubscription(a.subscriptionId)).toEqual(a);
      expect(await store.getSubscription(b.subscriptionId)).toEqual(b);
      // Removing index items that are gone is not an error.
      await store.removeWatchesOf(t1, [a.subscriptionId, b.subscriptionId]);
    });
  });
}
