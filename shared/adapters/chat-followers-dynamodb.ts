import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Page } from '../chat/ports';
import type { ComplianceEvent } from '../compliance/event';
import { outboxPut } from './compliance-outbox-dynamodb';
import { TABLE_KEYS } from './dynamodb';
import { ChatItems, cutPage, decodeCursor, followerKey } from './chat-items-dynamodb';

/** Who follows a room: `ROOM#{id}` / `FOLLOWER#{uri}`, found by user through GSI1 (`FOLLOWS#{uri}`). */
export class DynamoFollowerItems extends ChatItems {
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

  async followersPage(roomId: string, limit: number, cursor?: string): Promise<Page<string>> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': `ROOM#${roomId}`, ':prefix': 'FOLLOWER#' },
        ExclusiveStartKey: cursor ? { PK: `ROOM#${roomId}`, SK: decodeCursor(cursor, 'cursor', 'FOLLOWER#') } : undefined,
        Limit: limit + 1,
        ProjectionExpression: 'SK, uri',
      }),
    );
    return cutPage(page.Items ?? [], limit, (item) => String(item.uri));
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
}
