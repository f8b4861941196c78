import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { EndpointPresence, Presence, PresenceRecord, UserState, UserStateChange } from '../presence/presence';
import type { PresenceStore, SubscriptionChange, UserPresence, WatchersPage } from '../presence/ports';
import type { Subscription } from '../presence/subscription';
import { TABLE_KEYS, ttlSeconds } from './dynamodb';
import { batchGetAll, transactWrite } from './dynamodb-operations';
import { isConditionFailure } from './aws-errors';

const DAY_MS = 24 * 3600 * 1000;
/**
 * A fan-out reads the index this many subscriptions at a time: one Query page (index items are ~100 bytes, far
 * under the 1 MB page) whose subscriptions are then read by parallel BatchGetItems (issue 21: 100 a page made a
 * 1,000-subscriber publish ten read rounds in a row).
 */
const WATCHERS_PAGE_SIZE = 1000;
/** BatchGetItem and BatchWriteItem limits. */
const BATCH_GET_LIMIT = 100;
const BATCH_WRITE_LIMIT = 25;
/** Unprocessed keys (throttling) are retried this many times before the call fails. */
const UNPROCESSED_RETRIES = 5;

const presencePartition = (uri: string) => `PRES#${uri}`;
const endpointKey = (uri: string, connectionId: string) => ({ PK: presencePartition(uri), SK: `EP#${connectionId}` });
const aggregateKey = (uri: string) => ({ PK: presencePartition(uri), SK: 'AGG' });
/** The user's own state (explicit availability, note: SPEC §9), beside the endpoints it applies to. */
const userStateKey = (uri: string) => ({ PK: presencePartition(uri), SK: 'USER' });
const subscriptionKey = (subscriptionId: string) => ({ PK: `PSUB#${subscriptionId}`, SK: 'META' });
const watchKey = (targetUri: string, subscriptionId: string) => ({ PK: `PWATCH#${targetUri}`, SK: subscriptionId });

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * Presence in the single table:
 * - `PRES#{uri}` holds a user's endpoints (`EP#{connectionId}`), their own state (`USER`: explicit availability and
 *   note) and their aggregate (`AGG`), so aggregation reads one partition in one strongly consistent query;
 * - `PSUB#{id}` / `META` is a subscription, indexed on GSI1 under its owner (`USER#{uri}` / `PSUB#{id}`) so
 *   it can be found again from a new connection (`session.resume`);
 * - `PWATCH#{targetUri}` / `{subscriptionId}` is the index from a target to the subscriptions watching it:
 *   a fan-out queries that one partition, page by page, never scans.
 */
