import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { complianceEventSchema } from '../../shared/compliance/event';
import type { ComplianceStore } from '../../shared/compliance/ports';
import { logger } from './logger';

/**
 * The compliance queue's consumer: each message is stored once (a redelivery or a retried command is a
 * duplicate and counts as done). A message that fails is reported alone (partial batch response), so the
 * rest of the batch is not redelivered; a message that never parses ends in the dead-letter queue.
 */
export function makeComplianceConsumer(store: ComplianceStore) {
  const processor = new BatchProcessor(EventType.SQS);
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    const parsed = complianceEventSchema.safeParse(JSON.parse(record.body));
    if (!parsed.success) {
      throw new Error(`compliance message ${record.messageId} is not an event: ${parsed.error.issues[0]?.path.join('.')}`);
    }
    const outcome = await store.record(parsed.data);
    logger.debug('compliance event', { eventId: parsed.data.eventId, outcome });
  };
  return (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false });
}
