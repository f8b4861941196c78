import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../config';
import { translateAwsErrors } from '../aws-errors';
import { KEEP_ALIVE_AGENT, requestHandler } from './options';

export type DynamoClientSettings = Pick<Config, 'DYNAMODB_MAX_ATTEMPTS' | 'DYNAMODB_REQUEST_TIMEOUT_MS' | 'SDK_CONNECT_TIMEOUT_MS'>;

let documentClient: DynamoDBDocumentClient | undefined;

/**
 * The table's client, one per process: a hung request times out and the attempts are bounded
 * (DYNAMODB_REQUEST_TIMEOUT_MS, DYNAMODB_MAX_ATTEMPTS); what still fails reaches the domain as its own error.
 */
export function dynamoDocumentClient(config: DynamoClientSettings): DynamoDBDocumentClient {
  if (documentClient) return documentClient;
  const client = new DynamoDBClient({
    maxAttempts: config.DYNAMODB_MAX_ATTEMPTS,
    requestHandler: requestHandler(config, config.DYNAMODB_REQUEST_TIMEOUT_MS, KEEP_ALIVE_AGENT),
  });
  translateAwsErrors(client, 'dynamodb');
  documentClient = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return documentClient;
}
