import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ReadMarker } from '../chat/ports';
import { isConditionFailure } from './aws-errors';
import { ChatItems } from './chat-items-dynamodb';

/** A user's read state in a room, beside the room's followers: `ROOM#{roomId}` / `READ#{uri}`. */
export const readMarkerKey = (roomId: string, uri: string) => ({ PK: `ROOM#${roomId}`, SK: `READ#${uri}` });

/**
 * Read markers and mention counters (SPEC §9; docs/architecture.md, "Unread and mentions"): `readSeq` (a number that
 * only rises, by a conditional SET) and `mentionSeqs` (a number set: ADD of a post's seq is idempotent, DELETE of
 * passed seqs too, so neither a retried post nor two devices can make the count wrong or negative).
 */
export class DynamoReadMarkerItems extends ChatItems {
  async readMarkers(uri: string, roomIds: readonly string[]): Promise<Map<string, ReadMarker>> {
    const items = await this.batchGet([...new Set(roomIds)].map((roomId) => readMarkerKey(roomId, uri)));
    return new Map(items.map((item) => [String(item.PK).slice('ROOM#'.length), toMarker(item)]));
  }

  async startReading(roomId: string, uri: string, seq: number): Promise<ReadMarker> {
    // One request for every join (a join is answered with its counts): if_not_exists keeps a marker already there,
    // and two first joins racing both keep the one written first.
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: readMarkerKey(roomId, uri),
        UpdateExpression: 'SET readSeq = if_not_exists(readSeq, :seq)',
        ExpressionAttributeValues: { ':seq': seq },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toMarker(Attributes ?? {});
  }

  async markRead(roomId: string, uri: string, seq: number, now: number): Promise<{ moved: boolean; marker: ReadMarker }> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: readMarkerKey(roomId, uri),
          UpdateExpression: 'SET readSeq = :seq, readAt = :now',
          ConditionExpression: 'attribute_not_exists(readSeq) OR readSeq < :seq',
          ExpressionAttributeValues: { ':seq': seq, ':now': now },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { moved: true, marker: toMarker(Attributes ?? {}) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { moved: false, marker: toMarker((await this.get(roomId, uri)) ?? {}) };
    }
  }

  async recordMention(roomId: string, uri: string, seq: number, max: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: readMarkerKey(roomId, uri),
          UpdateExpression: 'ADD mentionSeqs :seqs',
          ConditionExpression: 'attribute_not_exists(mentionSeqs) OR size(mentionSeqs) < :max OR contains(mentionSeqs, :seq)',
          ExpressionAttributeValues: { ':seqs': new Set([seq]), ':seq': seq, ':max': max },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async pruneMentions(roomId: string, uri: string, seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: readMarkerKey(roomId, uri),
        // DELETE of set members that are not there, or of the last ones (the attribute goes), is no error.
        UpdateExpression: 'DELETE mentionSeqs :seqs',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':seqs': new Set(seqs) },
      }),
    ).catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
  }

  private async get(roomId: string, uri: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: readMarkerKey(roomId, uri), ConsistentRead: true }));
    return Item;
  }
}

function toMarker(item: Record<string, unknown>): ReadMarker {
  const seqs = item.mentionSeqs instanceof Set ? [...(item.mentionSeqs as Set<unknown>)].map(Number) : [];
  return { readSeq: typeof item.readSeq === 'number' ? item.readSeq : 0, mentionSeqs: seqs.sort((a, b) => a - b) };
}
