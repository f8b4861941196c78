import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ComplianceEvent } from '../compliance/event';
import type { Conversation, EndReason, ImMessage } from '../conversation/conversation';
import type { AppendOutcome, ConversationStore, HistoryPage, IdempotencyKey, OpenOutcome, SendResult } from '../conversation/ports';
import { BadRequestError } from '../errors';
import type { PageFit } from '../protocol/frame-fit';
import { outboxPut } from './compliance-outbox-dynamodb';
import { TABLE_KEYS, ttlSeconds } from './dynamodb';
import { transactWrite } from './dynamodb-operations';
import { isConditionFailure } from './aws-errors';

/** How long a send's answer is kept for retries with the same clientMsgId. */
const IDEMPOTENCY_RETENTION_MS = 24 * 3600 * 1000;

const conversationKey = (conversationId: string) => ({ PK: `CONV#${conversationId}`, SK: 'META' });
const messageSortKey = (message: ImMessage) => `MSG#${String(message.ts).padStart(15, '0')}#${message.messageId}`;
// The command's name after the user, as in every IDEM# key, so no two commands' keys meet (client ids hold no `#`).
const idempotencyKey = (key: IdempotencyKey) => ({ PK: `IDEM#${key.senderUri}#im.send#${key.clientMsgId}`, SK: 'IDEM' });

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * Conversations in the single table: `CONV#{id}` / `META` holds the state, `CONV#{id}` / `MSG#{ts}#{id}`
 * the messages (history is one query, newest first), `IDEM#{uri}#im.send#{clientMsgId}` a send's answer, and each
 * message's compliance event in the outbox (`OUTBOX#{shard}`) until it is on the queue.
 * Every race is settled by a condition inside one transaction.
 */
