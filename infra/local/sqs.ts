import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { amzTarget, type EdgeRequest, type EdgeService, sendJson } from './edge';
import { LOCAL_ACCOUNT_ID, type LambdaInvoker } from './lambdas';
import { type EventSourceMapping, pollEventSource } from './sqs-poller';
import { parseQueryRequest, sendQueryError, sendQueryResult } from './sqs-query';
import {
  isObject,
  MAX_WAIT_SECONDS,
  type MessageAttributeValue,
  MODELED_ERRORS,
  md5OfMessageAttributes,
  invalidParameter,
  noSuchQueue,
  parseRedrivePolicy,
  type Queue,
  queueArnOf,
  SETTABLE_ATTRIBUTES,
  SqsError,
  SqsQueues,
  type StoredMessage,
  systemAttributes,
} from './sqs-queues';

export type { EventSourceMapping } from './sqs-poller';
export { md5OfMessageAttributes, type MessageAttributeValue, SqsError } from './sqs-queues';

/**
 * The local cloud's SQS (standard queues), speaking the JSON protocol the AWS SDK v3 uses:
 * `POST /` with `x-amz-target: AmazonSQS.<Operation>` and an `application/x-amz-json-1.0` body, and the
 * older query protocol (form-encoded `Action=…`, XML answers: sqs-query.ts) of the AWS CLI v2 of Debian and
 * older SDKs.
 * The queues themselves (messages, visibility, receive, redrive) are the model in sqs-queues.ts; Lambda's SQS event
 * source mappings, which poll queues in-process, are sqs-poller.ts.
 */
export interface LocalSqsOptions {
  /** The edge endpoint, read lazily because the port is known only once the server listens. */
  endpointUrl: () => string;
  /** Directory for `sqs.json`; undefined keeps everything in memory. */
  dataDir?: string;
  /** Where poller failures are reported; defaults to console.error. */
  log?: (line: string) => void;
}

type Json = Record<string, unknown>;

const MESSAGE_SYSTEM_ATTRIBUTES = [
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'AWSTraceHeader',
  'DeadLetterQueueSourceArn',
];

export class LocalSqs implements EdgeService {
  readonly name = 'sqs';
  private readonly model: SqsQueues;
  private readonly pollers: Array<{ abort: AbortController; done: Promise<void> }> = [];
  private readonly log: (line: string) => void;

  constructor(private readonly options: LocalSqsOptions) {
    this.model = new SqsQueues(options.dataDir);
    this.log = options.log ?? ((line) => console.error(line));
  }

  // ---- programmatic API (local cloud bootstrap, Scheduler, pollers) ----

  queueUrl(name: string): string {
    return `${this.options.endpointUrl()}/${LOCAL_ACCOUNT_ID}/${name}`;
  }

  queueArn(name: string): string {
    return queueArnOf(name);
  }

  /** Creates the queue, or reconciles the attributes of an existing one, so bootstrap can run on persisted state. */
  createQueue(name: string, attributes: Record<string, string> = {}): string {
    const existing = this.model.queues.get(name);
    if (existing) {
      if (Object.keys(attributes).length > 0) this.model.setAttributes(existing, attributes);
      return this.queueUrl(name);
    }
    this.model.addQueue(name, attributes, {});
    return this.queueUrl(name);
  }

  /** Sends as another AWS service would (Scheduler targets, DLQs); throws when the queue does not exist. */
  sendByArn(
    queueArn: string,
    body: string,
    messageAttributes?: Record<string, { DataType: string; StringValue?: string }>,
  ): string {
    const name = queueArn.split(':')[5] ?? '';
    const queue = this.model.queues.get(name);
    if (!queue || queueArn !== this.queueArn(name)) throw new SqsError('QueueDoesNotExist', `no local queue ${queueArn}`);
    return this.model.enqueue(queue, body, readMessageAttributes(messageAttributes), {}, undefined).id;
  }

