import { randomUUID } from 'node:crypto';
import {
  DeleteScheduleCommand,
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { DeleteMessageBatchCommand, GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { abortableDelay } from './abortable-delay';
import { type LambdaInvoker } from './lambdas';
import { isoSeconds, parseEvent, renderScheduleInput } from './scheduler';

/**
 * The external-endpoint mode's driver (AWS_ENDPOINT_URL = LocalStack, moto or another emulator): what such an
 * emulator stores but does not do, done here as AWS would.
 *
 * - Scheduler: it reads the schedules of the project's group from the external Scheduler and fires the due
 *   ones into the in-process targets (the app's functions; SQS targets by sending to the external queue), with
 *   the target's RetryPolicy (backoff doubling from `retryBaseDelayMs`), its dead-letter queue (the attributes
 *   AWS documents) and ActionAfterCompletion DELETE (the schedule is deleted externally once its firing settled,
 *   unless it was replaced meanwhile). A recurring schedule whose Description says `uc:period=Ns` fires every N
 *   seconds: periods under a minute are stored as `rate(1 minute)`, an expression every Scheduler accepts.
 * - SQS event source mapping: it polls the external queue (ReceiveMessage), invokes the function with the batch,
 *   deletes what did not fail (partial batch responses); a failed batch reappears after the visibility timeout
 *   and the queue's own redrive policy dead-letters it.
 */

export interface ExternalDriverOptions {
  readonly endpoint: string;
  readonly invoker: LambdaInvoker;
  readonly scheduleGroup: string;
  /** How often the external Scheduler is read (default 500 ms). */
  readonly pollMs?: number;
  readonly retryBaseDelayMs?: number;
  readonly log?: (line: string) => void;
}

interface Mapping {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly functionName: string;
  readonly batchSize: number;
}

interface Known {
  readonly definition: GetScheduleCommandOutput;
  /** The definition's LastModificationDate: a replaced schedule is a new one. */
  readonly modified: number;
  readonly expression: { kind: 'at'; at: number } | { kind: 'rate'; periodMs: number; anchor: number } | { kind: 'unsupported' };
  nextDueAt: number | null;
}

const UNIT_MS: Record<string, number> = { second: 1e3, seconds: 1e3, minute: 6e4, minutes: 6e4, hour: 36e5, hours: 36e5, day: 864e5, days: 864e5 };
const MAX_BACKOFF_MS = 300_000;

/** The period a Description may carry for a sub-minute recurring schedule (see provision.ts). */
export const PERIOD_DESCRIPTION = /\buc:period=(\d+)s\b/;

export class ExternalDriver {
  private readonly scheduler: SchedulerClient;
  private readonly sqs: SQSClient;
  private readonly known = new Map<string, Known>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly queueUrls = new Map<string, string>();
  private readonly log: (line: string) => void;
  private readonly warned = new Set<string>();
  /** Firings delivered, by schedule name (tests, the banner). */
  readonly firings = new Map<string, number>();

  constructor(private readonly options: ExternalDriverOptions) {
    this.scheduler = new SchedulerClient({ endpoint: options.endpoint });
    this.sqs = new SQSClient({ endpoint: options.endpoint });
    this.log = options.log ?? ((line) => console.warn(line));
  }

  start(): void {
    this.loops.push(this.scheduleLoop());
  }

  /** Lambda's SQS event source mapping on an external queue. */
  addEventSourceMapping(mapping: Mapping): void {
    this.loops.push(this.pollQueue(mapping));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops);
    await Promise.allSettled([...this.inflight]);
    this.scheduler.destroy();
    this.sqs.destroy();
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  // ---- Scheduler ----

  private async scheduleLoop(): Promise<void> {
    const pollMs = this.options.pollMs ?? 500;
    while (!this.stopped) {
      try {
        await this.sync();
        this.fireDue();
      } catch (error) {
        if (!this.stopped) this.warnOnce(`sync:${text(error)}`, `[external scheduler] reading ${this.options.scheduleGroup} failed: ${text(error)}`);
      }
      await abortableDelay(pollMs, this.abort.signal);
    }
  }

  /** Reads the group's schedules; a new or modified one is read in full (GetSchedule). */
  private async sync(): Promise<void> {
    const listed = new Map<string, number>();
    let NextToken: string | undefined;
    do {
      const page = await this.scheduler.send(new ListSchedulesCommand({ GroupName: this.options.scheduleGroup, NextToken }), { abortSignal: this.abort.signal });
      for (const summary of page.Schedules ?? []) {
        if (summary.Name && summary.State !== 'DISABLED') listed.set(summary.Name, summary.LastModificationDate?.getTime() ?? 0);
      }
      NextToken = page.NextToken;
    } while (NextToken);
    for (const name of this.known.keys()) if (!listed.has(name)) this.known.delete(name);
    for (const [name, modified] of listed) {
      if (this.known.get(name)?.modified === modified) continue;
      try {
        const definition = await this.scheduler.send(new GetScheduleCommand({ Name: name, GroupName: this.options.scheduleGroup }), { abortSignal: this.abort.signal });
        this.known.set(name, plan(definition, modified));
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
    }
  }

  private fireDue(): void {
    const now = Date.now();
    for (const [name, known] of this.known) {
      const { expression } = known;
      if (expression.kind === 'unsupported') {
        this.warnOnce(`expr:${name}`, `[external scheduler] ${name}: ${known.definition.ScheduleExpression} is not driven locally (at() and rate() are)`);
        continue;
      }
      if (known.nextDueAt === null || known.nextDueAt > now) continue;
      const scheduledTime = known.nextDueAt;
      // Advanced before delivering, so one occurrence never fires twice; missed periods collapse into one firing.
      if (expression.kind === 'at') {
        known.nextDueAt = null;
      } else {
        const next = expression.anchor + (Math.floor((now - expression.anchor) / expression.periodMs) + 1) * expression.periodMs;
        const end = known.definition.EndDate?.getTime();
        known.nextDueAt = end !== undefined && next > end ? null : next;
      }
      const job = this.deliver(name, known, scheduledTime, known.nextDueAt === null).catch((error: unknown) => this.log(`[external scheduler] ${name}: ${text(error)}`));
      this.inflight.add(job);
      void job.finally(() => this.inflight.delete(job));
    }
  }

  private async deliver(name: string, known: Known, scheduledTime: number, final: boolean): Promise<void> {
    const target = known.definition.Target!;
    const retryPolicy = { MaximumRetryAttempts: target.RetryPolicy?.MaximumRetryAttempts ?? 185, MaximumEventAgeInSeconds: target.RetryPolicy?.MaximumEventAgeInSeconds ?? 86400 };
    const baseMs = this.options.retryBaseDelayMs ?? 1000;
    const executionId = randomUUID();
    const scheduleArn = known.definition.Arn ?? name;
    for (let retries = 0; ; retries += 1) {
      if (this.stopped || this.known.get(name) !== known) return;
      const payload = renderScheduleInput(target.Input, scheduleArn, scheduledTime, executionId, retries + 1);
      try {
        if (target.Arn!.startsWith('arn:aws:lambda:')) await this.options.invoker.invoke(target.Arn!, parseEvent(payload));
        else await this.send(target.Arn!, payload);
        this.firings.set(name, (this.firings.get(name) ?? 0) + 1);
        break;
      } catch (error) {
        if (this.stopped || this.known.get(name) !== known) return;
        const wait = Math.min(baseMs * 2 ** retries, Math.max(baseMs, MAX_BACKOFF_MS));
        const exhausted =
          retries >= retryPolicy.MaximumRetryAttempts
            ? 'MaximumRetryAttempts'
            : Date.now() + wait > scheduledTime + retryPolicy.MaximumEventAgeInSeconds * 1000
              ? 'MaximumEventAgeInSeconds'
              : undefined;
        if (exhausted !== undefined) {
          await this.deadLetter(known, error, { scheduleArn, scheduledTime, executionId, retries, exhausted, payload: renderScheduleInput(target.Input, scheduleArn, scheduledTime, executionId, retries + 1) });
          break;
        }
        await abortableDelay(wait, this.abort.signal);
      }
    }
    if (final && known.definition.ActionAfterCompletion === 'DELETE') await this.deleteIfUnchanged(name, known);
  }

  /** ActionAfterCompletion DELETE, unless the schedule was replaced since (its LastModificationDate changed). */
  private async deleteIfUnchanged(name: string, known: Known): Promise<void> {
    try {
      const current = await this.scheduler.send(new GetScheduleCommand({ Name: name, GroupName: this.options.scheduleGroup }));
      if ((current.LastModificationDate?.getTime() ?? 0) !== known.modified) return;
      await this.scheduler.send(new DeleteScheduleCommand({ Name: name, GroupName: this.options.scheduleGroup }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    if (this.known.get(name) === known) this.known.delete(name);
  }

  private async deadLetter(
    known: Known,
    error: unknown,
    run: { scheduleArn: string; scheduledTime: number; executionId: string; retries: number; exhausted: string; payload: string },
  ): Promise<void> {
    const target = known.definition.Target!;
    const dlq = target.DeadLetterConfig?.Arn;
    const message = text(error);
    if (dlq === undefined) {
      this.log(`[external scheduler] ${run.scheduleArn}: dropped after ${run.retries} retries: ${message}`);
      return;
    }
    const attributes: Record<string, string> = {
      ERROR_CODE: error instanceof Error ? error.name : 'Error',
      ERROR_MESSAGE: message,
      EXECUTION_ID: run.executionId,
      EXHAUSTED_RETRY_CONDITION: run.exhausted,
      GROUP: this.options.scheduleGroup,
      IS_PAYLOAD_TRUNCATED: 'false',
      RETRY_ATTEMPTS: String(run.retries),
      SCHEDULED_TIME: isoSeconds(run.scheduledTime),
      SCHEDULE_ARN: run.scheduleArn,
      TARGET_ARN: target.Arn!,
    };
    try {
      await this.send(dlq, run.payload, attributes);
    } catch (dlqError) {
      this.log(`[external scheduler] ${run.scheduleArn}: dead letter to ${dlq} failed: ${text(dlqError)}`);
    }
  }

  private async send(queueArn: string, body: string, attributes: Record<string, string> = {}): Promise<void> {
    const QueueUrl = await this.queueUrl(queueArn);
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: body,
        MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([key, value]) => [key, { DataType: 'String', StringValue: value.slice(0, 256) || '-' }])),
      }),
    );
  }

  private async queueUrl(queueArn: string): Promise<string> {
    const known = this.queueUrls.get(queueArn);
    if (known) return known;
    const [, , , , account, name] = queueArn.split(':');
    const { QueueUrl } = await this.sqs.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }));
    this.queueUrls.set(queueArn, QueueUrl!);
    return QueueUrl!;
  }

  // ---- SQS event source mapping ----

  private async pollQueue(mapping: Mapping): Promise<void> {
    while (!this.stopped) {
      let records: SQSRecord[];
      try {
        const received = await this.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: mapping.queueUrl, MaxNumberOfMessages: mapping.batchSize, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] }),
          { abortSignal: this.abort.signal },
        );
        records = (received.Messages ?? []).map((message) => ({
          messageId: message.MessageId!,
          receiptHandle: message.ReceiptHandle!,
          body: message.Body ?? '',
          attributes: (message.Attributes ?? {}) as unknown as SQSRecord['attributes'],
          messageAttributes: Object.fromEntries(
            Object.entries(message.MessageAttributes ?? {}).map(([key, value]) => [
              key,
              { dataType: value.DataType!, stringValue: value.StringValue, stringListValues: [], binaryListValues: [] },
            ]),
          ),
          md5OfBody: message.MD5OfBody ?? '',
          eventSource: 'aws:sqs',
          eventSourceARN: mapping.queueArn,
          awsRegion: process.env.AWS_REGION ?? 'us-east-1',
        }));
      } catch (error) {
        if (this.stopped) return;
        this.warnOnce(`poll:${text(error)}`, `[external sqs] receiving from ${mapping.queueUrl} failed: ${text(error)}`);
        await abortableDelay(1000, this.abort.signal);
        continue;
      }
      if (records.length === 0) continue;
      let result: unknown;
      try {
        result = await this.options.invoker.invoke(mapping.functionName, { Records: records } satisfies SQSEvent);
      } catch (error) {
        // Nothing is deleted: the batch reappears after the visibility timeout.
        this.log(`[external sqs] ${mapping.functionName} failed on ${records.length} message(s): ${text(error)}`);
        continue;
      }
      const failures = (result as { batchItemFailures?: Array<{ itemIdentifier?: string }> } | undefined)?.batchItemFailures ?? [];
      const failed = new Set(failures.map((failure) => failure.itemIdentifier));
      const done = records.filter((record) => !failed.has(record.messageId));
      if (done.length === 0) continue;
      try {
        await this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: mapping.queueUrl, Entries: done.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })) }));
      } catch (error) {
        this.log(`[external sqs] deleting ${done.length} message(s) failed (they will be redelivered): ${text(error)}`);
      }
    }
  }

  private warnOnce(key: string, line: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log(line);
  }
}

