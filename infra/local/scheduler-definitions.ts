import type { EdgeRequest } from './edge';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './lambdas';

/**
 * The local Scheduler's definitions and wire format, apart from its firing engine (scheduler.ts): what a schedule
 * and a group are, Scheduler's REST-JSON routes, the parsing and validation of a request body into a definition
 * (with AWS's error types), `at()`/`rate()` expressions, and the rendering of a target's Input.
 */

export type ScheduleState = 'ENABLED' | 'DISABLED';

export type CompletionAction = 'NONE' | 'DELETE';

export interface RetryPolicy {
  MaximumEventAgeInSeconds: number;
  MaximumRetryAttempts: number;
}

export interface ScheduleTarget {
  Arn: string;
  RoleArn: string;
  Input?: string;
  RetryPolicy: RetryPolicy;
  DeadLetterConfig?: { Arn: string };
  SqsParameters?: { MessageGroupId?: string };
}

export interface FlexibleTimeWindow {
  Mode: 'OFF' | 'FLEXIBLE';
  MaximumWindowInMinutes?: number;
}

/** A schedule's definition (dates in epoch ms) plus the firing engine's state; this is also the persisted shape. */
export interface ScheduleRecord {
  name: string;
  groupName: string;
  expression: string;
  timezone: string;
  startDate?: number;
  endDate?: number;
  description?: string;
  state: ScheduleState;
  flexibleTimeWindow: FlexibleTimeWindow;
  target: ScheduleTarget;
  actionAfterCompletion: CompletionAction;
  kmsKeyArn?: string;
  creationDate: number;
  lastModificationDate: number;
  clientToken?: string;
  /** Changes on every create/update, so an in-flight firing can tell its schedule was replaced or deleted. */
  generation: string;
  /** Rate schedules fire at anchor + k * period. */
  anchor: number;
  /** Next due time in epoch ms; null once a one-time schedule fired or a recurring one passed its EndDate. */
  nextDueAt: number | null;
}

export interface GroupRecord {
  name: string;
  creationDate: number;
  lastModificationDate: number;
  tags: { Key: string; Value: string }[];
}

export type Expression = { kind: 'at'; at: number } | { kind: 'rate'; periodMs: number };

export const DEFAULT_GROUP = 'default';

export const DEFAULT_RETRY_POLICY: RetryPolicy = { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 };

export const NAME_PATTERN = /^[0-9a-zA-Z\-_.]{1,64}$/;

export const LAMBDA_ARN = /^arn:aws(-[a-z]+)?:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9\-_]+(:[a-zA-Z0-9\-_$]+)?$/;

export const SQS_ARN = /^arn:aws(-[a-z]+)?:sqs:[a-z0-9-]+:\d{12}:[a-zA-Z0-9\-_]+(\.fifo)?$/;

export const ROLE_ARN = /^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]+$/;

export const UNIT_MS: Record<string, number> = {
  second: 1_000,
  seconds: 1_000,
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

export class SchedulerError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export const validation = (message: string): SchedulerError => new SchedulerError(400, 'ValidationException', message);

export const notFound = (message: string): SchedulerError => new SchedulerError(404, 'ResourceNotFoundException', message);

export const conflict = (message: string): SchedulerError => new SchedulerError(409, 'ConflictException', message);

export const scheduleArn = (group: string, name: string): string =>
  `arn:aws:scheduler:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:schedule/${group}/${name}`;

export const groupArn = (group: string): string => `arn:aws:scheduler:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:schedule-group/${group}`;

export const scheduleKey = (group: string, name: string): string => `${group}/${name}`;

export const epochSeconds = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);

export type Route =
  | { kind: 'schedules' }
  | { kind: 'schedule'; name: string }
  | { kind: 'groups' }
  | { kind: 'group'; name: string }
  | { kind: 'tags'; arn: string };

export function matchRoute(path: string): Route | undefined {
  if (path === '/schedules') return { kind: 'schedules' };
  if (path === '/schedule-groups') return { kind: 'groups' };
  const schedule = /^\/schedules\/([^/]+)$/.exec(path)?.[1];
  if (schedule !== undefined) return { kind: 'schedule', name: decode(schedule) };
  const group = /^\/schedule-groups\/([^/]+)$/.exec(path)?.[1];
  if (group !== undefined) return { kind: 'group', name: decode(group) };
  const tagged = /^\/tags\/(.+)$/.exec(path)?.[1];
  // Other services also have /tags routes: only Scheduler ARNs are ours.
  if (tagged !== undefined && decode(tagged).startsWith('arn:aws:scheduler:')) return { kind: 'tags', arn: decode(tagged) };
  return undefined;
}

export function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function parseBody(request: EdgeRequest): Record<string, unknown> {
  if (request.body.length === 0) return {};
  let body: unknown;
  try {
    body = JSON.parse(request.body.toString('utf8'));
  } catch {
    throw validation('The request body is not valid JSON.');
  }
  if (!isObject(body)) throw validation('The request body must be a JSON object.');
  return body;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkName(name: string, field: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw validation(`${field} '${name}' must be 1-64 characters of letters, digits, '-', '_' or '.'.`);
  }
}

