import type { EndpointPresence, Presence, PresenceRecord, UserState, UserStateChange } from './presence';
import type { Subscription, SubscriptionState, TerminationReason } from './subscription';

/** Everything stored about one user's presence, read at once: their endpoints, their own state and the aggregate. */
export interface UserPresence {
  readonly endpoints: EndpointPresence[];
  /** The user's explicit state and note (SPEC §9), as stored: expired parts included (the code checks `expiresAt`). */
  readonly user?: UserState;
  /** Absent until the user's presence first changed (offline, version 0). */
  readonly aggregate?: PresenceRecord;
}

/** A change to a subscription; `null` removes the field (a detached connection, a cleared reason). */
export interface SubscriptionChange {
  readonly state?: SubscriptionState;
  readonly reason?: TerminationReason | null;
  readonly attempts?: number;
  readonly expiresAt?: number;
  readonly connectionId?: string | null;
  readonly timerVersion?: number;
}

export interface WatchersPage {
  readonly subscriptionIds: string[];
  readonly cursor?: string;
}

/** Presence and subscriptions. Every write that races is conditional; results say who won. */
export interface PresenceStore {
  /** The user's endpoints and aggregate, strongly consistent (one query). */
  readUser(uri: string): Promise<UserPresence>;
  /** The aggregates of many users, strongly consistent; a user never seen is absent. */
  readAggregates(uris: readonly string[]): Promise<Map<string, PresenceRecord>>;
  /** Writes an endpoint; with `mustExist`, only over an existing one (never resurrects a closed endpoint). */
  putEndpoint(uri: string, endpoint: EndpointPresence, mustExist: boolean): Promise<boolean>;
  removeEndpoint(uri: string, connectionId: string): Promise<void>;
  /** Records that the management API confirmed the connection, if the endpoint still exists. */
  markEndpointChecked(uri: string, connectionId: string, at: number): Promise<void>;
  /**
   * Applies a change to the user's own state (explicit availability, note), part by part: a value sets it, `null`
   * removes it, an absent part is left as it is (last write wins). A change that only removes creates nothing.
   */
  updateUserState(uri: string, change: UserStateChange): Promise<void>;
  /** Stores the aggregate as version `seenVersion + 1` if the stored one is still `seenVersion`. */
  saveAggregate(uri: string, presence: Presence, seenVersion: number, now: number): Promise<boolean>;

  /** Creates the subscription and its index items, unless one with its id exists. */
  createSubscription(subscription: Subscription): Promise<'created' | 'exists'>;
  /** Adds targets (and their index items) if the subscription is unchanged since `seen` and not terminated. */
  addTargets(seen: Subscription, targets: readonly string[], change: SubscriptionChange, now: number): Promise<boolean>;
  getSubscription(subscriptionId: string): Promise<Subscription | undefined>;
  /** Every subscription the user owns (attached anywhere, detached or terminated). */
  listSubscriptionsOf(ownerUri: string): Promise<Subscription[]>;
  /** Applies the change if the subscription is unchanged since `seen`; the new state, or undefined if it lost. */
  updateSubscription(seen: Subscription, change: SubscriptionChange, now: number): Promise<Subscription | undefined>;
  /** Many subscriptions at once, strongly consistent (a fan-out's page: reads, no write); one that is gone is absent. */
  getSubscriptions(subscriptionIds: readonly string[]): Promise<Map<string, Subscription>>;
  /** One page of the subscriptions watching a target: the index, never a scan. */
  watchersPage(targetUri: string, cursor?: string): Promise<WatchersPage>;
  /** Removes index items of a target whose subscriptions are gone or ended (lazy cleanup, one batch). */
  removeWatchesOf(targetUri: string, subscriptionIds: readonly string[]): Promise<void>;
  /** Removes the subscription's index items, so fan-out stops reading it. */
  removeWatches(subscriptionId: string, targets: readonly string[]): Promise<void>;
  deleteSubscription(subscriptionId: string): Promise<void>;
}
