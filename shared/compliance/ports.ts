import type { ComplianceEvent } from './event';

/** Where a pending event sits in the compliance store: enough to read it again and to remove it. */
export interface PendingRef {
  readonly eventId: string;
  readonly shard: number;
  readonly sortKey: string;
}

export interface PendingEvent {
  readonly ref: PendingRef;
  readonly event: ComplianceEvent;
}

/** A batch handed to the archive. Its id is derived from its events (`batchIdOf`), so a retry names the same batch. */
export interface ExportBatch {
  readonly batchId: string;
  readonly events: readonly ComplianceEvent[];
}

/** The batch a run is writing, recorded before the archive write so that the next run finishes a run that died. */
export interface BatchInFlight {
  readonly batchId: string;
  readonly refs: readonly PendingRef[];
}

/** The compliance adapter (the seed's "Compliance adapter"): takes batches into the archive. */
export interface ComplianceArchive {
  /** Where batches go (a directory, an S3 prefix), for logs. */
  readonly location: string;
  /**
   * Stores the batch under its id unless that id is already stored (write-if-absent): a batch written again
   * after a crash is never a second copy. Rejects when the batch could not be stored.
   */
  write(batch: ExportBatch): Promise<'written' | 'exists'>;
}

/** The compliance store: events wait here, exactly once each, until the export adapter has taken them. */
export interface ComplianceStore {
  /** Stores the event unless this event id was stored before (even if already exported). */
  record(event: ComplianceEvent): Promise<'stored' | 'duplicate'>;
}

/** The export side of the compliance store: pending events, the exporter's lease and its batch in flight. */
export interface ComplianceExportStore {
  /**
   * Takes the exporter's lease until `until` (one export at a time) unless another run holds an unexpired one;
   * answers the batch a previous run left unfinished, if any.
   */
  acquireLease(owner: string, now: number, until: number): Promise<{ readonly inFlight?: BatchInFlight } | undefined>;
  /** Gives the lease back (the batch in flight, if any, stays recorded). */
  releaseLease(owner: string): Promise<void>;
  /** Records the batch about to be written and extends the lease; false when the lease was lost. */
  beginBatch(owner: string, batch: BatchInFlight, until: number): Promise<boolean>;
  /** Clears the batch in flight once its events have left the store. */
  endBatch(owner: string, batchId: string): Promise<void>;
  /** The oldest pending events (by command time), at most `limit`, read consistently. */
  oldestPending(limit: number): Promise<PendingEvent[]>;
  /** Those of `refs` still pending. */
  readPending(refs: readonly PendingRef[]): Promise<PendingEvent[]>;
  /** For each event id already exported, the batch that holds it. */
  exportedIn(eventIds: readonly string[]): Promise<ReadonlyMap<string, string>>;
  /** Notes on each event's dedup marker the batch that holds it, then removes the pending events. */
  markExported(batchId: string, refs: readonly PendingRef[], now: number): Promise<void>;
  /** Removes pending events without marking them (they are already in the archive). */
  discard(refs: readonly PendingRef[]): Promise<void>;
  /** Command time of the oldest pending event (epoch ms), undefined when nothing is pending. */
  oldestPendingAt(): Promise<number | undefined>;
}

/**
 * The transactional outbox: a command writes its compliance event with its own data, in one transaction,
 * and removes it once the event is on the queue. What is left behind (the process died in between) is
 * recorded by the export job's sweep.
 */
export interface ComplianceOutbox {
  /** Events written before `before` whose send was never confirmed, at most `limit`. */
  due(before: number, limit: number): Promise<ComplianceEvent[]>;
  clear(event: ComplianceEvent): Promise<void>;
}

/**
 * The compliance queue as the use cases see it (SPEC §7): events go to the compliance service, at least once,
 * and the store keeps one copy per event id. It owns what a failed send means, so no use case maps it itself.
 */
export interface ComplianceQueue {
  /**
   * An event that exists nowhere else (reads, downloads): on the queue, or a 503 carrying `whenUnsent`, so the
   * client retries the command and the retry's event (same id) is stored once.
   */
  publish(event: ComplianceEvent, whenUnsent: string): Promise<void>;
  /**
   * An event already written to the outbox with its change: on the queue, then its outbox item cleared. With
   * `whenUnsent`, a failed send is a 503 (the client retries with its client id); without, it is not an error
   * (the export job's sweep records the outbox item, and a command without a client id must not be retried).
   */
  publishOutboxed(event: ComplianceEvent, whenUnsent?: string): Promise<void>;
}
