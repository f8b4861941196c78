import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { amzTarget, type EdgeRequest, type EdgeService, sendAwsError } from './edge';

/** The ports of the local cloud a fault can be put on (docs/reliability.md, "Fault injection"). */
export type FaultService = 'dynamodb' | 'sqs' | 'scheduler' | 'management';

/** An AWS error answer, in the shape the SDK of that service parses. */
export interface ErrorFault {
  readonly status: number;
  /** e.g. `ProvisionedThroughputExceededException`, `ThrottlingException`, `InternalServerError`, `GoneException`. */
  readonly type: string;
  readonly message?: string;
  /**
   * The request reaches the real service first and its answer is replaced by this error: the write is done but
   * the caller is told it failed (what a 5xx or a lost answer can mean on AWS), so its retry meets its own write.
   */
  readonly afterCommit?: boolean;
}

/**
 * No answer for `delayMs` (a hung service): then the connection is reset (`'drop'`, default), so the caller
 * only ever sees its own timeout, or the request goes on to the real service (`'pass'`, a slow answer).
 */
export interface DelayFault {
  readonly delayMs: number;
  readonly then?: 'drop' | 'pass';
}

/**
 * `BatchWriteItem` or `BatchGetItem` done in part: the write requests (or keys) `holdBack` picks (by their index in
 * the request) are answered as `UnprocessedItems` (`UnprocessedKeys`), as DynamoDB does when a partition is
 * throttled; the others reach DynamoDB Local.
 */
export interface PartialBatchFault {
  /** `entry` is a write request of BatchWriteItem, or a key of BatchGetItem, in DynamoDB's JSON. */
  readonly holdBack: (index: number, entry: Record<string, unknown>) => boolean;
}

export type Fault = ErrorFault | DelayFault | PartialBatchFault;

/** A request as the injector identified it on arrival. */
export interface FaultRequest {
  readonly service: FaultService;
  /** The API operation: `PutItem`, `SendMessageBatch`, `CreateSchedule`, `PostToConnection`, ... */
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  /** The request body as text (JSON for every service here; the management API's post is the payload). */
  readonly body: string;
  /** The connection of a management API request, the schedule of a Scheduler request. */
  readonly resource?: string;
}

export interface FaultRule {
  readonly service: FaultService;
  /** Only this operation (default: every operation of the service). */
  readonly operation?: string;
  /** Only requests this accepts (default: all). */
  readonly match?: (request: FaultRequest) => boolean;
  readonly fault: Fault;
  /** How many matching requests get the fault (default 1; `Infinity` until cleared). */
  readonly times?: number;
}

/** What one `inject` did so far. */
export interface FaultHandle {
  readonly rule: FaultRule;
  /** Matching requests that got the fault. */
  readonly hits: number;
  /** False once `times` requests got it or it was removed. */
  readonly active: boolean;
  remove(): void;
}

/** The edge service that checks SigV4 signatures (infra/local/sigv4.ts), by its name. */
const SIGNATURE_GUARD = 'sigv4';

class ActiveFault implements FaultHandle {
  hits = 0;
  removed = false;
  constructor(readonly rule: FaultRule) {}

  get active(): boolean {
    return !this.removed && this.hits < (this.rule.times ?? 1);
  }

  remove(): void {
    this.removed = true;
  }
}

/**
 * Fault injection for the local cloud at the HTTP level, first in the edge's service list: a matching
 * request gets an AWS error answer (or no answer) instead of reaching the emulation or DynamoDB Local, so
 * the production SDK clients see real error responses and run their real retry logic. With no fault
 * injected it answers nothing and costs one array length check per request.
 */
export class FaultInjector implements EdgeService {
  readonly name = 'faults';
  /** @param services the edge's services, this one included: where `afterCommit` and `'pass'` requests go. */
  constructor(private readonly services: () => readonly EdgeService[]) {}

  private readonly faults: ActiveFault[] = [];
  private readonly hung = new Set<{ timer: NodeJS.Timeout; response: ServerResponse }>();
  private injectedTotal = 0;

  /** Adds a fault; the first active matching rule (in injection order) takes a request. */
  inject(rule: FaultRule): FaultHandle {
    const fault = new ActiveFault(rule);
    this.faults.push(fault);
    return fault;
  }

  /** Removes every fault and releases hung requests (their connections are reset). */
  clear(): void {
    for (const fault of this.faults) fault.remove();
    this.faults.length = 0;
    for (const hang of this.hung) {
      clearTimeout(hang.timer);
      hang.response.destroy();
    }
    this.hung.clear();
  }

  /** Faults injected since this cloud started (every hit of every rule, cleared ones included). */
  get total(): number {
    return this.injectedTotal;
  }

