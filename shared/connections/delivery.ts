import type { ConnectionStore, Connections } from '../ports';

export interface DeliveryReport {
  readonly delivered: number;
  /** Connections found gone and removed from the store. */
  readonly removed: number;
  readonly failed: number;
}

/**
 * Fan-out to connections with bounded parallelism. A connection API Gateway reports gone is removed
 * from the store, so stale records cost one failed post at most.
 */
export class Delivery {
  constructor(
    private readonly connections: Connections,
    private readonly store: ConnectionStore,
    private readonly concurrency: number,
  ) {}

  async toConnections(connectionIds: readonly string[], payload: unknown): Promise<DeliveryReport> {
    let delivered = 0;
    let removed = 0;
    let failed = 0;
    let next = 0;
    const worker = async () => {
      while (next < connectionIds.length) {
        const connectionId = connectionIds[next++]!;
        try {
          if ((await this.connections.post(connectionId, payload)) === 'delivered') {
            delivered++;
          } else {
            await this.store.delete(connectionId);
            removed++;
          }
        } catch {
          // One unreachable endpoint must not stop the others; history keeps what it missed.
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, connectionIds.length) }, worker));
    return { delivered, removed, failed };
  }

  /** Every connection of every listed user, optionally skipping the sender's own connection. */
  async toUsers(uris: readonly string[], payload: unknown, exceptConnectionId?: string): Promise<DeliveryReport> {
    const ids = new Set(await this.store.connectionIdsOf(uris));
    if (exceptConnectionId) ids.delete(exceptConnectionId);
    return this.toConnections([...ids], payload);
  }
}
