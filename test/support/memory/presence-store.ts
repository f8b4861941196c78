import type { PresenceStore, SubscriptionChange, UserPresence, WatchersPage } from '../../../shared/presence/ports';
import { applyUserStateChange, type EndpointPresence, type Presence, type PresenceRecord, type UserState, type UserStateChange } from '../../../shared/presence/presence';
import type { Subscription } from '../../../shared/presence/subscription';

type Method = keyof PresenceStore;

/**
 * `PresenceStore` in memory, held to the same contract suite as `DynamoPresenceStore`
 * (test/support/contracts/presence-store.contract.ts): conditional writes on the aggregate's `version` and the
 * subscription's `rev`, a watch index read a page at a time, nothing removed by time (expiry is the code's).
 *
 * For use-case tests: `beforeNext(method, hook)` runs `hook` once, just before the next call of `method` decides
 * (after the service has read, before its conditional write: the place a concurrent writer wins); the store calls
 * the hook makes (the concurrent writer's) run no hook and fail nothing;
 * `failNext(method, error)` makes the next call of `method` reject; `calls` records every call, in order.
 */
export class MemoryPresenceStore implements PresenceStore {
  readonly endpoints = new Map<string, Map<string, EndpointPresence>>();
  readonly aggregates = new Map<string, PresenceRecord & { readonly updatedAt: number }>();
  /** uri → the user's own state (the `USER` item). */
  readonly userStates = new Map<string, UserState>();
  readonly subscriptions = new Map<string, Subscription>();
  /** target → subscription ids watching it (the `PWATCH#` index). */
  readonly watches = new Map<string, Set<string>>();
  readonly calls: Array<{ readonly method: Method; readonly args: readonly unknown[] }> = [];
  private readonly hooks: Array<{ method: Method; hook: () => unknown }> = [];
  private readonly failures: Array<{ method: Method; error: Error }> = [];
  private inHook = false;

  constructor(private readonly pageSize = 100) {}

  beforeNext(method: Method, hook: () => unknown): void {
    this.hooks.push({ method, hook });
  }

  failNext(method: Method, error: Error = Object.assign(new Error(`${method} failed`), { name: 'ServiceUnavailable' })): void {
    this.failures.push({ method, error });
  }

  /** Calls of the methods named (all when none), e.g. the writes of a publish. */
  callsOf(...methods: Method[]): Method[] {
    return this.calls.map((call) => call.method).filter((method) => methods.length === 0 || methods.includes(method));
  }

  async readUser(uri: string): Promise<UserPresence> {
    await this.enter('readUser', [uri]);
    const endpoints = [...(this.endpoints.get(uri)?.values() ?? [])].map(copy);
    const aggregate = this.aggregates.get(uri);
    const user = this.userStates.get(uri);
    return {
      endpoints,
      ...(user ? { user: copy(user) } : {}),
      ...(aggregate ? { aggregate: { presence: copy(aggregate.presence), version: aggregate.version } } : {}),
    };
  }

  async readAggregates(uris: readonly string[]): Promise<Map<string, PresenceRecord>> {
    await this.enter('readAggregates', [uris]);
    const records = new Map<string, PresenceRecord>();
    for (const uri of uris) {
      const aggregate = this.aggregates.get(uri);
      if (aggregate) records.set(uri, { presence: copy(aggregate.presence), version: aggregate.version });
    }
    return records;
  }

  async putEndpoint(uri: string, endpoint: EndpointPresence, mustExist: boolean): Promise<boolean> {
    await this.enter('putEndpoint', [uri, endpoint, mustExist]);
    const mine = this.endpoints.get(uri) ?? new Map<string, EndpointPresence>();
    if (mustExist && !mine.has(endpoint.connectionId)) return false;
    mine.set(endpoint.connectionId, copy(endpoint));
    this.endpoints.set(uri, mine);
    return true;
  }

  async removeEndpoint(uri: string, connectionId: string): Promise<void> {
    await this.enter('removeEndpoint', [uri, connectionId]);
    this.endpoints.get(uri)?.delete(connectionId);
  }

  async markEndpointChecked(uri: string, connectionId: string, at: number): Promise<void> {
    await this.enter('markEndpointChecked', [uri, connectionId, at]);
    const endpoint = this.endpoints.get(uri)?.get(connectionId);
    if (endpoint) this.endpoints.get(uri)!.set(connectionId, { ...endpoint, checkedAt: at });
  }

  async updateUserState(uri: string, change: UserStateChange): Promise<void> {
    await this.enter('updateUserState', [uri, change]);
    const current = this.userStates.get(uri);
    const setsSomething = change.state || change.note;
    if (!current && !setsSomething) return;
    this.userStates.set(uri, copy(applyUserStateChange(current, change)));
  }

  async saveAggregate(uri: string, presence: Presence, seenVersion: number, now: number): Promise<boolean> {
    await this.enter('saveAggregate', [uri, presence, seenVersion, now]);
    if ((this.aggregates.get(uri)?.version ?? 0) !== seenVersion) return false;
    this.aggregates.set(uri, { presence: copy(presence), version: seenVersion + 1, updatedAt: now });
    return true;
  }