export function optionalString(body: Record<string, unknown>, field: string, maxLength: number): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw validation(`${field} must be a string of 1 to ${maxLength} characters.`);
  }
  return value;
}

export function requiredString(body: Record<string, unknown>, field: string, maxLength: number): string {
  const value = optionalString(body, field, maxLength);
  if (value === undefined) throw validation(`${field} is required.`);
  return value;
}

export function optionalInteger(body: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw validation(`${field} must be an integer from ${min} to ${max}.`);
  }
  return value;
}

export function oneOf<T extends string>(body: Record<string, unknown>, field: string, allowed: readonly T[], fallback: T): T {
  const value = body[field] ?? fallback;
  const match = allowed.find((candidate) => candidate === value);
  if (match === undefined) throw validation(`${field} must be one of ${allowed.join(', ')}.`);
  return match;
}

/** REST-JSON carries timestamps as epoch seconds; hand-written callers may send ISO strings. */
export function optionalDate(body: Record<string, unknown>, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw validation(`${field} must be a timestamp.`);
  return ms;
}

export function parseDefinition(
  body: Record<string, unknown>,
): Omit<ScheduleRecord, 'name' | 'creationDate' | 'lastModificationDate' | 'generation' | 'anchor' | 'nextDueAt'> {
  const groupName = optionalString(body, 'GroupName', 64) ?? DEFAULT_GROUP;
  checkName(groupName, 'GroupName');
  const expression = requiredString(body, 'ScheduleExpression', 256);
  const timezone = optionalString(body, 'ScheduleExpressionTimezone', 50) ?? 'UTC';
  checkTimezone(timezone, parseExpression(expression));
  const startDate = optionalDate(body, 'StartDate');
  const endDate = optionalDate(body, 'EndDate');
  if (startDate !== undefined && endDate !== undefined && endDate <= startDate) {
    throw validation('The EndDate you specify must be after the StartDate.');
  }
  return {
    groupName,
    expression,
    timezone,
    startDate,
    endDate,
    description: optionalString(body, 'Description', 512),
    state: oneOf(body, 'State', ['ENABLED', 'DISABLED'] as const, 'ENABLED'),
    flexibleTimeWindow: parseFlexibleTimeWindow(body.FlexibleTimeWindow),
    target: parseTarget(body.Target),
    actionAfterCompletion: oneOf(body, 'ActionAfterCompletion', ['NONE', 'DELETE'] as const, 'NONE'),
    kmsKeyArn: optionalString(body, 'KmsKeyArn', 2048),
    clientToken: optionalString(body, 'ClientToken', 64),
  };
}

export function parseFlexibleTimeWindow(value: unknown): FlexibleTimeWindow {
  if (!isObject(value)) throw validation('FlexibleTimeWindow is required.');
  const mode = oneOf(value, 'Mode', ['OFF', 'FLEXIBLE'] as const, 'OFF');
  if (value.Mode === undefined) throw validation('FlexibleTimeWindow.Mode is required.');
  const window = optionalInteger(value, 'MaximumWindowInMinutes', 1, 1440);
  if (mode === 'FLEXIBLE' && window === undefined) {
    throw validation('FlexibleTimeWindow.MaximumWindowInMinutes is required when Mode is FLEXIBLE.');
  }
  if (mode === 'OFF' && window !== undefined) {
    throw validation('FlexibleTimeWindow.MaximumWindowInMinutes is only allowed when Mode is FLEXIBLE.');
  }
  return window === undefined ? { Mode: mode } : { Mode: mode, MaximumWindowInMinutes: window };
}

export function parseTarget(value: unknown): ScheduleTarget {
  if (!isObject(value)) throw validation('Target is required.');
  const arn = requiredString(value, 'Arn', 1600);
  if (!LAMBDA_ARN.test(arn) && !SQS_ARN.test(arn)) {
    throw validation(`Target.Arn ${arn}: the local scheduler only supports Lambda function and SQS queue targets.`);
  }
  const roleArn = requiredString(value, 'RoleArn', 1600);
  if (!ROLE_ARN.test(roleArn)) throw validation(`Target.RoleArn ${roleArn} is not an IAM role ARN.`);
  const target: ScheduleTarget = {
    Arn: arn,
    RoleArn: roleArn,
    RetryPolicy: { ...DEFAULT_RETRY_POLICY },
  };
  const input = optionalString(value, 'Input', 8192);
  if (input !== undefined) target.Input = input;
  if (value.RetryPolicy !== undefined && value.RetryPolicy !== null) {
    if (!isObject(value.RetryPolicy)) throw validation('Target.RetryPolicy must be an object.');
    target.RetryPolicy = {
      MaximumEventAgeInSeconds:
        optionalInteger(value.RetryPolicy, 'MaximumEventAgeInSeconds', 60, 86400) ??
        DEFAULT_RETRY_POLICY.MaximumEventAgeInSeconds,
      MaximumRetryAttempts:
        optionalInteger(value.RetryPolicy, 'MaximumRetryAttempts', 0, 185) ?? DEFAULT_RETRY_POLICY.MaximumRetryAttempts,
    };
  }
  if (value.DeadLetterConfig !== undefined && value.DeadLetterConfig !== null) {
    if (!isObject(value.DeadLetterConfig)) throw validation('Target.DeadLetterConfig must be an object.');
    const dlq = optionalString(value.DeadLetterConfig, 'Arn', 1600);
    if (dlq !== undefined) {
      // AWS requires a standard queue as a Scheduler DLQ.
      if (!SQS_ARN.test(dlq) || dlq.endsWith('.fifo')) {
        throw validation(`DeadLetterConfig.Arn ${dlq} is not a standard SQS queue ARN.`);
      }
      target.DeadLetterConfig = { Arn: dlq };
    }
  }
  if (isObject(value.SqsParameters)) {
    const group = optionalString(value.SqsParameters, 'MessageGroupId', 128);
    target.SqsParameters = group === undefined ? {} : { MessageGroupId: group };
  }
  return target;
}

