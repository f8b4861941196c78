import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '../../../infra/local/dynamodb';

/** A new table of the app's shape on DynamoDB Local (the integration project's global setup starts it). */
export interface FreshTable {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/**
 * Creates a fresh table for a contract run against a DynamoDB adapter, with the document client as the app builds
 * it (undefined values removed). `AWS_ENDPOINT_URL` (an external emulator) wins over DynamoDB Local.
 */
export async function freshTable(prefix: string): Promise<FreshTable> {
  const endpoint = process.env.AWS_ENDPOINT_URL ?? process.env.DYNAMODB_LOCAL_ENDPOINT;
  const raw = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const tableName = `uc-${prefix}-${randomUUID().slice(0, 8)}`;
  await ensureTable(raw, tableName);
  return { client: DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } }), tableName };
}