  async createSubscription(subscription: Subscription): Promise<'created' | 'exists'> {
    await this.enter('createSubscription', [subscription]);
    if (this.subscriptions.has(subscription.subscriptionId)) return 'exists';
    this.subscriptions.set(subscription.subscriptionId, copy(subscription));
    for (const target of subscription.targets) this.watch(target, subscription.subscriptionId);
    return 'created';
  }

  async addTargets(seen: Subscription, targets: readonly string[], change: SubscriptionChange, now: number): Promise<boolean> {
    await this.enter('addTargets', [seen, targets, change, now]);
    const stored = this.subscriptions.get(seen.subscriptionId);
    if (!stored || stored.rev !== seen.rev || stored.state === 'terminated') return false;
    this.subscriptions.set(seen.subscriptionId, { ...applyChange(stored, change), targets: [...new Set([...seen.targets, ...targets])] });
    for (const target of targets) this.watch(target, seen.subscriptionId);
    return true;
  }

  async getSubscription(subscriptionId: string): Promise<Subscription | undefined> {
    await this.enter('getSubscription', [subscriptionId]);
    const stored = this.subscriptions.get(subscriptionId);
    return stored ? copy(stored) : undefined;
  }

  async listSubscriptionsOf(ownerUri: string): Promise<Subscription[]> {
    await this.enter('listSubscriptionsOf', [ownerUri]);
    return [...this.subscriptions.values()]
      .filter((subscription) => subscription.ownerUri === ownerUri)
      .sort((a, b) => a.subscriptionId.localeCompare(b.subscriptionId))
      .map(copy);
  }

  async updateSubscription(seen: Subscription, change: SubscriptionChange, now: number): Promise<Subscription | undefined> {
    await this.enter('updateSubscription', [seen, change, now]);
    const stored = this.subscriptions.get(seen.subscriptionId);
    if (!stored || stored.rev !== seen.rev) return undefined;
    const next = applyChange(stored, change);
    this.subscriptions.set(seen.subscriptionId, next);
    return copy(next);
  }

  async getSubscriptions(subscriptionIds: readonly string[]): Promise<Map<string, Subscription>> {
    await this.enter('getSubscriptions', [subscriptionIds]);
    const found = new Map<string, Subscription>();
    for (const id of subscriptionIds) {
      const stored = this.subscriptions.get(id);
      if (stored) found.set(id, copy(stored));
    }
    return found;
  }

  async watchersPage(targetUri: string, cursor?: string): Promise<WatchersPage> {
    await this.enter('watchersPage', [targetUri, cursor]);
    const ids = [...(this.watches.get(targetUri) ?? [])].sort().filter((id) => cursor === undefined || id > cursor);
    const page = ids.slice(0, this.pageSize);
    return ids.length > this.pageSize ? { subscriptionIds: page, cursor: page[page.length - 1] } : { subscriptionIds: page };
  }

  async removeWatchesOf(targetUri: string, subscriptionIds: readonly string[]): Promise<void> {
    await this.enter('removeWatchesOf', [targetUri, subscriptionIds]);
    for (const id of subscriptionIds) this.watches.get(targetUri)?.delete(id);
  }

  async removeWatches(subscriptionId: string, targets: readonly string[]): Promise<void> {
    await this.enter('removeWatches', [subscriptionId, targets]);
    for (const target of targets) this.watches.get(target)?.delete(subscriptionId);
  }

  async deleteSubscription(subscriptionId: string): Promise<void> {
    await this.enter('deleteSubscription', [subscriptionId]);
    this.subscriptions.delete(subscriptionId);
  }

  /** Records the call, runs a pending hook for it (once), or fails it if told to. */
  private async enter(method: Method, args: readonly unknown[]): Promise<void> {
    this.calls.push({ method, args });
    // What a hook itself does is the concurrent writer: it triggers no hook of its own.
    if (this.inHook) return;
    const hook = this.hooks.findIndex((entry) => entry.method === method);
    if (hook >= 0) {
      this.inHook = true;
      try {
        await this.hooks.splice(hook, 1)[0]!.hook();
      } finally {
        this.inHook = false;
      }
    }
    const failure = this.failures.findIndex((entry) => entry.method === method);
    if (failure >= 0) throw this.failures.splice(failure, 1)[0]!.error;
  }

  private watch(target: string, subscriptionId: string): void {
    const watchers = this.watches.get(target) ?? new Set<string>();
    watchers.add(subscriptionId);
    this.watches.set(target, watchers);
  }
}

/** The change applied as DynamoDB's SET/REMOVE does: `null` removes the field, undefined leaves it; `rev` + 1. */
function applyChange(stored: Subscription, change: SubscriptionChange): Subscription {
  const next: Record<string, unknown> = { ...stored };
  for (const [field, value] of Object.entries(change)) {
    if (value === undefined) continue;
    if (value === null) delete next[field];
    else next[field] = value;
  }
  next.rev = stored.rev + 1;
  return next as unknown as Subscription;
}

function copy<T>(value: T): T {
  return structuredClone(value);
}
