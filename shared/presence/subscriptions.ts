import { createHash } from 'node:crypto';
import type { Identity } from '../auth/identity';
import { inParallel, RETRY, retryOnConflict } from '../concurrency';
import { GoneError, NotFoundError, UnavailableError } from '../errors';
import type { TimerFiring, Timers } from '../ports';
import { type EndpointDependencies, PresenceEndpoints } from './endpoints';
import { givenUp, KeptChanging } from './kept-changing';
import type { SubscriptionChange } from './ports';
import {
  assertMayOpenSubscription,
  assertMayWatch,
  DEFAULT_PRESENCE_QUOTAS,
  OFFLINE,
  type PresenceHoldings,
  type PresenceQuotas,
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
} from './subscription';
import { type ActiveSubscriptionView, activeView, type SubscribeCommand, type SubscriptionView, type TargetPresence, type TerminatedSubscriptionView, terminatedView } from './views';

export const REFRESH_TIMER_RULE = 'presence.refresh';

/** The endpoint side's ports, and what subscriptions add: their timers, lifetime, who may watch whom, quotas, ids. */
export interface SubscriptionDependencies extends EndpointDependencies {
  /** Read only when a timer is armed or cancelled, so functions that never do need no Scheduler settings. */
  readonly timers: Timers;
  readonly policy: SubscriptionPolicy;
  /** HOME_DOMAIN: whose users are the organization's (enterprise) users. */
  readonly homeDomain: string;
  /** What one user may hold (PRESENCE_MAX_*); the defaults when absent. */
  readonly quotas?: PresenceQuotas;
  readonly newId: (prefix: string) => string;
}

/**
 * Subscriptions (SPEC §5): subscribe, refresh, unsubscribe, `session.resume`, and the scheduled server refresh
 * (the refresh timer), with the liveness checks of subscribers and targets they make. The rules are pure, in
 * ./subscription.ts and ./presence.ts; this class reads, decides, writes on condition and retries a lost race.
 * Presence itself (endpoints, aggregate, fan-out) is `PresenceEndpoints`.
 */
export class PresenceSubscriptions {
  constructor(
    private readonly deps: SubscriptionDependencies,
    private readonly endpoints: PresenceEndpoints = new PresenceEndpoints(deps),
  ) {}

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
    return activeView(subscription, await this.snapshot(subscription.targets));
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
    return retryOnConflict(
      async (attempt) => {
        if (attempt > 0) current = await this.deps.store.getSubscription(subscriptionId);
        if (!current) throw new NotFoundError(`no subscription ${subscriptionId}`);
        const ended = current.state === 'terminated' ? current : await this.endpoints.terminate(current, 'unsubscribed');
        if (!ended) return RETRY;
        // The answer reports it: nothing is kept for a later resume.
        await this.deps.store.deleteSubscription(subscriptionId);
        await this.cancelTimer(ended);
        return terminatedView(ended);
      },
      () => new UnavailableError('the subscription kept changing; retry', 200),
    );
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
  onRefreshTimer(firing: TimerFiring): Promise<'acted' | 'rearmed' | 'ignored'> {
    return retryOnConflict<'acted' | 'rearmed' | 'ignored'>(
      async () => {
        const subscription = await this.deps.store.getSubscription(firing.subject);
        if (!subscription) return 'ignored';
        const plan = planRefreshTimer(subscription, firing.version, this.deps.clock.now());
        if (plan.kind === 'ignore') return 'ignored';
        if (plan.kind === 'terminate') return (await this.endpoints.terminate(subscription, plan.reason)) ? 'acted' : RETRY;
        const check = await this.checkSubscription(subscription);
        const now = this.deps.clock.now();
        const outcome = afterRefresh(subscription, check, now, this.deps.policy);
        if (outcome.state === 'terminated') return (await this.endpoints.terminate(subscription, outcome.reason)) ? 'acted' : RETRY;
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
        if (!updated) return RETRY; // a command changed it meanwhile: decide again from the new state
        if (outcome.announce) await this.endpoints.announce(updated);
        return 'rearmed';
      },
      () => new KeptChanging(),
    ).catch(givenUp('ignored' as const));
  }

