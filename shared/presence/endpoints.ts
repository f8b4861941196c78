import type { Identity } from '../auth/identity';
import { inParallel, RETRY, retryOnConflict } from '../concurrency';
import { GoneError, UnavailableError } from '../errors';
import type { Clock, ConnectionStore, Connections, DomainEvent, EventDelivery } from '../ports';
import type { PresenceEvents } from './events';
import { givenUp, KeptChanging } from './kept-changing';
import type { PresenceStore, WatchersPage } from './ports';
import {
  aggregatePresence,
  applyMachineState,
  changesUserState,
  connectedEndpoint,
  DEFAULT_PRESENCE_STATE_SECONDS,
  OFFLINE,
  type PresenceRecord,
  type Publication,
  samePresence,
  userStateChange,
} from './presence';
import { expiryReason, hasExpired, type Subscription, type TerminationReason } from './subscription';
import type { TargetPresence } from './views';

/** A page of a target's watch index and the subscriptions it names. */
interface WatchersRead {
  readonly page: WatchersPage;
  readonly subscriptions: ReadonlyMap<string, Subscription>;
}

/** What the endpoint and aggregate side needs: the table, the management API, delivery. No timers, no policy. */
export interface EndpointDependencies {
  readonly store: PresenceStore;
  readonly connectionStore: Pick<ConnectionStore, 'get' | 'delete'>;
  readonly connections: Pick<Connections, 'status'>;
  readonly delivery: Pick<EventDelivery<PresenceEvents>, 'toConnections'>;
  readonly clock: Clock;
  /** Parallel subscribers of one fan-out. */
  readonly concurrency: number;
  /** How long an explicit state or note lives unless chosen again (PRESENCE_STATE_SECONDS; default 12 h). */
  readonly stateLifetimeMs?: number;
}

/**
 * A user's endpoints and their aggregate (SPEC §5): `$connect`, `$disconnect`, `presence.publish`, a dead endpoint
 * found on the way; each change of the aggregate is one version, fanned out to every subscription watching the user.
 * This is all `$connect` and `$disconnect` need: it arms no timer and opens no subscription. What it does to
 * subscriptions is what a fan-out or a dead connection shows: detach, end one past its deadline, announce.
 */
export class PresenceEndpoints {
  constructor(private readonly deps: EndpointDependencies) {}

  /** `$connect`: a new endpoint counts as online (its machine state) until it publishes otherwise. */
  async endpointOpened(identity: Identity, connectionId: string, expiresAt: number): Promise<PresenceRecord> {
    const now = this.deps.clock.now();
    await this.deps.store.putEndpoint(identity.uri, connectedEndpoint(connectionId, identity.device, expiresAt, now), false);
    return this.recompute(identity.uri);
  }

  /**
   * An endpoint is gone: closed (`$disconnect`), or found dead (GoneException on a post, GetConnection
   * during a refresh). Its record and presence go, its subscriptions are detached (kept for
   * `session.resume`), and the user's presence is recomputed, which notifies their subscribers.
   */
  async endpointGone(uri: string, connectionId: string): Promise<PresenceRecord> {
    await this.deps.connectionStore.delete(connectionId);
    await this.deps.store.removeEndpoint(uri, connectionId);
    for (const subscription of await this.deps.store.listSubscriptionsOf(uri)) {
      if (subscription.connectionId !== connectionId || subscription.state === 'terminated') continue;
      await this.detach(subscription, connectionId);
    }
    return this.recompute(uri);
  }

  /**
   * `presence.publish`: a machine state goes to this endpoint; a user state (or a reset) and a note go to the user's own
   * state (SPEC §9: the user's, not the endpoint's), where every endpoint of the user, a later one included, counts
   * them. O(1) writes: the endpoint (machine state, or an endpoint `$connect` did not record), the user's state when it
   * changes, and the aggregate when that changes (the version rule).
   */
  async publish(identity: Identity, connectionId: string, publication: Publication): Promise<TargetPresence> {
    const stored = await this.deps.store.readUser(identity.uri);
    const now = this.deps.clock.now();
    let endpoint = stored.endpoints.find((candidate) => candidate.connectionId === connectionId);
    const recorded = endpoint !== undefined;
    if (!endpoint) {
      // `$connect` records the endpoint best-effort; if it did not, the connection record still says what it is.
      const connection = await this.deps.connectionStore.get(connectionId);
      if (!connection) throw new GoneError('this connection is closing');
      endpoint = connectedEndpoint(connectionId, identity.device, connection.expiresAt, connection.connectedAt);
    }
    const machine = applyMachineState(endpoint, publication, now);
    if ((!recorded || machine !== endpoint) && !(await this.deps.store.putEndpoint(identity.uri, machine, recorded))) {
      throw new GoneError('this connection is closing');
    }
    const change = userStateChange(publication, now, this.deps.stateLifetimeMs ?? DEFAULT_PRESENCE_STATE_SECONDS * 1000);
    if (changesUserState(change)) await this.deps.store.updateUserState(identity.uri, change);
    return { uri: identity.uri, ...(await this.recompute(identity.uri)) };
  }

