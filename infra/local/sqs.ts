import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { amzTarget, type EdgeRequest, type EdgeService, sendJson } from './edge';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, type LambdaInvoker } from './lambdas';
import { parseQueryRequest, sendQueryError, sendQueryResult } from './sqs-query';

/**
 * The local cloud's SQS (standard queues), speaking the JSON protocol the AWS SDK v3 uses:
 * `POST /` with `x-amz-target: AmazonSQS.<Operation>` and an `application/x-amz-json-1.0` body, and the
 * older query protocol (form-encoded `Action=…`, XML answers: sqs-query.ts) of the AWS CLI v2 of Debian and
 * older SDKs.
 * It also hosts Lambda's SQS event source mappings, which poll queues in-process.
 */
export interface LocalSqsOptions {
  /** The edge endpoint, read lazily because the port is known only once the server listens. */
  endpointUrl: () => string;
  /** Directory for `sqs.json`; undefined keeps everything in memory. */
  dataDir?: string;
  /** Where poller failures are reported; defaults to console.error. */
  log?: (line: string) => void;
}

export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  /** Base64, as the JSON protocol carries blobs. */
  BinaryValue?: string;
  StringListValues?: string[];
  BinaryListValues?: string[];
}

export interface EventSourceMapping {
  queueName: string;
  functionName: string;
  batchSize?: number;
  maximumBatchingWindowSeconds?: number;
  reportBatchItemFailures?: boolean;
}

