import { inParallel } from '../concurrency';
import type { ConnectionStore, Connections, DeliveryReport, DomainEvent, EventDelivery } from '../ports';
import { serverEvent } from '../protocol/envelope';
import type { ServerEventPayloads } from '../protocol/events';
import { SerializedFrame } from './frame';

export type { DeliveryReport } from '../ports';

/**
 * Fan-out to connections with bounded parallelism: the edge where a use case's `{event, payload}` becomes the
 * wire envelope. A connection API Gateway reports gone is removed from the store, so stale records cost one
 * failed post at most; one that connected moments ago stays (API Gateway answers 410 until its `$connect`
 * returns: see `ConnectionStore.removeGone`).
 */
export class Delivery implements EventDelivery<ServerEventPayloads> {
  constructor(
    private readonly connections: Connections,
    private readonly store: ConnectionStore,
    private readonly concurrency: number,
  ) {}

  async toConnections(connectionIds: readonly string[], event: DomainEvent<ServerEventPayloads>): Promise<DeliveryReport> {
    return this.postFrame(connectionIds, serverEvent(event.event, event.payload as never));
  }

  /** Every connection of every listed user, optionally skipping the sender's own connection. */
  async toUsers(uris: readonly string[], event: DomainEvent<ServerEventPayloads>, exceptConnectionId?: string): Promise<DeliveryReport> {
    const ids = new Set(await this.store.connectionIdsOf(uris));
    if (exceptConnectionId) ids.delete(exceptConnectionId);
    return this.toConnections([...ids], event);
  }

  /** Posts one built frame to each connection; one unreachable endpoint never stops the others. */
  protected async postFrame(connectionIds: readonly string[], frame: unknown): Promise<DeliveryReport> {
    let delivered = 0;
    let removed = 0;
    let failed = 0;
    // Serialised once for all recipients, not once per post.
    const serialized = SerializedFrame.of(frame);
    await inParallel(connectionIds, this.concurrency, async (connectionId) => {
      try {
        if ((await this.connections.post(connectionId, serialized)) === 'delivered') {
          delivered++;
        } else if (await this.store.removeGone(connectionId)) {
          removed++;
        }
      } catch {
        // History keeps what it missed.
        failed++;
      }
    });
    return { delivered, removed, failed };
  }
}
