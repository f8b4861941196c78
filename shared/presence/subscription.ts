import { ForbiddenError } from '../errors';

/**
 * A presence subscription (SPEC §5): it belongs to a user, is attached to one of the user's connections
 * (where its events go), and watches a set of targets. The seed (presence-connectivity-failures) is why
 * it has states at all: a subscriber must always be able to tell "no change" from "lost".
 */
export interface Subscription {
  readonly subscriptionId: string;
  readonly ownerUri: string;
  /** The connection its events go to; absent while detached (the owner's connection closed). */
  readonly connectionId?: string;
  readonly targets: readonly string[];
  readonly state: SubscriptionState;
  /** Why it is terminating or terminated. */
  readonly reason?: TerminationReason;
  /** It ends here unless refreshed: by its owner (subscribe, refresh or resume) or by a healthy server check. */
  readonly expiresAt: number;
  readonly createdAt: number;
  /** The version of the refresh timer now armed; a firing of another version is stale. */
  readonly timerVersion: number;
  /** Consecutive failed refreshes. */
  readonly attempts: number;
  /** Bumped by every change, for conditional writes. */
  readonly rev: number;
}

export type SubscriptionState = 'subscribed' | 'terminating' | 'terminated';

/**
 * - `expired`: not refreshed within PRESENCE_SUBSCRIPTION_SECONDS (neither by its owner nor by a server check, e.g.
 *   its refresh timer fired too late);
 * - `subscriberGone`: the subscriber's connection is gone (closed, or vanished without `$disconnect`) and it
 *   did not come back (`session.resume`) through the retries;
 * - `targetGone`: a target could not be reached: its presence or its endpoints could not be read;
 * - `unsubscribed`: the owner ended it.
 */
export type TerminationReason = 'expired' | 'subscriberGone' | 'targetGone' | 'unsubscribed';

/** How long subscriptions live, how often the server checks them, and how a failing one is retried. */
export interface SubscriptionPolicy {
  /** PRESENCE_SUBSCRIPTION_SECONDS. */
  readonly lifetimeMs: number;
  /** The scheduled server refresh runs this often (half the lifetime: twice per life, each renewing it). */
  readonly checkIntervalMs: number;
  /** The first retry's delay; each next one doubles, up to the check interval. */
  readonly retryBaseMs: number;
  /** Retries after the first failure before the subscription is terminated. */
  readonly maxRetries: number;
}

/** Timers fire to the second, so nothing here is shorter than a second. */
export function subscriptionPolicy(lifetimeSeconds: number): SubscriptionPolicy {
  const lifetimeMs = lifetimeSeconds * 1000;
  const checkIntervalMs = Math.max(1000, Math.floor(lifetimeMs / 2));
  return { lifetimeMs, checkIntervalMs, retryBaseMs: Math.max(1000, Math.floor(checkIntervalMs / 8)), maxRetries: 3 };
}

/** The delay before retry number `attempt` (1-based): exponential backoff capped at the check interval. */
export function retryDelay(attempt: number, policy: SubscriptionPolicy): number {
  return Math.min(policy.checkIntervalMs, policy.retryBaseMs * 2 ** Math.max(0, attempt - 1));
}

/** When the first scheduled server refresh of a subscription runs. */
export function firstCheckAt(now: number, policy: SubscriptionPolicy): number {
  return Math.min(now + policy.lifetimeMs, now + policy.checkIntervalMs);
}

/**
 * The reason a subscription ends with when its time is up: a terminating one ends with the failure that
 * was being retried (the real cause), a healthy one with `expired`.
 */
export function expiryReason(subscription: Subscription): TerminationReason {
  return subscription.state === 'terminating' && subscription.reason ? subscription.reason : 'expired';
}

/** The clock decides, not the timer: a subscription past its deadline is over even if its timer is late. */
export function hasExpired(subscription: Subscription, now: number): boolean {
  return now >= subscription.expiresAt;
}

export type RefreshTimerPlan =
  | { readonly kind: 'ignore'; readonly why: 'terminated' | 'staleTimer' }
  | { readonly kind: 'terminate'; readonly reason: TerminationReason }
  | { readonly kind: 'check' };

