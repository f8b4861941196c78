import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import type { FanOutShard, ShardDelivery } from '../../shared/connections/fanout';
import { logger } from './logger';
import { recordFanOut } from './observability';

const shardSchema = z.object({
  shardId: z.string().min(1),
  frame: z.string().min(2),
  connectionIds: z.array(z.string().min(1)).min(1),
});

/** A queue message as a shard; one that is not a shard fails alone and ends in the dead-letter queue. */
export function parseShard(record: SQSRecord): FanOutShard {
  const parsed = shardSchema.safeParse(JSON.parse(record.body));
  if (!parsed.success) throw new Error(`fan-out message ${record.messageId} is not a shard: ${parsed.error.issues[0]?.path.join('.')}`);
  return parsed.data;
}

/**
 * The fan-out queue's consumer (docs/architecture.md, "Fan-out tier"): each record is one shard, and the
 * records of a batch are posted in parallel. A shard that fails is reported alone (partial batch response): SQS
 * retries that shard only, which skips the connections its failed attempt recorded as done; after
 * FANOUT_MAX_RECEIVE_COUNT attempts it goes to the dead-letter queue (docs/operations.md).
 */
export function makeFanOutWorker(shards: Pick<ShardDelivery, 'deliver'>) {
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    const shard = parseShard(record);
    const retried = Number(record.attributes.ApproximateReceiveCount ?? '1') > 1;
    const started = performance.now();
    try {
      const report = await shards.deliver(shard, retried);
      logger.debug('fan-out shard', { shardId: shard.shardId, ...report });
    } catch (error) {
      logger.warn('fan-out shard failed; SQS retries it', { shardId: shard.shardId, receiveCount: record.attributes.ApproximateReceiveCount, error: String(error) });
      throw error;
    } finally {
      recordFanOut(shard.connectionIds.length, performance.now() - started);
    }
  };
  // A processor per invocation: it holds the batch's records and failures, and the local cloud runs several
  // invocations of one handler at once in one process (Lambda runs one per instance).
  return (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });
}
