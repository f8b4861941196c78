import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { FanOutQueue, FanOutShard } from '../connections/fanout';
import { sqsMessageBody } from './sqs-queue';

/** SendMessageBatch: ten entries and 256 KiB of bodies per request at most. */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;

/**
 * The fan-out queue on SQS: one message per shard, as few SendMessageBatch requests as SQS's limits allow
 * (a shard carries a whole frame, so a request may hold fewer than ten), sent in parallel; entries SQS refused
 * are sent once more, and what still is not queued is answered to the caller, which posts it directly.
 */
export class SqsFanOutQueue implements FanOutQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async sendShards(shards: readonly FanOutShard[]): Promise<readonly FanOutShard[]> {
    const unsent = await Promise.all(batchesOf(shards.map((shard) => ({ shard, body: sqsMessageBody(shard) }))).map((batch) => this.sendBatch(batch)));
    return unsent.flat();
  }

  /** Sends one request's entries; answers the shards not queued (refused twice, or the request failed). */
  private async sendBatch(entries: readonly { readonly shard: FanOutShard; readonly body: string }[], attempt = 1): Promise<FanOutShard[]> {
    let answer;
    try {
      answer = await this.client.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries.map((entry, index) => ({ Id: String(index), MessageBody: entry.body })) }),
      );
    } catch {
      // Throttled or unavailable after the SDK's retries: the caller posts these shards itself.
      return entries.map((entry) => entry.shard);
    }
    const failed = (answer.Failed ?? []).map((entry) => entries[Number(entry.Id)]!);
    if (failed.length === 0) return [];
    if (attempt >= 2) return failed.map((entry) => entry.shard);
    return this.sendBatch(failed, attempt + 1);
  }
}

/** Groups shards' message bodies into SendMessageBatch requests within SQS's entry and size limits. */
export function batchesOf<T extends string | { readonly body: string }>(items: readonly T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(typeof item === 'string' ? item : item.body, 'utf8');
    if (current.length > 0 && (current.length === MAX_ENTRIES || bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
