import type { Presence } from './presence';
import type { Subscription, TerminationReason } from './subscription';

/** What the presence use cases answer (docs/protocol.md, SPEC §5). */

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

export function activeView(subscription: Subscription, targets: TargetPresence[]): ActiveSubscriptionView {
  return {
    subscriptionId: subscription.subscriptionId,
    state: subscription.state === 'terminating' ? 'terminating' : 'subscribed',
    ...(subscription.reason ? { reason: subscription.reason } : {}),
    expiresAt: subscription.expiresAt,
    targets,
  };
}

export function terminatedView(subscription: Subscription): TerminatedSubscriptionView {
  return {
    subscriptionId: subscription.subscriptionId,
    state: 'terminated',
    reason: subscription.reason ?? 'expired',
    uris: subscription.targets,
  };
}
