import {
  type BatchWriteCommandInput,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ChatFile, ChatMessage, ChatStore, CreateOutcome, DirectoryEntry, Invitation, Page, PostKey, PostRecord, PostResult } from '../chat/ports';
import { type AssociationRole, associationRoles, type Category, type Room } from '../chat/room';
import { BadRequestError } from '../errors';
import { TABLE_KEYS, ttlSeconds } from './dynamodb';
import { batchGetAll, batchWriteAll, queryAll, transactWrite } from './dynamodb-operations';
import { isConditionFailure } from './dynamodb-errors';

/** How long answers kept for retries (post, create) and unseen invitations live. */
const IDEMPOTENCY_RETENTION_MS = 24 * 3600 * 1000;
const INVITATION_RETENTION_MS = 30 * 24 * 3600 * 1000;
/** The directory partition listing every category's rooms, for a search without a category. */
const ALL_CATEGORIES = '*';

const roomKey = (roomId: string) => ({ PK: `ROOM#${roomId}`, SK: 'META' });
const seqKey = (seq: number) => `MSG#${String(seq).padStart(12, '0')}`;
const messageKey = (roomId: string, seq: number) => ({ PK: `ROOM#${roomId}`, SK: seqKey(seq) });
const followerKey = (roomId: string, uri: string) => ({ PK: `ROOM#${roomId}`, SK: `FOLLOWER#${uri}` });
const associationKey = (roomId: string, role: AssociationRole, uri: string) => ({ PK: `ROOM#${roomId}`, SK: `ROLE#${role}#${uri}` });
const directoryKey = (category: string, room: Pick<Room, 'name' | 'roomId'>) => ({ PK: `ROOMDIR#${category}`, SK: `${room.name.toLowerCase()}#${room.roomId}` });
const tokenPartition = (roomId: string, token: string) => `RTOK#${roomId}#${token}`;
const postKey = (key: PostKey) => ({ PK: `IDEM#${key.senderUri}#chat.grpchat#${key.roomId}#${key.clientMsgId}`, SK: 'IDEM' });
const createKey = (uri: string, clientId: string) => ({ PK: `IDEM#${uri}#room.create#${clientId}`, SK: 'IDEM' });
const categoryKey = (category: string) => ({ PK: `CATEGORY#${category}`, SK: 'META' });
const fileKey = (fileId: string) => ({ PK: `FILE#${fileId}`, SK: 'META' });

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/**
 * Persistent chat in the single table (docs/architecture.md lists every item and access pattern).
 * `ROOM#{id}` holds the room (`META`), its messages by seq, its followers and its association items;
 * the directory, the token index, invitations and idempotency records have partitions of their own.
 */
