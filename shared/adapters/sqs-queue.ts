import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig } from '../config';
import type { Queue } from '../ports';

/** SQS allows ten messages per SendMessageBatch. */
const SQS_BATCH_LIMIT = 10;

/** A queue on SQS; batches are split into requests of ten and failed entries are retried once. */
export class SqsQueue implements Queue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(body: unknown): Promise<void> {
    await this.client.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(body) }));
  }

  async sendBatch(bodies: readonly unknown[]): Promise<void> {
    const requests: Promise<void>[] = [];
    for (let start = 0; start < bodies.length; start += SQS_BATCH_LIMIT) {
      requests.push(this.sendChunk(bodies.slice(start, start + SQS_BATCH_LIMIT).map((body) => JSON.stringify(body))));
    }
    await Promise.all(requests);
  }

  private async sendChunk(messages: string[], attempt = 1): Promise<void> {
    const answer = await this.client.send(
      new SendMessageBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: messages.map((MessageBody, index) => ({ Id: String(index), MessageBody })),
      }),
    );
    const failed = (answer.Failed ?? []).map((entry) => messages[Number(entry.Id)]!);
    if (failed.length === 0) return;
    if (attempt >= 2) throw new Error(`SQS refused ${failed.length} message(s): ${answer.Failed?.[0]?.Code ?? 'unknown'}`);
    await this.sendChunk(failed, attempt + 1);
  }
}

let sqsClient: SQSClient | undefined;

export function sqsSdkClient(): SQSClient {
  if (sqsClient) return sqsClient;
  const config = loadConfig();
  // A hung call times out and is retried (the SDK's 3 attempts), so it ends in a 503, not a dead invocation.
  sqsClient = new SQSClient({
    requestHandler: { requestTimeout: config.SQS_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true, connectionTimeout: config.SDK_CONNECT_TIMEOUT_MS },
  });
  return sqsClient;
}
