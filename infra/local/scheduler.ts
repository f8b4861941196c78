import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { type EdgeRequest, type EdgeService, sendAwsError, sendJson } from './edge';
import type { LambdaInvoker } from './lambdas';
import {
  checkName,
  conflict,
  DEFAULT_GROUP,
  epochSeconds,
  groupArn,
  type GroupRecord,
  isObject,
  isoSeconds,
  LAMBDA_ARN,
  matchRoute,
  notFound,
  paginate,
  parseBody,
  parseDefinition,
  parseEvent,
  parseExpression,
  parseTags,
  renderGroup,
  renderScheduleInput,
  type Route,
  scheduleArn,
  scheduleKey,
  type ScheduleRecord,
  SchedulerError,
  type ScheduleTarget,
  validation,
} from './scheduler-definitions';

export { isoSeconds, parseEvent, renderScheduleInput } from './scheduler-definitions';

/**
 * The local cloud's EventBridge Scheduler: Scheduler's REST-JSON API (so the unchanged `@aws-sdk/client-scheduler`
 * works against it) plus a firing engine that really invokes Lambda and SQS targets when schedules come due.
 *
 * Local differences from AWS, on purpose:
 * - `cron(...)` is rejected (ValidationException); `at(...)` only in UTC; `rate(N second|seconds)` is a local-only
 *   extension so tests can run periodic jobs fast.
 * - Targets must be Lambda functions or SQS queues (no ECS, EventBridge, Kinesis, SageMaker or universal targets);
 *   SqsParameters.MessageGroupId is stored but not forwarded; IAM roles and KMS keys are stored, never checked.
 * - FLEXIBLE time windows fire at the window's start, and targets fire within milliseconds instead of AWS's
 *   60-second precision.
 * - AWS invokes Lambda asynchronously, so handler errors go to Lambda's own async retries; here the invoker is
 *   synchronous and a throwing handler counts as a failed delivery (retried, then dead-lettered).
 * - An invocation in progress (or retrying) when the process stops is not resumed after a restart.
 */

export interface SqsTarget {
  sendByArn(
    queueArn: string,
    body: string,
    messageAttributes?: Record<string, { DataType: string; StringValue?: string }>,
  ): string;
}

export interface LocalSchedulerOptions {
  /** Lambda targets: `arn:aws:lambda:...:function:<name>`. */
  invoker: LambdaInvoker;
  /** SQS targets and dead-letter queues: `arn:aws:sqs:...:<queue>`. */
  sqs: SqsTarget;
  /** Undefined keeps schedules in memory; otherwise they persist to `${dataDir}/scheduler.json`. */
  dataDir?: string;
  /** Backoff base between retries of a failing target (doubles per retry, capped at 5 minutes). */
  retryBaseDelayMs?: number;
}

interface PersistedState {
  version: 1;
  groups: GroupRecord[];
  schedules: ScheduleRecord[];
}

/** One firing of a schedule, retried as a unit. */
interface Run {
  key: string;
  generation: string;
  scheduleArn: string;
  groupName: string;
  target: ScheduleTarget;
  scheduledTime: number;
  executionId: string;
  /** The schedule's last firing: ActionAfterCompletion applies once it settles. */
  final: boolean;
}

interface Sleeper {
  timer?: NodeJS.Timeout;
  resolve(proceed: boolean): void;
}

const MAX_BACKOFF_MS = 300_000;

// Re-plan at least this often so a far-future schedule never needs a timer beyond setTimeout's range.
const MAX_TIMER_MS = 60_000;

const STOP_GRACE_MS = 5_000;

