import type { ComplianceEvent } from '../../../../shared/compliance/event';
import { ComplianceExporter } from '../../../../shared/compliance/exporter';
import { batchIdOf } from '../../../../shared/compliance/formats';
import type { PendingRef } from '../../../../shared/compliance/ports';
import { MemoryArchive, MemoryComplianceStore, MemoryOutbox } from '../../../support/memory';

/** The export rules over in-memory ports: what leaves the store, when, and what reaches the archive. */

const event = (n: number): ComplianceEvent => ({
  eventId: `im.message:c1:m${n}`,
  type: 'im.message',
  actor: { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice' },
  target: { kind: 'conversation', id: 'c1' },
  at: 1_000 + n,
  content: `hello ${n}`,
});

const ref = (e: ComplianceEvent): PendingRef => ({ eventId: e.eventId, shard: 0, sortKey: `${String(e.at).padStart(15, '0')}#${e.eventId}` });

function setup(batchSize = 2) {
  const store = new MemoryComplianceStore();
  const archive = new MemoryArchive();
  const outbox = new MemoryOutbox();
  let now = 10_000;
  let ids = 0;
  const exporter = new ComplianceExporter({
    store,
    archive,
    outbox,
    clock: { now: () => now },
    newId: (prefix) => `${prefix}_${++ids}`,
    batchSize,
    leaseMs: 60_000,
    outboxGraceMs: 2_000,
  });
  return { store, archive, outbox, exporter, advance: (ms: number) => (now += ms), deadline: () => now + 10_000 };
}

const ids = (...ns: number[]) => ns.map((n) => event(n).eventId).sort();

test('pending events leave the store in batches, oldest first, once the archive took them', async () => {
  const { store, archive, exporter, deadline } = setup();
  for (const n of [3, 1, 2, 5, 4]) await store.record(event(n));
  const report = await exporter.run(deadline());
  expect(report).toMatchObject({ outcome: 'exported', batches: 3, events: 5, oldestPendingAgeSeconds: 0 });
  expect([...archive.batches.keys()]).toEqual([batchIdOf([event(1), event(2)]), batchIdOf([event(3), event(4)]), batchIdOf([event(5)])]);
  expect(archive.eventIds()).toEqual(ids(1, 2, 3, 4, 5));
  expect(store.pending.size).toBe(0);
  expect(store.lease).toBeUndefined();
});

test('a failed archive write keeps the events for the next run, which exports them once', async () => {
  const { store, archive, exporter, deadline, advance } = setup();
  await store.record(event(1));
  archive.failures = 1;
  await expect(exporter.run(deadline())).rejects.toThrow('archive unavailable');
  expect(store.pending.size).toBe(1);
  advance(5_000);
  expect(await exporter.oldestPendingAgeSeconds()).toBe(13); // (15 000 − 1 001) ms
  await exporter.run(deadline());
  expect(archive.eventIds()).toEqual(ids(1));
  expect(store.pending.size).toBe(0);
});

test('a run that died after the archive write is finished by the next: same batch, same file, no second copy', async () => {
  const { store, archive, exporter, deadline } = setup(10);
  for (const n of [1, 2]) await store.record(event(n));
  const markExported = store.markExported.bind(store);
  store.markExported = async () => {
    throw new Error('process died');
  };
  await expect(exporter.run(deadline())).rejects.toThrow('process died');
  expect(store.inFlight?.batchId).toBe(batchIdOf([event(1), event(2)]));
  // Meanwhile an older event arrives (a late delivery): it must not change the batch being finished.
  await store.record({ ...event(0) });
  store.markExported = markExported;
  const report = await exporter.run(deadline());
  expect(report).toMatchObject({ batches: 2, events: 3 });
  expect(archive.batches.size).toBe(2);
  expect(archive.eventIds()).toEqual(ids(0, 1, 2));
  expect(store.inFlight).toBeUndefined();
});

test('a resumed batch some of whose events are already gone is not written again', async () => {
  const { store, archive, exporter, deadline } = setup(10);
  await store.record(event(1));
  await store.record(event(2));
  await exporter.run(deadline());
  // As if the previous run died between removing the events and clearing its record.
  store.inFlight = { batchId: batchIdOf([event(1), event(2)]), refs: [ref(event(1)), ref(event(2))] };
  const write = jest.spyOn(archive, 'write');
  await exporter.run(deadline());
  expect(write).not.toHaveBeenCalled();
  expect(store.inFlight).toBeUndefined();
  expect(archive.eventIds()).toEqual(ids(1, 2));
});

test('an event already in the archive that is pending again is removed, not exported twice', async () => {
  const { store, archive, exporter, deadline } = setup(10);
  await store.record(event(1));
  await exporter.run(deadline());
  store.pending.set(event(1).eventId, event(1));
  await store.record(event(2));
  await exporter.run(deadline());
  expect(archive.eventIds()).toEqual(ids(1, 2));
  expect(store.pending.size).toBe(0);
});

test('while another run holds the lease, a run exports nothing', async () => {
  const { store, archive, exporter, deadline } = setup();
  await store.record(event(1));
  store.lease = { owner: 'export_other', until: 70_000 };
  expect(await exporter.run(deadline())).toMatchObject({ outcome: 'busy', events: 0 });
  expect(archive.batches.size).toBe(0);
  expect(store.pending.size).toBe(1);
});

test('a lease past its time (its run died) is taken over', async () => {
  const { store, archive, exporter, deadline } = setup();
  await store.record(event(1));
  store.lease = { owner: 'export_dead', until: 9_999 };
  expect(await exporter.run(deadline())).toMatchObject({ outcome: 'exported', events: 1 });
  expect(archive.eventIds()).toEqual(ids(1));
});

test('outbox events older than the grace period are recorded and exported; a recent one is left to its command', async () => {
  const { store, archive, outbox, exporter, deadline } = setup();
  const lost = { ...event(1), at: 5_000 };
  const inProgress = { ...event(2), at: 9_500 };
  outbox.add(lost);
  outbox.add(inProgress);
  // The lost one also reached the queue once: the sweep's record is a duplicate, still exported once.
  await store.record(lost);
  const report = await exporter.run(deadline());
  expect(report.swept).toBe(1);
  expect(archive.eventIds()).toEqual([lost.eventId]);
  expect([...outbox.items.keys()]).toEqual([inProgress.eventId]);
});

test('a run stops starting batches at its deadline', async () => {
  const { store, archive, exporter, advance } = setup(1);
  for (const n of [1, 2, 3]) await store.record(event(n));
  const write = archive.write.bind(archive);
  archive.write = async (batch) => {
    advance(1_000);
    return write(batch);
  };
  const report = await exporter.run(10_000 + 1_500);
  expect(report).toMatchObject({ batches: 2, events: 2 });
  expect(store.pending.size).toBe(1);
});
