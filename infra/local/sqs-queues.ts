import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './lambdas';

/**
 * The local SQS's queue model, apart from the wire (sqs.ts: the JSON protocol; sqs-query.ts: the query protocol)
 * and from Lambda's event source poller (sqs-poller.ts): queues and their attributes, messages with delay and
 * visibility, receive (long polls included), delete, visibility changes, retention, the redrive to a dead-letter
 * queue after maxReceiveCount, and persistence to `sqs.json`.
 */

export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  /** Base64, as the JSON protocol carries blobs. */
  BinaryValue?: string;
  StringListValues?: string[];
  BinaryListValues?: string[];
}

export interface StoredMessage {
  id: string;
  body: string;
  md5OfBody: string;
  attributes: Record<string, MessageAttributeValue>;
  /** AWSTraceHeader and DeadLetterQueueSourceArn: the system attributes a sender or a redrive sets. */
  systemAttributes: Record<string, string>;
  senderId: string;
  sentAt: number;
  /** Epoch ms when the message may next be received (delay or visibility timeout). */
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  /** The latest receipt handle; only it deletes the message, as AWS documents. */
  receiptHandle?: string;
}

export interface Queue {
  name: string;
  attributes: Record<string, string>;
  tags: Record<string, string>;
  createdAt: number;
  modifiedAt: number;
  messages: Map<string, StoredMessage>;
}

interface PersistedState {
  version: 1;
  queues: Array<Omit<Queue, 'messages'> & { messages: StoredMessage[] }>;
}

const STATE_FILE = 'sqs.json';
const PERSIST_DEBOUNCE_MS = 100;
export const MAX_WAIT_SECONDS = 20;

/** Settable attributes with their defaults (absent = no default) and accepted integer range. */
export const SETTABLE_ATTRIBUTES: Record<string, { default?: string; range?: [number, number] }> = {
  DelaySeconds: { default: '0', range: [0, 900] },
  MaximumMessageSize: { default: '1048576', range: [1024, 1048576] },
  MessageRetentionPeriod: { default: '345600', range: [60, 1209600] },
  ReceiveMessageWaitTimeSeconds: { default: '0', range: [0, MAX_WAIT_SECONDS] },
  VisibilityTimeout: { default: '30', range: [0, 43200] },
  RedrivePolicy: {},
  RedriveAllowPolicy: {},
  Policy: {},
  KmsMasterKeyId: {},
  KmsDataKeyReusePeriodSeconds: { range: [60, 86400] },
  SqsManagedSseEnabled: { default: 'true' },
};
const COMPUTED_ATTRIBUTES = [
  'QueueArn',
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
];
const FIFO_ATTRIBUTES = ['FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit'];

/**
 * Error shapes of the SQS model with the awsQuery code and status the SDK matches them by
 * (`x-amzn-query-error: <code>;Sender`, since SQS is `awsQueryCompatible`).
 */
export const MODELED_ERRORS: Record<string, { code: string; status: number }> = {
  QueueDoesNotExist: { code: 'AWS.SimpleQueueService.NonExistentQueue', status: 400 },
  QueueNameExists: { code: 'QueueAlreadyExists', status: 400 },
  ReceiptHandleIsInvalid: { code: 'ReceiptHandleIsInvalid', status: 404 },
  MessageNotInflight: { code: 'AWS.SimpleQueueService.MessageNotInflight', status: 400 },
  InvalidAttributeName: { code: 'InvalidAttributeName', status: 400 },
  InvalidAttributeValue: { code: 'InvalidAttributeValue', status: 400 },
  InvalidMessageContents: { code: 'InvalidMessageContents', status: 400 },
  EmptyBatchRequest: { code: 'AWS.SimpleQueueService.EmptyBatchRequest', status: 400 },
  TooManyEntriesInBatchRequest: { code: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest', status: 400 },
  BatchEntryIdsNotDistinct: { code: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct', status: 400 },
  InvalidBatchEntryId: { code: 'AWS.SimpleQueueService.InvalidBatchEntryId', status: 400 },
  BatchRequestTooLong: { code: 'AWS.SimpleQueueService.BatchRequestTooLong', status: 400 },
  UnsupportedOperation: { code: 'AWS.SimpleQueueService.UnsupportedOperation', status: 400 },
};

/** An SQS error: `type` is a model shape name (see MODELED_ERRORS) or an awsQuery code such as InvalidParameterValue. */
export class SqsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = MODELED_ERRORS[type]?.status ?? 400,
  ) {
    super(message);
    this.name = type;
  }
}

