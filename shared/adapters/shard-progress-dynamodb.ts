import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ShardProgress } from '../connections/fanout';
import type { Clock } from '../ports';
import { TABLE_KEYS, ttlSeconds } from './dynamodb';

const progressKey = (shardId: string) => ({ PK: `FANOUT#${shardId}`, SK: 'DONE' });

/** Long after SQS's last retry of a shard (its retention); TTL removes the record then. */
const PROGRESS_TTL_MS = 24 * 3600 * 1000;

/**
 * What failed attempts of a fan-out shard did, in the single table: `FANOUT#{shardId}` / `DONE` holding the
 * connection ids done so far (a shard has at most FANOUT_SHARD_SIZE of them, well under the item limit).
 * Written only after an attempt that failed, read only by a retry: a shard that succeeds first time costs nothing.
 */
export class DynamoShardProgress implements ShardProgress {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  async done(shardId: string): Promise<ReadonlySet<string>> {
    const answer = await this.client.send(new GetCommand({ TableName: this.tableName, Key: progressKey(shardId), ConsistentRead: true }));
    return new Set((answer.Item?.connectionIds as string[] | undefined) ?? []);
  }

  async record(shardId: string, connectionIds: readonly string[]): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        // Each attempt writes the whole set done so far (the earlier record's ids included): one writer per shard at a time.
        Item: { ...progressKey(shardId), connectionIds: [...connectionIds], [TABLE_KEYS.ttlAttribute]: ttlSeconds(this.clock.now() + PROGRESS_TTL_MS) },
      }),
    );
  }
}