  private async addTargets(identity: Identity, connectionId: string, subscriptionId: string, targets: readonly string[]): Promise<SubscriptionView> {
    let current: Subscription | undefined = await this.owned(identity, subscriptionId);
    return retryOnConflict<SubscriptionView>(
      async (attempt) => {
        if (attempt > 0) current = await this.deps.store.getSubscription(subscriptionId);
        if (!current) throw new NotFoundError(`no subscription ${subscriptionId}`);
        const seen = current;
        const now = this.deps.clock.now();
        if (seen.state === 'terminated') throw new GoneError(`subscription ${subscriptionId} has terminated (${seen.reason}); subscribe anew`);
        if (hasExpired(seen, now)) {
          if (await this.endpoints.terminate(seen, expiryReason(seen))) throw new GoneError(`subscription ${subscriptionId} has expired; subscribe anew`);
          return RETRY;
        }
        const all = targetsAfterAdding(seen.targets, targets, this.quotas.maxTargetsPerSubscription);
        const added = all.filter((uri) => !seen.targets.includes(uri));
        if (added.length > 0) {
          const others = (await this.deps.store.listSubscriptionsOf(identity.uri)).filter((held) => held.subscriptionId !== subscriptionId && isLive(held, now));
          assertMayWatch(holdings([...others, seen]), added.length, this.quotas);
        }
        const change = { ...this.renewal(seen, now), ...(seen.connectionId ? {} : { connectionId }) };
        if (!(await this.deps.store.addTargets(seen, added, change, now))) return RETRY;
        // Read back (the index items are written): the snapshot is read after them, so a change is in it or notified.
        const after = await this.deps.store.getSubscription(subscriptionId);
        if (!after) throw new NotFoundError(`no subscription ${subscriptionId}`);
        if (after.state !== seen.state) await this.endpoints.announce(after);
        return activeView(after, await this.snapshot(targets));
      },
      () => new UnavailableError('the subscription kept changing; retry', 200),
    );
  }

  /** A subscribe answered by an existing subscription: renewed (as a refresh by its owner), with every target's presence. */
  private async reuse(seen: Subscription, now: number): Promise<ActiveSubscriptionView | undefined> {
    const renewedSubscription = await this.deps.store.updateSubscription(seen, this.renewal(seen, now), now);
    // It changed meanwhile (a refresh, a termination): this subscribe goes on as a new subscription.
    if (!renewedSubscription) return undefined;
    if (renewedSubscription.state !== seen.state) await this.endpoints.announce(renewedSubscription);
    return activeView(renewedSubscription, await this.snapshot(renewedSubscription.targets));
  }

  private get quotas(): PresenceQuotas {
    return this.deps.quotas ?? DEFAULT_PRESENCE_QUOTAS;
  }

  private async refreshOne(seen: Subscription, connectionId: string): Promise<SubscriptionView> {
    let current: Subscription | undefined = seen;
    return retryOnConflict<SubscriptionView>(
      async (attempt) => {
        if (attempt > 0) current = await this.deps.store.getSubscription(seen.subscriptionId);
        if (!current) throw new NotFoundError(`no subscription ${seen.subscriptionId}`);
        if (current.state === 'terminated') return this.report(current);
        const now = this.deps.clock.now();
        if (hasExpired(current, now)) {
          const ended = await this.endpoints.terminate(current, expiryReason(current));
          return ended ? this.report(ended) : RETRY;
        }
        const change = { ...this.renewal(current, now), ...(current.connectionId ? {} : { connectionId }) };
        const renewedSubscription = await this.deps.store.updateSubscription(current, change, now);
        return renewedSubscription ? this.afterClientRefresh(current, renewedSubscription, now) : RETRY;
      },
      () => new UnavailableError('the subscription kept changing; retry', 200),
    );
  }

