import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ChatMessage, Page } from '../chat/ports';
import type { ComplianceEvent } from '../compliance/event';
import type { PageFit } from '../protocol/frame-fit';
import { outboxPut } from './compliance-outbox-dynamodb';
import { transactWrite } from './dynamodb-operations';
import { ChatItems, cutPage, decodeCursor, fileKey, messageIdKey, messageKey, seqKey, tokenPartition, toMessage, type WriteRequest } from './chat-items-dynamodb';

/**
 * Reads of a room's messages (`ROOM#{id}` / `MSG#{seq}`, found by id through `MID#{messageId}`), their search index
 * (`RTOK#{roomId}#{token}`), and their revisions (`chat.edit`, `chat.retract`).
 */
export class DynamoMessageItems extends ChatItems {
  async indexMessage(message: ChatMessage, tokens: readonly string[]): Promise<void> {
    await this.batchWrite(
      tokens.map((token): WriteRequest => ({ PutRequest: { Item: { PK: tokenPartition(message.roomId, token), SK: String(message.seq).padStart(12, '0'), seq: message.seq } } })),
    );
  }

  async unindexMessage(message: ChatMessage, tokens: readonly string[]): Promise<void> {
    await this.batchWrite(
      tokens.map((token): WriteRequest => ({ DeleteRequest: { Key: { PK: tokenPartition(message.roomId, token), SK: String(message.seq).padStart(12, '0') } } })),
    );
  }

  async messageById(roomId: string, messageId: string): Promise<ChatMessage | undefined> {
    const pointer = await this.client.send(new GetCommand({ TableName: this.tableName, Key: messageIdKey(roomId, messageId), ConsistentRead: true }));
    if (typeof pointer.Item?.seq !== 'number') return undefined;
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: messageKey(roomId, pointer.Item.seq), ConsistentRead: true }));
    return Item && Item.messageId === messageId ? toMessage(Item) : undefined;
  }

  async reviseMessage(seen: ChatMessage, next: ChatMessage, event: ComplianceEvent): Promise<boolean> {
    // The message replaced whole (a tombstone drops the text and the file), on condition that it is still the version
    // read: `editedAt` rises with every edit, and a tombstone is final. One transaction with the outbox item.
    // A transaction cancelled by another one on the same message (TransactionConflict) lost the race too: decide again.
    // A tombstone of a message with a file marks the file's record retracted in the same transaction (downloads: 410).
    const retractsFile = next.retracted && seen.fileId !== undefined;
    const failed = await transactWrite(this.client, [
      {
        Put: {
          TableName: this.tableName,
          Item: { ...messageKey(seen.roomId, seen.seq), ...next },
          ConditionExpression:
            seen.editedAt === undefined
              ? 'messageId = :id AND attribute_not_exists(retracted) AND attribute_not_exists(editedAt)'
              : 'messageId = :id AND attribute_not_exists(retracted) AND editedAt = :seen',
          ExpressionAttributeValues: { ':id': seen.messageId, ...(seen.editedAt === undefined ? {} : { ':seen': seen.editedAt }) },
        },
      },
      outboxPut(this.tableName, event),
      ...(retractsFile
        ? [
            {
              Update: {
                TableName: this.tableName,
                Key: fileKey(seen.fileId!),
                UpdateExpression: 'SET retractedAt = if_not_exists(retractedAt, :at)',
                ConditionExpression: 'attribute_exists(PK)',
                ExpressionAttributeValues: { ':at': next.retractedAt },
              },
            },
          ]
        : []),
    ], { conflictAsLost: true });
    return failed.length === 0;
  }

  async history(roomId: string, limit: number, before?: string, fit?: PageFit<ChatMessage>): Promise<Page<ChatMessage>> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :msg)',
        ExpressionAttributeValues: { ':pk': `ROOM#${roomId}`, ':msg': 'MSG#' },
        ExclusiveStartKey: before ? { PK: `ROOM#${roomId}`, SK: decodeCursor(before, 'before', 'MSG#') } : undefined,
        ScanIndexForward: false,
        // One extra item tells whether there is more; the cursor is the sort key of the last one returned.
        Limit: limit + 1,
      }),
    );
    return cutPage(page.Items ?? [], limit, toMessage, fit);
  }

  async messagesAfter(roomId: string, afterSeq: number, limit: number): Promise<{ messages: ChatMessage[]; more: boolean }> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': `ROOM#${roomId}`, ':from': seqKey(afterSeq + 1), ':to': seqKey(999_999_999_999) },
        ScanIndexForward: false,
        Limit: limit + 1,
      }),
    );
    const items = page.Items ?? [];
    return { messages: items.slice(0, limit).map(toMessage).reverse(), more: items.length > limit };
  }

  async seqsWithToken(roomId: string, token: string, limit: number, beforeSeq?: number): Promise<number[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: beforeSeq === undefined ? 'PK = :pk' : 'PK = :pk AND SK < :before',
        ExpressionAttributeValues: { ':pk': tokenPartition(roomId, token), ...(beforeSeq === undefined ? {} : { ':before': String(beforeSeq).padStart(12, '0') }) },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => Number(item.seq));
  }

  async messagesAt(roomId: string, seqs: readonly number[]): Promise<ChatMessage[]> {
    return (await this.batchGet(seqs.map((seq) => messageKey(roomId, seq)))).map(toMessage);
  }
}