/** The scheduled server refresh, when its timer fires: ignore a stale firing, end an expired subscription, else check it. */
export function planRefreshTimer(subscription: Subscription, firedVersion: number, now: number): RefreshTimerPlan {
  if (subscription.state === 'terminated') return { kind: 'ignore', why: 'terminated' };
  if (firedVersion !== subscription.timerVersion) return { kind: 'ignore', why: 'staleTimer' };
  if (hasExpired(subscription, now)) return { kind: 'terminate', reason: expiryReason(subscription) };
  return { kind: 'check' };
}

/** What a refresh found: the subscriber and every target reachable, or the first failure. */
export type RefreshCheck = { readonly ok: true } | { readonly ok: false; readonly reason: 'subscriberGone' | 'targetGone' };

export type RefreshOutcome =
  | { readonly state: 'terminated'; readonly reason: TerminationReason }
  | {
      readonly state: 'subscribed' | 'terminating';
      readonly reason?: TerminationReason;
      readonly attempts: number;
      /** A healthy check renews the subscription (the server's own refresh): its new deadline. */
      readonly expiresAt?: number;
      /** When the server refreshes it next: a retry, the next check, or its expiry, whichever comes first. */
      readonly nextCheckAt: number;
      /** Whether the subscriber must be told (the state or its reason changed). */
      readonly announce: boolean;
    };

/**
 * The refresh rules of SPEC §5. The server refreshes subscriptions on a schedule: a check that reaches the
 * subscriber and every target renews the subscription for a lifetime, so one whose subscriber stays connected
 * and whose targets stay readable stays `subscribed` as long as its connection lives; a successful check also
 * brings a terminating subscription back. A check that cannot reach the subscriber or a target renews nothing,
 * moves the subscription to `terminating` and retries with backoff; after `maxRetries` failed retries it is
 * `terminated` with that reason.
 */
export function afterRefresh(subscription: Subscription, check: RefreshCheck, now: number, policy: SubscriptionPolicy): RefreshOutcome {
  if (check.ok) {
    const expiresAt = Math.max(subscription.expiresAt, now + policy.lifetimeMs);
    return {
      state: 'subscribed',
      attempts: 0,
      expiresAt,
      nextCheckAt: Math.min(expiresAt, now + policy.checkIntervalMs),
      announce: subscription.state !== 'subscribed',
    };
  }
  const attempts = subscription.attempts + 1;
  if (attempts > policy.maxRetries) return { state: 'terminated', reason: check.reason };
  return {
    state: 'terminating',
    reason: check.reason,
    attempts,
    nextCheckAt: Math.min(subscription.expiresAt, now + retryDelay(attempts, policy)),
    announce: subscription.state !== 'terminating' || subscription.reason !== check.reason,
  };
}

export type ResumeDecision =
  /** Terminated while the owner was away: report it once. */
  | 'report'
  /** Past its deadline: terminate it now and report it. */
  | 'expire'
  /** Already attached to this connection. */
  | 'keep'
  /** Attached to another connection of the user that is still alive: that device keeps it. */
  | 'skip'
  /** Detached, or attached to a connection that is gone: it moves to the resuming connection. */
  | 'reattach';

/** `session.resume`: which of the user's subscriptions come back on the new connection. */
export function decideResume(subscription: Subscription, connectionId: string, now: number, attachedElsewhereAlive: boolean): ResumeDecision {
  if (subscription.state === 'terminated') return 'report';
  if (hasExpired(subscription, now)) return 'expire';
  if (subscription.connectionId === connectionId) return 'keep';
  if (subscription.connectionId !== undefined && attachedElsewhereAlive) return 'skip';
  return 'reattach';
}

/**
 * The owner showed it is there (refresh, subscribe or resume): a new lifetime, and a subscription that
 * was terminating only because its subscriber was gone is subscribed again.
 */
export function renewed(subscription: Subscription, now: number, policy: SubscriptionPolicy): Pick<Subscription, 'expiresAt' | 'state' | 'attempts'> & { reason?: TerminationReason } {
  const recovered = subscription.state === 'terminating' && subscription.reason === 'subscriberGone';
  return {
    expiresAt: now + policy.lifetimeMs,
    state: recovered ? 'subscribed' : subscription.state,
    attempts: recovered ? 0 : subscription.attempts,
    ...(recovered || !subscription.reason ? {} : { reason: subscription.reason }),
  };
}

/** Only the owner refreshes, extends or ends a subscription. */
export function assertOwner(subscription: Subscription, uri: string): void {
  if (subscription.ownerUri !== uri) throw new ForbiddenError('only the subscriber may use this subscription');
}