export class DynamoChatStore implements ChatStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getRoom(roomId: string): Promise<Room | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: roomKey(roomId), ConsistentRead: true }));
    return Item ? toRoom(Item) : undefined;
  }

  async getRooms(roomIds: readonly string[]): Promise<Room[]> {
    const items = await this.batchGet([...new Set(roomIds)].map(roomKey));
    return items.map(toRoom);
  }

  async replayCreate(creatorUri: string, clientId: string): Promise<string | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: createKey(creatorUri, clientId), ConsistentRead: true }));
    return typeof Item?.roomId === 'string' ? Item.roomId : undefined;
  }

  async createRoom(room: Room, clientId?: string): Promise<CreateOutcome> {
    const items: TransactItem[] = [
      { Put: { TableName: this.tableName, Item: { ...roomKey(room.roomId), ...room }, ConditionExpression: 'attribute_not_exists(PK)' } },
      ...this.directoryPuts(room),
    ];
    if (clientId) {
      items.push({
        Put: {
          TableName: this.tableName,
          Item: { ...createKey(room.createdBy, clientId), roomId: room.roomId, [TABLE_KEYS.ttlAttribute]: ttlSeconds(room.createdAt + IDEMPOTENCY_RETENTION_MS) },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      });
    }
    const failed = await this.transact(items);
    if (failed.length === 0) return { kind: 'created' };
    const earlier = clientId ? await this.replayCreate(room.createdBy, clientId) : undefined;
    if (earlier) return { kind: 'replayed', roomId: earlier };
    throw new Error(`creating room ${room.roomId} failed on item(s) ${failed.join(',')}`);
  }

  async updateRoom(seen: Room, next: Room): Promise<boolean> {
    // SET the definition only: `lastSeq` moves under concurrent posts and must never be written back.
    const items: TransactItem[] = [
      {
        Update: {
          TableName: this.tableName,
          Key: roomKey(seen.roomId),
          UpdateExpression:
            'SET #name = :name, description = :description, privacy = :privacy, #type = :type, members = :members, managers = :managers, presenters = :presenters, version = :next',
          ConditionExpression: 'version = :version',
          ExpressionAttributeNames: { '#name': 'name', '#type': 'type' },
          ExpressionAttributeValues: {
            ':name': next.name,
            ':description': next.description,
            ':privacy': next.privacy,
            ':type': next.type,
            ':members': [...next.members],
            ':managers': [...next.managers],
            ':presenters': [...next.presenters],
            ':next': next.version,
            ':version': seen.version,
          },
        },
      },
    ];
    const puts = this.directoryPuts(next);
    const putKeys = new Set(puts.map((put) => `${String(put.Put?.Item?.PK)}|${String(put.Put?.Item?.SK)}`));
    // Old entries whose key the new ones do not reuse (one transaction may not touch an item twice).
    const deletes = this.directoryKeys(seen)
      .filter((key) => !putKeys.has(`${key.PK}|${key.SK}`))
      .map((key): TransactItem => ({ Delete: { TableName: this.tableName, Key: key } }));
    const failed = await this.transact([...items, ...deletes, ...puts]);
    return failed.length === 0;
  }

  async deleteRoom(room: Room): Promise<void> {
    await this.client.send(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: this.tableName, Key: roomKey(room.roomId) } },
          ...this.directoryKeys(room).map((key): TransactItem => ({ Delete: { TableName: this.tableName, Key: key } })),
        ],
      }),
    );
    // The room is gone for every reader now; its indexes are cleared after (readers re-check the room).
    const followers = await this.queryAll({ KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)', ExpressionAttributeValues: { ':pk': `ROOM#${room.roomId}`, ':prefix': 'FOLLOWER#' } });
    await this.batchWrite([
      ...followers.map((item): WriteRequest => ({ DeleteRequest: { Key: { PK: item.PK, SK: item.SK } } })),
      ...associationItems(room).map((item): WriteRequest => ({ DeleteRequest: { Key: { PK: item.PK, SK: item.SK } } })),
    ]);
  }

  async syncAssociations(room: Room, previous?: Room): Promise<void> {
    const wanted = associationItems(room);
    const wantedKeys = new Set(wanted.map((item) => item.SK));
    const before = previous ? associationItems(previous) : [];
    const beforeKeys = new Set(before.map((item) => item.SK));
    await this.batchWrite([
      ...before.filter((item) => !wantedKeys.has(item.SK)).map((item): WriteRequest => ({ DeleteRequest: { Key: { PK: item.PK, SK: item.SK } } })),
      ...wanted.filter((item) => !beforeKeys.has(item.SK)).map((item): WriteRequest => ({ PutRequest: { Item: item } })),
    ]);
  }

  async associations(uri: string, role: AssociationRole): Promise<string[]> {
    const items = await this.queryAll({
      IndexName: TABLE_KEYS.gsi1.name,
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': `ASSOC#${uri.toLowerCase()}#${role}` },
    });
    return items.map((item) => String(item.roomId));
  }

  async getCategory(category: string): Promise<Category | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: categoryKey(category) }));
    return Item ? { category: String(Item.category), creators: (Item.creators as string[] | undefined) ?? [] } : undefined;
  }

  async putCategory(category: Category): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...categoryKey(category.category), category: category.category, creators: [...category.creators] } }));
  }

  async directory(category: string | undefined, namePrefix: string, limit: number, cursor?: string): Promise<Page<DirectoryEntry>> {
    const pk = `ROOMDIR#${category ?? ALL_CATEGORIES}`;
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: namePrefix ? 'PK = :pk AND begins_with(SK, :prefix)' : 'PK = :pk',
        ExpressionAttributeValues: { ':pk': pk, ...(namePrefix ? { ':prefix': namePrefix } : {}) },
        // A start key outside the key condition is a ValidationException (a 500): a cursor of another query is a 400.
        ExclusiveStartKey: cursor ? { PK: pk, SK: decodeCursor(cursor, 'cursor', namePrefix) } : undefined,
        Limit: limit + 1,
      }),
    );
    const items = page.Items ?? [];
    const entries = items.slice(0, limit).map(toDirectoryEntry);
    const last = items[limit - 1];
    return items.length > limit && last ? { items: entries, cursor: encodeCursor(String(last.SK)) } : { items: entries };
  }

  async follow(roomId: string, uri: string, now: number): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...followerKey(roomId, uri), GSI1PK: `FOLLOWS#${uri}`, GSI1SK: `ROOM#${roomId}`, roomId, uri, followedAt: now },
      }),
    );
  }

  async unfollow(roomId: string, uri: string): Promise<boolean> {
    const { Attributes } = await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: followerKey(roomId, uri), ReturnValues: 'ALL_OLD' }));
    return Attributes !== undefined;
  }

  async followers(roomId: string): Promise<string[]> {
    const items = await this.queryAll({ KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)', ExpressionAttributeValues: { ':pk': `ROOM#${roomId}`, ':prefix': 'FOLLOWER#' } });
    return items.map((item) => String(item.uri));
  }

  async followedRooms(uri: string): Promise<string[]> {
    const items = await this.queryAll({ IndexName: TABLE_KEYS.gsi1.name, KeyConditionExpression: 'GSI1PK = :pk', ExpressionAttributeValues: { ':pk': `FOLLOWS#${uri}` } });
    return items.map((item) => String(item.roomId));
  }

  async getPost(key: PostKey): Promise<PostRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: postKey(key), ConsistentRead: true }));
    if (!Item) return undefined;
    return Item.status === 'done' ? { status: 'done', result: Item.result as PostResult } : { status: 'pending', reservedAt: Number(Item.reservedAt) };
  }

  async reservePost(key: PostKey, now: number, staleBefore: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...postKey(key), status: 'pending', reservedAt: now, [TABLE_KEYS.ttlAttribute]: ttlSeconds(now + IDEMPOTENCY_RETENTION_MS) },
          ConditionExpression: 'attribute_not_exists(PK) OR (#status = :pending AND reservedAt < :stale)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending', ':stale': staleBefore },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async releasePost(key: PostKey): Promise<void> {
    await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: postKey(key),
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': 'pending' },
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

  async putMessage(message: ChatMessage, tokens: readonly string[], completed?: { key: PostKey; result: PostResult }): Promise<void> {
    // The atomic counter gave this seq to this post alone, so the message needs no condition and rides in
    // the same BatchWriteItem as its search entries and its answer: a post is two write requests (seq, then
    // this), three with a client id (its reservation first).
    await this.batchWrite([
      { PutRequest: { Item: { ...messageKey(message.roomId, message.seq), ...message } } },
      ...(completed
        ? [
            {
              PutRequest: {
                Item: { ...postKey(completed.key), status: 'done', result: completed.result, [TABLE_KEYS.ttlAttribute]: ttlSeconds(completed.result.ts + IDEMPOTENCY_RETENTION_MS) },
              },
            },
          ]
        : []),
      ...tokens.map((token): WriteRequest => ({ PutRequest: { Item: { PK: tokenPartition(message.roomId, token), SK: String(message.seq).padStart(12, '0'), seq: message.seq } } })),
    ]);
  }

  async history(roomId: string, limit: number, before?: string): Promise<Page<ChatMessage>> {
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
    const items = page.Items ?? [];
    const messages = items.slice(0, limit).map(toMessage);
    const last = items[limit - 1];
    return items.length > limit && last ? { items: messages, cursor: encodeCursor(String(last.SK)) } : { items: messages };
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

  async seqsWithToken(roomId: string, token: string, limit: number): Promise<number[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': tokenPartition(roomId, token) },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => Number(item.seq));
  }

  async messagesAt(roomId: string, seqs: readonly number[]): Promise<ChatMessage[]> {
    return (await this.batchGet(seqs.map((seq) => messageKey(roomId, seq)))).map(toMessage);
  }

  async putFile(file: ChatFile): Promise<void> {
    // File ids are fresh random ids: the condition only guards against overwriting another file's record.
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...fileKey(file.fileId), ...file }, ConditionExpression: 'attribute_not_exists(PK)' }));
  }

  async getFile(fileId: string): Promise<ChatFile | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: fileKey(fileId), ConsistentRead: true }));
    if (!Item) return undefined;
    const { PK: _pk, SK: _sk, ...rest } = Item;
    return rest as ChatFile;
  }

  async putInvitations(uris: readonly string[], invitation: Invitation): Promise<void> {
    await this.batchWrite(
      uris.map(
        (uri): WriteRequest => ({
          PutRequest: {
            Item: {
              PK: `INV#${uri}`,
              SK: `${String(invitation.invitedAt).padStart(15, '0')}#${invitation.roomId}`,
              ...invitation,
              [TABLE_KEYS.ttlAttribute]: ttlSeconds(invitation.invitedAt + INVITATION_RETENTION_MS),
            },
          },
        }),
      ),
    );
  }

  async takeUnseenInvitations(uri: string, now: number): Promise<Invitation[]> {
    const items = await this.queryAll({
      KeyConditionExpression: 'PK = :pk',
      FilterExpression: 'attribute_not_exists(seenAt)',
      ExpressionAttributeValues: { ':pk': `INV#${uri}` },
    });
    await Promise.all(
      items.map((item) =>
        this.client.send(new UpdateCommand({ TableName: this.tableName, Key: { PK: item.PK, SK: item.SK }, UpdateExpression: 'SET seenAt = :now', ExpressionAttributeValues: { ':now': now } })),
      ),
    );
    return items.map((item) => ({
      roomId: String(item.roomId),
      roomName: String(item.roomName),
      from: item.from as Invitation['from'],
      invitedAt: Number(item.invitedAt),
    }));
  }

  /** Secret rooms are never listed: only their members find them (through their associations). */
  private directoryKeys(room: Room): { PK: string; SK: string }[] {
    if (room.privacy === 'secret') return [];
    return [directoryKey(room.category, room), directoryKey(ALL_CATEGORIES, room)];
  }

  private directoryPuts(room: Room): TransactItem[] {
    const entry: DirectoryEntry = { roomId: room.roomId, name: room.name, description: room.description, category: room.category, privacy: room.privacy };
    return this.directoryKeys(room).map((key) => ({ Put: { TableName: this.tableName, Item: { ...key, ...entry } } }));
  }

  private queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Record<string, unknown>[]> {
    return queryAll(this.client, { TableName: this.tableName, ...input });
  }

  private batchGet(keys: readonly { PK: string; SK: string }[]): Promise<Record<string, unknown>[]> {
    return batchGetAll(this.client, this.tableName, keys);
  }

  private batchWrite(requests: readonly WriteRequest[]): Promise<void> {
    return batchWriteAll(this.client, this.tableName, requests);
  }

  private transact(items: TransactItem[]): Promise<number[]> {
    return transactWrite(this.client, items);
  }
}

