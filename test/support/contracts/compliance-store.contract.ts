import type { ComplianceEvent } from '../../../shared/compliance/event';
import type { ComplianceExportStore, ComplianceStore, PendingEvent } from '../../../shared/compliance/ports';

type Store = ComplianceStore & ComplianceExportStore;

const T0 = 1_800_000_000_000;

/**
 * The promises of the compliance store's two ports (`ComplianceStore`: record once; `ComplianceExportStore`: the
 * pending events, the exporter's lease and its batch in flight), run against the memory store (test/unit/contracts/)
 * and `DynamoComplianceStore` on DynamoDB Local (test/integration/contracts/). The lease and the pending events are
 * global to a store, so `make` answers an empty one for every test.
 */
export function complianceStoreContract(make: () => Promise<Store>): void {
  describe('ComplianceStore and ComplianceExportStore contract', () => contract(make));
}

function contract(make: () => Promise<Store>): void {
  let store: Store;

  beforeEach(async () => {
    store = await make();
  });

  const event = (n: number, at = T0 + n): ComplianceEvent => ({
    eventId: `im.message:conv_contract:msg_${n}`,
    type: 'im.message',
    actor: { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice' },
    target: { kind: 'conversation', id: 'conv_contract' },
    at,
    content: `message ${n} ✓`,
    details: { contentType: 'text/plain', messageId: `msg_${n}` },
  });
  const idsOf = (pending: readonly PendingEvent[]) => pending.map((p) => p.event.eventId);

  describe('record', () => {
    test('stores an event once: a second record of the same event id is a duplicate', async () => {
      expect(await store.record(event(1))).toBe('stored');
      expect(await store.record(event(1))).toBe('duplicate');
      expect(await store.record({ ...event(1), content: 'changed' })).toBe('duplicate');
      const pending = await store.oldestPending(10);
      expect(pending.map((p) => p.event)).toEqual([event(1)]);
    });

    test('an event already exported is still a duplicate, and not pending again', async () => {
      await store.record(event(1));
      const [pending] = await store.oldestPending(10);
      await store.markExported('batch-1', [pending!.ref], T0 + 1_000);
      expect(await store.record(event(1))).toBe('duplicate');
      expect(await store.oldestPending(10)).toEqual([]);
    });

    test('an event discarded (already in the archive) is still a duplicate', async () => {
      await store.record(event(1));
      await store.discard((await store.oldestPending(10)).map((p) => p.ref));
      expect(await store.record(event(1))).toBe('duplicate');
      expect(await store.oldestPending(10)).toEqual([]);
    });
  });

  describe('pending events', () => {
    test('nothing pending: no events and no oldest time', async () => {
      expect(await store.oldestPending(10)).toEqual([]);
      expect(await store.oldestPendingAt()).toBeUndefined();
    });

    test('the oldest by command time first, at most `limit`, whatever the order they were recorded in', async () => {
      const order = [7, 3, 11, 1, 9, 5, 2, 12, 8, 4, 10, 6];
      for (const n of order) await store.record(event(n, T0 + n * 1_000));
      expect(idsOf(await store.oldestPending(5))).toEqual([1, 2, 3, 4, 5].map((n) => event(n).eventId));
      expect(idsOf(await store.oldestPending(100))).toHaveLength(12);
      expect(await store.oldestPendingAt()).toBe(T0 + 1_000);
    });

    test('readPending answers those of the refs still pending, with their events', async () => {
      for (const n of [1, 2, 3]) await store.record(event(n));
      const refs = (await store.oldestPending(10)).map((p) => p.ref);
      await store.discard([refs[0]!]);
      await store.markExported('batch-x', [refs[1]!], T0);
      const still = await store.readPending(refs);
      expect(still.map((p) => p.event)).toEqual([event(3)]);
      expect(still[0]!.ref).toEqual(refs[2]);
    });

    test('markExported removes the events and notes the batch on each; discard removes without noting', async () => {
      for (const n of [1, 2, 3, 4]) await store.record(event(n));
      const refs = (await store.oldestPending(10)).map((p) => p.ref);
      await store.markExported('batch-a', refs.slice(0, 2), T0 + 5_000);
      await store.discard(refs.slice(2, 3));
      expect(idsOf(await store.oldestPending(10))).toEqual([event(4).eventId]);
      const exported = await store.exportedIn([1, 2, 3, 4, 99].map((n) => event(n).eventId));
      expect([...exported.entries()].sort()).toEqual([
        [event(1).eventId, 'batch-a'],
        [event(2).eventId, 'batch-a'],
      ]);
      expect(await store.oldestPendingAt()).toBe(event(4).at);
    });

    test('markExported of more events than one transaction holds (60: 50 per transaction) removes them all', async () => {
      await Promise.all(Array.from({ length: 60 }, (_, n) => store.record(event(n + 1))));
      const refs = (await store.oldestPending(200)).map((p) => p.ref);
      expect(refs).toHaveLength(60);
      await store.markExported('batch-big', refs, T0);
      expect(await store.oldestPending(200)).toEqual([]);
      expect((await store.exportedIn(refs.map((r) => r.eventId))).size).toBe(60);
    });

    test('exportedIn of nothing exported is empty', async () => {
      await store.record(event(1));
      expect((await store.exportedIn([event(1).eventId, 'never-seen'])).size).toBe(0);
    });
  });

  describe('the exporter’s lease', () => {
    test('one holder at a time until its `until` (inclusive); taken over once it has passed', async () => {
      expect(await store.acquireLease('run-1', T0, T0 + 60_000)).toEqual({});
      expect(await store.acquireLease('run-2', T0 + 1, T0 + 60_001)).toBeUndefined();
      expect(await store.acquireLease('run-2', T0 + 60_000, T0 + 120_000)).toBeUndefined();
      expect(await store.acquireLease('run-2', T0 + 60_001, T0 + 120_001)).toEqual({});
      // The first holder lost it: it may no longer record a batch.
      expect(await store.beginBatch('run-1', { batchId: 'b', refs: [] }, T0 + 200_000)).toBe(false);
    });

    test('released by its holder only', async () => {
      await store.acquireLease('run-1', T0, T0 + 60_000);
      await store.releaseLease('someone-else');
      expect(await store.acquireLease('run-2', T0 + 1, T0 + 60_001)).toBeUndefined();
      await store.releaseLease('run-1');
      expect(await store.acquireLease('run-2', T0 + 2, T0 + 60_002)).toEqual({});
    });

    test('a batch begun by the holder extends the lease and is answered to the next run until it is ended', async () => {
      for (const n of [1, 2]) await store.record(event(n));
      const refs = (await store.oldestPending(10)).map((p) => p.ref);
      await store.acquireLease('run-1', T0, T0 + 60_000);
      expect(await store.beginBatch('run-1', { batchId: 'batch-1', refs }, T0 + 90_000)).toBe(true);
      // Extended: still held after the first `until`.
      expect(await store.acquireLease('run-2', T0 + 70_000, T0 + 130_000)).toBeUndefined();
      // The run dies (never releases): the next, after the lease, is told what it left.
      expect(await store.acquireLease('run-2', T0 + 90_001, T0 + 150_000)).toEqual({ inFlight: { batchId: 'batch-1', refs } });
      // Ending another batch id, or by another owner, leaves it.
      await store.endBatch('run-2', 'batch-other');
      await store.endBatch('run-1', 'batch-1');
      await store.releaseLease('run-2');
      expect(await store.acquireLease('run-3', T0 + 150_001, T0 + 210_000)).toEqual({ inFlight: { batchId: 'batch-1', refs } });
      await store.endBatch('run-3', 'batch-1');
      await store.releaseLease('run-3');
      expect(await store.acquireLease('run-4', T0 + 210_001, T0 + 270_000)).toEqual({});
    });

    test('the batch in flight outlives a release (the next run finishes it)', async () => {
      await store.acquireLease('run-1', T0, T0 + 60_000);
      await store.beginBatch('run-1', { batchId: 'batch-1', refs: [] }, T0 + 60_000);
      await store.releaseLease('run-1');
      expect(await store.acquireLease('run-2', T0 + 1, T0 + 60_001)).toEqual({ inFlight: { batchId: 'batch-1', refs: [] } });
    });

    test('no one holding it: a batch cannot be begun', async () => {
      expect(await store.beginBatch('run-1', { batchId: 'b', refs: [] }, T0)).toBe(false);
      expect(await store.acquireLease('run-1', T0, T0 + 1)).toEqual({});
    });
  });
}
