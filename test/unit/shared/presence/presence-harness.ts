import type { Identity } from '../../../../shared/auth/identity';
import type { DeliveryReport, DomainEvent } from '../../../../shared/ports';
import type { PresenceEvents } from '../../../../shared/presence/events';
import type { PresenceQuotas } from '../../../../shared/presence/presence';
import { PresenceService } from '../../../../shared/presence/service';
import { subscriptionPolicy, type Subscription } from '../../../../shared/presence/subscription';
import { ManualClock, ManualTimers, MemoryConnectionStore, MemoryConnections, MemoryPresenceStore, RecordingDelivery, sequentialIds } from '../../../support/memory';

/** Delivery as API Gateway answers it: a connection that is not open is gone (410), removed from the store, and counted. */
export class PresenceDelivery extends RecordingDelivery<PresenceEvents> {
  constructor(
    private readonly connections: MemoryConnections,
    private readonly connectionStore: MemoryConnectionStore,
  ) {
    super();
  }

  override async toConnections(connectionIds: readonly string[], event: DomainEvent<PresenceEvents>): Promise<DeliveryReport> {
    const gone = connectionIds.filter((id) => !this.connections.open.has(id));
    for (const id of gone) await this.connectionStore.delete(id);
    const report = await super.toConnections(connectionIds.filter((id) => !gone.includes(id)), event);
    return { ...report, removed: gone.length };
  }

  /** The `presence.notify` versions of `uri` that reached `connectionId`, in order. */
  versionsSeen(connectionId: string, uri: string): number[] {
    return this.named('presence.notify')
      .filter((entry) => entry.connectionIds.includes(connectionId) && entry.payload.uri === uri)
      .map((entry) => entry.payload.version);
  }
}

export const LIFETIME_SECONDS = 3600;

export const user = (name: string, kind: Identity['kind'] = 'enterprise'): Identity => ({ uri: `sip:${name}@contoso.com`, kind, name, device: 'desktop' });

/** The presence use cases on memory ports, with a clock and timers the test moves. */
export function presenceHarness(options: { quotas?: PresenceQuotas; stateLifetimeMs?: number } = {}) {
  const clock = new ManualClock();
  const store = new MemoryPresenceStore();
  const timers = new ManualTimers();
  const connectionStore = new MemoryConnectionStore(() => clock.now());
  const connections = new MemoryConnections();
  const delivery = new PresenceDelivery(connections, connectionStore);
  const policy = subscriptionPolicy(LIFETIME_SECONDS);
  const service = new PresenceService({
    store,
    connectionStore,
    connections,
    delivery,
    timers,
    clock,
    policy,
    homeDomain: 'contoso.com',
    concurrency: 4,
    ...(options.quotas ? { quotas: options.quotas } : {}),
    ...(options.stateLifetimeMs !== undefined ? { stateLifetimeMs: options.stateLifetimeMs } : {}),
    newId: sequentialIds(),
  });

  /** `$connect`: the connection recorded and open, the endpoint counted in the user's presence. */
  async function connect(identity: Identity, connectionId: string) {
    const now = clock.now();
    const expiresAt = now + 7_200_000;
    await connectionStore.put({ ...identity, connectionId, connectedAt: now, expiresAt });
    connections.connect(connectionId, now);
    return service.endpointOpened(identity, connectionId, expiresAt);
  }

  /** The connection vanished without `$disconnect` (API Gateway answers 410 from now on). */
  function vanish(connectionId: string): void {
    connections.open.delete(connectionId);
  }

  async function stored(subscriptionId: string): Promise<Subscription> {
    const subscription = store.subscriptions.get(subscriptionId);
    if (!subscription) throw new Error(`no subscription ${subscriptionId} stored`);
    return subscription;
  }

  /** Fires every refresh timer due by now, as Scheduler would, and answers what each firing did. */
  async function fireDueTimers(): Promise<Array<'acted' | 'rearmed' | 'ignored'>> {
    const outcomes: Array<'acted' | 'rearmed' | 'ignored'> = [];
    for (const firing of timers.takeDue(clock.now(), 'presence.refresh')) outcomes.push(await service.onRefreshTimer(firing));
    return outcomes;
  }

  return { clock, store, timers, connectionStore, connections, delivery, policy, service, connect, vanish, stored, fireDueTimers };
}

/** Retries without waiting (test/support/no-backoff.ts). */
export { withoutBackoff } from '../../../support/no-backoff';
