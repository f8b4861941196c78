import { type $ZodType, type output, safeParse } from 'zod/v4/core';
import { AppError, BadRequestError } from '../errors';
import type { ServerEventName, ServerEventPayloads } from './events';

/** A parsed client frame: `{"action": "...", "rid": "...", ...arguments}` (SPEC §2). */
export interface Frame {
  readonly action: string;
  readonly rid?: string;
  readonly args: Record<string, unknown>;
}

export interface OkResponse {
  readonly type: 'response';
  readonly rid?: string;
  readonly status: 200;
  readonly body: unknown;
}

export interface ErrorResponse {
  readonly type: 'response';
  readonly rid?: string;
  readonly status: number;
  readonly error: { readonly code: string; readonly message: string; readonly field?: string; readonly retryAfterMs?: number; readonly correlationId?: string };
}

export type Response = OkResponse | ErrorResponse;

/** A server-pushed event: its payload (`ServerEventPayloads` in ./events.ts) beside `type` and `event`. */
export type ServerEvent<E extends ServerEventName = ServerEventName> = ServerEventPayloads[E] & { readonly type: 'event'; readonly event: E };

/** Parses a frame's text, naming the problem: malformed JSON, not an object, or a missing or mistyped `action`/`rid`. */
export function parseFrame(text: string | null | undefined): Frame {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new BadRequestError('malformed JSON: the frame must be one JSON object');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadRequestError('malformed frame: expected a JSON object');
  }
  const { action, rid, ...args } = value as Record<string, unknown>;
  if (rid !== undefined && (typeof rid !== 'string' || rid.length > 128)) {
    throw new BadRequestError("field 'rid' must be a string of at most 128 characters", 'rid');
  }
  if (action === undefined) throw new BadRequestError("field 'action' is required", 'action');
  if (typeof action !== 'string') throw new BadRequestError("field 'action' must be a string", 'action');
  return { action, rid, args };
}

/** The `rid` of a frame that may be unparseable, so even a 400 is tied to its request when possible. */
export function ridOf(text: string | null | undefined): string | undefined {
  try {
    const value: unknown = JSON.parse(text ?? '');
    if (typeof value === 'object' && value !== null && 'rid' in value) {
      const rid = (value as { rid: unknown }).rid;
      return typeof rid === 'string' && rid.length <= 128 ? rid : undefined;
    }
  } catch {
    // not JSON: no rid to echo
  }
  return undefined;
}

/**
 * Validates a command's arguments; the 400 names the first failing field and what was expected. A full zod or a
 * zod/mini schema (the `system` function's, functions/system.ts): both are zod's core schemas, checked alike.
 */
export function validateArgs<S extends $ZodType>(schema: S, args: Record<string, unknown>): output<S> {
  const parsed = safeParse(schema, args);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') ?? '';
  const message = field ? `field '${field}': ${issue?.message}` : (issue?.message ?? 'invalid arguments');
  throw new BadRequestError(message, field || undefined);
}

export function okResponse(rid: string | undefined, body: unknown): OkResponse {
  return { type: 'response', rid, status: 200, body: body ?? {} };
}

/**
 * Maps any error to the envelope, in this one place. Only `AppError`s reach the client as they are;
 * anything else is a 500 carrying a correlation id, never a stack trace.
 */
export function errorResponse(rid: string | undefined, error: unknown, correlationId: string): ErrorResponse {
  if (error instanceof AppError) {
    return {
      type: 'response',
      rid,
      status: error.status,
      error: {
        code: error.code,
        message: error.message,
        ...(error instanceof BadRequestError && error.field ? { field: error.field } : {}),
        ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
      },
    };
  }
  return {
    type: 'response',
    rid,
    status: 500,
    error: { code: 'Internal', message: `internal error (correlation id ${correlationId})`, correlationId },
  };
}

/** An event frame; the payload is checked against its event's type (`ServerEventPayloads`). */
export function serverEvent<E extends ServerEventName>(event: E, payload: ServerEventPayloads[E]): ServerEvent<E> {
  return { ...payload, type: 'event', event };
}
