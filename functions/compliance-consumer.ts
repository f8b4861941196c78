import { systemClock } from '../shared/adapters/clock';
import { DynamoComplianceStore } from '../shared/adapters/compliance-store-dynamodb';
import { dynamoDocumentClient } from '../shared/adapters/dynamodb';
import { loadConfig } from '../shared/config';
import { makeComplianceConsumer } from './lib/compliance-consumer-handler';
import { lambdaHandler } from './lib/observability';

export { makeComplianceConsumer };

/** The compliance queue's consumer (SQS event source); the logic is in ./lib/compliance-consumer-handler.ts. */
const config = loadConfig();
export const handler = lambdaHandler(makeComplianceConsumer(new DynamoComplianceStore(dynamoDocumentClient(), config.TABLE_NAME, systemClock)));
