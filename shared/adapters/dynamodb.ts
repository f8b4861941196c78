import { type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../config';

/**
 * The single table's keys. Items are addressed by PK/SK; GSI1 serves the inverted lookups
 * (a user's connections, ...). Every access pattern is listed in docs/architecture.md.
 */
export const TABLE_KEYS = {
  partitionKey: 'PK',
  sortKey: 'SK',
  gsi1: { name: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK' },
  ttlAttribute: 'ttl',
} as const;

/** CreateTable input for the local cloud and tests; the CDK stateful stack declares the same keys. */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey, gsi1 } = TABLE_KEYS;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: partitionKey, AttributeType: 'S' },
      { AttributeName: sortKey, AttributeType: 'S' },
      { AttributeName: gsi1.partitionKey, AttributeType: 'S' },
      { AttributeName: gsi1.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: gsi1.name,
        KeySchema: [
          { AttributeName: gsi1.partitionKey, KeyType: 'HASH' },
          { AttributeName: gsi1.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

let documentClient: DynamoDBDocumentClient | undefined;

/**
 * One client per process (module scope in Lambda). The endpoint comes from AWS_ENDPOINT_URL when set; a hung
 * request times out and the attempts are bounded (DYNAMODB_REQUEST_TIMEOUT_MS, DYNAMODB_MAX_ATTEMPTS).
 */
export function dynamoDocumentClient(): DynamoDBDocumentClient {
  if (documentClient) return documentClient;
  const config = loadConfig();
  const agent = { keepAlive: true, maxSockets: 256 };
  const client = new DynamoDBClient({
    maxAttempts: config.DYNAMODB_MAX_ATTEMPTS,
    requestHandler: {
      httpAgent: agent,
      httpsAgent: agent,
      requestTimeout: config.DYNAMODB_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
      connectionTimeout: config.SDK_CONNECT_TIMEOUT_MS,
    },
  });
  documentClient = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return documentClient;
}

/** Epoch seconds for the TTL attribute: TTL deletes late, so code checks `expiresAt` itself. */
export function ttlSeconds(epochMs: number): number {
  return Math.ceil(epochMs / 1000);
}
