import { createHash } from 'node:crypto';
import type { Identity } from '../auth/identity';
import type { Delivery } from '../connections/delivery';
import { GoneError, NotFoundError, UnavailableError } from '../errors';
import type { Clock, ConnectionStore, Connections, TimerFiring, Timers } from '../ports';
import { serverEvent } from '../protocol/envelope';
import type { PresenceStore, SubscriptionChange } from './ports';
import {
  aggregatePresence,
  applyPublication,
  assertMayOpenSubscription,
  assertMayWatch,
  connectedEndpoint,
  DEFAULT_PRESENCE_QUOTAS,
  OFFLINE,
  type PresenceHoldings,
  type PresenceQuotas,
  type Presence,
  type PresenceRecord,
  type Publication,
  samePresence,
  targetsAfterAdding,
  targetsToWatch,
} from './presence';
import {
  afterRefresh,
  assertOwner,
  decideResume,
  expiryReason,
  firstCheckAt,
  hasExpired,
  planRefreshTimer,
  type RefreshCheck,
  renewed,
  type Subscription,
  type SubscriptionPolicy,
  type TerminationReason,
} from './subscription';

export const REFRESH_TIMER_RULE = 'presence.refresh';

export interface PresenceDependencies {
  readonly store: PresenceStore;
  readonly connectionStore: Pick<ConnectionStore, 'get' | 'delete'>;
  readonly connections: Pick<Connections, 'status'>;
  readonly delivery: Pick<Delivery, 'toConnections'>;
  /** Read only when a timer is armed or cancelled, so functions that never do need no Scheduler settings. */
  readonly timers: Timers;
  readonly clock: Clock;
  readonly policy: SubscriptionPolicy;
  /** HOME_DOMAIN: whose users are the organization's (enterprise) users. */
  readonly homeDomain: string;
  /** Parallel subscribers of one fan-out, and parallel targets of one refresh. */
  readonly concurrency: number;
  /** What one user may hold (PRESENCE_MAX_*); the defaults when absent. */
  readonly quotas?: PresenceQuotas;
  readonly newId: (prefix: string) => string;
}

/** A target's presence as a subscriber sees it. */
export interface TargetPresence {
  readonly uri: string;
  readonly presence: Presence;
  readonly version: number;
}

export interface ActiveSubscriptionView {
  readonly subscriptionId: string;
  readonly state: 'subscribed' | 'terminating';
  readonly reason?: TerminationReason;
  readonly expiresAt: number;
  readonly targets: TargetPresence[];
}

export interface TerminatedSubscriptionView {
  readonly subscriptionId: string;
  readonly state: 'terminated';
  readonly reason: TerminationReason;
  /** What it watched, so the client can subscribe anew. */
  readonly uris: readonly string[];
}

export type SubscriptionView = ActiveSubscriptionView | TerminatedSubscriptionView;

export interface SubscribeCommand {
  readonly targets: readonly string[];
  readonly subscriptionId?: string;
  readonly clientId?: string;
}

/** How often a use case re-decides after losing a race with a concurrent change. */
const MAX_ATTEMPTS = 5;

/**
 * The use cases of SPEC §5 over the ports. The rules are pure, in ./presence.ts (aggregation, who may
 * watch whom) and ./subscription.ts (lifetime, refresh failures, resume); this class reads, decides, writes.
 */
