import { DynamoComplianceStore } from '../../../shared/adapters/compliance-store-dynamodb';
import { complianceStoreContract } from '../../support/contracts/compliance-store.contract';
import { freshTable } from '../../support/contracts/dynamodb-table';

/** The compliance store's contract against `DynamoComplianceStore` on DynamoDB Local: a fresh table per test (the lease and pending events are table-wide). */
complianceStoreContract(async () => {
  const { client, tableName } = await freshTable('compliance-contract');
  return new DynamoComplianceStore(client, tableName, { now: () => 1_800_000_000_000 });
});
