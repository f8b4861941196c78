import { DynamoComplianceOutbox } from '../../../shared/adapters/compliance-outbox-dynamodb';
import { DynamoConferenceStore } from '../../../shared/adapters/conference-store-dynamodb';
import { type ConferenceStoreFixture, conferenceStoreContract } from '../../support/contracts/conference-store.contract';
import { freshTable } from '../../support/contracts/dynamodb-table';

/** The ConferenceStore contract against `DynamoConferenceStore` on DynamoDB Local (one fresh table: every test uses its own ids). */
let fixture: Promise<ConferenceStoreFixture> | undefined;

conferenceStoreContract(() => {
  fixture ??= freshTable('conference-contract').then(({ client, tableName }) => ({
    store: new DynamoConferenceStore(client, tableName),
    outbox: new DynamoComplianceOutbox(client, tableName),
  }));
  return fixture;
});
