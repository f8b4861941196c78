import type { SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { abortableDelay } from './abortable-delay';
import { LOCAL_REGION, type LambdaInvoker } from './lambdas';
import { isObject, md5OfMessageAttributes, SqsError, type SqsQueues, type StoredMessage } from './sqs-queues';

/**
 * Lambda's SQS event source mapping, emulated in-process over the local queue model (sqs-queues.ts): a poller
 * long-polls its queue, gathers a batch (batch size, batching window), invokes the function, and deletes what
 * succeeded (all of it, or all but the ReportBatchItemFailures it names); a failed batch reappears after its
 * visibility timeout, and the queue's redrive policy moves it to the dead-letter queue.
 */

export interface EventSourceMapping {
  queueName: string;
  functionName: string;
  batchSize?: number;
  maximumBatchingWindowSeconds?: number;
  reportBatchItemFailures?: boolean;
  /**
   * Batches handled at once (Lambda's `ScalingConfig.MaximumConcurrency`): Lambda's poller scales out to that many
   * concurrent invocations while the queue has messages. Here, that many pollers, each receiving and invoking on
   * its own. Default 1: one batch at a time.
   */
  maximumConcurrency?: number;
}

/** Lambda's poller long-polls for this long before looping (and re-checking stop). */
const POLLER_WAIT_MS = 20_000;

/** One poller of a mapping (LocalSqs runs `maximumConcurrency` of them), until `signal` aborts or the queues stop. */
export async function pollEventSource(
queues: SqsQueues,
mapping: EventSourceMapping & { batchSize: number },
invoker: LambdaInvoker,
signal: AbortSignal,
log: (line: string) => void,
): Promise<void> {
  const eventSourceARN = queues.queueArn(mapping.queueName);
  const windowMs = (mapping.maximumBatchingWindowSeconds ?? 0) * 1000;
  while (!signal.aborted && !queues.isStopped) {
    // Records are taken at each receive (its receipt handle, its receive count): the stored messages are live
    // objects, and one whose visibility timeout runs out before the batch is done may be received again (by another
    // poller, another consumer) with a new receipt handle, which this batch must not delete.
    let batch: SQSRecord[];
    try {
      const first = await queues.receiveWaiting(mapping.queueName, mapping.batchSize, undefined, POLLER_WAIT_MS, signal);
      batch = first.map((m) => toRecord(m, eventSourceARN));
      // The batching window gathers more messages until the batch is full or the window closes.
      const windowEnd = Date.now() + windowMs;
      while (batch.length > 0 && batch.length < mapping.batchSize && Date.now() < windowEnd && !signal.aborted) {
        const remaining = mapping.batchSize - batch.length;
        const more = await queues.receiveWaiting(mapping.queueName, remaining, undefined, windowEnd - Date.now(), signal);
        batch = [...batch, ...more.map((m) => toRecord(m, eventSourceARN))];
      }
    } catch (error) {
      // Typically the queue does not exist (yet): Lambda keeps the mapping and retries.
      if (!(error instanceof SqsError)) log(`[sqs] poller of ${mapping.queueName} failed: ${errorText(error)}`);
      await abortableDelay(1000, signal);
      continue;
    }
    if (batch.length === 0) continue;
    const event: SQSEvent = { Records: batch };
    let result: unknown;
    try {
      result = await invoker.invoke(mapping.functionName, event);
    } catch (error) {
      // Nothing is deleted: the batch reappears after the visibility timeout.
      log(`[sqs] ${mapping.functionName} failed on ${batch.length} message(s) from ${mapping.queueName}: ${errorText(error)}`);
      continue;
    }
    const failed = mapping.reportBatchItemFailures ? failedItems(result, batch) : new Set<string>();
    if (failed === 'all') {
      log(
        `[sqs] ${mapping.functionName} returned an invalid batchItemFailures response; ` +
          `the whole batch of ${mapping.queueName} failed`,
      );
      continue;
    }
    const queue = queues.queues.get(mapping.queueName);
    if (!queue) continue;
    // With this batch's receipt handles, as Lambda deletes: a message received again meanwhile is not deleted.
    for (const record of batch) {
      if (!failed.has(record.messageId) && record.receiptHandle !== '') queues.deleteMessage(queue, record.receiptHandle);
    }
  }
}

function toRecord(message: StoredMessage, eventSourceARN: string): SQSRecord {
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, a] of Object.entries(message.attributes)) {
    messageAttributes[name] = {
      ...(a.StringValue !== undefined ? { stringValue: a.StringValue } : {}),
      ...(a.BinaryValue !== undefined ? { binaryValue: a.BinaryValue } : {}),
      stringListValues: a.StringListValues ?? [],
      binaryListValues: a.BinaryListValues ?? [],
      dataType: a.DataType,
    };
  }
  const md5OfAttributes = md5OfMessageAttributes(message.attributes);
  return {
    messageId: message.id,
    receiptHandle: message.receiptHandle ?? '',
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAt),
      SenderId: message.senderId,
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveAt ?? message.sentAt),
      ...message.systemAttributes,
    },
    messageAttributes,
    md5OfBody: message.md5OfBody,
    ...(md5OfAttributes !== undefined ? { md5OfMessageAttributes: md5OfAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion: LOCAL_REGION,
  };
}

/**
 * The message ids a ReportBatchItemFailures response marks as failed, or 'all' when Lambda would treat the
 * whole batch as failed (an itemIdentifier that is null, empty or not in the batch, or a malformed response).
 */
function failedItems(result: unknown, batch: SQSRecord[]): Set<string> | 'all' {
  if (result === undefined || result === null) return new Set();
  if (!isObject(result)) return 'all';
  const failures = result['batchItemFailures'];
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'all';
  const ids = new Set(batch.map((r) => r.messageId));
  const failed = new Set<string>();
  for (const failure of failures as unknown[]) {
    const id = isObject(failure) ? failure['itemIdentifier'] : undefined;
    if (typeof id !== 'string' || !ids.has(id)) return 'all';
    failed.add(id);
  }
  return failed;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
