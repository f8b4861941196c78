import { DynamoConnectionStore } from '../../../shared/adapters/connection-store-dynamodb';
import { connectionStoreContract } from '../../support/contracts/connection-store.contract';
import { type FreshTable, freshTable } from '../../support/contracts/dynamodb-table';

/** The ConnectionStore contract against `DynamoConnectionStore` on DynamoDB Local (one fresh table: every test uses its own users). */
let table: Promise<FreshTable> | undefined;

connectionStoreContract(async (clock) => {
  table ??= freshTable('connection-contract');
  const { client, tableName } = await table;
  return new DynamoConnectionStore(client, tableName, clock);
});
