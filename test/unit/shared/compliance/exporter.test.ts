import type { ComplianceEvent } from '../../../../shared/compliance/event';
import { ComplianceExporter } from '../../../../shared/compliance/exporter';
import { batchIdOf } from '../../../../shared/compliance/formats';
import type {
  BatchInFlight,
  ComplianceArchive,
  ComplianceExportStore,
  ComplianceOutbox,
  ExportBatch,
  PendingEvent,
  PendingRef,
} from '../../../../shared/compliance/ports';
import type { ComplianceStore } from '../../../../shared/ports';

/** The export rules over in-memory ports: what leaves the store, when, and what reaches the archive. */

const event = (n: number): ComplianceEvent => ({
  eventId: `im.message:c1:m${n}`,
  type: 'im.message',
  actor: { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice' },
  target: { kind: 'conversation', id: 'c1' },
  at: 1_000 + n,
  content: `hello ${n}`,
});

class MemoryStore implements ComplianceStore, ComplianceExportStore {
  readonly pending = new Map<string, ComplianceEvent>();
  readonly exported = new Map<string, string>();
  readonly markers = new Set<string>();
  lease?: { owner: string; until: number };
  inFlight?: BatchInFlight;

  async record(e: ComplianceEvent) {
    if (this.markers.has(e.eventId)) return 'duplicate' as const;
    this.markers.add(e.eventId);
    this.pending.set(e.eventId, e);
    return 'stored' as const;
  }
  async acquireLease(owner: string, now: number, until: number) {
    if (this.lease && this.lease.until >= now) return undefined;
    this.lease = { owner, until };
    return this.inFlight ? { inFlight: this.inFlight } : {};
  }
  async releaseLease(owner: string) {
    if (this.lease?.owner === owner) this.lease = undefined;
  }
  async beginBatch(owner: string, batch: BatchInFlight, until: number) {
    if (this.lease?.owner !== owner) return false;
    this.inFlight = batch;
    this.lease.until = until;
    return true;
  }
  async endBatch(owner: string, batchId: string) {
    if (this.lease?.owner === owner && this.inFlight?.batchId === batchId) this.inFlight = undefined;
  }
  async oldestPending(limit: number): Promise<PendingEvent[]> {
    return [...this.pending.values()].sort((a, b) => a.at - b.at).slice(0, limit).map((e) => ({ ref: ref(e), event: e }));
  }
  async readPending(refs: readonly PendingRef[]) {
    return refs.flatMap((r) => {
      const e = this.pending.get(r.eventId);
      return e ? [{ ref: r, event: e }] : [];
    });
  }
  async exportedIn(eventIds: readonly string[]) {
    return new Map(eventIds.flatMap((id) => (this.exported.has(id) ? [[id, this.exported.get(id)!] as const] : [])));
  }
  async markExported(batchId: string, refs: readonly PendingRef[]) {
    for (const r of refs) {
      this.exported.set(r.eventId, batchId);
      this.pending.delete(r.eventId);
    }
  }
  async discard(refs: readonly PendingRef[]) {
    for (const r of refs) this.pending.delete(r.eventId);
  }
  async oldestPendingAt() {
    const ats = [...this.pending.values()].map((e) => e.at);
    return ats.length ? Math.min(...ats) : undefined;
  }
}

const ref = (e: ComplianceEvent): PendingRef => ({ eventId: e.eventId, shard: 0, sortKey: `${e.at}#${e.eventId}` });

class MemoryArchive implements ComplianceArchive {
  readonly location = 'memory';
  readonly batches = new Map<string, ExportBatch>();
  failures = 0;
  async write(batch: ExportBatch) {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('archive unavailable');
    }
    if (this.batches.has(batch.batchId)) return 'exists' as const;
    this.batches.set(batch.batchId, batch);
    return 'written' as const;
  }
  /** Every event id in the archive, with repeats. */
  eventIds(): string[] {
    return [...this.batches.values()].flatMap((b) => b.events.map((e) => e.eventId)).sort();
  }
}

class MemoryOutbox implements ComplianceOutbox {
  readonly items = new Map<string, ComplianceEvent>();
  async due(before: number, limit: number) {
    return [...this.items.values()].filter((e) => e.at < before).slice(0, limit);
  }
  async clear(e: ComplianceEvent) {
    this.items.delete(e.eventId);
  }
}

function setup(batchSize = 2) {
  const store = new MemoryStore();
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
  outbox.items.set(lost.eventId, lost);
  outbox.items.set(inProgress.eventId, inProgress);
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