  /**
   * A target's current presence, each endpoint not confirmed within `maxAgeMs` checked with the management
   * API first (a dead one is cleaned and the target recomputed). Throws if the target cannot be read.
   */
  async verifiedPresence(uri: string, maxAgeMs: number): Promise<PresenceRecord> {
    const stored = await this.deps.store.readUser(uri);
    const now = this.deps.clock.now();
    let cleaned = false;
    for (const endpoint of stored.endpoints) {
      if (endpoint.expiresAt > now && maxAgeMs > 0 && (endpoint.checkedAt ?? 0) > now - maxAgeMs) continue;
      const alive = endpoint.expiresAt > now && (await this.deps.connections.status(endpoint.connectionId)) !== undefined;
      if (alive) {
        await this.deps.store.markEndpointChecked(uri, endpoint.connectionId, now);
      } else {
        await this.endpointGone(uri, endpoint.connectionId);
        cleaned = true;
      }
    }
    const current = stored.aggregate ?? { presence: OFFLINE, version: 0 };
    // Also heals an aggregate that missed a change (an endpoint that outlived its connection's deadline, an explicit
    // state or note past its expiry): the server's refresh of a subscription brings an expiry to its watchers.
    if (!cleaned && samePresence(aggregatePresence(stored.endpoints, now, stored.user), current.presence)) return current;
    return this.recompute(uri);
  }

  /**
   * Ends a subscription: terminated with its reason, out of the index, and told to its subscriber. One that
   * cannot be told is kept (a day) for the subscriber's next `session.resume`. Undefined if a change won.
   */
  async terminate(seen: Subscription, reason: TerminationReason): Promise<Subscription | undefined> {
    const ended = await this.deps.store.updateSubscription(seen, { state: 'terminated', reason }, this.deps.clock.now());
    if (!ended) return undefined;
    await this.deps.store.removeWatches(ended.subscriptionId, ended.targets);
    if (await this.announce(ended)) await this.deps.store.deleteSubscription(ended.subscriptionId);
    return ended;
  }

  /** `presence.subscriptionState` to the subscription's connection; true if it got there. */
  async announce(subscription: Subscription): Promise<boolean> {
    if (!subscription.connectionId) return false;
    const event: DomainEvent<PresenceEvents> = {
      event: 'presence.subscriptionState',
      payload: {
        subscriptionId: subscription.subscriptionId,
        state: subscription.state,
        ...(subscription.reason ? { reason: subscription.reason } : {}),
        ...(subscription.state !== 'terminated' ? { expiresAt: subscription.expiresAt } : {}),
      },
    };
    const report = await this.deps.delivery.toConnections([subscription.connectionId], event);
    if (report.removed > 0) await this.endpointGone(subscription.ownerUri, subscription.connectionId);
    return report.delivered > 0;
  }

  /**
   * Aggregates the user's endpoints and, if that changed their presence, stores it as the next version
   * (conditional on the version read, so concurrent recomputes never lose a change) and notifies.
   */
  private recompute(uri: string): Promise<PresenceRecord> {
    return retryOnConflict(
      async () => {
        const stored = await this.deps.store.readUser(uri);
        const now = this.deps.clock.now();
        const current = stored.aggregate ?? { presence: OFFLINE, version: 0 };
        const presence = aggregatePresence(stored.endpoints, now, stored.user);
        if (samePresence(presence, current.presence)) return current;
        if (!(await this.deps.store.saveAggregate(uri, presence, current.version, now))) return RETRY;
        const record = { presence, version: current.version + 1 };
        await this.fanout(uri, record);
        return record;
      },
      () => new UnavailableError('presence kept changing; retry', 200),
    );
  }

