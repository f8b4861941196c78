import { UnavailableError } from '../errors';
import type { Queue } from '../ports';
import type { ComplianceEvent } from './event';
import type { ComplianceOutbox, ComplianceQueue } from './ports';

/** How long a client waits before retrying a command whose event could not be queued. */
const RETRY_AFTER_MS = 1000;

/** The compliance queue port over any message queue and the outbox (the SQS adapter in production). */
export class CompliancePublisher implements ComplianceQueue {
  constructor(
    private readonly queue: Pick<Queue, 'send'>,
    private readonly outbox: Pick<ComplianceOutbox, 'clear'>,
  ) {}

  async publish(event: ComplianceEvent, whenUnsent: string): Promise<void> {
    try {
      await this.queue.send(event);
    } catch {
      throw new UnavailableError(whenUnsent, RETRY_AFTER_MS);
    }
  }

  async publishOutboxed(event: ComplianceEvent, whenUnsent?: string): Promise<void> {
    try {
      await this.queue.send(event);
    } catch {
      if (whenUnsent !== undefined) throw new UnavailableError(whenUnsent, RETRY_AFTER_MS);
      return;
    }
    // On the queue: an item left by a failed delete is recorded again by the sweep, a no-op.
    await this.outbox.clear(event).catch(() => undefined);
  }
}
