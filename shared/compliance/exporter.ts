import type { Clock } from '../ports';
import { batchIdOf } from './formats';
import type { BatchInFlight, ComplianceArchive, ComplianceExportStore, ComplianceOutbox, ComplianceStore, PendingEvent } from './ports';

export interface ComplianceExporterDependencies {
  readonly store: ComplianceStore & ComplianceExportStore;
  readonly archive: ComplianceArchive;
  readonly outbox: ComplianceOutbox;
  readonly clock: Clock;
  readonly newId: (prefix: string) => string;
  /** Events per archive file. */
  readonly batchSize: number;
  /** How long a run may hold the exporter's lease: longer than the function's timeout. */
  readonly leaseMs: number;
  /** An outbox event older than this lost its command's send (the command takes far less). */
  readonly outboxGraceMs: number;
}

export interface ExportReport {
  readonly outcome: 'exported' | 'busy';
  readonly batches: number;
  readonly events: number;
  /** Outbox events whose command died before its send, recorded by this run. */
  readonly swept: number;
  /** Age of the oldest event still waiting after the run (0 when none): what the export-age alarm watches. */
  readonly oldestPendingAgeSeconds: number;
}

const OUTBOX_SWEEP_LIMIT = 500;

/**
 * The export job (the seed's periodic step: "processes a set of events in the database, and sends them to
 * the Compliance adapter ... If the adapter successfully processes the data, ... deletes the events").
 *
 * Never lost: events leave the store only after the archive took their batch; a failed write keeps them.
 * Never twice: a batch is recorded before its write and named by its events, the archive writes a name
 * only once, and a run first finishes the batch a dead run left, so the same events reach the same file.
 */
export class ComplianceExporter {
  constructor(private readonly deps: ComplianceExporterDependencies) {}

  /** One run: sweep the outbox, then export batch after batch until nothing is pending or `deadline` passes. */
  async run(deadline: number): Promise<ExportReport> {
    const owner = this.deps.newId('export');
    const now = this.deps.clock.now();
    const lease = await this.deps.store.acquireLease(owner, now, now + this.deps.leaseMs);
    if (!lease) return { outcome: 'busy', batches: 0, events: 0, swept: 0, oldestPendingAgeSeconds: await this.oldestPendingAgeSeconds() };
    let batches = 0;
    let events = 0;
    let swept = 0;
    try {
      swept = await this.sweepOutbox(now - this.deps.outboxGraceMs);
      if (lease.inFlight) {
        events += await this.finish(owner, lease.inFlight);
        batches++;
      }
      while (this.deps.clock.now() < deadline) {
        const pending = await this.freshPending();
        if (pending === undefined) break;
        if (pending.length === 0) continue;
        const batch: BatchInFlight = { batchId: batchIdOf(pending.map((p) => p.event)), refs: pending.map((p) => p.ref) };
        if (!(await this.deps.store.beginBatch(owner, batch, this.deps.clock.now() + this.deps.leaseMs))) break;
        events += await this.finish(owner, batch, pending);
        batches++;
      }
    } finally {
      // A release that fails is harmless: the lease expires on its own.
      await this.deps.store.releaseLease(owner).catch(() => undefined);
    }
    return { outcome: 'exported', batches, events, swept, oldestPendingAgeSeconds: await this.oldestPendingAgeSeconds() };
  }

  async oldestPendingAgeSeconds(): Promise<number> {
    const oldest = await this.deps.store.oldestPendingAt();
    return oldest === undefined ? 0 : Math.max(0, Math.floor((this.deps.clock.now() - oldest) / 1000));
  }

  /**
   * Commands whose process died between their own write and the queue send left their event in the outbox:
   * record it in the store directly (deduplicated by event id, like a queue delivery) and clear it.
   */
  private async sweepOutbox(before: number): Promise<number> {
    const due = await this.deps.outbox.due(before, OUTBOX_SWEEP_LIMIT);
    for (const event of due) {
      await this.deps.store.record(event);
      await this.deps.outbox.clear(event);
    }
    return due.length;
  }

  /**
   * The oldest pending events not yet in the archive; undefined when nothing is pending, empty when the ones
   * read were already exported (left by a run that died after its write; they are only removed).
   */
  private async freshPending(): Promise<PendingEvent[] | undefined> {
    const pending = await this.deps.store.oldestPending(this.deps.batchSize);
    if (pending.length === 0) return undefined;
    const exported = await this.deps.store.exportedIn(pending.map((p) => p.event.eventId));
    if (exported.size === 0) return pending;
    await this.deps.store.discard(pending.filter((p) => exported.has(p.event.eventId)).map((p) => p.ref));
    return pending.filter((p) => !exported.has(p.event.eventId));
  }

  /** Writes the recorded batch (write-if-absent), then removes its events and clears the record. */
  private async finish(owner: string, batch: BatchInFlight, known?: readonly PendingEvent[]): Promise<number> {
    const pending = known ?? (await this.deps.store.readPending(batch.refs));
    // Some of a resumed batch already gone means the write had succeeded (removal follows it): nothing to write.
    if (pending.length === batch.refs.length) {
      await this.deps.archive.write({ batchId: batch.batchId, events: pending.map((p) => p.event) });
    }
    await this.deps.store.markExported(batch.batchId, batch.refs, this.deps.clock.now());
    await this.deps.store.endBatch(owner, batch.batchId);
    return batch.refs.length;
  }
}
