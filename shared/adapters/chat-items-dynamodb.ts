import {
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { ChatMessage, Page, PostKey } from '../chat/ports';
import type { AssociationRole, Room } from '../chat/room';
import { BadRequestError } from '../errors';
import { decodeKeyCursor, encodeKeyCursor } from '../protocol/cursor';
import type { PageFit } from '../protocol/frame-fit';
import { batchGetAll, batchWriteAll, queryAll, transactWrite } from './dynamodb-operations';

/**
 * The chat items of the single table (docs/architecture.md lists every item and access pattern): their keys, the
 * conversions back to the domain, and the table operations every part of `DynamoChatStore` shares.
 */
/** How long answers kept for retries (post, create) and unseen invitations live. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 3600 * 1000;
export const INVITATION_RETENTION_MS = 30 * 24 * 3600 * 1000;
/** The directory partition listing every category's rooms, for a search without a category. */
export const ALL_CATEGORIES = '*';

export const roomKey = (roomId: string) => ({ PK: `ROOM#${roomId}`, SK: 'META' });
export const seqKey = (seq: number) => `MSG#${String(seq).padStart(12, '0')}`;
export const messageKey = (roomId: string, seq: number) => ({ PK: `ROOM#${roomId}`, SK: seqKey(seq) });
/** A message id's pointer to its seq (`chat.edit`, `chat.retract` name a message by id); outside the `MSG#` range history reads. */
export const messageIdKey = (roomId: string, messageId: string) => ({ PK: `ROOM#${roomId}`, SK: `MID#${messageId}` });
export const followerKey = (roomId: string, uri: string) => ({ PK: `ROOM#${roomId}`, SK: `FOLLOWER#${uri}` });
export const associationKey = (roomId: string, role: AssociationRole, uri: string) => ({ PK: `ROOM#${roomId}`, SK: `ROLE#${role}#${uri}` });
export const directoryKey = (category: string, room: Pick<Room, 'name' | 'roomId'>) => ({ PK: `ROOMDIR#${category}`, SK: `${room.name.toLowerCase()}#${room.roomId}` });
export const tokenPartition = (roomId: string, token: string) => `RTOK#${roomId}#${token}`;
export const postKey = (key: PostKey) => ({ PK: `IDEM#${key.senderUri}#chat.grpchat#${key.roomId}#${key.clientMsgId}`, SK: 'IDEM' });
export const createKey = (uri: string, clientId: string) => ({ PK: `IDEM#${uri}#room.create#${clientId}`, SK: 'IDEM' });
export const categoryKey = (category: string) => ({ PK: `CATEGORY#${category}`, SK: 'META' });
export const fileKey = (fileId: string) => ({ PK: `FILE#${fileId}`, SK: 'META' });

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
export type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** One part of the chat store over the table (rooms, followers, invitations, posts, messages, files). */
export abstract class ChatItems {
  constructor(
    protected readonly client: DynamoDBDocumentClient,
    protected readonly tableName: string,
  ) {}

  /** Items of a query counted (keys only, COUNT) up to `atMost`: the quota checks' bounded read. */
  protected async countUpTo(input: Omit<QueryCommandInput, 'TableName'>, atMost: number): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({ TableName: this.tableName, ...input, Select: 'COUNT', Limit: atMost - count, ExclusiveStartKey: start }));
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start && count < atMost);
    return count;
  }

  protected queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Record<string, unknown>[]> {
    return queryAll(this.client, { TableName: this.tableName, ...input });
  }

  protected batchGet(keys: readonly { PK: string; SK: string }[]): Promise<Record<string, unknown>[]> {
    return batchGetAll(this.client, this.tableName, keys);
  }

  protected batchWrite(requests: readonly WriteRequest[]): Promise<void> {
    return batchWriteAll(this.client, this.tableName, requests);
  }

  protected transact(items: TransactItem[]): Promise<number[]> {
    return transactWrite(this.client, items);
  }
}

/**
 * A page of `limit` items out of a query that asked for one more: cut further by `fit` (the answer's byte budget),
 * with the cursor after the last item kept whenever items remain.
 */
export function cutPage<T>(items: Record<string, unknown>[], limit: number, convert: (item: Record<string, unknown>) => T, fit?: PageFit<T>): Page<T> {
  const page = items.slice(0, limit).map(convert);
  const kept = fit ? fit(page) : page.length;
  const last = items[kept - 1];
  return items.length > kept && last ? { items: page.slice(0, kept), cursor: encodeKeyCursor(String(last.SK)) } : { items: page };
}

/** The sort key a page's cursor carries; a 400 naming `field` for a cursor of another query (outside `prefix`). */
export function decodeCursor(cursor: string, field: string, prefix = ''): string {
  const sortKey = decodeKeyCursor(cursor, field);
  if (!sortKey.startsWith(prefix)) throw new BadRequestError(`field '${field}': not a cursor this server gave`, field);
  return sortKey;
}

export function toMessage(item: Record<string, unknown>): ChatMessage {
  const { PK: _pk, SK: _sk, ...rest } = item;
  return rest as unknown as ChatMessage;
}
