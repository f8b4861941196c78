import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ChatMessage, PostKey, PostRecord, PostReservation, PostResult } from '../chat/ports';
import type { ComplianceEvent } from '../compliance/event';
import { isConditionFailure } from './aws-errors';
import { outboxPut } from './compliance-outbox-dynamodb';
import { TABLE_KEYS, ttlSeconds } from './dynamodb';
import { ChatItems, IDEMPOTENCY_RETENTION_MS, messageIdKey, messageKey, postKey, roomKey, type TransactItem } from './chat-items-dynamodb';

/** A post's writes: its reservation and answer (`IDEM#…chat.grpchat…`), the room's seq counter, and the all-or-nothing commit. */
export class DynamoPostItems extends ChatItems {
  async getPost(key: PostKey): Promise<PostRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: postKey(key), ConsistentRead: true }));
    if (!Item) return undefined;
    if (Item.status === 'done') return { status: 'done', result: Item.result as PostResult };
    return { status: 'pending', reservedAt: Number(Item.reservedAt), ...(typeof Item.seq === 'number' ? { seq: Item.seq } : {}) };
  }

  async reservePost(key: PostKey, now: number, staleBefore: number): Promise<PostReservation | undefined> {
    try {
      // An update, not a put: a seq recorded by an earlier attempt stays, and comes back for this one to reuse.
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: postKey(key),
          UpdateExpression: 'SET #status = :pending, reservedAt = :now, #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(PK) OR (#status = :pending AND reservedAt < :stale)',
          ExpressionAttributeNames: { '#status': 'status', '#ttl': TABLE_KEYS.ttlAttribute },
          ExpressionAttributeValues: { ':pending': 'pending', ':now': now, ':stale': staleBefore, ':ttl': ttlSeconds(now + IDEMPOTENCY_RETENTION_MS) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return typeof Attributes?.seq === 'number' ? { seq: Attributes.seq } : {};
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async recordPostSeq(key: PostKey, reservedAt: number, seq: number): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: postKey(key),
        UpdateExpression: 'SET seq = :seq',
        ConditionExpression: '#status = :pending AND reservedAt = :reservedAt',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': 'pending', ':reservedAt': reservedAt, ':seq': seq },
      }),
    );
  }

  async releasePost(key: PostKey): Promise<void> {
    // Stale at once (reservedAt 0) rather than deleted: the seq it holds is the retry's.
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: postKey(key),
        UpdateExpression: 'SET reservedAt = :released',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': 'pending', ':released': 0 },
      }),
    ).catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
  }

  async takeSeq(roomId: string): Promise<number | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: roomKey(roomId),
          UpdateExpression: 'ADD lastSeq :one',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(Attributes?.lastSeq);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async commitMessage(message: ChatMessage, event: ComplianceEvent, completed?: { key: PostKey; result: PostResult }): Promise<'committed' | 'taken'> {
    // A transaction, not the BatchWriteItem the message used to share with its answer: a batch may be done in
    // part, and a message stored without its outbox item would be readable yet never archived if the client
    // never retried (a post without a clientMsgId never does). All or nothing, at twice the write units of
    // these two or three items (docs/architecture.md). The conditions only meet an earlier attempt of the same
    // post: the counter gave the seq to this post alone (a retry reuses the seq its reservation recorded).
    const items: TransactItem[] = [
      { Put: { TableName: this.tableName, Item: { ...messageKey(message.roomId, message.seq), ...message }, ConditionExpression: 'attribute_not_exists(PK)' } },
      // The id's pointer to the seq (SPEC §9: edits and retractions name the message by id). Unconditional: the id is this post's own.
      { Put: { TableName: this.tableName, Item: { ...messageIdKey(message.roomId, message.messageId), seq: message.seq } } },
    ];
    if (completed) {
      items.push({
        Put: {
          TableName: this.tableName,
          Item: { ...postKey(completed.key), status: 'done', result: completed.result, [TABLE_KEYS.ttlAttribute]: ttlSeconds(completed.result.ts + IDEMPOTENCY_RETENTION_MS) },
          ConditionExpression: 'attribute_not_exists(PK) OR #status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending' },
        },
      });
    }
    items.push(outboxPut(this.tableName, event));
    return (await this.transact(items)).length === 0 ? 'committed' : 'taken';
  }
}