export class DynamoPresenceStore implements PresenceStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Watch index items per `watchersPage` (smaller in the contract test, to see several pages). */
    private readonly watchersPageSize = WATCHERS_PAGE_SIZE,
  ) {}

  async readUser(uri: string): Promise<UserPresence> {
    const endpoints: EndpointPresence[] = [];
    let aggregate: PresenceRecord | undefined;
    let user: UserState | undefined;
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': presencePartition(uri) },
          ConsistentRead: true,
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? []) {
        if (item.SK === 'AGG') aggregate = toRecord(item);
        else if (item.SK === 'USER') user = toUserState(item);
        else if (String(item.SK).startsWith('EP#')) endpoints.push(toEndpoint(item));
      }
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    return { endpoints, ...(user ? { user } : {}), ...(aggregate ? { aggregate } : {}) };
  }

  async readAggregates(uris: readonly string[]): Promise<Map<string, PresenceRecord>> {
    const records = new Map<string, PresenceRecord>();
    for (let start = 0; start < uris.length; start += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] = uris.slice(start, start + BATCH_GET_LIMIT).map((uri) => aggregateKey(uri));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > UNPROCESSED_RETRIES) throw new Error(`presence of ${keys.length} users could not be read (throttled)`);
        if (attempt > 0) await backoff(attempt);
        const answer = await this.client.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of answer.Responses?.[this.tableName] ?? []) records.set(String(item.uri), toRecord(item));
        keys = answer.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return records;
  }

  async putEndpoint(uri: string, endpoint: EndpointPresence, mustExist: boolean): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...endpointKey(uri, endpoint.connectionId),
            uri,
            ...endpoint,
            [TABLE_KEYS.ttlAttribute]: ttlSeconds(endpoint.expiresAt + DAY_MS),
          },
          ...(mustExist ? { ConditionExpression: 'attribute_exists(PK)' } : {}),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async removeEndpoint(uri: string, connectionId: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: endpointKey(uri, connectionId) }));
  }

  async markEndpointChecked(uri: string, connectionId: string, at: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: endpointKey(uri, connectionId),
          UpdateExpression: 'SET checkedAt = :at',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':at': at },
        }),
      );
    } catch (error) {
      // The endpoint closed meanwhile: nothing to mark.
      if (!isConditionFailure(error)) throw error;
    }
  }

  async updateUserState(uri: string, change: UserStateChange): Promise<void> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const removes: string[] = [];
    let keepUntil = 0;
    for (const part of ['state', 'note'] as const) {
      const value = change[part];
      if (value === undefined) continue;
      names[`#${part}`] = part;
      if (value === null) {
        removes.push(`#${part}`);
      } else {
        sets.push(`#${part} = :${part}`);
        values[`:${part}`] = value;
        keepUntil = Math.max(keepUntil, value.expiresAt);
      }
    }
    if (sets.length === 0 && removes.length === 0) return;
    if (sets.length > 0) {
      // A part set now outlives every part set before it (the same lifetime from a later time): TTL follows it.
      names['#ttl'] = TABLE_KEYS.ttlAttribute;
      sets.push('#ttl = :ttl');
      values[':ttl'] = ttlSeconds(keepUntil + DAY_MS);
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: userStateKey(uri),
          UpdateExpression: [sets.length > 0 ? `SET ${sets.join(', ')}` : '', removes.length > 0 ? `REMOVE ${removes.join(', ')}` : ''].join(' ').trim(),
          // Only removing: nothing to create when the user has no state.
          ...(sets.length === 0 ? { ConditionExpression: 'attribute_exists(PK)' } : {}),
          ExpressionAttributeNames: names,
          ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async saveAggregate(uri: string, presence: Presence, seenVersion: number, now: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...aggregateKey(uri), uri, presence, version: seenVersion + 1, updatedAt: now },
          ConditionExpression: seenVersion === 0 ? 'attribute_not_exists(PK)' : 'version = :seen',
          ExpressionAttributeValues: seenVersion === 0 ? undefined : { ':seen': seenVersion },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async createSubscription(subscription: Subscription): Promise<'created' | 'exists'> {
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tableName,
          Item: this.subscriptionItem(subscription, subscription.createdAt),
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      ...subscription.targets.map((target) => this.putWatch(target, subscription.subscriptionId)),
    ];
    const failed = await this.transact(items);
    return failed.includes(0) ? 'exists' : 'created';
  }

  async addTargets(seen: Subscription, targets: readonly string[], change: SubscriptionChange, now: number): Promise<boolean> {
    const update = this.updateInput(seen, change, now, [...new Set([...seen.targets, ...targets])]);
    const items: TransactItem[] = [
      {
        Update: {
          ...update,
          ConditionExpression: `${update.ConditionExpression} AND #state <> :terminated`,
          ExpressionAttributeNames: { ...update.ExpressionAttributeNames, '#state': 'state' },
          ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ':terminated': 'terminated' },
        },
      },
      ...targets.map((target) => this.putWatch(target, seen.subscriptionId)),
    ];
    return (await this.transact(items)).length === 0;
  }

  async getSubscription(subscriptionId: string): Promise<Subscription | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: subscriptionKey(subscriptionId), ConsistentRead: true }));
    return Item ? toSubscription(Item) : undefined;
  }

  async listSubscriptionsOf(ownerUri: string): Promise<Subscription[]> {
    const subscriptions: Subscription[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: TABLE_KEYS.gsi1.name,
          KeyConditionExpression: 'GSI1PK = :user AND begins_with(GSI1SK, :psub)',
          ExpressionAttributeValues: { ':user': `USER#${ownerUri}`, ':psub': 'PSUB#' },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? []) subscriptions.push(toSubscription(item));
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    return subscriptions;
  }

  async updateSubscription(seen: Subscription, change: SubscriptionChange, now: number): Promise<Subscription | undefined> {
    try {
      const { Attributes } = await this.client.send(new UpdateCommand({ ...this.updateInput(seen, change, now), ReturnValues: 'ALL_NEW' }));
      return Attributes ? toSubscription(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async getSubscriptions(subscriptionIds: readonly string[]): Promise<Map<string, Subscription>> {
    // Chunks of 100 read a few at once, unprocessed keys retried (UnprocessedBatchError, a 503, when they stay).
    const items = await batchGetAll(this.client, this.tableName, subscriptionIds.map((id) => subscriptionKey(id)));
    const subscriptions = new Map<string, Subscription>();
    for (const item of items) {
      const subscription = toSubscription(item);
      subscriptions.set(subscription.subscriptionId, subscription);
    }
    return subscriptions;
  }

  async watchersPage(targetUri: string, cursor?: string): Promise<WatchersPage> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': `PWATCH#${targetUri}` },
        // Consistent: a subscription created just before a publish must be in its fan-out (see the service).
        ConsistentRead: true,
        Limit: this.watchersPageSize,
        ExclusiveStartKey: cursor ? watchKey(targetUri, cursor) : undefined,
      }),
    );
    const subscriptionIds = (page.Items ?? []).map((item) => String(item.SK));
    const next = page.LastEvaluatedKey?.SK;
    return next === undefined ? { subscriptionIds } : { subscriptionIds, cursor: String(next) };
  }

  async removeWatchesOf(targetUri: string, subscriptionIds: readonly string[]): Promise<void> {
    await this.batchDelete(subscriptionIds.map((subscriptionId) => watchKey(targetUri, subscriptionId)), `index items of ${targetUri}`);
  }

  async removeWatches(subscriptionId: string, targets: readonly string[]): Promise<void> {
    await this.batchDelete(targets.map((target) => watchKey(target, subscriptionId)), `index items of ${subscriptionId}`);
  }

  /** BatchWriteItem deletes, 25 a request, unprocessed ones sent again with backoff. */
  private async batchDelete(keys: readonly Record<string, string>[], what: string): Promise<void> {
    for (let start = 0; start < keys.length; start += BATCH_WRITE_LIMIT) {
      let requests: NonNullable<ConstructorParameters<typeof BatchWriteCommand>[0]['RequestItems']>[string] = keys
        .slice(start, start + BATCH_WRITE_LIMIT)
        .map((key) => ({ DeleteRequest: { Key: key } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > UNPROCESSED_RETRIES) throw new Error(`${requests.length} ${what} could not be removed (throttled)`);
        if (attempt > 0) await backoff(attempt);
        const answer = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
        requests = answer.UnprocessedItems?.[this.tableName] ?? [];
      }
    }
  }

  async deleteSubscription(subscriptionId: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: subscriptionKey(subscriptionId) }));
  }

  private subscriptionItem(subscription: Subscription, now: number): Record<string, unknown> {
    return {
      ...subscriptionKey(subscription.subscriptionId),
      [TABLE_KEYS.gsi1.partitionKey]: `USER#${subscription.ownerUri}`,
      [TABLE_KEYS.gsi1.sortKey]: `PSUB#${subscription.subscriptionId}`,
      ...subscription,
      [TABLE_KEYS.ttlAttribute]: subscriptionTtl(subscription, now),
    };
  }

  private putWatch(targetUri: string, subscriptionId: string): TransactItem {
    return { Put: { TableName: this.tableName, Item: { ...watchKey(targetUri, subscriptionId), subscriptionId } } };
  }

  /** SET/REMOVE for the change, +1 on `rev`, a TTL that follows the new deadline; only if `rev` is still the one seen. */
  private updateInput(seen: Subscription, change: SubscriptionChange, now: number, targets?: readonly string[]) {
    const names: Record<string, string> = { '#rev': 'rev', '#ttl': TABLE_KEYS.ttlAttribute };
    const values: Record<string, unknown> = { ':seenRev': seen.rev, ':nextRev': seen.rev + 1 };
    const sets = ['#rev = :nextRev', '#ttl = :ttl'];
    const removes: string[] = [];
    const fields: Record<string, unknown> = { ...change, ...(targets ? { targets: [...targets] } : {}) };
    for (const [field, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      if (value === null) {
        removes.push(`#${field}`);
      } else {
        sets.push(`#${field} = :${field}`);
        values[`:${field}`] = value;
      }
    }
    const merged = { ...seen, ...(change.state ? { state: change.state } : {}), ...(change.expiresAt !== undefined ? { expiresAt: change.expiresAt } : {}) };
    values[':ttl'] = subscriptionTtl(merged, now);
    return {
      TableName: this.tableName,
      Key: subscriptionKey(seen.subscriptionId),
      UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
      ConditionExpression: '#rev = :seenRev',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  private transact(items: TransactItem[]): Promise<number[]> {
    return transactWrite(this.client, items);
  }
}

/** A live subscription is kept a day past its deadline, a terminated one a day past its end (for `session.resume`). */
function subscriptionTtl(subscription: Pick<Subscription, 'state' | 'expiresAt'>, now: number): number {
  return ttlSeconds((subscription.state === 'terminated' ? now : Math.max(now, subscription.expiresAt)) + DAY_MS);
}

function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
}

function toRecord(item: Record<string, unknown>): PresenceRecord {
  return { presence: item.presence as Presence, version: Number(item.version) };
}

function toUserState(item: Record<string, unknown>): UserState {
  return { ...(item.state ? { state: item.state as UserState['state'] } : {}), ...(item.note ? { note: item.note as UserState['note'] } : {}) };
}

function toEndpoint(item: Record<string, unknown>): EndpointPresence {
  const { PK: _pk, SK: _sk, uri: _uri, [TABLE_KEYS.ttlAttribute]: _ttl, ...endpoint } = item;
  return endpoint as unknown as EndpointPresence;
}

function toSubscription(item: Record<string, unknown>): Subscription {
  const { PK: _pk, SK: _sk, GSI1PK: _gsiPk, GSI1SK: _gsiSk, [TABLE_KEYS.ttlAttribute]: _ttl, ...subscription } = item;
  return subscription as unknown as Subscription;
}