  /** Reads the targets (checking their endpoints now) and settles the state the refresh found. */
  private async afterClientRefresh(before: Subscription, renewedSubscription: Subscription, now: number): Promise<SubscriptionView> {
    const read = await this.readTargets(renewedSubscription.targets, 0);
    const check: RefreshCheck = read.unreachable.length === 0 ? { ok: true } : { ok: false, reason: 'targetGone' };
    const outcome = afterRefresh(renewedSubscription, check, now, this.deps.policy);
    if (outcome.state === 'terminated') {
      const ended = await this.endpoints.terminate(renewedSubscription, outcome.reason);
      return ended ? this.report(ended) : this.viewOf((await this.deps.store.getSubscription(before.subscriptionId)) ?? renewedSubscription);
    }
    let settled = renewedSubscription;
    if (outcome.announce) {
      const change: SubscriptionChange = { state: outcome.state, reason: outcome.reason ?? null, attempts: outcome.attempts };
      settled = (await this.deps.store.updateSubscription(renewedSubscription, change, now)) ?? renewedSubscription;
    }
    if (settled.state !== before.state || settled.reason !== before.reason) await this.endpoints.announce(settled);
    return activeView(settled, read.targets);
  }

  private async resumeOne(listed: Subscription, connectionId: string, liveness: Map<string, Promise<boolean>>): Promise<SubscriptionView | undefined> {
    let current: Subscription | undefined = listed;
    return retryOnConflict<SubscriptionView | undefined>(
      async (attempt) => {
        if (attempt > 0) current = await this.deps.store.getSubscription(listed.subscriptionId);
        if (!current) return undefined;
        const now = this.deps.clock.now();
        const attachedElsewhere = current.connectionId !== undefined && current.connectionId !== connectionId ? current.connectionId : undefined;
        const elsewhereAlive = attachedElsewhere ? await this.isAlive(current.ownerUri, attachedElsewhere, liveness) : false;
        const decision = decideResume(current, connectionId, now, elsewhereAlive);
        if (decision === 'skip') return undefined;
        if (decision === 'report') return this.report(current);
        if (decision === 'expire') {
          const ended = await this.endpoints.terminate(current, expiryReason(current));
          return ended ? this.report(ended) : RETRY;
        }
        const updated = await this.deps.store.updateSubscription(current, { ...this.renewal(current, now), connectionId }, now);
        if (!updated) return RETRY;
        if (updated.state !== current.state) await this.endpoints.announce(updated);
        return activeView(updated, await this.snapshot(updated.targets));
      },
      () => new UnavailableError('a subscription kept changing; retry', 200),
    );
  }

  /** Whether a connection still exists; a dead one is cleaned on the way (its endpoint, record, subscriptions). */
  private isAlive(uri: string, connectionId: string, cache: Map<string, Promise<boolean>>): Promise<boolean> {
    let answer = cache.get(connectionId);
    if (!answer) {
      answer = (async () => {
        const alive = (await this.deps.connectionStore.get(connectionId)) !== undefined && (await this.deps.connections.status(connectionId)) !== undefined;
        if (!alive) await this.endpoints.endpointGone(uri, connectionId);
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
      await this.endpoints.endpointGone(subscription.ownerUri, subscription.connectionId);
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
        return { uri, ...(await this.endpoints.verifiedPresence(uri, maxAgeMs)) };
      } catch {
        unreachable.push(uri);
        return undefined;
      }
    });
    return { targets: read.filter((target): target is TargetPresence => target !== undefined), unreachable };
  }

  /** A terminated subscription reported in an answer: reported once, then forgotten. */
  private async report(subscription: Subscription): Promise<TerminatedSubscriptionView> {
    await this.deps.store.deleteSubscription(subscription.subscriptionId);
    return terminatedView(subscription);
  }

  private async viewOf(subscription: Subscription): Promise<SubscriptionView> {
    if (subscription.state === 'terminated') return terminatedView(subscription);
    return activeView(subscription, await this.snapshot(subscription.targets));
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

/** The id a subscribe with this client id creates, the same on every retry. */
function subscriptionIdFor(ownerUri: string, clientId: string): string {
  return `psub_${createHash('sha256').update(`${ownerUri}\n${clientId}`).digest('base64url').slice(0, 24)}`;
}
