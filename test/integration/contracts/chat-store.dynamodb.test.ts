import { DynamoChatStore } from '../../../shared/adapters/chat-store-dynamodb';
import { DynamoComplianceOutbox } from '../../../shared/adapters/compliance-outbox-dynamodb';
import { type ChatStoreFixture, chatStoreContract } from '../../support/contracts/chat-store.contract';
import { freshTable } from '../../support/contracts/dynamodb-table';

/** The ChatStore contract against `DynamoChatStore` on DynamoDB Local (one fresh table: every test uses its own ids). */
let fixture: Promise<ChatStoreFixture> | undefined;

describe('ChatStore contract: DynamoChatStore on DynamoDB Local', () => {
  chatStoreContract(() => {
    fixture ??= freshTable('chat-contract').then(({ client, tableName }) => ({
      store: new DynamoChatStore(client, tableName),
      outbox: new DynamoComplianceOutbox(client, tableName),
    }));
    return fixture;
  });
});