export class LocalScheduler implements EdgeService {
  readonly name = 'scheduler';
  private readonly schedules = new Map<string, ScheduleRecord>();
  private readonly groups = new Map<string, GroupRecord>();
  private readonly sleepers = new Set<Sleeper>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly file: string | undefined;
  private readonly retryBaseDelayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: LocalSchedulerOptions) {
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 1000;
    this.file = options.dataDir === undefined ? undefined : join(options.dataDir, 'scheduler.json');
    this.load();
    if (!this.groups.has(DEFAULT_GROUP)) {
      const now = Date.now();
      this.groups.set(DEFAULT_GROUP, { name: DEFAULT_GROUP, creationDate: now, lastModificationDate: now, tags: [] });
    }
  }

  /** Requests answered, by `METHOD kind` (e.g. `POST schedule` is CreateSchedule): the cost tests count them. */
  readonly requestCounts = new Map<string, number>();

  async handle(request: EdgeRequest, response: ServerResponse): Promise<boolean> {
    const route = matchRoute(request.path);
    if (route === undefined) return false;
    const counted = `${request.method} ${route.kind}`;
    this.requestCounts.set(counted, (this.requestCounts.get(counted) ?? 0) + 1);
    try {
      sendJson(response, 200, this.dispatch(route, request));
    } catch (error) {
      if (!(error instanceof SchedulerError)) throw error;
      sendAwsError(response, error.status, error.type, error.message, 'application/json');
    }
    return true;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
  }

  /**
   * Resolves once no firing is in progress: each one launched has been delivered, retried out, dead-lettered or
   * dropped. Tests wait on this (the engine's own signal) instead of sleeping and hoping nothing more happens.
   */
  async whenIdle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const sleeper of this.sleepers) {
      clearTimeout(sleeper.timer);
      sleeper.resolve(false);
    }
    this.sleepers.clear();
    // Let attempts already handed to a target settle (bounded), so their outcome is persisted.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inflight]),
      new Promise<void>((resolve) => {
        grace = setTimeout(resolve, STOP_GRACE_MS);
      }),
    ]);
    clearTimeout(grace);
    this.persist();
  }

  // ---- API ----

  private dispatch(route: Route, request: EdgeRequest): unknown {
    const { method, query } = request;
    switch (route.kind) {
      case 'schedules':
        if (method === 'GET') return this.listSchedules(query);
        break;
      case 'schedule': {
        const group = query.get('groupName') ?? DEFAULT_GROUP;
        if (method === 'POST') return this.createSchedule(route.name, parseBody(request));
        if (method === 'PUT') return this.updateSchedule(route.name, parseBody(request));
        if (method === 'GET') return this.render(this.requireSchedule(group, route.name));
        if (method === 'DELETE') return this.deleteSchedule(group, route.name);
        break;
      }
      case 'groups':
        if (method === 'GET') return this.listGroups(query);
        break;
      case 'group':
        if (method === 'POST') return this.createGroup(route.name, parseBody(request));
        if (method === 'GET') return renderGroup(this.requireGroup(route.name));
        if (method === 'DELETE') return this.deleteGroup(route.name);
        break;
      case 'tags':
        if (method === 'GET') return { Tags: this.requireTaggable(route.arn).tags };
        if (method === 'POST') return this.tagResource(route.arn, parseBody(request));
        if (method === 'DELETE') return this.untagResource(route.arn, query.getAll('TagKeys'));
        break;
    }
    throw new SchedulerError(404, 'UnknownOperationException', `no Scheduler operation for ${method} ${request.path}`);
  }

  private createSchedule(name: string, body: Record<string, unknown>): unknown {
    checkName(name, 'Name');
    const definition = parseDefinition(body);
    const group = this.requireGroup(definition.groupName);
    const key = scheduleKey(group.name, name);
    const existing = this.schedules.get(key);
    if (existing !== undefined) {
      // A retried request (same ClientToken) gets the original answer, as AWS's idempotency promises.
      if (definition.clientToken !== undefined && existing.clientToken === definition.clientToken) {
        return { ScheduleArn: scheduleArn(group.name, name) };
      }
      throw conflict(`Schedule ${name} already exists.`);
    }
    const now = Date.now();
    this.schedules.set(key, this.plan({ ...definition, name, creationDate: now, lastModificationDate: now }, now));
    this.changed();
    return { ScheduleArn: scheduleArn(group.name, name) };
  }

  private updateSchedule(name: string, body: Record<string, unknown>): unknown {
    checkName(name, 'Name');
    const definition = parseDefinition(body);
    const existing = this.requireSchedule(definition.groupName, name);
    const now = Date.now();
    // AWS replaces the whole definition: omitted optional fields are reset, and the firing plan starts over.
    this.schedules.set(
      scheduleKey(definition.groupName, name),
      this.plan({ ...definition, name, creationDate: existing.creationDate, lastModificationDate: now }, now),
    );
    this.changed();
    return { ScheduleArn: scheduleArn(definition.groupName, name) };
  }

  private deleteSchedule(group: string, name: string): unknown {
    this.requireSchedule(group, name);
    this.schedules.delete(scheduleKey(group, name));
    this.changed();
    return {};
  }

  private listSchedules(query: URLSearchParams): unknown {
    const group = query.get('ScheduleGroup') ?? query.get('GroupName') ?? undefined;
    if (group !== undefined) this.requireGroup(group);
    const prefix = query.get('NamePrefix') ?? '';
    const state = query.get('State');
    if (state !== null && state !== 'ENABLED' && state !== 'DISABLED') {
      throw validation(`State must be ENABLED or DISABLED, got ${state}.`);
    }
    const matching = [...this.schedules.values()]
      .filter((s) => (group === undefined || s.groupName === group) && s.name.startsWith(prefix))
      .filter((s) => state === null || s.state === state)
      .sort((a, b) => scheduleKey(a.groupName, a.name).localeCompare(scheduleKey(b.groupName, b.name)));
    const { items, nextToken } = paginate(matching, query);
    return {
      Schedules: items.map((s) => ({
        Arn: scheduleArn(s.groupName, s.name),
        Name: s.name,
        GroupName: s.groupName,
        State: s.state,
        CreationDate: epochSeconds(s.creationDate),
        LastModificationDate: epochSeconds(s.lastModificationDate),
        Target: { Arn: s.target.Arn },
      })),
      NextToken: nextToken,
    };
  }

  private createGroup(name: string, body: Record<string, unknown>): unknown {
    checkName(name, 'Name');
    if (this.groups.has(name)) throw conflict(`Schedule group ${name} already exists.`);
    const now = Date.now();
    this.groups.set(name, { name, creationDate: now, lastModificationDate: now, tags: parseTags(body.Tags) ?? [] });
    this.changed();
    return { ScheduleGroupArn: groupArn(name) };
  }

  private deleteGroup(name: string): unknown {
    this.requireGroup(name);
    if (name === DEFAULT_GROUP) throw validation('The default schedule group cannot be deleted.');
    this.groups.delete(name);
    for (const [key, schedule] of this.schedules) {
      if (schedule.groupName === name) this.schedules.delete(key);
    }
    this.changed();
    return {};
  }

  private listGroups(query: URLSearchParams): unknown {
    const prefix = query.get('NamePrefix') ?? '';
    const matching = [...this.groups.values()]
      .filter((g) => g.name.startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name));
    const { items, nextToken } = paginate(matching, query);
    return { ScheduleGroups: items.map(renderGroup), NextToken: nextToken };
  }

  private tagResource(arn: string, body: Record<string, unknown>): unknown {
    const group = this.requireTaggable(arn);
    const tags = parseTags(body.Tags);
    if (tags === undefined) throw validation('Tags is required.');
    for (const tag of tags) {
      group.tags = [...group.tags.filter((t) => t.Key !== tag.Key), tag];
    }
    this.changed();
    return {};
  }

  private untagResource(arn: string, keys: string[]): unknown {
    const group = this.requireTaggable(arn);
    group.tags = group.tags.filter((t) => !keys.includes(t.Key));
    this.changed();
    return {};
  }

  private requireSchedule(group: string, name: string): ScheduleRecord {
    const schedule = this.schedules.get(scheduleKey(group, name));
    if (schedule === undefined) throw notFound(`Schedule ${name} does not exist.`);
    return schedule;
  }

  private requireGroup(name: string): GroupRecord {
    const group = this.groups.get(name);
    if (group === undefined) throw notFound(`Schedule group ${name} does not exist.`);
    return group;
  }

  /** Only schedule groups carry tags in Scheduler. */
  private requireTaggable(arn: string): GroupRecord {
    const prefix = groupArn('');
    if (!arn.startsWith(prefix)) throw notFound(`Resource ${arn} does not exist.`);
    const group = this.groups.get(arn.slice(prefix.length));
    if (group === undefined) throw notFound(`Resource ${arn} does not exist.`);
    return group;
  }

  private render(s: ScheduleRecord): unknown {
    return {
      Arn: scheduleArn(s.groupName, s.name),
      GroupName: s.groupName,
      Name: s.name,
      ScheduleExpression: s.expression,
      ScheduleExpressionTimezone: s.timezone,
      StartDate: epochSeconds(s.startDate),
      EndDate: epochSeconds(s.endDate),
      Description: s.description,
      State: s.state,
      CreationDate: epochSeconds(s.creationDate),
      LastModificationDate: epochSeconds(s.lastModificationDate),
      KmsKeyArn: s.kmsKeyArn,
      Target: s.target,
      FlexibleTimeWindow: s.flexibleTimeWindow,
      ActionAfterCompletion: s.actionAfterCompletion,
    };
  }

  // ---- Firing ----

  /** Gives a new or replaced definition a fresh generation and its first due time. */
  private plan(
    definition: Omit<ScheduleRecord, 'generation' | 'anchor' | 'nextDueAt'>,
    now: number,
  ): ScheduleRecord {
    const expression = parseExpression(definition.expression);
    const record: ScheduleRecord = { ...definition, generation: randomUUID(), anchor: now, nextDueAt: null };
    if (expression.kind === 'at') {
      // Start/EndDate do not apply to one-time schedules; one already past fires at once.
      record.nextDueAt = expression.at;
    } else {
      // Without a StartDate AWS starts a rate schedule right away.
      record.anchor = definition.startDate ?? now;
      const first =
        now <= record.anchor
          ? record.anchor
          : record.anchor + Math.ceil((now - record.anchor) / expression.periodMs) * expression.periodMs;
      record.nextDueAt = definition.endDate !== undefined && first > definition.endDate ? null : first;
    }
    return record;
  }

  /** Points the single timer at the earliest due schedule. */
  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running) return;
    let next = Number.POSITIVE_INFINITY;
    for (const s of this.schedules.values()) {
      if (s.state === 'ENABLED' && s.nextDueAt !== null) next = Math.min(next, s.nextDueAt);
    }
    if (next === Number.POSITIVE_INFINITY) return;
    const delay = Math.min(Math.max(0, next - Date.now()), MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fireDue();
    }, delay);
    this.timer.unref();
  }

  private fireDue(): void {
    const now = Date.now();
    let fired = false;
    for (const [key, s] of this.schedules) {
      if (s.state !== 'ENABLED' || s.nextDueAt === null || s.nextDueAt > now) continue;
      const scheduledTime = s.nextDueAt;
      const expression = parseExpression(s.expression);
      // Advance before invoking so the same occurrence can never fire twice; missed periods collapse into one firing.
      if (expression.kind === 'at') {
        s.nextDueAt = null;
      } else {
        const next =
          s.anchor + (Math.floor((now - s.anchor) / expression.periodMs) + 1) * expression.periodMs;
        s.nextDueAt = s.endDate !== undefined && next > s.endDate ? null : next;
      }
      fired = true;
      this.launch({
        key,
        generation: s.generation,
        scheduleArn: scheduleArn(s.groupName, s.name),
        groupName: s.groupName,
        target: s.target,
        scheduledTime,
        executionId: randomUUID(),
        final: s.nextDueAt === null,
      });
    }
    if (fired) this.persist();
    this.arm();
  }

  private launch(run: Run): void {
    const job = this.deliver(run).catch((error: unknown) => {
      console.warn(`[scheduler] ${run.scheduleArn}: ${describe(error).message}`);
    });
    this.inflight.add(job);
    void job.finally(() => this.inflight.delete(job));
  }

  private async deliver(run: Run): Promise<void> {
    const policy = run.target.RetryPolicy;
    for (let retries = 0; ; retries += 1) {
      if (!this.running || !this.isCurrent(run)) return;
      try {
        await this.invokeTarget(run, retries + 1);
        break;
      } catch (error) {
        // Deleted or replaced meanwhile: that firing is over, no retry and no dead letter.
        if (!this.running || !this.isCurrent(run)) return;
        const wait = Math.min(this.retryBaseDelayMs * 2 ** retries, Math.max(this.retryBaseDelayMs, MAX_BACKOFF_MS));
        const exhausted =
          retries >= policy.MaximumRetryAttempts
            ? 'MaximumRetryAttempts'
            : Date.now() + wait > run.scheduledTime + policy.MaximumEventAgeInSeconds * 1000
              ? 'MaximumEventAgeInSeconds'
              : undefined;
        if (exhausted !== undefined) {
          this.deadLetter(run, error, retries, exhausted);
          break;
        }
        if (!(await this.sleep(wait))) return;
      }
    }
    if (run.final) this.complete(run);
  }

  private async invokeTarget(run: Run, attempt: number): Promise<void> {
    const payload = renderInput(run, attempt);
    if (LAMBDA_ARN.test(run.target.Arn)) {
      await this.options.invoker.invoke(run.target.Arn, parseEvent(payload));
    } else {
      this.options.sqs.sendByArn(run.target.Arn, payload);
    }
  }

  /** Message attributes as AWS documents for Scheduler dead-letter events; the body is the target payload. */
  private deadLetter(run: Run, error: unknown, retries: number, condition: string): void {
    const dlq = run.target.DeadLetterConfig?.Arn;
    const { code, message } = describe(error);
    if (dlq === undefined) {
      console.warn(`[scheduler] ${run.scheduleArn}: dropped after ${retries} retries: ${message}`);
      return;
    }
    const attributes: Record<string, string> = {
      ERROR_CODE: code,
      ERROR_MESSAGE: message,
      EXECUTION_ID: run.executionId,
      EXHAUSTED_RETRY_CONDITION: condition,
      GROUP: run.groupName,
      IS_PAYLOAD_TRUNCATED: 'false',
      RETRY_ATTEMPTS: String(retries),
      SCHEDULED_TIME: isoSeconds(run.scheduledTime),
      SCHEDULE_ARN: run.scheduleArn,
      TARGET_ARN: run.target.Arn,
    };
    try {
      this.options.sqs.sendByArn(
        dlq,
        renderInput(run, retries + 1),
        Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])),
      );
    } catch (dlqError) {
      console.warn(`[scheduler] ${run.scheduleArn}: dead letter to ${dlq} failed: ${describe(dlqError).message}`);
    }
  }

  private complete(run: Run): void {
    const schedule = this.schedules.get(run.key);
    if (schedule === undefined || schedule.generation !== run.generation) return;
    if (schedule.actionAfterCompletion === 'DELETE') {
      this.schedules.delete(run.key);
      this.changed();
    }
  }

  private isCurrent(run: Run): boolean {
    return this.schedules.get(run.key)?.generation === run.generation;
  }

  /** Resolves true after ms, or false at once when the scheduler stops. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const sleeper: Sleeper = { resolve };
      sleeper.timer = setTimeout(() => {
        this.sleepers.delete(sleeper);
        resolve(true);
      }, ms);
      this.sleepers.add(sleeper);
    });
  }

  // ---- Persistence ----

  private changed(): void {
    this.persist();
    this.arm();
  }

  private persist(): void {
    if (this.file === undefined) return;
    const state: PersistedState = {
      version: 1,
      groups: [...this.groups.values()],
      schedules: [...this.schedules.values()],
    };
    mkdirSync(this.options.dataDir ?? '.', { recursive: true });
    // Write-then-rename so a crash mid-write never leaves a truncated file.
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(state, null, 2));
    renameSync(temporary, this.file);
  }

  private load(): void {
    if (this.file === undefined || !existsSync(this.file)) return;
    const state: unknown = JSON.parse(readFileSync(this.file, 'utf8'));
    if (!isPersistedState(state)) throw new Error(`${this.file} is not a local scheduler state file (version 1)`);
    for (const group of state.groups) this.groups.set(group.name, group);
    for (const schedule of state.schedules) this.schedules.set(scheduleKey(schedule.groupName, schedule.name), schedule);
  }
}

/** Scheduler's context attributes, substituted into the Input as AWS does. */
function renderInput(run: Run, attempt: number): string {
  return renderScheduleInput(run.target.Input, run.scheduleArn, run.scheduledTime, run.executionId, attempt);
}

function describe(error: unknown): { code: string; message: string } {
  if (error instanceof Error) return { code: error.name, message: error.message };
  return { code: 'Error', message: String(error) };
}

function isPersistedState(value: unknown): value is PersistedState {
  return (
    isObject(value) && value.version === 1 && Array.isArray(value.groups) && Array.isArray(value.schedules)
  );
}
