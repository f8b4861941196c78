import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock, ConnectionRecord, ConnectionStore } from '../ports';
import { TABLE_KEYS, ttlSeconds } from './dynamodb';

const connectionKey = (connectionId: string) => ({ PK: `CONN#${connectionId}`, SK: 'CONN' });

/**
 * Connections in the single table: `CONN#{id}` / `CONN`, indexed on GSI1 by `USER#{uri}` so a user's
 * endpoints are one query. A days-late TTL cleans what `$disconnect` missed; reads skip expired records.
 */
export class DynamoConnectionStore implements ConnectionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  async put(record: ConnectionRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...connectionKey(record.connectionId),
          GSI1PK: `USER#${record.uri}`,
          GSI1SK: `CONN#${record.connectionId}`,
          ...record,
          [TABLE_KEYS.ttlAttribute]: ttlSeconds(record.expiresAt) + 86400,
        },
      }),
    );
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: connectionKey(connectionId) }));
    const record = Item ? toRecord(Item) : undefined;
    return record && record.expiresAt > this.clock.now() ? record : undefined;
  }

  async delete(connectionId: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: connectionKey(connectionId) }));
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
