import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Queue } from '../ports';

/** SQS allows ten messages per SendMessageBatch. */
const SQS_BATCH_LIMIT = 10;

/**
 * What SQS refuses in a message body: everything but #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
 * #x10000-#x10FFFF, i.e. the other control characters, U+FFFE, U+FFFF and lone surrogates.
 */
const REFUSED_BY_SQS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * The body as JSON text SQS accepts: each character it refuses can only be inside a JSON string (JSON's own
 * syntax is ASCII), where the `\uXXXX` escape that replaces it means the same character, so `JSON.parse`
 * gives back exactly the value sent (U+FFFE, U+FFFF and lone surrogates included).
 */
export function sqsMessageBody(body: unknown): string {
  return JSON.stringify(body).replace(REFUSED_BY_SQS, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A queue on SQS; bodies are JSON with the characters SQS refuses escaped (`sqsMessageBody`); batches are split
 * into requests of ten and failed entries are retried once.
 */
export class SqsQueue implements Queue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(body: unknown): Promise<void> {
    await this.client.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: sqsMessageBody(body) }));
  }

  async sendBatch(bodies: readonly unknown[]): Promise<void> {
    const requests: Promise<void>[] = [];
    for (let start = 0; start < bodies.length; start += SQS_BATCH_LIMIT) {
      requests.push(this.sendChunk(bodies.slice(start, start + SQS_BATCH_LIMIT).map(sqsMessageBody)));
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