interface StoredMessage {
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

interface Queue {
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

type Json = Record<string, unknown>;

const STATE_FILE = 'sqs.json';
const PERSIST_DEBOUNCE_MS = 100;
const MAX_WAIT_SECONDS = 20;
/** Lambda's poller long-polls for this long before looping (and re-checking stop). */
const POLLER_WAIT_MS = 20_000;

/** Settable attributes with their defaults (absent = no default) and accepted integer range. */
const SETTABLE_ATTRIBUTES: Record<string, { default?: string; range?: [number, number] }> = {
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
const MESSAGE_SYSTEM_ATTRIBUTES = [
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'AWSTraceHeader',
  'DeadLetterQueueSourceArn',
];

/**
 * Error shapes of the SQS model with the awsQuery code and status the SDK matches them by
 * (`x-amzn-query-error: <code>;Sender`, since SQS is `awsQueryCompatible`).
 */
const MODELED_ERRORS: Record<string, { code: string; status: number }> = {
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

const invalidParameter = (message: string) => new SqsError('InvalidParameterValue', message);
const noSuchQueue = () => new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');

export class LocalSqs implements EdgeService {
  readonly name = 'sqs';
  private readonly queues = new Map<string, Queue>();
  /** Wake-ups of pending long polls, per queue name, called when a queue's messages may have become receivable. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly pollers: Array<{ abort: AbortController; done: Promise<void> }> = [];
  private readonly stateFile: string | undefined;
  private readonly log: (line: string) => void;
  private persistTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: LocalSqsOptions) {
    this.stateFile = options.dataDir === undefined ? undefined : join(options.dataDir, STATE_FILE);
    this.log = options.log ?? ((line) => console.error(line));
    this.load();
  }

  // ---- programmatic API (local cloud bootstrap, Scheduler, pollers) ----

  queueUrl(name: string): string {
    return `${this.options.endpointUrl()}/${LOCAL_ACCOUNT_ID}/${name}`;
  }

  queueArn(name: string): string {
    return `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`;
  }

  /** Creates the queue, or reconciles the attributes of an existing one, so bootstrap can run on persisted state. */
  createQueue(name: string, attributes: Record<string, string> = {}): string {
    const existing = this.queues.get(name);
    if (existing) {
      if (Object.keys(attributes).length > 0) this.setAttributes(existing, attributes);
      return this.queueUrl(name);
    }
    this.addQueue(name, attributes, {});
    return this.queueUrl(name);
  }

  /** Sends as another AWS service would (Scheduler targets, DLQs); throws when the queue does not exist. */
  sendByArn(
    queueArn: string,
    body: string,
    messageAttributes?: Record<string, { DataType: string; StringValue?: string }>,
  ): string {
    const name = queueArn.split(':')[5] ?? '';
    const queue = this.queues.get(name);
    if (!queue || queueArn !== this.queueArn(name)) throw new SqsError('QueueDoesNotExist', `no local queue ${queueArn}`);
    return this.enqueue(queue, body, readMessageAttributes(messageAttributes), {}, undefined).id;
  }

  /** Emulates Lambda's SQS event source: one sequential poller per mapping. */
  addEventSourceMapping(mapping: EventSourceMapping, invoker: LambdaInvoker): void {
    const batchSize = mapping.batchSize ?? 10;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
      throw new Error(`batchSize ${batchSize} out of range 1-10000`);
    }
    const abort = new AbortController();
    const done = this.poll({ ...mapping, batchSize }, invoker, abort.signal);
    this.pollers.push({ abort, done });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const poller of this.pollers) poller.abort.abort();
    for (const set of this.waiters.values()) for (const wake of [...set]) wake();
    await Promise.all(this.pollers.map((p) => p.done));
    this.pollers.length = 0;
    this.flush();
  }

  // ---- HTTP ----

  async handle(request: EdgeRequest, response: ServerResponse): Promise<boolean> {
    const target = amzTarget(request);
    if (!target?.startsWith('AmazonSQS.')) return this.handleQuery(request, response);
    const operation = target.slice('AmazonSQS.'.length);
    try {
      const input = parseInput(request.body);
      const output = await this.dispatch(operation, input, response);
      if (!response.writableEnded && !response.destroyed) sendJson(response, 200, output, 'application/x-amz-json-1.0');
    } catch (error) {
      if (response.headersSent) {
        response.end();
      } else if (error instanceof SqsError) {
        sendSqsError(response, error);
      } else {
        throw error;
      }
    }
    return true;
  }

  /** The query protocol (form-encoded `Action=…`, XML answers): the same operations, translated (sqs-query.ts). */
  private async handleQuery(request: EdgeRequest, response: ServerResponse): Promise<boolean> {
    const parsed = parseQueryRequest(request, (path) => `${this.options.endpointUrl()}${path}`);
    if (parsed === undefined) return false;
    try {
      const output = await this.dispatch(parsed.operation, parsed.input, response);
      if (!response.writableEnded && !response.destroyed) sendQueryResult(response, parsed.operation, output);
    } catch (error) {
      if (response.headersSent) {
        response.end();
      } else if (error instanceof SqsError) {
        sendQueryError(response, error.status, MODELED_ERRORS[error.type]?.code ?? error.type, error.message);
      } else {
        throw error;
      }
    }
    return true;
  }

  private dispatch(operation: string, input: Json, response: ServerResponse): Json | Promise<Json> {
    switch (operation) {
      case 'CreateQueue':
        return this.apiCreateQueue(input);
      case 'GetQueueUrl': {
        const name = reqString(input, 'QueueName');
        if (!this.queues.has(name)) throw noSuchQueue();
        return { QueueUrl: this.queueUrl(name) };
      }
      case 'ListQueues':
        return this.apiListQueues(input);
      case 'DeleteQueue': {
        const queue = this.queueFromUrl(input);
        this.queues.delete(queue.name);
        this.wake(queue.name);
        this.changed();
        return {};
      }
      case 'GetQueueAttributes':
        return { Attributes: this.getAttributes(this.queueFromUrl(input), optStringList(input, 'AttributeNames')) };
      case 'SetQueueAttributes':
        this.setAttributes(this.queueFromUrl(input), optStringMap(input, 'Attributes'));
        return {};
      case 'PurgeQueue': {
        const queue = this.queueFromUrl(input);
        queue.messages.clear();
        this.changed();
        return {};
      }
      case 'ListDeadLetterSourceQueues': {
        const arn = this.queueArn(this.queueFromUrl(input).name);
        const urls = [...this.queues.values()]
          .filter((q) => parseRedrivePolicy(q.attributes['RedrivePolicy'])?.deadLetterTargetArn === arn)
          .map((q) => this.queueUrl(q.name));
        return { queueUrls: urls };
      }
      case 'TagQueue':
        Object.assign(this.queueFromUrl(input).tags, optStringMap(input, 'Tags'));
        this.changed();
        return {};
      case 'UntagQueue': {
        const queue = this.queueFromUrl(input);
        for (const key of optStringList(input, 'TagKeys')) delete queue.tags[key];
        this.changed();
        return {};
      }
      case 'ListQueueTags':
        return { Tags: { ...this.queueFromUrl(input).tags } };
      case 'SendMessage':
        return this.apiSendMessage(input);
      case 'SendMessageBatch':
        return this.apiSendMessageBatch(input);
      case 'ReceiveMessage':
        return this.apiReceiveMessage(input, response);
      case 'DeleteMessage':
        this.deleteMessage(this.queueFromUrl(input), reqString(input, 'ReceiptHandle'));
        return {};
      case 'DeleteMessageBatch': {
        const queue = this.queueFromUrl(input);
        return runBatch(input, (entry) => {
          this.deleteMessage(queue, reqString(entry, 'ReceiptHandle'));
          return {};
        });
      }
      case 'ChangeMessageVisibility':
        this.changeVisibility(this.queueFromUrl(input), reqString(input, 'ReceiptHandle'), reqInt(input, 'VisibilityTimeout', 0, 43200));
        return {};
      case 'ChangeMessageVisibilityBatch': {
        const queue = this.queueFromUrl(input);
        return runBatch(input, (entry) => {
          this.changeVisibility(queue, reqString(entry, 'ReceiptHandle'), reqInt(entry, 'VisibilityTimeout', 0, 43200));
          return {};
        });
      }
      default:
        throw new SqsError(
          'UnsupportedOperation',
          `SQS operation ${operation} is not emulated by the local cloud`,
        );
    }
  }

  private apiCreateQueue(input: Json): Json {
    const name = reqString(input, 'QueueName');
    const attributes = optStringMap(input, 'Attributes');
    const existing = this.queues.get(name);
    if (existing) {
      // AWS: same name with different attribute values is an error, otherwise CreateQueue is idempotent.
      for (const [key, value] of Object.entries(attributes)) {
        if (!Object.hasOwn(SETTABLE_ATTRIBUTES, key)) throw new SqsError('InvalidAttributeName', `Unknown Attribute ${key}.`);
        const wanted = key === 'RedrivePolicy' && value !== '' ? JSON.stringify(parseRedrivePolicy(value)) : value;
        if ((this.attributeValue(existing, key) ?? '') !== wanted) {
          throw new SqsError('QueueNameExists', `A queue already exists with the same name and a different value for attribute ${key}`);
        }
      }
      return { QueueUrl: this.queueUrl(name) };
    }
    this.addQueue(name, attributes, optStringMap(input, 'tags'));
    return { QueueUrl: this.queueUrl(name) };
  }

  private apiListQueues(input: Json): Json {
    const prefix = optString(input, 'QueueNamePrefix') ?? '';
    const maxResults = optInt(input, 'MaxResults', 1, 1000);
    const after = optString(input, 'NextToken');
    let names = [...this.queues.keys()].filter((n) => n.startsWith(prefix)).sort();
    if (after !== undefined) {
      const last = Buffer.from(after, 'base64').toString('utf8');
      names = names.filter((n) => n > last);
    }
    if (maxResults === undefined || names.length <= maxResults) return { QueueUrls: names.map((n) => this.queueUrl(n)) };
    const page = names.slice(0, maxResults);
    return {
      QueueUrls: page.map((n) => this.queueUrl(n)),
      NextToken: Buffer.from(page[page.length - 1] ?? '').toString('base64'),
    };
  }

  private apiSendMessage(input: Json): Json {
    const queue = this.queueFromUrl(input);
    rejectFifoParameters(input);
    const message = this.enqueue(
      queue,
      reqString(input, 'MessageBody'),
      readMessageAttributes(input['MessageAttributes']),
      readSystemAttributes(input['MessageSystemAttributes']),
      optInt(input, 'DelaySeconds', 0, 900),
    );
    return sendResult(message);
  }

  private apiSendMessageBatch(input: Json): Json {
    const queue = this.queueFromUrl(input);
    const entries = batchEntries(input);
    const total = entries.reduce((sum, e) => sum + Buffer.byteLength(typeof e['MessageBody'] === 'string' ? e['MessageBody'] : ''), 0);
    if (total > Number(this.attributeValue(queue, 'MaximumMessageSize'))) {
      throw new SqsError('BatchRequestTooLong', 'Batch requests cannot be longer than the maximum message size.');
    }
    return runBatch(input, (entry) => {
      rejectFifoParameters(entry);
      const message = this.enqueue(
        queue,
        reqString(entry, 'MessageBody'),
        readMessageAttributes(entry['MessageAttributes']),
        readSystemAttributes(entry['MessageSystemAttributes']),
        optInt(entry, 'DelaySeconds', 0, 900),
      );
      return sendResult(message);
    });
  }

  private async apiReceiveMessage(input: Json, response: ServerResponse): Promise<Json> {
    const queue = this.queueFromUrl(input);
    const max = optInt(input, 'MaxNumberOfMessages', 1, 10) ?? 1;
    const visibility = optInt(input, 'VisibilityTimeout', 0, 43200);
    const wait = optInt(input, 'WaitTimeSeconds', 0, MAX_WAIT_SECONDS) ?? Number(this.attributeValue(queue, 'ReceiveMessageWaitTimeSeconds'));
    const systemNames = [...optStringList(input, 'AttributeNames'), ...optStringList(input, 'MessageSystemAttributeNames')];
    const attributeNames = optStringList(input, 'MessageAttributeNames');
    // A client that gives up on a long poll must not leave messages invisible for nobody.
    const abort = new AbortController();
    const onClose = () => abort.abort();
    response.once('close', onClose);
    try {
      const received = await this.receiveWaiting(queue.name, max, visibility, wait * 1000, abort.signal);
      if (received.length === 0) return {};
      return {
        Messages: received.map((m) => {
          const attributes = filterMessageAttributes(m.attributes, attributeNames);
          const md5OfAttributes = md5OfMessageAttributes(Object.keys(attributes).length > 0 ? attributes : m.attributes);
          return {
            MessageId: m.id,
            ReceiptHandle: m.receiptHandle,
            MD5OfBody: m.md5OfBody,
            Body: m.body,
            ...(systemNames.length > 0 ? { Attributes: pickSystemAttributes(m, systemNames) } : {}),
            ...(md5OfAttributes !== undefined ? { MD5OfMessageAttributes: md5OfAttributes } : {}),
            ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
          };
        }),
      };
    } finally {
      response.off('close', onClose);
    }
  }

  // ---- queue state ----

  private addQueue(name: string, attributes: Record<string, string>, tags: Record<string, string>): Queue {
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

  private setAttributes(queue: Queue, attributes: Record<string, string>): void {
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

  private attributeValue(queue: Queue, name: string): string | undefined {
    return queue.attributes[name] ?? (Object.hasOwn(SETTABLE_ATTRIBUTES, name) ? SETTABLE_ATTRIBUTES[name]?.default : undefined);
  }

  private getAttributes(queue: Queue, requested: string[]): Record<string, string> {
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

  private queueFromUrl(input: Json): Queue {
    const url = reqString(input, 'QueueUrl');
    // Any URL whose last path segment names a queue: the SDK may have been handed a deployed-style URL.
    const name = url.replace(/\/+$/, '').split('/').pop() ?? '';
    const queue = this.queues.get(name);
    if (!queue) throw noSuchQueue();
    return queue;
  }

  private queueByArn(arn: string): Queue | undefined {
    const name = arn.split(':')[5] ?? '';
    return arn === this.queueArn(name) ? this.queues.get(name) : undefined;
  }

  // ---- messages ----

  private enqueue(
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
  private receiveNow(queue: Queue, max: number, visibilityTimeout: number | undefined): StoredMessage[] {
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
  private async receiveWaiting(
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

  /** Resolves when the queue may have a receivable message: a send, a visibility change, or the next timed visibility. */
  private waitForChange(queue: Queue, deadline: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let wakeAt = deadline;
      for (const m of queue.messages.values()) if (m.visibleAt > Date.now() && m.visibleAt < wakeAt) wakeAt = m.visibleAt;
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

  private wake(queueName: string): void {
    const set = this.waiters.get(queueName);
    if (set) for (const wake of [...set]) wake();
  }

  private deleteMessage(queue: Queue, receiptHandle: string): void {
    const messageId = decodeReceiptHandle(queue.name, receiptHandle);
    const message = queue.messages.get(messageId);
    // A gone message or an outdated handle: the request succeeds and nothing is deleted, as AWS documents.
    if (message?.receiptHandle !== receiptHandle) return;
    queue.messages.delete(messageId);
    this.changed();
  }

  private changeVisibility(queue: Queue, receiptHandle: string, visibilityTimeout: number): void {
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
  private expire(queue: Queue): void {
    const oldest = Date.now() - Number(this.attributeValue(queue, 'MessageRetentionPeriod')) * 1000;
    for (const message of queue.messages.values()) {
      if (message.sentAt < oldest) {
        queue.messages.delete(message.id);
        this.changed();
      }
    }
  }

  // ---- event source poller ----

  private async poll(
    mapping: EventSourceMapping & { batchSize: number },
    invoker: LambdaInvoker,
    signal: AbortSignal,
  ): Promise<void> {
    const eventSourceARN = this.queueArn(mapping.queueName);
    const windowMs = (mapping.maximumBatchingWindowSeconds ?? 0) * 1000;
    while (!signal.aborted && !this.stopped) {
      let batch: StoredMessage[];
      try {
        batch = await this.receiveWaiting(mapping.queueName, mapping.batchSize, undefined, POLLER_WAIT_MS, signal);
        // The batching window gathers more messages until the batch is full or the window closes.
        const windowEnd = Date.now() + windowMs;
        while (batch.length > 0 && batch.length < mapping.batchSize && Date.now() < windowEnd && !signal.aborted) {
          const remaining = mapping.batchSize - batch.length;
          const more = await this.receiveWaiting(mapping.queueName, remaining, undefined, windowEnd - Date.now(), signal);
          batch = [...batch, ...more];
        }
      } catch (error) {
        // Typically the queue does not exist (yet): Lambda keeps the mapping and retries.
        if (!(error instanceof SqsError)) this.log(`[sqs] poller of ${mapping.queueName} failed: ${errorText(error)}`);
        await abortableDelay(1000, signal);
        continue;
      }
      if (batch.length === 0) continue;
      const event: SQSEvent = { Records: batch.map((m) => toRecord(m, eventSourceARN)) };
      let result: unknown;
      try {
        result = await invoker.invoke(mapping.functionName, event);
      } catch (error) {
        // Nothing is deleted: the batch reappears after the visibility timeout.
        this.log(`[sqs] ${mapping.functionName} failed on ${batch.length} message(s) from ${mapping.queueName}: ${errorText(error)}`);
        continue;
      }
      const failed = mapping.reportBatchItemFailures ? failedItems(result, batch) : new Set<string>();
      if (failed === 'all') {
        this.log(
          `[sqs] ${mapping.functionName} returned an invalid batchItemFailures response; ` +
            `the whole batch of ${mapping.queueName} failed`,
        );
        continue;
      }
      const queue = this.queues.get(mapping.queueName);
      if (!queue) continue;
      for (const message of batch) {
        if (!failed.has(message.id) && message.receiptHandle !== undefined) this.deleteMessage(queue, message.receiptHandle);
      }
    }
  }

  // ---- persistence ----

  private changed(): void {
    if (this.stateFile === undefined || this.persistTimer) return;
    this.persistTimer = setTimeout(() => this.flush(), PERSIST_DEBOUNCE_MS);
    // A pending write must not keep the process (or jest) alive; stop() flushes it.
    this.persistTimer.unref();
  }

  private flush(): void {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    if (this.stateFile === undefined || this.options.dataDir === undefined) return;
    const state: PersistedState = {
      version: 1,
      queues: [...this.queues.values()].map((q) => ({ ...q, messages: [...q.messages.values()] })),
    };
    mkdirSync(this.options.dataDir, { recursive: true });
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

// ---- wire helpers ----

function sendSqsError(response: ServerResponse, error: SqsError): void {
  const modeled = MODELED_ERRORS[error.type];
  const payload = JSON.stringify({
    __type: modeled ? `com.amazonaws.sqs#${error.type}` : error.type,
    message: error.message,
  });
  response.writeHead(error.status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(payload),
    // SQS is awsQueryCompatible: the SDK resolves the error class from this code (e.g. QueueDoesNotExist).
    'x-amzn-query-error': `${modeled?.code ?? error.type};${error.status >= 500 ? 'Receiver' : 'Sender'}`,
    'x-amzn-requestid': randomUUID(),
  });
  response.end(payload);
}

function parseInput(body: Buffer): Json {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new SqsError('SerializationException', 'The request body is not valid JSON.');
  }
  if (!isObject(parsed)) throw new SqsError('SerializationException', 'The request body must be a JSON object.');
  return parsed;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optString(input: Json, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParameter(`Value for parameter ${key} must be a string.`);
  return value;
}

function reqString(input: Json, key: string): string {
  const value = optString(input, key);
  if (value === undefined) throw new SqsError('MissingParameter', `The request must contain the parameter ${key}.`);
  return value;
}

function optInt(input: Json, key: string, min: number, max: number): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalidParameter(`Value ${String(value)} for parameter ${key} is invalid. Reason: Must be between ${min} and ${max}.`);
  }
  return n;
}

function reqInt(input: Json, key: string, min: number, max: number): number {
  const value = optInt(input, key, min, max);
  if (value === undefined) throw new SqsError('MissingParameter', `The request must contain the parameter ${key}.`);
  return value;
}

function optStringList(input: Json, key: string): string[] {
  const value = input[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw invalidParameter(`Value for parameter ${key} must be a list of strings.`);
  }
  return value;
}

function optStringMap(input: Json, key: string): Record<string, string> {
  const value = input[key];
  if (value === undefined || value === null) return {};
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw invalidParameter(`Value for parameter ${key} must be a map of strings.`);
  }
  return value as Record<string, string>;
}

function rejectFifoParameters(input: Json): void {
  if (input['MessageGroupId'] !== undefined || input['MessageDeduplicationId'] !== undefined) {
    throw invalidParameter('The request include parameter that is not valid for this queue type');
  }
}

function batchEntries(input: Json): Json[] {
  const entries = input['Entries'];
  if (entries === undefined || entries === null) throw new SqsError('MissingParameter', 'The request must contain the parameter Entries.');
  if (!Array.isArray(entries) || !entries.every(isObject)) throw invalidParameter('Entries must be a list of objects.');
  if (entries.length === 0) throw new SqsError('EmptyBatchRequest', 'There should be at least one entry in the request.');
  if (entries.length > 10) {
    throw new SqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`);
  }
  const ids = new Set<string>();
  for (const entry of entries) {
    const id = reqString(entry, 'Id');
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(id)) {
      throw new SqsError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    if (ids.has(id)) throw new SqsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
    ids.add(id);
  }
  return entries;
}

/** Runs each entry; entry-level SQS errors become `Failed` entries, as batch actions report them. */
function runBatch(input: Json, run: (entry: Json) => Json): Json {
  const successful: Json[] = [];
  const failed: Json[] = [];
  for (const entry of batchEntries(input)) {
    const id = reqString(entry, 'Id');
    try {
      successful.push({ Id: id, ...run(entry) });
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      failed.push({ Id: id, SenderFault: true, Code: MODELED_ERRORS[error.type]?.code ?? error.type, Message: error.message });
    }
  }
  return { Successful: successful, Failed: failed };
}

function sendResult(message: StoredMessage): Json {
  const md5OfAttributes = md5OfMessageAttributes(message.attributes);
  const md5OfSystem = message.systemAttributes['AWSTraceHeader'] === undefined
    ? undefined
    : md5OfMessageAttributes({ AWSTraceHeader: { DataType: 'String', StringValue: message.systemAttributes['AWSTraceHeader'] } });
  return {
    MessageId: message.id,
    MD5OfMessageBody: message.md5OfBody,
    ...(md5OfAttributes !== undefined ? { MD5OfMessageAttributes: md5OfAttributes } : {}),
    ...(md5OfSystem !== undefined ? { MD5OfMessageSystemAttributes: md5OfSystem } : {}),
  };
}

function readMessageAttributes(value: unknown): Record<string, MessageAttributeValue> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalidParameter('MessageAttributes must be a map.');
  const entries = Object.entries(value);
  if (entries.length > 10) throw invalidParameter('Number of message attributes cannot exceed 10.');
  const result: Record<string, MessageAttributeValue> = {};
  for (const [name, raw] of entries) {
    if (!isObject(raw)) throw invalidParameter(`The message attribute '${name}' must be a structure.`);
    if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..')) {
      throw invalidParameter(`The message attribute name '${name}' is invalid.`);
    }
    const dataType = optString(raw, 'DataType');
    if (dataType === undefined) throw invalidParameter(`The message attribute '${name}' must contain a non-empty attribute type.`);
    const base = dataType.split('.')[0];
    const attribute: MessageAttributeValue = { DataType: dataType };
    if (base === 'String' || base === 'Number') {
      const stringValue = optString(raw, 'StringValue');
      if (stringValue === undefined || stringValue === '') {
        throw invalidParameter(`The message attribute '${name}' must contain a non-empty value for type '${base}'.`);
      }
      if (base === 'Number' && !Number.isFinite(Number(stringValue))) {
        throw invalidParameter(`Could not cast message attribute '${name}' value to number.`);
      }
      attribute.StringValue = stringValue;
    } else if (base === 'Binary') {
      const binaryValue = optString(raw, 'BinaryValue');
      if (binaryValue === undefined || binaryValue === '') {
        throw invalidParameter(`The message attribute '${name}' must contain a non-empty value for type 'Binary'.`);
      }
      attribute.BinaryValue = binaryValue;
    } else {
      throw invalidParameter(
        `The type of message attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`,
      );
    }
    result[name] = attribute;
  }
  return result;
}

function readSystemAttributes(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalidParameter('MessageSystemAttributes must be a map.');
  const result: Record<string, string> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (name !== 'AWSTraceHeader') throw invalidParameter(`Message system attribute name '${name}' is invalid.`);
    const stringValue = isObject(raw) ? optString(raw, 'StringValue') : undefined;
    if (stringValue === undefined) throw invalidParameter('AWSTraceHeader must have a StringValue.');
    result[name] = stringValue;
  }
  return result;
}

function attributesSize(attributes: Record<string, MessageAttributeValue>): number {
  let size = 0;
  for (const [name, a] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(a.DataType);
    size += a.StringValue !== undefined ? Buffer.byteLength(a.StringValue) : Buffer.from(a.BinaryValue ?? '', 'base64').length;
  }
  return size;
}

/** MessageAttributeNames: `All`, `.*`, exact names, or `prefix.*`. */
function filterMessageAttributes(
  attributes: Record<string, MessageAttributeValue>,
  names: string[],
): Record<string, MessageAttributeValue> {
  const result: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) {
    const wanted = names.some(
      (n) => n === 'All' || n === '.*' || n === name || (n.endsWith('.*') && name.startsWith(n.slice(0, -1))),
    );
    if (wanted) result[name] = value;
  }
  return result;
}

function systemAttributes(message: StoredMessage): Record<string, string> {
  return {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentAt),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceiveAt ?? message.sentAt),
    ...message.systemAttributes,
  };
}

function pickSystemAttributes(message: StoredMessage, names: string[]): Record<string, string> {
  const all = systemAttributes(message);
  const wanted = names.includes('All') ? MESSAGE_SYSTEM_ATTRIBUTES : names;
  const result: Record<string, string> = {};
  for (const name of wanted) {
    const value = all[name];
    if (value !== undefined) result[name] = value;
  }
  return result;
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
function failedItems(result: unknown, batch: StoredMessage[]): Set<string> | 'all' {
  if (result === undefined || result === null) return new Set();
  if (!isObject(result)) return 'all';
  const failures = result['batchItemFailures'];
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'all';
  const ids = new Set(batch.map((m) => m.id));
  const failed = new Set<string>();
  for (const failure of failures as unknown[]) {
    const id = isObject(failure) ? failure['itemIdentifier'] : undefined;
    if (typeof id !== 'string' || !ids.has(id)) return 'all';
    failed.add(id);
  }
  return failed;
}

interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

function parseRedrivePolicy(value: string | undefined): RedrivePolicy | undefined {
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

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