/** The firing plan of a definition read from the external Scheduler. */
function plan(definition: GetScheduleCommandOutput, modified: number): Known {
  const expression = definition.ScheduleExpression ?? '';
  const at = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression);
  if (at) {
    // Only UTC one-time schedules are written by this project.
    const time = Date.parse(`${at[1]}Z`);
    return { definition, modified, expression: { kind: 'at', at: time }, nextDueAt: time };
  }
  const rate = /^rate\((\d+) ([a-z]+)\)$/.exec(expression);
  const unit = rate ? UNIT_MS[rate[2]!] : undefined;
  if (rate && unit !== undefined) {
    const described = PERIOD_DESCRIPTION.exec(definition.Description ?? '');
    const periodMs = described ? Number(described[1]) * 1000 : Number(rate[1]) * unit;
    const anchor = definition.StartDate?.getTime() ?? definition.CreationDate?.getTime() ?? Date.now();
    const now = Date.now();
    const first = now <= anchor ? anchor : anchor + Math.ceil((now - anchor) / periodMs) * periodMs;
    const end = definition.EndDate?.getTime();
    return { definition, modified, expression: { kind: 'rate', periodMs, anchor }, nextDueAt: end !== undefined && first > end ? null : first };
  }
  return { definition, modified, expression: { kind: 'unsupported' }, nextDueAt: null };
}

function text(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
