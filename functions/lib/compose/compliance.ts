import { sqsClient } from '../../../shared/adapters/aws-clients/sqs';
import { dynamoDocumentClient } from '../../../shared/adapters/aws-clients/dynamodb';
import { DynamoComplianceOutbox } from '../../../shared/adapters/compliance-outbox-dynamodb';
import { SqsQueue } from '../../../shared/adapters/sqs-queue';
import type { ComplianceQueue } from '../../../shared/compliance/ports';
import { CompliancePublisher } from '../../../shared/compliance/publisher';
import { type Config, requireSetting } from '../../../shared/config';
import type { Queue } from '../../../shared/ports';
import { complianceOnFirstUse } from './lazy';

let queue: Queue | undefined;
let compliance: ComplianceQueue | undefined;

/** The compliance queue on SQS (SPEC §7), once per process; its URL is read at the first send. */
export function complianceSqsQueue(config: Config): Queue {
  queue ??= {
    send: (body) => sqsQueue(config).send(body),
    sendBatch: (bodies) => sqsQueue(config).sendBatch(bodies),
  };
  return queue;
}

let sqs: SqsQueue | undefined;
function sqsQueue(config: Config): SqsQueue {
  sqs ??= new SqsQueue(sqsClient(config), requireSetting(config, 'COMPLIANCE_QUEUE_URL'));
  return sqs;
}

/** The use cases' compliance port: the queue and the outbox it clears (shared/compliance/publisher.ts). */
export function complianceQueue(config: Config): ComplianceQueue {
  compliance ??= complianceOnFirstUse(() => new CompliancePublisher(complianceSqsQueue(config), new DynamoComplianceOutbox(dynamoDocumentClient(config), config.TABLE_NAME)));
  return compliance;
}
