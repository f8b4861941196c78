import { systemClock } from '../shared/adapters/clock';
import { DynamoComplianceStore } from '../shared/adapters/compliance-store-dynamodb';
import { dynamoDocumentClient } from '../shared/adapters/aws-clients/dynamodb';
import { processConfig } from './lib/compose/config';
import { makeComplianceConsumer } from './lib/compliance-consumer-handler';
import { lambdaHandler } from './lib/observability';

export { makeComplianceConsumer };

/** The compliance queue's consumer (SQS event source); the logic is in ./lib/compliance-consumer-handler.ts. */
const config = processConfig();
export const handler = lambdaHandler(makeComplianceConsumer(new DynamoComplianceStore(dynamoDocumentClient(config), config.TABLE_NAME, systemClock)));
