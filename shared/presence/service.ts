import type { Identity } from '../auth/identity';
import type { TimerFiring } from '../ports';
import { PresenceEndpoints } from './endpoints';
import type { PresenceRecord, Publication } from './presence';
import { PresenceSubscriptions, type SubscriptionDependencies } from './subscriptions';
import type { SubscribeCommand, SubscriptionView, TargetPresence, TerminatedSubscriptionView } from './views';

export { REFRESH_TIMER_RULE } from './subscriptions';
export type { EndpointDependencies } from './endpoints';
export type { SubscriptionDependencies } from './subscriptions';
export type { ActiveSubscriptionView, SubscribeCommand, SubscriptionView, TargetPresence, TerminatedSubscriptionView } from './views';

/** Everything presence needs; `PresenceEndpoints` alone needs only `EndpointDependencies`. */
export type PresenceDependencies = SubscriptionDependencies;

/**
 * The use cases of SPEC §5, whole: the facade over its two halves, sharing one `PresenceEndpoints`.
 * - `PresenceEndpoints` (./endpoints.ts): endpoints, the aggregate and its version, fan-out to watchers, liveness of
 *   a target's endpoints. `$connect` and `$disconnect` need only this (no timers, no subscription policy).
 * - `PresenceSubscriptions` (./subscriptions.ts): subscribe, refresh, unsubscribe, resume, the refresh timer.
 */
export class PresenceService {
  readonly endpoints: PresenceEndpoints;
  readonly subscriptions: PresenceSubscriptions;

  constructor(deps: PresenceDependencies) {
    this.endpoints = new PresenceEndpoints(deps);
    this.subscriptions = new PresenceSubscriptions(deps, this.endpoints);
  }

  endpointOpened(identity: Identity, connectionId: string, expiresAt: number): Promise<PresenceRecord> {
    return this.endpoints.endpointOpened(identity, connectionId, expiresAt);
  }

  endpointGone(uri: string, connectionId: string): Promise<PresenceRecord> {
    return this.endpoints.endpointGone(uri, connectionId);
  }

  publish(identity: Identity, connectionId: string, publication: Publication): Promise<TargetPresence> {
    return this.endpoints.publish(identity, connectionId, publication);
  }

  subscribe(identity: Identity, connectionId: string, command: SubscribeCommand): Promise<SubscriptionView> {
    return this.subscriptions.subscribe(identity, connectionId, command);
  }

  refresh(identity: Identity, connectionId: string, subscriptionId?: string): Promise<{ subscriptions: SubscriptionView[] }> {
    return this.subscriptions.refresh(identity, connectionId, subscriptionId);
  }

  unsubscribe(identity: Identity, subscriptionId: string): Promise<TerminatedSubscriptionView> {
    return this.subscriptions.unsubscribe(identity, subscriptionId);
  }

  resume(identity: Identity, connectionId: string): Promise<{ subscriptions: SubscriptionView[] }> {
    return this.subscriptions.resume(identity, connectionId);
  }

  onRefreshTimer(firing: TimerFiring): Promise<'acted' | 'rearmed' | 'ignored'> {
    return this.subscriptions.onRefreshTimer(firing);
  }
}