export class DynamoConversationStore implements ConversationStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(conversationId: string): Promise<Conversation | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: conversationKey(conversationId), ConsistentRead: true }));
    return Item ? toConversation(Item) : undefined;
  }

  async replay(key: IdempotencyKey): Promise<SendResult | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: idempotencyKey(key), ConsistentRead: true }));
    return Item?.result as SendResult | undefined;
  }

  async open(conversation: Conversation, message: ImMessage, result: SendResult, complianceEvent: ComplianceEvent, key?: IdempotencyKey): Promise<OpenOutcome> {
    const items: TransactItem[] = [
      { Put: { TableName: this.tableName, Item: { ...conversationKey(conversation.conversationId), ...conversation }, ConditionExpression: 'attribute_not_exists(PK)' } },
      this.putMessage(message),
    ];
    const idempotencyIndex = key ? items.push(this.putIdempotency(key, result)) - 1 : -1;
    const previousIndex = conversation.previousConversationId
      ? items.push({
          Update: {
            TableName: this.tableName,
            Key: conversationKey(conversation.previousConversationId),
            UpdateExpression: 'SET nextConversationId = :next',
            ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(nextConversationId)',
            ExpressionAttributeValues: { ':next': conversation.conversationId },
          },
        }) - 1
      : -1;
    // Last, so the indexes above stay put; unconditional, so it never fails the transaction.
    items.push(outboxPut(this.tableName, complianceEvent));
    const failed = await this.transact(items);
    if (failed.length === 0) return { kind: 'opened' };
    if (key && failed.includes(idempotencyIndex)) return this.replayed(key);
    if (failed.includes(previousIndex)) {
      const previous = await this.get(conversation.previousConversationId!);
      return { kind: 'alreadyContinued', nextConversationId: previous?.nextConversationId ?? '' };
    }
    throw new Error(`opening conversation ${conversation.conversationId} failed on item(s) ${failed.join(',')}`);
  }

  async append(message: ImMessage, result: SendResult, idleCutoff: number, complianceEvent: ComplianceEvent, key?: IdempotencyKey): Promise<AppendOutcome> {
    const items: TransactItem[] = [
      {
        Update: {
          TableName: this.tableName,
          Key: conversationKey(message.conversationId),
          UpdateExpression: 'SET lastActivityAt = :now',
          ConditionExpression: '#status = :active AND contains(active, :sender) AND lastActivityAt >= :cutoff',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':now': message.ts, ':active': 'active', ':sender': message.from.uri, ':cutoff': idleCutoff },
        },
      },
      this.putMessage(message),
    ];
    if (key) items.push(this.putIdempotency(key, result));
    // After the idempotency record, which stays at index 2.
    items.push(outboxPut(this.tableName, complianceEvent));
    const failed = await this.transact(items);
    if (failed.length === 0) return { kind: 'appended' };
    if (key && failed.includes(2)) return this.replayed(key);
    return { kind: 'notActive' };
  }

  async touch(conversationId: string, uri: string, now: number, idleCutoff: number): Promise<boolean> {
    return this.conditionalUpdate({
      Key: conversationKey(conversationId),
      UpdateExpression: 'SET lastActivityAt = :now',
      ConditionExpression: '#status = :active AND contains(active, :uri) AND lastActivityAt >= :cutoff',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':now': now, ':active': 'active', ':uri': uri, ':cutoff': idleCutoff },
    });
  }

  async end(seen: Conversation, reason: EndReason, now: number): Promise<boolean> {
    return this.conditionalUpdate({
      Key: conversationKey(seen.conversationId),
      UpdateExpression: 'SET #status = :ended, endedReason = :reason, endedAt = :now, version = version + :one',
      ConditionExpression: '#status = :active AND version = :version AND lastActivityAt = :seenActivity',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':ended': 'ended',
        ':reason': reason,
        ':now': now,
        ':one': 1,
        ':active': 'active',
        ':version': seen.version,
        ':seenActivity': seen.lastActivityAt,
      },
    });
  }

  async updateActive(seen: Conversation, active: readonly string[], ends: boolean, now: number): Promise<boolean> {
    return this.conditionalUpdate({
      Key: conversationKey(seen.conversationId),
      UpdateExpression: ends
        ? 'SET active = :list, version = version + :one, #status = :ended, endedReason = :left, endedAt = :now'
        : 'SET active = :list, version = version + :one',
      ConditionExpression: '#status = :active AND version = :version',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':list': [...active],
        ':one': 1,
        ':active': 'active',
        ':version': seen.version,
        ...(ends ? { ':ended': 'ended', ':left': 'left', ':now': now } : {}),
      },
    });
  }

  async advanceTimer(seen: Conversation, version: number): Promise<boolean> {
    return this.conditionalUpdate({
      Key: conversationKey(seen.conversationId),
      UpdateExpression: 'SET timerVersion = :next',
      ConditionExpression: '#status = :active AND timerVersion = :armed',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':next': version, ':active': 'active', ':armed': seen.timerVersion },
    });
  }

  async history(conversationId: string, limit: number, before?: string, fit?: PageFit<ImMessage>): Promise<HistoryPage> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :msg)',
        ExpressionAttributeValues: { ':pk': `CONV#${conversationId}`, ':msg': 'MSG#' },
        ExclusiveStartKey: before ? { PK: `CONV#${conversationId}`, SK: decodeCursor(before) } : undefined,
        ScanIndexForward: false,
        // One extra item tells whether there is more; the cursor is the sort key of the last one returned.
        Limit: limit + 1,
      }),
    );
    const items = page.Items ?? [];
    const all = items.slice(0, limit).map((item) => toMessage(item));
    // Cut to what one answer frame holds; the cursor is the sort key of the last one answered.
    const kept = fit ? fit(all) : all.length;
    const messages = all.slice(0, kept);
    const last = items[kept - 1];
    return items.length > kept && last ? { messages, cursor: encodeCursor(String(last.SK)) } : { messages };
  }

  private putMessage(message: ImMessage): TransactItem {
    return { Put: { TableName: this.tableName, Item: { PK: `CONV#${message.conversationId}`, SK: messageSortKey(message), ...message } } };
  }

  private putIdempotency(key: IdempotencyKey, result: SendResult): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: { ...idempotencyKey(key), result, [TABLE_KEYS.ttlAttribute]: ttlSeconds(result.ts + IDEMPOTENCY_RETENTION_MS) },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    };
  }

  private async replayed(key: IdempotencyKey): Promise<{ kind: 'replayed'; result: SendResult }> {
    const result = await this.replay(key);
    if (!result) throw new Error(`idempotency record for ${key.clientMsgId} vanished`);
    return { kind: 'replayed', result };
  }

  private transact(items: TransactItem[]): Promise<number[]> {
    return transactWrite(this.client, items);
  }

  private async conditionalUpdate(input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>): Promise<boolean> {
    try {
      await this.client.send(new UpdateCommand({ TableName: this.tableName, ...input }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

function encodeCursor(sortKey: string): string {
  return Buffer.from(sortKey, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const sortKey = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!sortKey.startsWith('MSG#')) throw new BadRequestError("field 'before': not a cursor this server gave", 'before');
  return sortKey;
}

function toConversation(item: Record<string, unknown>): Conversation {
  const { PK: _pk, SK: _sk, ...rest } = item;
  return rest as unknown as Conversation;
}

function toMessage(item: Record<string, unknown>): ImMessage {
  const { PK: _pk, SK: _sk, clientMsgId: _client, ...rest } = item;
  return rest as unknown as ImMessage;
}