  async handle(request: EdgeRequest, response: ServerResponse): Promise<boolean> {
    if (this.faults.length === 0) return false;
    const identified = identify(request);
    if (!identified) return false;
    const fault = this.faults.find(
      (candidate) =>
        candidate.active &&
        candidate.rule.service === identified.service &&
        (candidate.rule.operation === undefined || candidate.rule.operation === identified.operation) &&
        (candidate.rule.match?.(identified) ?? true),
    );
    if (!fault) return false;
    fault.hits++;
    this.injectedTotal++;
    // Spent rules go, so the list is empty again (and free) once the test's faults are used up.
    for (let index = this.faults.length - 1; index >= 0; index--) if (!this.faults[index]!.active) this.faults.splice(index, 1);
    const injected = fault.rule.fault;
    if ('delayMs' in injected) return this.delay(injected, response);
    if ('holdBack' in injected) return this.partialBatch(request, response, injected);
    if (injected.afterCommit) await this.passOn(request, discardedResponse());
    sendError(identified.service, response, injected);
    return true;
  }

  /** The request through the services after this one, as the edge would route it (but the one named `skip`). */
  private async passOn(request: EdgeRequest, response: ServerResponse, skip?: string): Promise<void> {
    for (const service of this.services()) {
      if (service !== this && service.name !== skip && (await service.handle(request, response))) return;
    }
  }

  private async partialBatch(request: EdgeRequest, response: ServerResponse, fault: PartialBatchFault): Promise<boolean> {
    if (amzTarget(request)?.endsWith('.BatchGetItem')) return this.partialBatchGet(request, response, fault);
    const { RequestItems: requested } = JSON.parse(request.body.toString('utf8')) as { RequestItems: Record<string, Record<string, unknown>[]> };
    const processed: Record<string, Record<string, unknown>[]> = {};
    const unprocessed: Record<string, Record<string, unknown>[]> = {};
    for (const [table, writes] of Object.entries(requested)) {
      writes.forEach((write, index) => ((fault.holdBack(index, write) ? unprocessed : processed)[table] ??= []).push(write));
    }
    if (Object.keys(processed).length > 0) await this.passOnShortened(request, { RequestItems: processed });
    return this.answerJson(response, { UnprocessedItems: unprocessed });
  }

  /** BatchGetItem: the held-back keys come back as `UnprocessedKeys` (with their table's read options), the rest is read. */
  private async partialBatchGet(request: EdgeRequest, response: ServerResponse, fault: PartialBatchFault): Promise<boolean> {
    type TableRead = { Keys: Record<string, unknown>[] } & Record<string, unknown>;
    const input = JSON.parse(request.body.toString('utf8')) as { RequestItems: Record<string, TableRead> } & Record<string, unknown>;
    const processed: Record<string, TableRead> = {};
    const unprocessed: Record<string, TableRead> = {};
    for (const [table, read] of Object.entries(input.RequestItems)) {
      read.Keys.forEach((key, index) => ((fault.holdBack(index, key) ? unprocessed : processed)[table] ??= { ...read, Keys: [] }).Keys.push(key));
    }
    let responses: Record<string, unknown[]> = {};
    if (Object.keys(processed).length > 0) {
      const answer = await this.passOnShortened(request, { ...input, RequestItems: processed });
      responses = (JSON.parse(answer) as { Responses?: Record<string, unknown[]> }).Responses ?? {};
    }
    return this.answerJson(response, { Responses: responses, UnprocessedKeys: unprocessed });
  }

  /** The request with a shortened body through the other services; answers the body of their 200. */
  private async passOnShortened(request: EdgeRequest, input: unknown): Promise<string> {
    // The signature covers the original body: it is checked on that one, and the shortened copy skips the check.
    const guard = this.services().find((service) => service.name === SIGNATURE_GUARD);
    const refusal = capturedResponse();
    if (guard && (await guard.handle(request, refusal.response))) throw new Error(`a partial batch's request was refused: ${refusal.status()} ${refusal.body()}`);
    const body = Buffer.from(JSON.stringify(input));
    const answer = capturedResponse();
    await this.passOn({ ...request, body, headers: { ...request.headers, 'content-length': String(body.length) } }, answer.response, SIGNATURE_GUARD);
    if (answer.status() !== 200) throw new Error(`the processed part of a partial batch failed: ${answer.status()} ${answer.body()}`);
    return answer.body();
  }