export class PresenceService {
  constructor(private readonly deps: PresenceDependencies) {}

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
      await this.update(subscription, (current) => (current.connectionId === connectionId ? { connectionId: null } : undefined));
    }
    return this.recompute(uri);
  }

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
    if (!(await this.deps.store.putEndpoint(identity.uri, applyPublication(endpoint, publication, now), recorded))) {
      throw new GoneError('this connection is closing');
    }
    return { uri: identity.uri, ...(await this.recompute(identity.uri)) };
  }

  async subscribe(identity: Identity, connectionId: string, command: SubscribeCommand): Promise<SubscriptionView> {
    const targets = targetsToWatch(identity, command.targets, this.deps.homeDomain);
    if (command.subscriptionId) return this.addTargets(identity, connectionId, command.subscriptionId, targets);
    // A client id makes the id deterministic: a retried subscribe finds the subscription its first try made.
    const subscriptionId = command.clientId ? subscriptionIdFor(identity.uri, command.clientId) : this.deps.newId('psub');
    if (command.clientId) {
      const earlier = await this.deps.store.getSubscription(subscriptionId);
      if (earlier) return this.viewOf(earlier);
    }
    const now = this.deps.clock.now();
    // One bounded query (the user's subscriptions, at most the quota) both finds one to reuse and counts the quota.
    const owned = (await this.deps.store.listSubscriptionsOf(identity.uri)).filter((held) => isLive(held, now));
    // The same targets again from the same connection: the subscription that already watches them answers (renewed).
    const reusable = owned.find((held) => held.connectionId === connectionId && targets.every((uri) => held.targets.includes(uri)));
    if (reusable) {
      const reused = await this.reuse(reusable, now);
      if (reused) return reused;
    }
    assertMayOpenSubscription(holdings(owned), targets.length, this.quotas);
    const subscription: Subscription = {
      subscriptionId,
      ownerUri: identity.uri,
      connectionId,
      targets: targetsAfterAdding([], targets, this.quotas.maxTargetsPerSubscription),
      state: 'subscribed',
      expiresAt: now + this.deps.policy.lifetimeMs,
      createdAt: now,
      timerVersion: 1,
      attempts: 0,
      rev: 1,
    };
    // Arm first: a subscription never exists without the timer that refreshes and finally expires it.
    await this.deps.timers.arm({ rule: REFRESH_TIMER_RULE, subject: subscriptionId, version: 1, at: firstCheckAt(now, this.deps.policy) });
    if ((await this.deps.store.createSubscription(subscription)) === 'exists') {
      const earlier = await this.deps.store.getSubscription(subscriptionId);
      if (!earlier) throw new UnavailableError('the subscription is changing; retry with the same clientId', 200);
      return this.viewOf(earlier);
    }
    // Index items first, snapshot second: a publish in between is either in the snapshot or fanned out to us.
    return this.activeView(subscription, await this.snapshot(subscription.targets));
  }

  /**
   * `presence.refresh`: a new lifetime, and the current presence of every target, read now and checked
   * with the management API ("failures discovered now"): endpoints found dead are cleaned first.
   */
  async refresh(identity: Identity, connectionId: string, subscriptionId?: string): Promise<{ subscriptions: SubscriptionView[] }> {
    const subscriptions = subscriptionId
      ? [await this.owned(identity, subscriptionId)]
      : (await this.deps.store.listSubscriptionsOf(identity.uri)).filter((subscription) => subscription.connectionId === connectionId);
    return { subscriptions: await inParallel(subscriptions, this.deps.concurrency, (subscription) => this.refreshOne(subscription, connectionId)) };
  }

  async unsubscribe(identity: Identity, subscriptionId: string): Promise<TerminatedSubscriptionView> {
    let current: Subscription | undefined = await this.owned(identity, subscriptionId);
    for (let attempt = 0; attempt < MAX_ATTEMPTS && current; attempt++) {
      const ended = current.state === 'terminated' ? current : await this.terminate(current, 'unsubscribed');
      if (ended) {
        // The answer reports it: nothing is kept for a later resume.
        await this.deps.store.deleteSubscription(subscriptionId);
        await this.cancelTimer(ended);
        return terminatedView(ended);
      }
      current = await this.deps.store.getSubscription(subscriptionId);
    }
    if (!current) throw new NotFoundError(`no subscription ${subscriptionId}`);
    throw new UnavailableError('the subscription kept changing; retry', 200);
  }

  /**
   * `session.resume`: the user's subscriptions that lost their connection move to this one, each with a
   * full snapshot; those that ended meanwhile are reported terminated, once. Subscriptions held by
   * another live connection of the user stay there.
   */
  async resume(identity: Identity, connectionId: string): Promise<{ subscriptions: SubscriptionView[] }> {
    const liveness = new Map<string, Promise<boolean>>();
    const views: SubscriptionView[] = [];
    for (const listed of await this.deps.store.listSubscriptionsOf(identity.uri)) {
      const view = await this.resumeOne(listed, connectionId, liveness);
      if (view) views.push(view);
    }
    return { subscriptions: views };
  }

  /**
   * The scheduled server refresh (a hint): re-read, then expire, or check (a healthy check renews the subscription)
   * and re-arm, or ignore a stale firing. The next timer is armed before the write that records it, so a failing
   * Scheduler fails this firing, which Scheduler retries, and never leaves a subscription without its timer.
   */
  async onRefreshTimer(firing: TimerFiring): Promise<'acted' | 'rearmed' | 'ignored'> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const subscription = await this.deps.store.getSubscription(firing.subject);
      if (!subscription) return 'ignored';
      const plan = planRefreshTimer(subscription, firing.version, this.deps.clock.now());
      if (plan.kind === 'ignore') return 'ignored';
      if (plan.kind === 'terminate') {
        if (await this.terminate(subscription, plan.reason)) return 'acted';
        continue;
      }
      const check = await this.checkSubscription(subscription);
      const now = this.deps.clock.now();
      const outcome = afterRefresh(subscription, check, now, this.deps.policy);
      if (outcome.state === 'terminated') {
        if (await this.terminate(subscription, outcome.reason)) return 'acted';
        continue;
      }
      const version = subscription.timerVersion + 1;
      // Arm first: if the write below loses, the extra timer is stale and ignored when it fires. Never in the past.
      await this.deps.timers.arm({ rule: REFRESH_TIMER_RULE, subject: subscription.subscriptionId, version, at: Math.max(outcome.nextCheckAt, now + 1000) });
      const updated = await this.deps.store.updateSubscription(
        subscription,
        {
          state: outcome.state,
          reason: outcome.reason ?? null,
          attempts: outcome.attempts,
          timerVersion: version,
          // A healthy check is the server's refresh (SPEC §5): a new lifetime, in the same write as the next timer.
          ...(outcome.expiresAt !== undefined ? { expiresAt: outcome.expiresAt } : {}),
        },
        now,
      );
      if (!updated) continue; // a command changed it meanwhile: decide again from the new state
      if (outcome.announce) await this.announce(updated);
      return 'rearmed';
    }
    return 'ignored';
  }

  private async addTargets(identity: Identity, connectionId: string, subscriptionId: string, targets: readonly string[]): Promise<SubscriptionView> {
    let current: Subscription | undefined = await this.owned(identity, subscriptionId);
    for (let attempt = 0; attempt < MAX_ATTEMPTS && current; attempt++) {
      const now = this.deps.clock.now();
      if (current.state === 'terminated') throw new GoneError(`subscription ${subscriptionId} has terminated (${current.reason}); subscribe anew`);
      if (hasExpired(current, now)) {
        if (await this.terminate(current, expiryReason(current))) throw new GoneError(`subscription ${subscriptionId} has expired; subscribe anew`);
      } else {
        const all = targetsAfterAdding(current.targets, targets, this.quotas.maxTargetsPerSubscription);
        const added = all.filter((uri) => !current!.targets.includes(uri));
        if (added.length > 0) {
          const others = (await this.deps.store.listSubscriptionsOf(identity.uri)).filter((held) => held.subscriptionId !== subscriptionId && isLive(held, now));
          assertMayWatch(holdings([...others, current]), added.length, this.quotas);
        }
        const change = { ...this.renewal(current, now), ...(current.connectionId ? {} : { connectionId }) };
        if (await this.deps.store.addTargets(current, added, change, now)) {
          // Read back (the index items are written): the snapshot is read after them, so a change is in it or notified.
          const after = await this.deps.store.getSubscription(subscriptionId);
          if (!after) throw new NotFoundError(`no subscription ${subscriptionId}`);
          if (after.state !== current.state) await this.announce(after);
          return this.activeView(after, await this.snapshot(targets));
        }
      }
      current = await this.deps.store.getSubscription(subscriptionId);
    }
    if (!current) throw new NotFoundError(`no subscription ${subscriptionId}`);
    throw new UnavailableError('the subscription kept changing; retry', 200);
  }

  /** A subscribe answered by an existing subscription: renewed (as a refresh by its owner), with every target's presence. */
  private async reuse(seen: Subscription, now: number): Promise<ActiveSubscriptionView | undefined> {
    const renewedSubscription = await this.deps.store.updateSubscription(seen, this.renewal(seen, now), now);
    // It changed meanwhile (a refresh, a termination): this subscribe goes on as a new subscription.
    if (!renewedSubscription) return undefined;
    if (renewedSubscription.state !== seen.state) await this.announce(renewedSubscription);
    return this.activeView(renewedSubscription, await this.snapshot(renewedSubscription.targets));
  }

  private get quotas(): PresenceQuotas {
    return this.deps.quotas ?? DEFAULT_PRESENCE_QUOTAS;
  }

  private async refreshOne(seen: Subscription, connectionId: string): Promise<SubscriptionView> {
    let current: Subscription | undefined = seen;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && current; attempt++) {
      if (current.state === 'terminated') return this.report(current);
      const now = this.deps.clock.now();
      if (hasExpired(current, now)) {
        const ended = await this.terminate(current, expiryReason(current));
        if (ended) return this.report(ended);
      } else {
        const change = { ...this.renewal(current, now), ...(current.connectionId ? {} : { connectionId }) };
        const renewedSubscription = await this.deps.store.updateSubscription(current, change, now);
        if (renewedSubscription) return this.afterClientRefresh(current, renewedSubscription, now);
      }
      current = await this.deps.store.getSubscription(seen.subscriptionId);
    }
    if (!current) throw new NotFoundError(`no subscription ${seen.subscriptionId}`);
    throw new UnavailableError('the subscription kept changing; retry', 200);
  }

  /** Reads the targets (checking their endpoints now) and settles the state the refresh found. */
  private async afterClientRefresh(before: Subscription, renewedSubscription: Subscription, now: number): Promise<SubscriptionView> {
    const read = await this.readTargets(renewedSubscription.targets, 0);
    const check: RefreshCheck = read.unreachable.length === 0 ? { ok: true } : { ok: false, reason: 'targetGone' };
    const outcome = afterRefresh(renewedSubscription, check, now, this.deps.policy);
    if (outcome.state === 'terminated') {
      const ended = await this.terminate(renewedSubscription, outcome.reason);
      return ended ? this.report(ended) : this.viewOf((await this.deps.store.getSubscription(before.subscriptionId)) ?? renewedSubscription);
    }
    let settled = renewedSubscription;
    if (outcome.announce) {
      const change: SubscriptionChange = { state: outcome.state, reason: outcome.reason ?? null, attempts: outcome.attempts };
      settled = (await this.deps.store.updateSubscription(renewedSubscription, change, now)) ?? renewedSubscription;
    }
    if (settled.state !== before.state || settled.reason !== before.reason) await this.announce(settled);
    return this.activeView(settled, read.targets);
  }

  private async resumeOne(listed: Subscription, connectionId: string, liveness: Map<string, Promise<boolean>>): Promise<SubscriptionView | undefined> {
    let current: Subscription | undefined = listed;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && current; attempt++) {
      const now = this.deps.clock.now();
      const attachedElsewhere = current.connectionId !== undefined && current.connectionId !== connectionId ? current.connectionId : undefined;
      const elsewhereAlive = attachedElsewhere ? await this.isAlive(current.ownerUri, attachedElsewhere, liveness) : false;
      const decision = decideResume(current, connectionId, now, elsewhereAlive);
      if (decision === 'skip') return undefined;
      if (decision === 'report') return this.report(current);
      if (decision === 'expire') {
        const ended = await this.terminate(current, expiryReason(current));
        if (ended) return this.report(ended);
      } else {
        const updated = await this.deps.store.updateSubscription(current, { ...this.renewal(current, now), connectionId }, now);
        if (updated) {
          if (updated.state !== current.state) await this.announce(updated);
          return this.activeView(updated, await this.snapshot(updated.targets));
        }
      }
      current = await this.deps.store.getSubscription(listed.subscriptionId);
    }
    if (!current) return undefined;
    throw new UnavailableError('a subscription kept changing; retry', 200);
  }

  /** Whether a connection still exists; a dead one is cleaned on the way (its endpoint, record, subscriptions). */
  private isAlive(uri: string, connectionId: string, cache: Map<string, Promise<boolean>>): Promise<boolean> {
    let answer = cache.get(connectionId);
    if (!answer) {
      answer = (async () => {
        const alive = (await this.deps.connectionStore.get(connectionId)) !== undefined && (await this.deps.connections.status(connectionId)) !== undefined;
        if (!alive) await this.endpointGone(uri, connectionId);
        return alive;
      })();
      cache.set(connectionId, answer);
    }
    return answer;
  }

  /**
   * The scheduled server refresh's check: is the subscriber's connection there (GetConnection; a dead one is
   * cleaned), and can every target be read (endpoints not confirmed within a check interval are checked)?
   */
  private async checkSubscription(subscription: Subscription): Promise<RefreshCheck> {
    if (!subscription.connectionId) return { ok: false, reason: 'subscriberGone' };
    let alive: boolean;
    try {
      alive = (await this.deps.connections.status(subscription.connectionId)) !== undefined;
    } catch {
      return { ok: false, reason: 'subscriberGone' };
    }
    if (!alive) {
      await this.endpointGone(subscription.ownerUri, subscription.connectionId);
      return { ok: false, reason: 'subscriberGone' };
    }
    const read = await this.readTargets(subscription.targets, this.deps.policy.checkIntervalMs);
    return read.unreachable.length === 0 ? { ok: true } : { ok: false, reason: 'targetGone' };
  }

  /**
   * The targets' current presence, each endpoint not confirmed within `maxAgeMs` checked with the management
   * API first (a dead one is cleaned and the target recomputed). A target that cannot be read is unreachable.
   */
  private async readTargets(uris: readonly string[], maxAgeMs: number): Promise<{ targets: TargetPresence[]; unreachable: string[] }> {
    const unreachable: string[] = [];
    const read = await inParallel(uris, this.deps.concurrency, async (uri) => {
      try {
        return { uri, ...(await this.verifiedPresence(uri, maxAgeMs)) };
      } catch {
        unreachable.push(uri);
        return undefined;
      }
    });
    return { targets: read.filter((target): target is TargetPresence => target !== undefined), unreachable };
  }

  private async verifiedPresence(uri: string, maxAgeMs: number): Promise<PresenceRecord> {
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
    // Also heals an aggregate that missed a change (an endpoint that outlived its connection's deadline).
    if (!cleaned && samePresence(aggregatePresence(stored.endpoints, now), current.presence)) return current;
    return this.recompute(uri);
  }

  /**
   * Aggregates the user's endpoints and, if that changed their presence, stores it as the next version
   * (conditional on the version read, so concurrent recomputes never lose a change) and notifies.
   */
  private async recompute(uri: string): Promise<PresenceRecord> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const stored = await this.deps.store.readUser(uri);
      const now = this.deps.clock.now();
      const current = stored.aggregate ?? { presence: OFFLINE, version: 0 };
      const presence = aggregatePresence(stored.endpoints, now);
      if (samePresence(presence, current.presence)) return current;
      if (await this.deps.store.saveAggregate(uri, presence, current.version, now)) {
        const record = { presence, version: current.version + 1 };
        await this.fanout(uri, record);
        return record;
      }
    }
    throw new UnavailableError('presence kept changing; retry', 200);
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
    let cursor: string | undefined;
    do {
      const page = await this.deps.store.watchersPage(uri, cursor);
      const subscriptions = page.subscriptionIds.length > 0 ? await this.deps.store.getSubscriptions(page.subscriptionIds) : new Map<string, Subscription>();
      const now = this.deps.clock.now();
      const orphans = page.subscriptionIds.filter((id) => {
        const subscription = subscriptions.get(id);
        return !subscription || subscription.state === 'terminated' || !subscription.targets.includes(uri);
      });
      await inParallel(page.subscriptionIds, this.deps.concurrency, async (subscriptionId) => {
        const subscription = subscriptions.get(subscriptionId);
        if (!subscription || orphans.includes(subscriptionId)) return;
        try {
          // The clock decides, not the timer: one whose refresh timer was lost (Scheduler gave up) ends visibly here.
          if (hasExpired(subscription, now)) {
            await this.terminate(subscription, expiryReason(subscription));
            return;
          }
          if (!subscription.connectionId) return; // detached: its owner's session.resume brings a full snapshot
          const event = serverEvent('presence.notify', { subscriptionId, uri, presence: record.presence, version: record.version });
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
      cursor = page.cursor;
    } while (cursor);
    for (const [connectionId, ownerUri] of gone) await this.endpointGone(ownerUri, connectionId);
    if (failure) throw failure;
  }

  /**
   * Ends a subscription: terminated with its reason, out of the index, and told to its subscriber. One that
   * cannot be told is kept (a day) for the subscriber's next `session.resume`. Undefined if a change won.
   */
  private async terminate(seen: Subscription, reason: TerminationReason): Promise<Subscription | undefined> {
    const ended = await this.deps.store.updateSubscription(seen, { state: 'terminated', reason }, this.deps.clock.now());
    if (!ended) return undefined;
    await this.deps.store.removeWatches(ended.subscriptionId, ended.targets);
    if (await this.announce(ended)) await this.deps.store.deleteSubscription(ended.subscriptionId);
    return ended;
  }

  /** `presence.subscriptionState` to the subscription's connection; true if it got there. */
  private async announce(subscription: Subscription): Promise<boolean> {
    if (!subscription.connectionId) return false;
    const event = serverEvent('presence.subscriptionState', {
      subscriptionId: subscription.subscriptionId,
      state: subscription.state,
      ...(subscription.reason ? { reason: subscription.reason } : {}),
      ...(subscription.state !== 'terminated' ? { expiresAt: subscription.expiresAt } : {}),
    });
    const report = await this.deps.delivery.toConnections([subscription.connectionId], event);
    if (report.removed > 0) await this.endpointGone(subscription.ownerUri, subscription.connectionId);
    return report.delivered > 0;
  }

  /** A terminated subscription reported in an answer: reported once, then forgotten. */
  private async report(subscription: Subscription): Promise<TerminatedSubscriptionView> {
    await this.deps.store.deleteSubscription(subscription.subscriptionId);
    return terminatedView(subscription);
  }

  private async viewOf(subscription: Subscription): Promise<SubscriptionView> {
    if (subscription.state === 'terminated') return terminatedView(subscription);
    return this.activeView(subscription, await this.snapshot(subscription.targets));
  }

  private activeView(subscription: Subscription, targets: TargetPresence[]): ActiveSubscriptionView {
    return {
      subscriptionId: subscription.subscriptionId,
      state: subscription.state === 'terminating' ? 'terminating' : 'subscribed',
      ...(subscription.reason ? { reason: subscription.reason } : {}),
      expiresAt: subscription.expiresAt,
      targets,
    };
  }

  /** The targets' stored presence, in one batch read (no endpoint checks). */
  private async snapshot(uris: readonly string[]): Promise<TargetPresence[]> {
    const records = await this.deps.store.readAggregates(uris);
    return uris.map((uri) => ({ uri, ...(records.get(uri) ?? { presence: OFFLINE, version: 0 }) }));
  }

  private renewal(subscription: Subscription, now: number): SubscriptionChange {
    const next = renewed(subscription, now, this.deps.policy);
    return { expiresAt: next.expiresAt, state: next.state, attempts: next.attempts, reason: next.reason ?? null };
  }

  private async owned(identity: Identity, subscriptionId: string): Promise<Subscription> {
    const subscription = await this.deps.store.getSubscription(subscriptionId);
    if (!subscription) throw new NotFoundError(`no subscription ${subscriptionId}`);
    assertOwner(subscription, identity.uri);
    return subscription;
  }

  private async update(seen: Subscription, decide: (current: Subscription) => SubscriptionChange | undefined): Promise<void> {
    let current: Subscription | undefined = seen;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && current; attempt++) {
      const change = decide(current);
      if (!change) return;
      if (await this.deps.store.updateSubscription(current, change, this.deps.clock.now())) return;
      current = await this.deps.store.getSubscription(seen.subscriptionId);
    }
  }

  private async cancelTimer(subscription: Subscription): Promise<void> {
    try {
      await this.deps.timers.cancel({ rule: REFRESH_TIMER_RULE, subject: subscription.subscriptionId, version: subscription.timerVersion });
    } catch {
      // Left armed, it fires, finds the subscription gone and is ignored.
    }
  }
}

/** Counts toward the quotas: not terminated and not past its deadline (one past it is ended by the next look at it). */
function isLive(subscription: Subscription, now: number): boolean {
  return subscription.state !== 'terminated' && !hasExpired(subscription, now);
}

function holdings(subscriptions: readonly Subscription[]): PresenceHoldings {
  return { subscriptions: subscriptions.length, watchedTargets: subscriptions.reduce((sum, held) => sum + held.targets.length, 0) };
}

function terminatedView(subscription: Subscription): TerminatedSubscriptionView {
  return {
    subscriptionId: subscription.subscriptionId,
    state: 'terminated',
    reason: subscription.reason ?? 'expired',
    uris: subscription.targets,
  };
}

/** The id a subscribe with this client id creates, the same on every retry. */
function subscriptionIdFor(ownerUri: string, clientId: string): string {
  return `psub_${createHash('sha256').update(`${ownerUri}\n${clientId}`).digest('base64url').slice(0, 24)}`;
}

/** Runs `work` over `items` with at most `concurrency` at a time; results in the items' order. */
async function inParallel<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), items.length) }, worker));
  return results;
}