/** One item per role the user holds: `ROOM#{id}` / `ROLE#{role}#{uri}`, found by user through GSI1. */
function associationItems(room: Room): Record<string, string>[] {
  return associationRoles.flatMap((role) =>
    (role === 'member' ? room.members : role === 'manager' ? room.managers : room.presenters).map((uri) => ({
      ...associationKey(room.roomId, role, uri),
      GSI1PK: `ASSOC#${uri}#${role}`,
      GSI1SK: `ROOM#${room.roomId}`,
      roomId: room.roomId,
    })),
  );
}

function encodeCursor(sortKey: string): string {
  return Buffer.from(sortKey, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, field: string, prefix = ''): string {
  const sortKey = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!sortKey.startsWith(prefix) || sortKey.length === 0) throw new BadRequestError(`field '${field}': not a cursor this server gave`, field);
  return sortKey;
}

function toRoom(item: Record<string, unknown>): Room {
  const { PK: _pk, SK: _sk, ...rest } = item;
  return { ...(rest as unknown as Room), lastSeq: Number(item.lastSeq ?? 0) };
}

function toMessage(item: Record<string, unknown>): ChatMessage {
  const { PK: _pk, SK: _sk, ...rest } = item;
  return rest as unknown as ChatMessage;
}

function toDirectoryEntry(item: Record<string, unknown>): DirectoryEntry {
  return {
    roomId: String(item.roomId),
    name: String(item.name),
    description: String(item.description),
    category: String(item.category),
    privacy: item.privacy as DirectoryEntry['privacy'],
  };
}
