import { DynamoChatStore } from '../../../shared/adapters/chat-store-dynamodb';
import { readMarkerStoreContract } from '../../support/contracts/chat-read-markers.contract';
import { freshTable } from '../../support/contracts/dynamodb-table';

/** The read markers of `DynamoChatStore` (`ROOM#{roomId}` / `READ#{uri}`) on DynamoDB Local, one fresh table. */
describe('ReadMarkerStore contract (the read markers of ChatStore): DynamoChatStore on DynamoDB Local', () => {
  readMarkerStoreContract(async () => {
    const { client, tableName } = await freshTable('read-markers-contract');
    return new DynamoChatStore(client, tableName);
  });
});
