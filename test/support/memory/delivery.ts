import type { DeliveryReport, DomainEvent, EventDelivery } from '../../../shared/ports';

export interface Delivered<Events> {
  readonly connectionIds: readonly string[];
  readonly event: DomainEvent<Events>;
}

/**
 * Delivery that records what the use cases pushed, to whom. `toUsers` resolves users to connections through
 * `connectionsOf` (by default each user has one connection named after them). `failing` connections count as failed.
 */
export class RecordingDelivery<Events = Record<string, unknown>> implements EventDelivery<Events> {
  readonly sent: Array<Delivered<Events>> = [];
  readonly failing = new Set<string>();

  constructor(private readonly connectionsOf: (uri: string) => readonly string[] = (uri) => [`conn:${uri}`]) {}

  async toConnections(connectionIds: readonly string[], event: DomainEvent<Events>): Promise<DeliveryReport> {
    const reached = connectionIds.filter((id) => !this.failing.has(id));
    if (connectionIds.length > 0) this.sent.push({ connectionIds: [...connectionIds], event });
    return { delivered: reached.length, removed: 0, failed: connectionIds.length - reached.length };
  }

  async toUsers(uris: readonly string[], event: DomainEvent<Events>, exceptConnectionId?: string): Promise<DeliveryReport> {
    const ids = [...new Set(uris.flatMap((uri) => this.connectionsOf(uri)))].filter((id) => id !== exceptConnectionId);
    return this.toConnections(ids, event);
  }

  /** Every event of that name, with the connections it went to. */
  named<E extends keyof Events>(name: E): Array<{ readonly connectionIds: readonly string[]; readonly payload: Events[E] }> {
    return this.sent
      .filter((entry) => (entry.event as { event: keyof Events }).event === name)
      .map((entry) => ({ connectionIds: entry.connectionIds, payload: (entry.event as unknown as { payload: Events[E] }).payload }));
  }

  /** Connections that received an event of that name (with repeats, so a duplicate shows). */
  recipientsOf(name: keyof Events): string[] {
    return this.named(name).flatMap((entry) => entry.connectionIds);
  }

  clear(): void {
    this.sent.length = 0;
  }
}
