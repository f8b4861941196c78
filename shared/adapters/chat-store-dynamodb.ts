import {
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ChatFile, ChatMessage, ChatStore, CreateOutcome, DirectoryEntry, Invitation, Page, PostKey, PostRecord, PostReservation, PostResult } from '../chat/ports';
import { type AssociationRole, associationRoles, type Category, type Room } from '../chat/room';
import type { ComplianceEvent } from '../compliance/event';
import { BadRequestError } from '../errors';
import type { PageFit } from '../protocol/frame-fit';
import { outboxPut } from './compliance-outbox-dynamodb';
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

  async directory(category: string | undefined, namePrefix: string, limit: number, cursor?: string, fit?: PageFit<DirectoryEntry>): Promise<Page<DirectoryEntry>> {
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
    return cutPage(page.Items ?? [], limit, toDirectoryEntry, fit);
  }

  async follow(roomId: string, uri: string, now: number, event: ComplianceEvent): Promise<void> {
    // No check of the room item here: that is the hot item every post's counter updates. A join racing a
    // room.update that takes access away may leave a follower item behind; live delivery checks the room
    // itself (ChatService.fanOut), so it carries nothing, and the user can still part it.
    await this.transact([
      { Put: { TableName: this.tableName, Item: { ...followerKey(roomId, uri), GSI1PK: `FOLLOWS#${uri}`, GSI1SK: `ROOM#${roomId}`, roomId, uri, followedAt: now } } },
      outboxPut(this.tableName, event),
    ]);
  }

  async unfollow(roomId: string, uri: string, event: ComplianceEvent): Promise<boolean> {
    const failed = await this.transact([
      { Delete: { TableName: this.tableName, Key: followerKey(roomId, uri), ConditionExpression: 'attribute_exists(PK)' } },
      outboxPut(this.tableName, event),
    ]);
    return failed.length === 0;
  }

  async followers(roomId: string): Promise<string[]> {
    const items = await this.queryAll({ KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)', ExpressionAttributeValues: { ':pk': `ROOM#${roomId}`, ':prefix': 'FOLLOWER#' } });
    return items.map((item) => String(item.uri));
  }

  async followedRooms(uri: string): Promise<string[]> {
    const items = await this.queryAll({ IndexName: TABLE_KEYS.gsi1.name, KeyConditionExpression: 'GSI1PK = :pk', ExpressionAttributeValues: { ':pk': `FOLLOWS#${uri}` } });
    return items.map((item) => String(item.roomId));
  }

  async isFollowing(roomId: string, uri: string): Promise<boolean> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: followerKey(roomId, uri), ProjectionExpression: 'PK' }));
    return Item !== undefined;
  }

  async countFollowed(uri: string, atMost: number): Promise<number> {
    return this.countUpTo({ IndexName: TABLE_KEYS.gsi1.name, KeyConditionExpression: 'GSI1PK = :pk', ExpressionAttributeValues: { ':pk': `FOLLOWS#${uri}` } }, atMost);
  }

  async countAssociations(uri: string, role: AssociationRole, atMost: number): Promise<number> {
    return this.countUpTo(
      { IndexName: TABLE_KEYS.gsi1.name, KeyConditionExpression: 'GSI1PK = :pk', ExpressionAttributeValues: { ':pk': `ASSOC#${uri.toLowerCase()}#${role}` } },
      atMost,
    );
  }

  async takeFileSlot(roomId: string, max: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: roomKey(roomId),
          UpdateExpression: 'ADD fileCount :one',
          ConditionExpression: 'attribute_exists(PK) AND (attribute_not_exists(fileCount) OR fileCount < :max)',
          ExpressionAttributeValues: { ':one': 1, ':max': max },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Items of a query counted (keys only, COUNT) up to `atMost`: the quota checks' bounded read. */
  private async countUpTo(input: Omit<QueryCommandInput, 'TableName'>, atMost: number): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({ TableName: this.tableName, ...input, Select: 'COUNT', Limit: atMost - count, ExclusiveStartKey: start }));
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start && count < atMost);
    return count;
  }

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

  async indexMessage(message: ChatMessage, tokens: readonly string[]): Promise<void> {
    await this.batchWrite(
      tokens.map((token): WriteRequest => ({ PutRequest: { Item: { PK: tokenPartition(message.roomId, token), SK: String(message.seq).padStart(12, '0'), seq: message.seq } } })),
    );
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
              // The unseen-invitations index (sparse: `chat.getinv` removes these keys), counted by MAX_PENDING_INVITATIONS.
              GSI1PK: `INVUNSEEN#${uri}`,
              GSI1SK: `ROOM#${invitation.roomId}#${String(invitation.invitedAt).padStart(15, '0')}`,
              ...invitation,
              [TABLE_KEYS.ttlAttribute]: ttlSeconds(invitation.invitedAt + INVITATION_RETENTION_MS),
            },
          },
        }),
      ),
    );
  }

  async countUnseenInvitations(uri: string, atMost: number): Promise<number> {
    return this.countUpTo({ IndexName: TABLE_KEYS.gsi1.name, KeyConditionExpression: 'GSI1PK = :pk', ExpressionAttributeValues: { ':pk': `INVUNSEEN#${uri}` } }, atMost);
  }

  async holdsUnseenInvitation(uri: string, roomId: string): Promise<boolean> {
    const { Count } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: TABLE_KEYS.gsi1.name,
        KeyConditionExpression: 'GSI1PK = :pk AND begins_with(GSI1SK, :room)',
        ExpressionAttributeValues: { ':pk': `INVUNSEEN#${uri}`, ':room': `ROOM#${roomId}#` },
        Select: 'COUNT',
        Limit: 1,
      }),
    );
    return (Count ?? 0) > 0;
  }

  async takeUnseenInvitations(uri: string, now: number, fit?: PageFit<Invitation>): Promise<{ invitations: Invitation[]; more: boolean }> {
    const unseen = await this.queryAll({
      KeyConditionExpression: 'PK = :pk',
      FilterExpression: 'attribute_not_exists(seenAt)',
      ExpressionAttributeValues: { ':pk': `INV#${uri}` },
    });
    // Only those answered are marked seen: the rest come with the next call.
    const kept = fit ? fit(unseen.map(toInvitation)) : unseen.length;
    const items = unseen.slice(0, kept);
    await Promise.all(
      items.map((item) =>
        this.client.send(new UpdateCommand({ TableName: this.tableName, Key: { PK: item.PK, SK: item.SK }, UpdateExpression: 'SET seenAt = :now REMOVE GSI1PK, GSI1SK', ExpressionAttributeValues: { ':now': now } })),
      ),
    );
    return { invitations: items.map(toInvitation), more: kept < unseen.length };
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

/**
 * A page of `limit` items out of a query that asked for one more: cut further by `fit` (the answer's byte budget),
 * with the cursor after the last item kept whenever items remain.
 */
function cutPage<T>(items: Record<string, unknown>[], limit: number, convert: (item: Record<string, unknown>) => T, fit?: PageFit<T>): Page<T> {
  const page = items.slice(0, limit).map(convert);
  const kept = fit ? fit(page) : page.length;
  const last = items[kept - 1];
  return items.length > kept && last ? { items: page.slice(0, kept), cursor: encodeCursor(String(last.SK)) } : { items: page };
}

function toInvitation(item: Record<string, unknown>): Invitation {
  return { roomId: String(item.roomId), roomName: String(item.roomName), from: item.from as Invitation['from'], invitedAt: Number(item.invitedAt) };
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
