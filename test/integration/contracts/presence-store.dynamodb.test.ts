import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '../../../infra/local/dynamodb';
import { DynamoPresenceStore } from '../../../shared/adapters/presence-store-dynamodb';
import { presenceStoreContract } from '../../support/contracts/presence-store.contract';

describe('PresenceStore contract: DynamoPresenceStore on DynamoDB Local', () => {
  presenceStoreContract(async () => {
    const endpoint = process.env.AWS_ENDPOINT_URL ?? process.env.DYNAMODB_LOCAL_ENDPOINT;
    const raw = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const tableName = `uc-presence-contract-${randomUUID().slice(0, 8)}`;
    await ensureTable(raw, tableName);
    // Pages of 100 (1,000 in production): the contract's 101 watchers then span two pages.
    return new DynamoPresenceStore(DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } }), tableName, 100);
  });
});
