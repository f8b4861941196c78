import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './aws-errors';
import { type Clock, CONNECTING_GRACE_MS, type ConnectionRecord, type ConnectionStore } from '../ports';
import { TABLE_KEYS, ttlSeconds } from './dynamodb';
import { batchGetAll, UNPROCESSED_RETRY } from './dynamodb-operations';

const connectionKey = (connectionId: string) => ({ PK: `CONN#${connectionId}`, SK: 'CONN' });
/** A user's live connection ids in one item, so a fan-out to many users is a BatchGet, not a query per user. */
const userConnectionsKey = (uri: string) => ({ PK: `USER#${uri}`, SK: 'CONNS' });

/**
 * Connections in the single table: `CONN#{id}` / `CONN`, indexed on GSI1 by `USER#{uri}` (a user's full
 * records, one query), and `USER#{uri}` / `CONNS` holding the set of the user's connection ids (many users'
 * endpoints in one BatchGet). A days-late TTL cleans what `$disconnect` missed; reads skip expired records,
 * and a post that meets a gone connection removes it from both.
 */
export class DynamoConnectionStore implements ConnectionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  async put(record: ConnectionRecord): Promise<void> {
    const ttl = ttlSeconds(record.expiresAt) + 86400;
    await this.client.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.tableName,
              Item: {
                ...connectionKey(record.connectionId),
                GSI1PK: `USER#${record.uri}`,
                GSI1SK: `CONN#${record.connectionId}`,
                ...record,
                [TABLE_KEYS.ttlAttribute]: ttl,
              },
            },
          },
          {
            Update: {
              TableName: this.tableName,
              Key: userConnectionsKey(record.uri),
              UpdateExpression: 'ADD connectionIds :id SET #ttl = :ttl',
              ExpressionAttributeNames: { '#ttl': TABLE_KEYS.ttlAttribute },
              ExpressionAttributeValues: { ':id': new Set([record.connectionId]), ':ttl': ttl },
            },
          },
        ],
      }),
    );
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: connectionKey(connectionId) }));
    const record = Item ? toRecord(Item) : undefined;
    return record && record.expiresAt > this.clock.now() ? record : undefined;
  }

  async delete(connectionId: string): Promise<void> {
    const { Attributes } = await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: connectionKey(connectionId), ReturnValues: 'ALL_OLD' }),
    );
    await this.removeFromUser(connectionId, Attributes);
  }

  /** A conditional delete: a record that connected within the grace (its `$connect` may still be running) stays. */
  async removeGone(connectionId: string): Promise<boolean> {
    try {
      const { Attributes } = await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: connectionKey(connectionId),
          ConditionExpression: 'attribute_exists(PK) AND (attribute_not_exists(connectedAt) OR connectedAt < :settled)',
          ExpressionAttributeValues: { ':settled': this.clock.now() - CONNECTING_GRACE_MS },
          ReturnValues: 'ALL_OLD',
        }),
      );
      await this.removeFromUser(connectionId, Attributes);
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async removeFromUser(connectionId: string, Attributes: Record<string, unknown> | undefined): Promise<void> {
    if (!Attributes?.uri) return;
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: userConnectionsKey(String(Attributes.uri)),
        UpdateExpression: 'DELETE connectionIds :id',
        ExpressionAttributeValues: { ':id': new Set([connectionId]) },
      }),
    );
  }

  /** Every connection id of the users; unprocessed keys are retried with backoff, then it fails (503), never skips a user. */
  async connectionIdsOf(uris: readonly string[]): Promise<string[]> {
    const keys = [...new Set(uris)].map(userConnectionsKey);
    const items = await batchGetAll(this.client, this.tableName, keys, UNPROCESSED_RETRY, { consistent: false, projection: ['connectionIds'] });
    return items.flatMap((item) => [...((item.connectionIds as Set<string> | undefined) ?? [])]);
  }

  async listByUser(uri: string): Promise<ConnectionRecord[]> {
    const records: ConnectionRecord[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: TABLE_KEYS.gsi1.name,
          KeyConditionExpression: 'GSI1PK = :user AND begins_with(GSI1SK, :conn)',
          ExpressionAttributeValues: { ':user': `USER#${uri}`, ':conn': 'CONN#' },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? []) records.push(toRecord(item));
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    const now = this.clock.now();
    return records.filter((record) => record.expiresAt > now);
  }
}

function toRecord(item: Record<string, unknown>): ConnectionRecord {
  return {
    connectionId: String(item.connectionId),
    uri: String(item.uri),
    kind: item.kind as ConnectionRecord['kind'],
    name: String(item.name),
    device: item.device as ConnectionRecord['device'],
    connectedAt: Number(item.connectedAt),
    expiresAt: Number(item.expiresAt),
  };
}