export function parseTags(value: unknown): { Key: string; Value: string }[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw validation('Tags must be a list.');
  return value.map((tag: unknown) => {
    if (!isObject(tag) || typeof tag.Key !== 'string' || typeof tag.Value !== 'string') {
      throw validation('Each tag needs a string Key and Value.');
    }
    return { Key: tag.Key, Value: tag.Value };
  });
}

/** `at(yyyy-mm-ddThh:mm:ss)` (UTC), `rate(N unit)`; `cron()` is refused locally. */
export function parseExpression(expression: string): Expression {
  if (/^cron\(.*\)$/.test(expression)) {
    throw validation(`${expression}: cron() expressions are not supported by the local scheduler; use at() or rate().`);
  }
  const at = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/.exec(expression);
  if (at !== null) {
    const [year, month, day, hour, minute, second] = at.slice(1).map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const time = Date.UTC(year, month - 1, day, hour, minute, second);
    const check = new Date(time);
    // Date.UTC rolls 2024-02-30 over to March: reject instead.
    if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
      throw validation(`Invalid Schedule Expression ${expression}: not a valid date and time.`);
    }
    return { kind: 'at', at: time };
  }
  const rate = /^rate\((\d+) ([a-z]+)\)$/.exec(expression);
  const unitMs = rate?.[2] === undefined ? undefined : UNIT_MS[rate[2]];
  if (rate !== null && unitMs !== undefined) {
    const value = Number(rate[1]);
    if (value < 1) throw validation(`Invalid Schedule Expression ${expression}: the rate must be positive.`);
    return { kind: 'rate', periodMs: value * unitMs };
  }
  throw validation(
    `Invalid Schedule Expression ${expression}: expected at(yyyy-mm-ddThh:mm:ss) or rate(N minute(s)|hour(s)|day(s)) ` +
      '(locally also second(s)).',
  );
}

export function checkTimezone(timezone: string, expression: Expression): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw validation(`ScheduleExpressionTimezone ${timezone} is not a valid time zone.`);
  }
  // Rate schedules ignore the zone; one-time ones would need zone arithmetic the local scheduler does not do.
  if (expression.kind === 'at' && timezone !== 'UTC' && timezone !== 'Etc/UTC') {
    throw validation(
      `ScheduleExpressionTimezone ${timezone} is not supported by the local scheduler for at() expressions; use UTC.`,
    );
  }
}

export function paginate<T>(items: T[], query: URLSearchParams): { items: T[]; nextToken: string | undefined } {
  const maxRaw = query.get('MaxResults');
  const max = maxRaw === null ? 100 : Number(maxRaw);
  if (!Number.isInteger(max) || max < 1 || max > 100) throw validation('MaxResults must be an integer from 1 to 100.');
  const token = query.get('NextToken');
  const offset = token === null ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(offset) || offset < 0) throw validation('The NextToken is not valid.');
  const end = offset + max;
  return {
    items: items.slice(offset, end),
    nextToken: end < items.length ? Buffer.from(String(end)).toString('base64url') : undefined,
  };
}

export function renderGroup(group: GroupRecord): unknown {
  return {
    Arn: groupArn(group.name),
    Name: group.name,
    State: 'ACTIVE',
    CreationDate: epochSeconds(group.creationDate),
    LastModificationDate: epochSeconds(group.lastModificationDate),
  };
}

/** Scheduler's context attributes substituted into a target's Input (also used by the external-endpoint driver). */
export function renderScheduleInput(input: string | undefined, scheduleArn: string, scheduledTime: number, executionId: string, attempt: number): string {
  return (input ?? '{}')
    .replaceAll('<aws.scheduler.schedule-arn>', scheduleArn)
    .replaceAll('<aws.scheduler.scheduled-time>', isoSeconds(scheduledTime))
    .replaceAll('<aws.scheduler.execution-id>', executionId)
    .replaceAll('<aws.scheduler.attempt-number>', String(attempt));
}

/** The Lambda event is the Input JSON; a non-JSON Input is passed as the string. */
export function parseEvent(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

export function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}
