import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ChatFile } from '../chat/ports';
import { isConditionFailure } from './aws-errors';
import { ChatItems, fileKey, roomKey } from './chat-items-dynamodb';

/** File records (`FILE#{id}`) and the room's file slots (`fileCount` on its `META` item, for MAX_FILES_PER_ROOM). */
export class DynamoFileItems extends ChatItems {
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
}