  /**
   * Notifies every subscription watching `uri` of the aggregate's new version (SPEC §5: every change, to every
   * subscription watching; a subscriber that sees the version jump knows it missed one). Writes nothing per
   * subscriber: the index is read one page at a time and the page's subscriptions in one batch read, each live one
   * gets the notification on its connection. What the read shows decides the rest, lazily: index items of
   * subscriptions gone or ended are deleted in one batch (once: they are not read again), a subscription past its
   * deadline whose refresh timer was lost is terminated (once, announced: it never goes quiet), a detached one waits
   * for `session.resume`. Connections found gone are cleaned afterwards, which recomputes their owners' presence.
   */
  private async fanout(uri: string, record: PresenceRecord): Promise<void> {
    const gone = new Map<string, string>();
    let failure: unknown;
    // The next page (index query and its subscriptions) is read while this one is posted: reads and posts overlap
    // instead of taking turns (issue 21: a 1,000-subscriber publish was ten read rounds then ten post rounds in a row).
    let next: Promise<WatchersRead> | undefined = this.readWatchers(uri);
    while (next) {
      const { page, subscriptions }: WatchersRead = await next;
      next = page.cursor ? this.readWatchers(uri, page.cursor) : undefined;
      // A failed read-ahead is raised when its turn comes, not as an unhandled rejection meanwhile.
      next?.catch(() => undefined);
      const now = this.deps.clock.now();
      const orphans = page.subscriptionIds.filter((id) => {
        const subscription = subscriptions.get(id);
        return !subscription || subscription.state === 'terminated' || !subscription.targets.includes(uri);
      });
      const orphaned = new Set(orphans);
      await inParallel(page.subscriptionIds, this.deps.concurrency, async (subscriptionId) => {
        const subscription = subscriptions.get(subscriptionId);
        if (!subscription || orphaned.has(subscriptionId)) return;
        try {
          // The clock decides, not the timer: one whose refresh timer was lost (Scheduler gave up) ends visibly here.
          if (hasExpired(subscription, now)) {
            await this.terminate(subscription, expiryReason(subscription));
            return;
          }
          if (!subscription.connectionId) return; // detached: its owner's session.resume brings a full snapshot
          const event: DomainEvent<PresenceEvents> = { event: 'presence.notify', payload: { subscriptionId, uri, presence: record.presence, version: record.version } };
          const report = await this.deps.delivery.toConnections([subscription.connectionId], event);
          if (report.removed > 0) gone.set(subscription.connectionId, subscription.ownerUri);
        } catch (error) {
          // One subscriber's failure must not stop the others'; it is raised once all were tried.
          failure ??= error;
        }
      });
      if (orphans.length > 0) {
        try {
          await this.deps.store.removeWatchesOf(uri, orphans);
        } catch (error) {
          failure ??= error;
        }
      }
    }
    for (const [connectionId, ownerUri] of gone) await this.endpointGone(ownerUri, connectionId);
    if (failure) throw failure;
  }

  /** One page of `uri`'s watch index and the subscriptions it names (one Query, then parallel batch reads). */
  private async readWatchers(uri: string, cursor?: string): Promise<WatchersRead> {
    const page = await this.deps.store.watchersPage(uri, cursor);
    const subscriptions = page.subscriptionIds.length > 0 ? await this.deps.store.getSubscriptions(page.subscriptionIds) : new Map<string, Subscription>();
    return { page, subscriptions };
  }

  /**
   * The subscription leaves the closed connection (kept for `session.resume`). If it keeps changing, this gives up
   * quietly: the next post to that connection finds it gone and detaches it again.
   */
  private async detach(seen: Subscription, connectionId: string): Promise<void> {
    let current: Subscription | undefined = seen;
    await retryOnConflict<void>(
      async (attempt) => {
        if (attempt > 0) current = await this.deps.store.getSubscription(seen.subscriptionId);
        if (!current || current.connectionId !== connectionId) return;
        if (!(await this.deps.store.updateSubscription(current, { connectionId: null }, this.deps.clock.now()))) return RETRY;
      },
      () => new KeptChanging(),
    ).catch(givenUp(undefined));
  }
}
