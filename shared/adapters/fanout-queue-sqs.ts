import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { FanOutQueue, FanOutShard } from '../connections/fanout';
import { sqsMessageBody } from './sqs-queue';

/** SendMessageBatch: ten entries and 256 KiB of bodies per request at most. */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;

/**
 * The fan-out queue on SQS: one message per shard, as few SendMessageBatch requests as SQS's limits allow
 * (a shard carries a frame of up to 32 KiB, so a request may hold fewer than ten), sent in parallel; entries
 * SQS refused are sent once more.
 */
export class SqsFanOutQueue implements FanOutQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async sendShards(shards: readonly FanOutShard[]): Promise<void> {
    await Promise.all(batchesOf(shards.map((shard) => sqsMessageBody(shard))).map((bodies) => this.sendBatch(bodies)));
  }

  private async sendBatch(bodies: readonly string[], attempt = 1): Promise<void> {
    const answer = await this.client.send(
      new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: bodies.map((MessageBody, index) => ({ Id: String(index), MessageBody })) }),
    );
    const failed = (answer.Failed ?? []).map((entry) => bodies[Number(entry.Id)]!);
    if (failed.length === 0) return;
    if (attempt >= 2) throw new Error(`SQS refused ${failed.length} fan-out shard(s): ${answer.Failed?.[0]?.Code ?? 'unknown'}`);
    await this.sendBatch(failed, attempt + 1);
  }
}

/** Groups message bodies into SendMessageBatch requests within SQS's entry and size limits. */
export function batchesOf(bodies: readonly string[]): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = Buffer.byteLength(body, 'utf8');
    if (current.length > 0 && (current.length === MAX_ENTRIES || bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(body);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
