import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ComplianceEvent } from '../compliance/event';
import type { Conversation, EndReason, ImMessage } from '../conversation/conversation';
import type {
  AppendOutcome,
  ConversationEntry,
  ConversationEntryPage,
  ConversationStore,
  HistoryPage,
  IdempotencyKey,
  OpenOutcome,
  SendResult,
} from '../conversation/ports';
import { previewOf } from '../conversation/conversation';
import { BadRequestError } from '../errors';
import type { PageFit } from '../protocol/frame-fit';
import { outboxPut } from './compliance-outbox-dynamodb';
import { TABLE_KEYS, ttlSeconds } from './dynamodb';
import { batchGetAll, transactWrite } from './dynamodb-operations';
import { isConditionFailure } from './aws-errors';

/** How long a send's answer is kept for retries with the same clientMsgId. */
const IDEMPOTENCY_RETENTION_MS = 24 * 3600 * 1000;
/** Entries one Query of `activeSince` reads (GSI1 keys and projections are small: one page is a few KB). */
const ACTIVE_SINCE_PAGE = 200;

const conversationKey = (conversationId: string) => ({ PK: `CONV#${conversationId}`, SK: 'META' });
const messageSortKey = (message: ImMessage) => `MSG#${String(message.ts).padStart(15, '0')}#${message.messageId}`;
// The command's name after the user, as in every IDEM# key, so no two commands' keys meet (client ids hold no `#`).
const idempotencyKey = (key: IdempotencyKey) => ({ PK: `IDEM#${key.senderUri}#im.send#${key.clientMsgId}`, SK: 'IDEM' });
const padTs = (ts: number) => String(ts).padStart(15, '0');
// Read state (issue 22 item 3): a message's number by id, a user's entry per conversation (on GSI1 by latest
// activity), and a user's missed conversations.
const messageNumberKey = (conversationId: string, messageId: string) => ({ PK: `CONV#${conversationId}`, SK: `MID#${messageId}` });
const entryKey = (uri: string, conversationId: string) => ({ PK: `IMCONV#${uri}`, SK: `CONV#${conversationId}` });
const missedKey = (uri: string, conversationId: string) => ({ PK: `IMMISSED#${uri}`, SK: `CONV#${conversationId}` });

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

  async open(
    conversation: Conversation,
    message: ImMessage,
    result: SendResult,
    complianceEvent: ComplianceEvent,
    key?: IdempotencyKey,
    readers: readonly string[] = [],
  ): Promise<OpenOutcome> {
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
    items.push(outboxPut(this.tableName, complianceEvent), ...this.readStateWrites(message, readers));
    const failed = await this.transact(items);
    if (failed.length === 0) return { kind: 'opened' };
    if (key && failed.includes(idempotencyIndex)) return this.replayed(key);
    if (failed.includes(previousIndex)) {
      const previous = await this.get(conversation.previousConversationId!);
      return { kind: 'alreadyContinued', nextConversationId: previous?.nextConversationId ?? '' };
    }
    throw new Error(`opening conversation ${conversation.conversationId} failed on item(s) ${failed.join(',')}`);
  }

  async append(
    message: ImMessage,
    result: SendResult,
    idleCutoff: number,
    complianceEvent: ComplianceEvent,
    key?: IdempotencyKey,
    readers: readonly string[] = [],
  ): Promise<AppendOutcome> {
    const n = message.n;
    // A numbered message is the next one or none: a send that lost the number to another reads again.
    const numbered = n === undefined ? '' : n === 1 ? ' AND attribute_not_exists(messageCount)' : ' AND messageCount = :previous';
    const items: TransactItem[] = [
      {
        Update: {
          TableName: this.tableName,
          Key: conversationKey(message.conversationId),
          UpdateExpression: n === undefined ? 'SET lastActivityAt = :now' : 'SET lastActivityAt = :now, messageCount = :n',
          ConditionExpression: `#status = :active AND contains(active, :sender) AND lastActivityAt >= :cutoff${numbered}`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':now': message.ts,
            ':active': 'active',
            ':sender': message.from.uri,
            ':cutoff': idleCutoff,
            ...(n === undefined ? {} : { ':n': n }),
            ...(n !== undefined && n > 1 ? { ':previous': n - 1 } : {}),
          },
        },
      },
      this.putMessage(message),
    ];
    if (key) items.push(this.putIdempotency(key, result));
    // After the idempotency record, which stays at index 2.
    items.push(outboxPut(this.tableName, complianceEvent), ...this.readStateWrites(message, readers));
    // Concurrent sends now meet on the same items (the count, the entries): a conflict is a lost race, read again.
    const failed = await transactWrite(this.client, items, { conflictAsLost: n !== undefined });
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

  async messageById(conversationId: string, messageId: string): Promise<ImMessage | undefined> {
    // The id's pointer (`MID#`, written with the message) holds its `ts`, hence the message's sort key: two key reads.
    const pointer = await this.client.send(new GetCommand({ TableName: this.tableName, Key: messageNumberKey(conversationId, messageId), ConsistentRead: true }));
    if (typeof pointer.Item?.ts !== 'number') return undefined;
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { PK: `CONV#${conversationId}`, SK: messageSortKey({ ts: pointer.Item.ts, messageId } as ImMessage) }, ConsistentRead: true }),
    );
    return Item ? toMessage(Item) : undefined;
  }

  async reviseMessage(seen: ImMessage, next: ImMessage, complianceEvent: ComplianceEvent, readers: readonly string[] = []): Promise<boolean> {
    // An update, not a put: what else the item holds (its number, its client id) stays. On condition that the message
    // is still the version read (`editedAt` rises with every edit; a tombstone is final), with the outbox item.
    const retracting = next.retracted === true;
    const failed = await transactWrite(
      this.client,
      [
        {
          Update: {
            TableName: this.tableName,
            Key: { PK: `CONV#${seen.conversationId}`, SK: messageSortKey(seen) },
            UpdateExpression: retracting ? 'SET #text = :text, retracted = :true, retractedAt = :at REMOVE editedAt' : 'SET #text = :text, editedAt = :at',
            ConditionExpression: `messageId = :id AND attribute_not_exists(retracted) AND ${seen.editedAt === undefined ? 'attribute_not_exists(editedAt)' : 'editedAt = :seen'}`,
            ExpressionAttributeNames: { '#text': 'text' },
            ExpressionAttributeValues: {
              ':id': seen.messageId,
              ':text': next.text,
              ':at': retracting ? next.retractedAt : next.editedAt,
              ...(retracting ? { ':true': true } : {}),
              ...(seen.editedAt === undefined ? {} : { ':seen': seen.editedAt }),
            },
          },
        },
        outboxPut(this.tableName, complianceEvent),
      ],
      // Another transaction on the same message (TransactionConflict) won the race too: decide again.
      { conflictAsLost: true },
    );
    if (failed.length > 0) return false;
    await this.refreshPreviews(next, readers);
    return true;
  }

  async refreshPreviews(message: ImMessage, readers: readonly string[]): Promise<void> {
    // The previews of the entries whose latest message this still is: a retracted text must not stay visible there.
    await Promise.all(
      readers.map((uri) =>
        this.conditionalUpdate({
          Key: entryKey(uri, message.conversationId),
          UpdateExpression: 'SET lastMessage.#text = :preview',
          ConditionExpression: 'lastMessage.messageId = :id',
          ExpressionAttributeNames: { '#text': 'text' },
          ExpressionAttributeValues: { ':preview': previewOf(message.text), ':id': message.messageId },
        }),
      ),
    );
  }

  async messageNumber(conversationId: string, messageId: string): Promise<number | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: messageNumberKey(conversationId, messageId), ConsistentRead: true }));
    return typeof Item?.n === 'number' ? Item.n : undefined;
  }

  async markRead(uri: string, conversationId: string, n: number): Promise<{ moved: boolean; entry?: ConversationEntry }> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: entryKey(uri, conversationId),
          UpdateExpression: 'SET readN = :n',
          // Forward only; and only an entry that exists (a user never sent or received in it has none).
          ConditionExpression: 'attribute_exists(PK) AND (attribute_not_exists(readN) OR readN < :n)',
          ExpressionAttributeValues: { ':n': n },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { moved: true, entry: toEntry(Attributes!) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: entryKey(uri, conversationId), ConsistentRead: true }));
      return Item ? { moved: false, entry: toEntry(Item) } : { moved: false };
    }
  }

  async conversationsOf(uri: string, limit: number, cursor?: string, fit?: PageFit<ConversationEntry>): Promise<ConversationEntryPage> {
    const { gsi1 } = TABLE_KEYS;
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: gsi1.name,
        KeyConditionExpression: 'GSI1PK = :pk',
        ExpressionAttributeValues: { ':pk': `IMCONVS#${uri}` },
        ExclusiveStartKey: cursor ? { ...entryKeyFromCursor(uri, cursor), GSI1PK: `IMCONVS#${uri}`, GSI1SK: decodeEntryCursor(cursor) } : undefined,
        ScanIndexForward: false,
        Limit: limit + 1,
      }),
    );
    const items = page.Items ?? [];
    const all = items.slice(0, limit).map(toEntry);
    const kept = fit ? fit(all) : all.length;
    const last = items[kept - 1];
    return items.length > kept && last ? { entries: all.slice(0, kept), cursor: encodeCursor(String(last.GSI1SK)) } : { entries: all.slice(0, kept) };
  }

  async entriesOf(uri: string, conversationIds: readonly string[]): Promise<ConversationEntry[]> {
    const items = await batchGetAll(this.client, this.tableName, [...new Set(conversationIds)].map((id) => entryKey(uri, id)));
    return items.map(toEntry);
  }

  async getMany(conversationIds: readonly string[]): Promise<Conversation[]> {
    const items = await batchGetAll(this.client, this.tableName, [...new Set(conversationIds)].map(conversationKey));
    return items.map(toConversation);
  }

  async recordMissed(uri: string, conversationId: string, ts: number, n?: number): Promise<void> {
    // The first miss stays: the note says since when the conversation waits for the user. `n` (the newest missed
    // message's number) only rises, so a delivery finishing late does not lower it.
    await this.conditionalUpdate({
      Key: missedKey(uri, conversationId),
      UpdateExpression: `SET conversationId = :id, since = if_not_exists(since, :ts)${n === undefined ? '' : ', n = :n'}`,
      ...(n === undefined ? {} : { ConditionExpression: 'attribute_not_exists(n) OR n < :n' }),
      ExpressionAttributeValues: { ':id': conversationId, ':ts': ts, ...(n === undefined ? {} : { ':n': n }) },
    });
  }

  async missed(uri: string, limit: number): Promise<string[]> {
    const page = await this.client.send(
      new QueryCommand({ TableName: this.tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': `IMMISSED#${uri}` }, ConsistentRead: true, Limit: limit }),
    );
    return (page.Items ?? []).sort((a, b) => Number(a.since) - Number(b.since)).map((item) => String(item.conversationId));
  }

  async clearMissed(uri: string, conversationId: string, readN?: number): Promise<void> {
    // With `readN`: a note of a message missed after the marker (a higher `n`) stays.
    const condition = readN === undefined ? {} : { ConditionExpression: 'attribute_not_exists(n) OR n <= :read', ExpressionAttributeValues: { ':read': readN } };
    await this.conditionalDelete(missedKey(uri, conversationId), condition);
  }

  async activeSince(uri: string, ts: number, pageSize = ACTIVE_SINCE_PAGE): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: TABLE_KEYS.gsi1.name,
          KeyConditionExpression: 'GSI1PK = :pk AND GSI1SK >= :from',
          ExpressionAttributeValues: { ':pk': `IMCONVS#${uri}`, ':from': padTs(ts) },
          ScanIndexForward: false,
          ExclusiveStartKey: start,
          Limit: pageSize,
        }),
      );
      ids.push(...(page.Items ?? []).map((item) => String(item.conversationId)));
      start = page.LastEvaluatedKey;
    } while (start);
    return ids;
  }

  async messagesFrom(conversationId: string, ts: number, limit: number): Promise<ImMessage[]> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        // `MSG$` is the first key after every `MSG#…`.
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': `CONV#${conversationId}`, ':from': `MSG#${padTs(ts)}`, ':to': 'MSG$' },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (page.Items ?? []).map(toMessage);
  }

  /**
   * The read-state items of a numbered message, in its transaction: its number by id, and each reader's entry
   * moved to it (the sender's marker too: their own message is read). The conversation's count orders the
   * transactions, so an entry is never moved back to an older message.
   */
  private readStateWrites(message: ImMessage, readers: readonly string[]): TransactItem[] {
    const n = message.n;
    if (n === undefined) return [];
    const last = { messageId: message.messageId, from: message.from, text: previewOf(message.text), ts: message.ts };
    return [
      { Put: { TableName: this.tableName, Item: { ...messageNumberKey(message.conversationId, message.messageId), n, ts: message.ts } } },
      ...readers.map((uri): TransactItem => ({
        Update: {
          TableName: this.tableName,
          Key: entryKey(uri, message.conversationId),
          UpdateExpression: `SET conversationId = :id, lastMessage = :last, lastN = :n, GSI1PK = :gpk, GSI1SK = :gsk${uri === message.from.uri ? ', readN = :n' : ''}`,
          ExpressionAttributeValues: {
            ':id': message.conversationId,
            ':last': last,
            ':n': n,
            ':gpk': `IMCONVS#${uri}`,
            ':gsk': `${padTs(message.ts)}#${message.conversationId}`,
          },
        },
      })),
    ];
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

  private async conditionalDelete(Key: Record<string, string>, condition: Omit<ConstructorParameters<typeof DeleteCommand>[0], 'TableName' | 'Key'>): Promise<void> {
    try {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key, ...condition }));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
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

function toEntry(item: Record<string, unknown>): ConversationEntry {
  return {
    conversationId: String(item.conversationId),
    lastMessage: item.lastMessage as ConversationEntry['lastMessage'],
    lastN: Number(item.lastN ?? 0),
    readN: Number(item.readN ?? 0),
  };
}

/** `im.conversations`' cursor: the last entry's GSI1 sort key (`{ts}#{conversationId}`). */
function decodeEntryCursor(cursor: string): string {
  const sortKey = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^\d{15}#./.test(sortKey)) throw new BadRequestError("field 'cursor': not a cursor this server gave", 'cursor');
  return sortKey;
}

function entryKeyFromCursor(uri: string, cursor: string): { PK: string; SK: string } {
  const sortKey = decodeEntryCursor(cursor);
  return entryKey(uri, sortKey.slice(sortKey.indexOf('#') + 1));
}

function toMessage(item: Record<string, unknown>): ImMessage {
  const { PK: _pk, SK: _sk, clientMsgId: _client, ...rest } = item;
  return rest as unknown as ImMessage;
}
