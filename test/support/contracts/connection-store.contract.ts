import { randomUUID } from 'node:crypto';
import { type Clock, CONNECTING_GRACE_MS, type ConnectionRecord, type ConnectionStore } from '../../../shared/ports';

const T0 = 1_800_000_000_000;
/** API Gateway's connection limit: a record is trusted for two hours. */
const TWO_HOURS = 7_200_000;

/**
 * The promises of `ConnectionStore` (shared/ports.ts), run against `MemoryConnectionStore` (test/unit/contracts/)
 * and `DynamoConnectionStore` on DynamoDB Local (test/integration/contracts/). `make` gets the clock the store
 * reads expiry against (the test moves it); every test uses its own users, so one table may serve them all.
 */
export function connectionStoreContract(make: (clock: Clock) => Promise<ConnectionStore>): void {
  describe('ConnectionStore contract', () => {
    let now: number;
    let store: ConnectionStore;

    beforeEach(async () => {
      now = T0;
      store = await make({ now: () => now });
    });

    const newUser = () => `sip:user-${randomUUID().slice(0, 8)}@contoso.com`;
    const record = (uri: string, over: Partial<ConnectionRecord> = {}): ConnectionRecord => ({
      connectionId: `conn-${randomUUID().slice(0, 12)}=`,
      uri,
      kind: 'enterprise',
      name: 'User',
      device: 'desktop',
      connectedAt: now,
      expiresAt: now + TWO_HOURS,
      ...over,
    });
    const sorted = (ids: readonly string[]) => [...ids].sort();

    test('a connection put is read back by id, as recorded; an unknown id is undefined', async () => {
      const r = record(newUser(), { kind: 'anonymous', name: 'Guest Ünïcode', device: 'mobile' });
      await store.put(r);
      expect(await store.get(r.connectionId)).toEqual(r);
      expect(await store.get('conn-never')).toBeUndefined();
    });

    test('a user’s connections: every device of that user, no one else’s', async () => {
      const uri = newUser();
      const desktop = record(uri);
      const mobile = record(uri, { device: 'mobile' });
      await Promise.all([store.put(desktop), store.put(mobile), store.put(record(newUser()))]);
      expect((await store.listByUser(uri)).sort((a, b) => (a.connectionId < b.connectionId ? -1 : 1))).toEqual(
        [desktop, mobile].sort((a, b) => (a.connectionId < b.connectionId ? -1 : 1)),
      );
      expect(await store.listByUser(newUser())).toEqual([]);
    });

    test('connectionIdsOf: the connection ids of many users at once (a user named twice counts once; unknown users add nothing)', async () => {
      const [a, b, c] = [newUser(), newUser(), newUser()];
      const records = [record(a), record(a), record(b), record(c)];
      await Promise.all(records.map((r) => store.put(r)));
      expect(sorted(await store.connectionIdsOf([a, b, a, newUser()]))).toEqual(sorted(records.slice(0, 3).map((r) => r.connectionId)));
      expect(await store.connectionIdsOf([])).toEqual([]);
    });

    test('connectionIdsOf over more users than one batch read holds (130)', async () => {
      const users = Array.from({ length: 130 }, newUser);
      const records = users.map((uri) => record(uri));
      await Promise.all(records.map((r) => store.put(r)));
      expect(sorted(await store.connectionIdsOf(users))).toEqual(sorted(records.map((r) => r.connectionId)));
    });

    test('a connection put again (the same id) is one connection', async () => {
      const uri = newUser();
      const r = record(uri);
      await store.put(r);
      await store.put(r);
      expect(await store.listByUser(uri)).toEqual([r]);
      expect(await store.connectionIdsOf([uri])).toEqual([r.connectionId]);
    });

    test('delete removes it everywhere: by id, from the user’s list and from the fan-out ids; deleting an unknown id is fine', async () => {
      const uri = newUser();
      const gone = record(uri);
      const kept = record(uri);
      await Promise.all([store.put(gone), store.put(kept)]);
      await store.delete(gone.connectionId);
      await store.delete(gone.connectionId);
      await store.delete('conn-never');
      expect(await store.get(gone.connectionId)).toBeUndefined();
      expect(await store.listByUser(uri)).toEqual([kept]);
      expect(await store.connectionIdsOf([uri])).toEqual([kept.connectionId]);
    });

    test('removeGone: a connection gone for API Gateway is removed everywhere, unless it connected within the grace (410 until its $connect returns)', async () => {
      const uri = newUser();
      const settled = record(uri, { connectedAt: now - CONNECTING_GRACE_MS - 1 });
      const connecting = record(uri, { connectedAt: now - 1_000 });
      await Promise.all([store.put(settled), store.put(connecting)]);
      expect(await store.removeGone(connecting.connectionId)).toBe(false);
      expect(await store.removeGone(settled.connectionId)).toBe(true);
      expect(await store.removeGone(settled.connectionId)).toBe(false);
      expect(await store.removeGone('conn-never')).toBe(false);
      expect(await store.get(settled.connectionId)).toBeUndefined();
      expect(await store.listByUser(uri)).toEqual([connecting]);
      expect(await store.connectionIdsOf([uri])).toEqual([connecting.connectionId]);
      // Past the grace, a 410 means gone.
      now += CONNECTING_GRACE_MS;
      expect(await store.removeGone(connecting.connectionId)).toBe(true);
      expect(await store.connectionIdsOf([uri])).toEqual([]);
    });

    test('expiry is checked by code, not left to TTL: past expiresAt a record is neither read by id nor listed for its user', async () => {
      const uri = newUser();
      const old = record(uri, { expiresAt: T0 + 1_000 });
      const fresh = record(uri);
      await Promise.all([store.put(old), store.put(fresh)]);
      expect(await store.get(old.connectionId)).toEqual(old);
      now = T0 + 1_000;
      expect(await store.get(old.connectionId)).toBeUndefined();
      expect(await store.listByUser(uri)).toEqual([fresh]);
      // The fan-out ids are not filtered by expiry: delivery posts, finds the connection gone and deletes it.
      expect(sorted(await store.connectionIdsOf([uri]))).toEqual(sorted([old.connectionId, fresh.connectionId]));
      await store.delete(old.connectionId);
      expect(await store.connectionIdsOf([uri])).toEqual([fresh.connectionId]);
    });
  });
}