  /** Emulates Lambda's SQS event source: `maximumConcurrency` pollers per mapping, each one batch at a time. */
  addEventSourceMapping(mapping: EventSourceMapping, invoker: LambdaInvoker): void {
    const batchSize = mapping.batchSize ?? 10;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
      throw new Error(`batchSize ${batchSize} out of range 1-10000`);
    }
    const concurrency = mapping.maximumConcurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) {
      throw new Error(`maximumConcurrency ${concurrency} out of range 1-1000`);
    }
    for (let n = 0; n < concurrency; n++) {
      const abort = new AbortController();
      const done = pollEventSource(this.model, { ...mapping, batchSize }, invoker, abort.signal, this.log);
      this.pollers.push({ abort, done });
    }
  }

  async stop(): Promise<void> {
    this.model.stop();
    for (const poller of this.pollers) poller.abort.abort();
    await Promise.all(this.pollers.map((p) => p.done));
    this.pollers.length = 0;
    this.model.flush();
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
        if (!this.model.queues.has(name)) throw noSuchQueue();
        return { QueueUrl: this.queueUrl(name) };
      }
      case 'ListQueues':
        return this.apiListQueues(input);
      case 'DeleteQueue': {
        this.model.deleteQueue(this.queueFromUrl(input));
        return {};
      }
      case 'GetQueueAttributes':
        return { Attributes: this.model.getAttributes(this.queueFromUrl(input), optStringList(input, 'AttributeNames')) };
      case 'SetQueueAttributes':
        this.model.setAttributes(this.queueFromUrl(input), optStringMap(input, 'Attributes'));
        return {};
      case 'PurgeQueue': {
        this.model.purge(this.queueFromUrl(input));
        return {};
      }
      case 'ListDeadLetterSourceQueues': {
        const arn = this.queueArn(this.queueFromUrl(input).name);
        const urls = [...this.model.queues.values()]
          .filter((q) => parseRedrivePolicy(q.attributes['RedrivePolicy'])?.deadLetterTargetArn === arn)
          .map((q) => this.queueUrl(q.name));
        return { queueUrls: urls };
      }
      case 'TagQueue':
        Object.assign(this.queueFromUrl(input).tags, optStringMap(input, 'Tags'));
        this.model.changed();
        return {};
      case 'UntagQueue': {
        const queue = this.queueFromUrl(input);
        for (const key of optStringList(input, 'TagKeys')) delete queue.tags[key];
        this.model.changed();
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
        this.model.deleteMessage(this.queueFromUrl(input), reqString(input, 'ReceiptHandle'));
        return {};
      case 'DeleteMessageBatch': {
        const queue = this.queueFromUrl(input);
        return runBatch(input, (entry) => {
          this.model.deleteMessage(queue, reqString(entry, 'ReceiptHandle'));
          return {};
        });
      }
      case 'ChangeMessageVisibility':
        this.model.changeVisibility(this.queueFromUrl(input), reqString(input, 'ReceiptHandle'), reqInt(input, 'VisibilityTimeout', 0, 43200));
        return {};
      case 'ChangeMessageVisibilityBatch': {
        const queue = this.queueFromUrl(input);
        return runBatch(input, (entry) => {
          this.model.changeVisibility(queue, reqString(entry, 'ReceiptHandle'), reqInt(entry, 'VisibilityTimeout', 0, 43200));
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
    const existing = this.model.queues.get(name);
    if (existing) {
      // AWS: same name with different attribute values is an error, otherwise CreateQueue is idempotent.
      for (const [key, value] of Object.entries(attributes)) {
        if (!Object.hasOwn(SETTABLE_ATTRIBUTES, key)) throw new SqsError('InvalidAttributeName', `Unknown Attribute ${key}.`);
        const wanted = key === 'RedrivePolicy' && value !== '' ? JSON.stringify(parseRedrivePolicy(value)) : value;
        if ((this.model.attributeValue(existing, key) ?? '') !== wanted) {
          throw new SqsError('QueueNameExists', `A queue already exists with the same name and a different value for attribute ${key}`);
        }
      }
      return { QueueUrl: this.queueUrl(name) };
    }
    this.model.addQueue(name, attributes, optStringMap(input, 'tags'));
    return { QueueUrl: this.queueUrl(name) };
  }

  private apiListQueues(input: Json): Json {
    const prefix = optString(input, 'QueueNamePrefix') ?? '';
    const maxResults = optInt(input, 'MaxResults', 1, 1000);
    const after = optString(input, 'NextToken');
    let names = [...this.model.queues.keys()].filter((n) => n.startsWith(prefix)).sort();
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
    const message = this.model.enqueue(
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
    if (total > Number(this.model.attributeValue(queue, 'MaximumMessageSize'))) {
      throw new SqsError('BatchRequestTooLong', 'Batch requests cannot be longer than the maximum message size.');
    }
    return runBatch(input, (entry) => {
      rejectFifoParameters(entry);
      const message = this.model.enqueue(
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
    const wait = optInt(input, 'WaitTimeSeconds', 0, MAX_WAIT_SECONDS) ?? Number(this.model.attributeValue(queue, 'ReceiveMessageWaitTimeSeconds'));
    const systemNames = [...optStringList(input, 'AttributeNames'), ...optStringList(input, 'MessageSystemAttributeNames')];
    const attributeNames = optStringList(input, 'MessageAttributeNames');
    // A client that gives up on a long poll must not leave messages invisible for nobody.
    const abort = new AbortController();
    const onClose = () => abort.abort();
    response.once('close', onClose);
    try {
      const received = await this.model.receiveWaiting(queue.name, max, visibility, wait * 1000, abort.signal);
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


  private queueFromUrl(input: Json): Queue {
    const url = reqString(input, 'QueueUrl');
    // Any URL whose last path segment names a queue: the SDK may have been handed a deployed-style URL.
    const name = url.replace(/\/+$/, '').split('/').pop() ?? '';
    const queue = this.model.queues.get(name);
    if (!queue) throw noSuchQueue();
    return queue;
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