export const invalidParameter = (message: string) => new SqsError('InvalidParameterValue', message);
export const noSuchQueue = () => new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');

export const queueArnOf = (name: string): string => `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`;

export class SqsQueues {
  readonly queues = new Map<string, Queue>();
  /** Wake-ups of pending long polls, per queue name, called when a queue's messages may have become receivable. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly stateFile: string | undefined;
  private persistTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** `dataDir` holds `sqs.json`; undefined keeps everything in memory. */
  constructor(private readonly dataDir: string | undefined) {
    this.stateFile = dataDir === undefined ? undefined : join(dataDir, STATE_FILE);
    this.load();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  queueArn(name: string): string {
    return queueArnOf(name);
  }

  /** Ends every long poll at once (they answer what they have) and lets no new one wait. */
  stop(): void {
    this.stopped = true;
    for (const set of this.waiters.values()) for (const wake of [...set]) wake();
  }

  deleteQueue(queue: Queue): void {
    this.queues.delete(queue.name);
    this.wake(queue.name);
    this.changed();
  }

  purge(queue: Queue): void {
    queue.messages.clear();
    this.changed();
  }

  // ---- queue state ----

  addQueue(name: string, attributes: Record<string, string>, tags: Record<string, string>): Queue {
    if (name.endsWith('.fifo') || FIFO_ATTRIBUTES.some((a) => a in attributes)) {
      throw new SqsError('UnsupportedOperation', 'FIFO queues are not emulated by the local cloud');
    }
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
      throw invalidParameter(
        'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    }
    const now = Date.now();
    const queue: Queue = { name, attributes: {}, tags: { ...tags }, createdAt: now, modifiedAt: now, messages: new Map() };
    this.setAttributes(queue, attributes);
    this.queues.set(name, queue);
    this.changed();
    return queue;
  }

  setAttributes(queue: Queue, attributes: Record<string, string>): void {
    const next = { ...queue.attributes };
    for (const [key, value] of Object.entries(attributes)) {
      const spec = Object.hasOwn(SETTABLE_ATTRIBUTES, key) ? SETTABLE_ATTRIBUTES[key] : undefined;
      if (!spec) throw new SqsError('InvalidAttributeName', `Unknown Attribute ${key}.`);
      if (key === 'RedrivePolicy') {
        // AWS removes the redrive policy when it is set to the empty string.
        if (value === '') delete next[key];
        else next[key] = this.validateRedrivePolicy(value);
        continue;
      }
      if (spec.range) {
        const [min, max] = spec.range;
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < min || n > max) {
          throw new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${key}.`);
        }
      }
      next[key] = value;
    }
    queue.attributes = next;
    queue.modifiedAt = Date.now();
    this.changed();
  }

  private validateRedrivePolicy(value: string): string {
    const invalid = (reason: string) =>
      new SqsError('InvalidAttributeValue', `Value ${value} for parameter RedrivePolicy is invalid. Reason: ${reason}`);
    const policy = parseRedrivePolicy(value);
    if (!policy) throw invalid('Redrive policy is not a valid JSON map.');
    if (!Number.isInteger(policy.maxReceiveCount) || policy.maxReceiveCount < 1 || policy.maxReceiveCount > 1000) {
      throw invalid('Invalid value for maxReceiveCount.');
    }
    if (!this.queueByArn(policy.deadLetterTargetArn)) throw invalid('Dead letter target does not exist.');
    return JSON.stringify(policy);
  }

  attributeValue(queue: Queue, name: string): string | undefined {
    return queue.attributes[name] ?? (Object.hasOwn(SETTABLE_ATTRIBUTES, name) ? SETTABLE_ATTRIBUTES[name]?.default : undefined);
  }

  getAttributes(queue: Queue, requested: string[]): Record<string, string> {
    this.expire(queue);
    const known = [...Object.keys(SETTABLE_ATTRIBUTES), ...COMPUTED_ATTRIBUTES];
    const names = requested.includes('All') ? known : requested;
    const now = Date.now();
    const result: Record<string, string> = {};
    for (const name of names) {
      if (!known.includes(name)) throw new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
      const messages = [...queue.messages.values()];
      let value: string | undefined;
      switch (name) {
        case 'QueueArn':
          value = this.queueArn(queue.name);
          break;
        case 'ApproximateNumberOfMessages':
          value = String(messages.filter((m) => m.visibleAt <= now).length);
          break;
        case 'ApproximateNumberOfMessagesNotVisible':
          value = String(messages.filter((m) => m.visibleAt > now && m.receiptHandle !== undefined).length);
          break;
        case 'ApproximateNumberOfMessagesDelayed':
          value = String(messages.filter((m) => m.visibleAt > now && m.receiptHandle === undefined).length);
          break;
        case 'CreatedTimestamp':
          value = String(Math.floor(queue.createdAt / 1000));
          break;
        case 'LastModifiedTimestamp':
          value = String(Math.floor(queue.modifiedAt / 1000));
          break;
        default:
          value = this.attributeValue(queue, name);
      }
      if (value !== undefined) result[name] = value;
    }
    return result;
  }


  queueByArn(arn: string): Queue | undefined {
    const name = arn.split(':')[5] ?? '';
    return arn === this.queueArn(name) ? this.queues.get(name) : undefined;
  }

  // ---- messages ----

  enqueue(
    queue: Queue,
    body: string,
    attributes: Record<string, MessageAttributeValue>,
    systemAttributes: Record<string, string>,
    delaySeconds: number | undefined,
  ): StoredMessage {
    if (body.length === 0) throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
    // The characters SQS accepts: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
    if (/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(body)) {
      throw new SqsError('InvalidMessageContents', 'Invalid characters found in the message body.');
    }
    const size = Buffer.byteLength(body) + attributesSize(attributes);
    const maxSize = Number(this.attributeValue(queue, 'MaximumMessageSize'));
    if (size > maxSize) {
      throw invalidParameter(`One or more parameters are invalid. Reason: Message must be shorter than ${maxSize} bytes.`);
    }
    const now = Date.now();
    const delay = delaySeconds ?? Number(this.attributeValue(queue, 'DelaySeconds'));
    const message: StoredMessage = {
      id: randomUUID(),
      body,
      md5OfBody: md5(body),
      attributes,
      systemAttributes,
      senderId: LOCAL_ACCOUNT_ID,
      sentAt: now,
      visibleAt: now + delay * 1000,
      receiveCount: 0,
    };
    queue.messages.set(message.id, message);
    this.changed();
    this.wake(queue.name);
    return message;
  }

  /** Receives now: makes up to `max` visible messages in flight, moving those past maxReceiveCount to the DLQ. */
  receiveNow(queue: Queue, max: number, visibilityTimeout: number | undefined): StoredMessage[] {
    this.expire(queue);
    const now = Date.now();
    const timeout = visibilityTimeout ?? Number(this.attributeValue(queue, 'VisibilityTimeout'));
    const redrive = parseRedrivePolicy(queue.attributes['RedrivePolicy']);
    const dlq = redrive ? this.queueByArn(redrive.deadLetterTargetArn) : undefined;
    const received: StoredMessage[] = [];
    for (const message of queue.messages.values()) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      if (redrive && dlq && message.receiveCount >= redrive.maxReceiveCount) {
        this.moveToDeadLetterQueue(queue, message, dlq);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceiveAt ??= now;
      message.receiptHandle = encodeReceiptHandle(queue.name, message.id);
      message.visibleAt = now + timeout * 1000;
      received.push(message);
    }
    if (received.length > 0) this.changed();
    return received;
  }

  private moveToDeadLetterQueue(source: Queue, message: StoredMessage, dlq: Queue): void {
    source.messages.delete(message.id);
    // AWS keeps the message id, body, attributes and sent timestamp, and records where it came from.
    const moved: StoredMessage = {
      ...message,
      systemAttributes: { ...message.systemAttributes, DeadLetterQueueSourceArn: this.queueArn(source.name) },
      visibleAt: Date.now(),
      receiveCount: 0,
      firstReceiveAt: undefined,
      receiptHandle: undefined,
    };
    dlq.messages.set(moved.id, moved);
    this.changed();
    this.wake(dlq.name);
  }

  /** Long poll: returns as soon as messages are received, at the deadline, on abort or on stop. */
  async receiveWaiting(
    queueName: string,
    max: number,
    visibilityTimeout: number | undefined,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<StoredMessage[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const queue = this.queues.get(queueName);
      if (!queue) throw noSuchQueue();
      if (signal.aborted) return [];
      const received = this.receiveNow(queue, max, visibilityTimeout);
      if (received.length > 0 || Date.now() >= deadline || this.stopped) return received;
      await this.waitForChange(queue, deadline, signal);
    }
  }

  /**
   * Resolves when the queue may have a receivable message: a send, a visibility change, or the next timed visibility.
   * Called right after a receive found nothing visible, so every message's `visibleAt` counts, also one that the clock
   * has passed since that receive read it: filtering by a fresh `Date.now()` here would skip a message that became
   * visible in between (a timer fires up to a millisecond early against `Date.now()`, and the process may be
   * preempted), and the poll would sleep to its deadline (20 s for the event source poller) with the message visible.
   * Such a message gives a delay of 0: the loop receives it at once.
   */
  private waitForChange(queue: Queue, deadline: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let wakeAt = deadline;
      for (const m of queue.messages.values()) if (m.visibleAt < wakeAt) wakeAt = m.visibleAt;
      let set = this.waiters.get(queue.name);
      if (!set) {
        set = new Set();
        this.waiters.set(queue.name, set);
      }
      const waiters = set;
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, wakeAt - Date.now()));
      waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  wake(queueName: string): void {
    const set = this.waiters.get(queueName);
    if (set) for (const wake of [...set]) wake();
  }

  deleteMessage(queue: Queue, receiptHandle: string): void {
    const messageId = decodeReceiptHandle(queue.name, receiptHandle);
    const message = queue.messages.get(messageId);
    // A gone message or an outdated handle: the request succeeds and nothing is deleted, as AWS documents.
    if (message?.receiptHandle !== receiptHandle) return;
    queue.messages.delete(messageId);
    this.changed();
  }

  changeVisibility(queue: Queue, receiptHandle: string, visibilityTimeout: number): void {
    const messageId = decodeReceiptHandle(queue.name, receiptHandle);
    const message = queue.messages.get(messageId);
    if (message?.receiptHandle !== receiptHandle) {
      throw invalidParameter(
        `Value ${receiptHandle} for parameter ReceiptHandle is invalid. ` +
          'Reason: Message does not exist or is not available for visibility timeout change.',
      );
    }
    const now = Date.now();
    if (message.visibleAt <= now) throw new SqsError('MessageNotInflight', 'The message referred to is not in flight.');
    message.visibleAt = now + visibilityTimeout * 1000;
    this.changed();
    if (visibilityTimeout === 0) this.wake(queue.name);
  }

  /** Drops messages older than the retention period, as SQS does. */
  expire(queue: Queue): void {
    const oldest = Date.now() - Number(this.attributeValue(queue, 'MessageRetentionPeriod')) * 1000;
    for (const message of queue.messages.values()) {
      if (message.sentAt < oldest) {
        queue.messages.delete(message.id);
        this.changed();
      }
    }
  }

  // ---- persistence ----

  changed(): void {
    if (this.stateFile === undefined || this.persistTimer) return;
    this.persistTimer = setTimeout(() => this.flush(), PERSIST_DEBOUNCE_MS);
    // A pending write must not keep the process (or jest) alive; stop() flushes it.
    this.persistTimer.unref();
  }

  flush(): void {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    if (this.stateFile === undefined || this.dataDir === undefined) return;
    const state: PersistedState = {
      version: 1,
      queues: [...this.queues.values()].map((q) => ({ ...q, messages: [...q.messages.values()] })),
    };
    mkdirSync(this.dataDir, { recursive: true });
    const temp = `${this.stateFile}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(state));
    renameSync(temp, this.stateFile);
  }

  private load(): void {
    if (this.stateFile === undefined) return;
    let text: string;
    try {
      text = readFileSync(this.stateFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const state = JSON.parse(text) as PersistedState;
    if (state.version !== 1) throw new Error(`${this.stateFile}: unsupported state version ${String(state.version)}`);
    for (const q of state.queues) {
      this.queues.set(q.name, { ...q, messages: new Map(q.messages.map((m) => [m.id, m])) });
    }
  }
}

function attributesSize(attributes: Record<string, MessageAttributeValue>): number {
  let size = 0;
  for (const [name, a] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(a.DataType);
    size += a.StringValue !== undefined ? Buffer.byteLength(a.StringValue) : Buffer.from(a.BinaryValue ?? '', 'base64').length;
  }
  return size;
}

export function systemAttributes(message: StoredMessage): Record<string, string> {
  return {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentAt),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceiveAt ?? message.sentAt),
    ...message.systemAttributes,
  };
}

interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

export function parseRedrivePolicy(value: string | undefined): RedrivePolicy | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || typeof parsed['deadLetterTargetArn'] !== 'string') return undefined;
  // AWS accepts maxReceiveCount as a number or a numeric string.
  const count = Number(parsed['maxReceiveCount']);
  return { deadLetterTargetArn: parsed['deadLetterTargetArn'], maxReceiveCount: count };
}

function encodeReceiptHandle(queueName: string, messageId: string): string {
  return Buffer.from(`${queueName}/${messageId}/${randomBytes(16).toString('hex')}`).toString('base64');
}

/** The message id a receipt handle names; ReceiptHandleIsInvalid when it was not issued for this queue. */
function decodeReceiptHandle(queueName: string, receiptHandle: string): string {
  const match = /^([A-Za-z0-9_-]{1,80})\/([0-9a-f-]{36})\/[0-9a-f]{32}$/.exec(Buffer.from(receiptHandle, 'base64').toString('utf8'));
  if (!match || match[1] !== queueName || match[2] === undefined) {
    throw new SqsError('ReceiptHandleIsInvalid', `The input receipt handle "${receiptHandle}" is not a valid receipt handle.`);
  }
  return match[2];
}

function md5(text: string | Buffer): string {
  return createHash('md5').update(text).digest('hex');
}

/**
 * MD5OfMessageAttributes as AWS computes it: attributes sorted by name, each encoded as length-prefixed
 * (4-byte big-endian) name and data type, a transport byte (1 string, 2 binary, 3/4 lists), then the value(s).
 */
export function md5OfMessageAttributes(attributes: Record<string, MessageAttributeValue>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const lengthPrefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of names) {
    const attribute = attributes[name];
    if (!attribute) continue;
    lengthPrefixed(Buffer.from(name, 'utf8'));
    lengthPrefixed(Buffer.from(attribute.DataType, 'utf8'));
    if (attribute.StringValue !== undefined) {
      parts.push(Buffer.from([1]));
      lengthPrefixed(Buffer.from(attribute.StringValue, 'utf8'));
    } else if (attribute.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      lengthPrefixed(Buffer.from(attribute.BinaryValue, 'base64'));
    } else if (attribute.StringListValues !== undefined) {
      parts.push(Buffer.from([3]));
      for (const v of attribute.StringListValues) lengthPrefixed(Buffer.from(v, 'utf8'));
    } else if (attribute.BinaryListValues !== undefined) {
      parts.push(Buffer.from([4]));
      for (const v of attribute.BinaryListValues) lengthPrefixed(Buffer.from(v, 'base64'));
    }
  }
  return md5(Buffer.concat(parts));
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
