import type { ComplianceEvent } from '../../../shared/compliance/event';
import type {
  BatchInFlight,
  ComplianceArchive,
  ComplianceExportStore,
  ComplianceStore,
  ExportBatch,
  PendingEvent,
  PendingRef,
} from '../../../shared/compliance/ports';

/**
 * The compliance store in memory (both of its ports), held to the same contract as `DynamoComplianceStore`
 * (test/support/contracts/compliance-store.contract.ts): a dedup marker per event id that outlives the event's
 * export, the pending events, and the exporter's lease with its batch in flight. Its fields are open so a test can
 * set up what a dead run left (a lease, a batch in flight, an event pending again).
 */
export class MemoryComplianceStore implements ComplianceStore, ComplianceExportStore {
  /** Pending events by event id. */
  readonly pending = new Map<string, ComplianceEvent>();
  /** Event id → the batch that holds it in the archive. */
  readonly exported = new Map<string, string>();
  /** Event ids ever stored (or marked exported): a second record is a duplicate. */
  readonly markers = new Set<string>();
  lease?: { owner: string; until: number };
  inFlight?: BatchInFlight;

  async record(event: ComplianceEvent): Promise<'stored' | 'duplicate'> {
    if (this.markers.has(event.eventId)) return 'duplicate';
    this.markers.add(event.eventId);
    this.pending.set(event.eventId, structuredClone(event));
    return 'stored';
  }

  async acquireLease(owner: string, now: number, until: number): Promise<{ readonly inFlight?: BatchInFlight } | undefined> {
    if (this.lease && this.lease.until >= now) return undefined;
    this.lease = { owner, until };
    return this.inFlight ? { inFlight: structuredClone(this.inFlight) } : {};
  }

  async releaseLease(owner: string): Promise<void> {
    if (this.lease?.owner === owner) this.lease = undefined;
  }

  async beginBatch(owner: string, batch: BatchInFlight, until: number): Promise<boolean> {
    if (this.lease?.owner !== owner) return false;
    this.inFlight = structuredClone(batch);
    this.lease = { owner, until };
    return true;
  }

  async endBatch(owner: string, batchId: string): Promise<void> {
    if (this.lease?.owner === owner && this.inFlight?.batchId === batchId) this.inFlight = undefined;
  }

  async oldestPending(limit: number): Promise<PendingEvent[]> {
    return [...this.pending.values()]
      .map((event) => ({ ref: pendingRef(event), event: structuredClone(event) }))
      .sort((a, b) => a.event.at - b.event.at || (a.ref.sortKey < b.ref.sortKey ? -1 : 1))
      .slice(0, limit);
  }

  async readPending(refs: readonly PendingRef[]): Promise<PendingEvent[]> {
    return refs.flatMap((ref) => {
      const event = this.pending.get(ref.eventId);
      return event ? [{ ref: pendingRef(event), event: structuredClone(event) }] : [];
    });
  }

  async exportedIn(eventIds: readonly string[]): Promise<ReadonlyMap<string, string>> {
    return new Map(eventIds.flatMap((id) => (this.exported.has(id) ? [[id, this.exported.get(id)!] as const] : [])));
  }

  async markExported(batchId: string, refs: readonly PendingRef[]): Promise<void> {
    for (const ref of refs) {
      // As the table's marker update: it creates the marker if it is missing, so the event is never stored again.
      this.markers.add(ref.eventId);
      this.exported.set(ref.eventId, batchId);
      this.pending.delete(ref.eventId);
    }
  }

  async discard(refs: readonly PendingRef[]): Promise<void> {
    for (const ref of refs) this.pending.delete(ref.eventId);
  }

  async oldestPendingAt(): Promise<number | undefined> {
    const times = [...this.pending.values()].map((event) => event.at);
    return times.length ? Math.min(...times) : undefined;
  }
}

/** Refs as the table names them (one shard here): opaque to the exporter, which only hands them back. */
function pendingRef(event: ComplianceEvent): PendingRef {
  return { eventId: event.eventId, shard: 0, sortKey: `${String(event.at).padStart(15, '0')}#${event.eventId}` };
}

/** The compliance archive in memory: batches by id, written once; `failures` makes the next writes reject. */
export class MemoryArchive implements ComplianceArchive {
  readonly location = 'memory';
  readonly batches = new Map<string, ExportBatch>();
  failures = 0;

  async write(batch: ExportBatch): Promise<'written' | 'exists'> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('archive unavailable');
    }
    if (this.batches.has(batch.batchId)) return 'exists';
    this.batches.set(batch.batchId, structuredClone(batch));
    return 'written';
  }

  /** Every event id in the archive, with repeats, sorted. */
  eventIds(): string[] {
    return [...this.batches.values()].flatMap((batch) => batch.events.map((event) => event.eventId)).sort();
  }
}
