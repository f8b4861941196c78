import type { ComplianceEvent } from '../../../shared/compliance/event';
import type { ComplianceOutbox, ComplianceQueue } from '../../../shared/compliance/ports';
import { CompliancePublisher } from '../../../shared/compliance/publisher';
import type { Queue } from '../../../shared/ports';

/** A queue that keeps what was sent; `failNextSends` makes the next sends reject (an SQS outage). */
export class MemoryQueue implements Queue {
  readonly bodies: unknown[] = [];
  failNextSends = 0;

  async send(body: unknown): Promise<void> {
    if (this.failNextSends > 0) {
      this.failNextSends--;
      throw Object.assign(new Error('SQS is unavailable'), { name: 'ServiceUnavailable' });
    }
    this.bodies.push(JSON.parse(JSON.stringify(body)));
  }

  async sendBatch(bodies: readonly unknown[]): Promise<void> {
    for (const body of bodies) await this.send(body);
  }
}

/** The outbox items the stores wrote with their changes, by event id; `clear` removes one. */
export class MemoryOutbox implements ComplianceOutbox {
  readonly items = new Map<string, { readonly event: ComplianceEvent; readonly writtenAt: number }>();

  add(event: ComplianceEvent, writtenAt = event.at): void {
    this.items.set(event.eventId, { event, writtenAt });
  }

  /** Oldest first, as the table's outbox answers (test/support/contracts/compliance-outbox.contract.ts). */
  async due(before: number, limit: number): Promise<ComplianceEvent[]> {
    return [...this.items.values()]
      .filter((item) => item.writtenAt < before)
      .sort((a, b) => a.writtenAt - b.writtenAt)
      .slice(0, limit)
      .map((item) => structuredClone(item.event));
  }

  async clear(event: ComplianceEvent): Promise<void> {
    this.items.delete(event.eventId);
  }
}

/**
 * The compliance side of a use case test: the real publisher over a memory queue and outbox. `archived()` is what the
 * compliance store would hold (queue and outbox together, one per event id: the sweep records what the queue missed).
 */
export class MemoryCompliance {
  readonly queue = new MemoryQueue();
  readonly outbox = new MemoryOutbox();
  readonly port: ComplianceQueue = new CompliancePublisher(this.queue, this.outbox);

  /** Events sent, in order, with repeats (at least once). */
  sent(): ComplianceEvent[] {
    return this.queue.bodies as ComplianceEvent[];
  }

  /** One per event id, from the queue and from what the sweep would record out of the outbox. */
  archived(): ComplianceEvent[] {
    const byId = new Map<string, ComplianceEvent>();
    for (const event of [...this.sent(), ...[...this.outbox.items.values()].map((item) => item.event)]) if (!byId.has(event.eventId)) byId.set(event.eventId, event);
    return [...byId.values()];
  }
}
