import { DynamoComplianceOutbox } from '../../../shared/adapters/compliance-outbox-dynamodb';
import { DynamoConversationStore } from '../../../shared/adapters/conversation-store-dynamodb';
import type { ConversationStoreFixture } from '../../support/contracts/conversation-store.contract';
import { conversationStoreContract } from '../../support/contracts/conversation-store.contract';
import { conversationReadStateContract } from '../../support/contracts/conversation-read-state.contract';
import { freshTable } from '../../support/contracts/dynamodb-table';

/** The ConversationStore contract against `DynamoConversationStore` on DynamoDB Local (one fresh table: every test uses its own ids). */
let fixture: Promise<ConversationStoreFixture> | undefined;

conversationStoreContract(() => {
  fixture ??= freshTable('conversation-contract').then(({ client, tableName }) => ({
    store: new DynamoConversationStore(client, tableName),
    outbox: new DynamoComplianceOutbox(client, tableName),
  }));
  return fixture;
});

/** Its read-state promises (issue 22 item 3), on the same table. */
conversationReadStateContract(() => {
  fixture ??= freshTable('conversation-contract').then(({ client, tableName }) => ({
    store: new DynamoConversationStore(client, tableName),
    outbox: new DynamoComplianceOutbox(client, tableName),
  }));
  return fixture;
});
