import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoComplianceOutbox, outboxPut } from '../../../shared/adapters/compliance-outbox-dynamodb';
import { complianceOutboxContract } from '../../support/contracts/compliance-outbox.contract';
import { freshTable } from '../../support/contracts/dynamodb-table';

/**
 * The ComplianceOutbox contract against `DynamoComplianceOutbox` on DynamoDB Local, a fresh table per test (`due`
 * reads every shard); items written with `outboxPut` inside a transaction, as the stores' commands write them.
 */
complianceOutboxContract(async () => {
  const { client, tableName } = await freshTable('outbox-contract');
  return {
    outbox: new DynamoComplianceOutbox(client, tableName),
    write: async (event) => void (await client.send(new TransactWriteCommand({ TransactItems: [outboxPut(tableName, event)] }))),
  };
});
