import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { CreateOutcome, DirectoryEntry, Page } from '../chat/ports';
import { type AssociationRole, associationRoles, type Category, type Room } from '../chat/room';
import type { PageFit } from '../protocol/frame-fit';
import { TABLE_KEYS, ttlSeconds } from './dynamodb';
import {
  ALL_CATEGORIES,
  associationKey,
  categoryKey,
  ChatItems,
  createKey,
  cutPage,
  decodeCursor,
  directoryKey,
  IDEMPOTENCY_RETENTION_MS,
  roomKey,
  type TransactItem,
  type WriteRequest,
} from './chat-items-dynamodb';

/** Rooms (`ROOM#{id}` / `META`), their create records, directory entries and association items, and categories. */
export class DynamoRoomItems extends ChatItems {
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

  async countAssociations(uri: string, role: AssociationRole, atMost: number): Promise<number> {
    return this.countUpTo(
      { IndexName: TABLE_KEYS.gsi1.name, KeyConditionExpression: 'GSI1PK = :pk', ExpressionAttributeValues: { ':pk': `ASSOC#${uri.toLowerCase()}#${role}` } },
      atMost,
    );
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

  /** Secret rooms are never listed: only their members find them (through their associations). */
  private directoryKeys(room: Room): { PK: string; SK: string }[] {
    if (room.privacy === 'secret') return [];
    return [directoryKey(room.category, room), directoryKey(ALL_CATEGORIES, room)];
  }

  private directoryPuts(room: Room): TransactItem[] {
    const entry: DirectoryEntry = { roomId: room.roomId, name: room.name, description: room.description, category: room.category, privacy: room.privacy };
    return this.directoryKeys(room).map((key) => ({ Put: { TableName: this.tableName, Item: { ...key, ...entry } } }));
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

function toRoom(item: Record<string, unknown>): Room {
  const { PK: _pk, SK: _sk, ...rest } = item;
  return { ...(rest as unknown as Room), lastSeq: Number(item.lastSeq ?? 0) };
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
