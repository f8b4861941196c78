import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Invitation } from '../chat/ports';
import type { PageFit } from '../protocol/frame-fit';
import { TABLE_KEYS, ttlSeconds } from './dynamodb';
import { ChatItems, INVITATION_RETENTION_MS, type WriteRequest } from './chat-items-dynamodb';

/** Invitations (`INV#{uri}`), and the sparse unseen-invitations index (GSI1 `INVUNSEEN#{uri}`) that MAX_PENDING_INVITATIONS counts. */
export class DynamoInvitationItems extends ChatItems {
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

  async holdsInvitation(uri: string, roomId: string): Promise<boolean> {
    return (await this.invitationsTo(uri, roomId)).length > 0;
  }

  async removeInvitations(uri: string, roomId: string): Promise<void> {
    const held = await this.invitationsTo(uri, roomId);
    await this.batchWrite(held.map((item): WriteRequest => ({ DeleteRequest: { Key: { PK: item.PK, SK: item.SK } } })));
  }

  /** The user's invitations to the room, seen or not: one query of `INV#{uri}` (the last 30 days'), filtered on the room. */
  private invitationsTo(uri: string, roomId: string): Promise<Record<string, unknown>[]> {
    return this.queryAll({
      KeyConditionExpression: 'PK = :pk',
      FilterExpression: 'roomId = :roomId',
      ExpressionAttributeValues: { ':pk': `INV#${uri}`, ':roomId': roomId },
      ProjectionExpression: 'PK, SK',
    });
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
}

function toInvitation(item: Record<string, unknown>): Invitation {
  return { roomId: String(item.roomId), roomName: String(item.roomName), from: item.from as Invitation['from'], invitedAt: Number(item.invitedAt) };
}
