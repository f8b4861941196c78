import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { RoomWordPage } from '../chat/ports';
import type { Room } from '../chat/room';
import { indexedRoomWords } from '../chat/room-words';
import { encodeKeyCursor } from '../protocol/cursor';
import { ALL_CATEGORIES, ChatItems, decodeCursor, type WriteRequest } from './chat-items-dynamodb';

/** The partition of a category's (or `*`: every category's) room words. */
const wordPartition = (category: string) => `RWORD#${category}`;
const wordKey = (category: string, word: string, roomId: string) => ({ PK: wordPartition(category), SK: `${word}#${roomId}` });

/**
 * The word index of listed rooms (`chat.chansrch`, issue 22 item 6): `RWORD#{category}` and `RWORD#*` / `{word}#{roomId}`,
 * one item per distinct word of the room's name and description (./../chat/room-words.ts), a query on a word prefix.
 * Derived from the room and written after it (BatchWriteItem, idempotent); readers re-check the room.
 */
export class DynamoRoomWordItems extends ChatItems {
  async syncRoomWords(room: Room | undefined, previous?: Room): Promise<void> {
    const wanted = room ? keysOf(room) : [];
    const wantedKeys = new Set(wanted.map(({ key }) => `${key.PK}|${key.SK}`));
    const stale = previous ? keysOf(previous).filter(({ key }) => !wantedKeys.has(`${key.PK}|${key.SK}`)) : [];
    await this.batchWrite([
      ...stale.map(({ key }): WriteRequest => ({ DeleteRequest: { Key: key } })),
      ...wanted.map(({ key, word, roomId }): WriteRequest => ({ PutRequest: { Item: { ...key, word, roomId } } })),
    ]);
  }

  async roomsByWord(category: string | undefined, prefix: string, limit: number, after?: string): Promise<RoomWordPage> {
    const pk = wordPartition(category ?? ALL_CATEGORIES);
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
        // A position of another query is a 400 (a start key outside the key condition would be a 500).
        ExclusiveStartKey: after ? { PK: pk, SK: decodeCursor(after, 'cursor', prefix) } : undefined,
        Limit: limit + 1,
      }),
    );
    const items = page.Items ?? [];
    return {
      items: items.slice(0, limit).map((item) => ({ roomId: String(item.roomId), word: String(item.word), position: encodeKeyCursor(String(item.SK)) })),
      more: items.length > limit,
    };
  }
}

function keysOf(room: Room) {
  return indexedRoomWords(room).flatMap((word) => [room.category, ALL_CATEGORIES].map((category) => ({ key: wordKey(category, word, room.roomId), word, roomId: room.roomId })));
}
