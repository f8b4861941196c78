import { startDynamoDbLocal } from '../../infra/local/dynamodb';

/**
 * One DynamoDB Local for the whole integration run (it takes seconds to start); each test file starts its
 * own local cloud on a free port with its own table and configuration. With AWS_ENDPOINT_URL set, the
 * tests run against that endpoint instead and nothing is started here.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.AWS_ENDPOINT_URL) return;
  const dynamo = await startDynamoDbLocal();
  process.env.DYNAMODB_LOCAL_ENDPOINT = dynamo.endpoint;
  (globalThis as { __dynamoDbLocal?: typeof dynamo }).__dynamoDbLocal = dynamo;
}