  private answerJson(response: ServerResponse, answer: unknown): boolean {
    const payload = JSON.stringify(answer);
    response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(payload), 'x-amzn-requestid': randomUUID() });
    response.end(payload);
    return true;
  }

  private async delay(fault: DelayFault, response: ServerResponse): Promise<boolean> {
    await new Promise<void>((resolve) => {
      const hang = { timer: setTimeout(() => done(), fault.delayMs), response };
      const done = () => {
        clearTimeout(hang.timer);
        this.hung.delete(hang);
        resolve();
      };
      hang.timer.unref();
      this.hung.add(hang);
      // The caller gave up (its own timeout): nothing is left to answer.
      response.once('close', done);
    });
    if (response.destroyed || response.writableEnded) return true;
    if (fault.then === 'pass') return false;
    response.destroy();
    return true;
  }
}

/** A response that goes nowhere, for the real answer an `afterCommit` fault replaces. */
function discardedResponse(): ServerResponse {
  return capturedResponse().response;
}

/** A response that goes nowhere but keeps its status and body, for a real answer the injector replaces. */
function capturedResponse(): { response: ServerResponse; status: () => number | undefined; body: () => string } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      chunks.push(chunk);
      callback();
    },
  });
  let status: number | undefined;
  Object.defineProperty(sink, 'headersSent', { get: () => status !== undefined });
  const response = Object.assign(sink, {
    writeHead(code: number) {
      status = code;
      return sink;
    },
    setHeader: () => sink,
  }) as unknown as ServerResponse;
  return { response, status: () => status, body: () => Buffer.concat(chunks).toString('utf8') };
}

function identify(request: EdgeRequest): FaultRequest | undefined {
  const target = amzTarget(request);
  const base = { method: request.method, path: request.path, body: request.body.toString('utf8') };
  if (target?.startsWith('DynamoDB_')) return { ...base, service: 'dynamodb', operation: target.slice(target.indexOf('.') + 1) };
  if (target?.startsWith('AmazonSQS.')) return { ...base, service: 'sqs', operation: target.slice('AmazonSQS.'.length) };
  // The management API: `/@connections/{id}` (optionally after the stage), as infra/local/gateway.ts serves it.
  const connection = /^(?:\/[^/]+)?\/@connections\/([^/]+)$/.exec(request.path)?.[1];
  if (connection !== undefined) {
    const operation = { POST: 'PostToConnection', GET: 'GetConnection', DELETE: 'DeleteConnection' }[request.method] ?? request.method;
    return { ...base, service: 'management', operation, resource: decodeURIComponent(connection) };
  }
  // EventBridge Scheduler's REST paths, as infra/local/scheduler.ts serves them.
  const schedule = /^\/schedules\/([^/]+)$/.exec(request.path)?.[1];
  if (schedule !== undefined) {
    const operation = { POST: 'CreateSchedule', PUT: 'UpdateSchedule', GET: 'GetSchedule', DELETE: 'DeleteSchedule' }[request.method] ?? request.method;
    return { ...base, service: 'scheduler', operation, resource: decodeURIComponent(schedule) };
  }
  if (request.path === '/schedules') return { ...base, service: 'scheduler', operation: 'ListSchedules' };
  const group = /^\/schedule-groups(?:\/([^/]+))?$/.exec(request.path);
  if (group) {
    const operation = group[1] === undefined ? 'ListScheduleGroups' : { POST: 'CreateScheduleGroup', GET: 'GetScheduleGroup', DELETE: 'DeleteScheduleGroup' }[request.method];
    return { ...base, service: 'scheduler', operation: operation ?? request.method, ...(group[1] ? { resource: decodeURIComponent(group[1]) } : {}) };
  }
  return undefined;
}

/**
 * The error answer each SDK parses: DynamoDB (JSON 1.0) reads `__type`; SQS (JSON 1.0, query compatible)
 * also `x-amzn-query-error`; Scheduler and the management API (REST-JSON) read `x-amzn-errortype`.
 */
function sendError(service: FaultService, response: ServerResponse, fault: ErrorFault): void {
  const message = fault.message ?? `injected fault: ${fault.type}`;
  switch (service) {
    case 'dynamodb':
      return sendAwsError(response, fault.status, `com.amazonaws.dynamodb.v20120810#${fault.type}`, message, 'application/x-amz-json-1.0');
    case 'sqs': {
      const payload = JSON.stringify({ __type: `com.amazonaws.sqs#${fault.type}`, message });
      response.writeHead(fault.status, {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': Buffer.byteLength(payload),
        'x-amzn-query-error': `${fault.type};${fault.status >= 500 ? 'Receiver' : 'Sender'}`,
        'x-amzn-requestid': randomUUID(),
      });
      response.end(payload);
      return;
    }
    default:
      return sendAwsError(response, fault.status, fault.type, message, 'application/json');
  }
}
