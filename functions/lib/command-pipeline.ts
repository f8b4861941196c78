import { randomUUID } from 'node:crypto';
import type { $ZodType } from 'zod/v4/core';
import type { Identity } from '../../shared/auth/identity';
import { BadRequestError } from '../../shared/errors';
import { ACTIONS_BY_AREA } from '../../shared/protocol/actions';
import { errorResponse, type Frame, okResponse, parseFrame, ridOf, validateArgs } from '../../shared/protocol/envelope';
import type { CommandRateLimiter } from '../../shared/rate-limit';
import { withinInFlightLimit } from './in-flight';
import { loggableError, type LogKeys, logger, withLogKeys } from './logger';
import { recordCommand } from './metrics';
import { processRateLimiter } from './rate-limiter';
import { identityOf, type RouteResult, type WebSocketEvent } from './websocket-event';

export interface CommandContext {
  readonly identity: Identity;
  readonly connectionId: string;
  /** Correlation id of this command (API Gateway's request id, else a generated one); it is on the command's log lines. */
  readonly requestId: string;
}

export interface CommandHandlerOptions {
  /** Default: this process's limiter from the configuration (RATE_LIMIT_*). */
  readonly rateLimiter?: CommandRateLimiter;
}

/** A route of the pipeline: its arguments as its schema gives them. */
export type PipelineRoute = (args: never, context: CommandContext) => Promise<unknown>;

/**
 * Every action of the protocol, from the one list per area (shared/protocol/actions.ts, which tsc holds to exactly
 * the schema'd actions of ./commands.ts): an action outside it is a 400 "unknown action" and counted as `unknown`, so
 * a client cannot mint metrics. Read from the lists, not the schemas, so the functions that load no command schema
 * (`default`, `system`) know them too.
 */
const KNOWN_ACTIONS: ReadonlySet<string> = new Set(Object.values(ACTIONS_BY_AREA).flat());

export function isListedAction(action: string): boolean {
  return KNOWN_ACTIONS.has(action);
}

/**
 * The command pipeline, given the schemas of the actions it routes: parse the frame, charge the rate limiter,
 * validate the arguments, identify the caller, run the use case, answer in the envelope. Every outcome, errors
 * included, is a response frame; the connection stays open. It loads no schema itself: `makeCommandHandler`
 * (./command-handler.ts) passes the protocol's (./commands.ts, the full zod); `system` its one zod/mini schema and
 * `default` none, so neither carries the full zod (docs/performance.md, "Bundles and init").
 */
export function makeCommandPipeline(routes: Readonly<Record<string, PipelineRoute>>, schemas: Readonly<Record<string, $ZodType>>, options: CommandHandlerOptions = {}) {
  return async (event: WebSocketEvent): Promise<RouteResult> => {
    const started = performance.now();
    // API Gateway's request id; a generated one when an event has none, so a 500 can always be found in the logs.
    const requestId = event.requestContext.requestId || randomUUID();
    // On every log line written while this command runs (functions/lib/logger.ts); never the token or the arguments.
    const keys: LogKeys = { correlationId: requestId, connectionId: event.requestContext.connectionId, user: callerUri(event) };
    return withLogKeys(keys, async () => {
      let rid = ridOf(event.body);
      let action = 'unknown';
      Object.assign(keys, { action, rid });
      try {
        const parsed = tryParseFrame(event.body);
        // Charged first, before any answer: a malformed frame or an unknown action is an invocation too (issue 17
        // item 4). `ping`, the keep-alive, has a bucket of its own, so a limited client is not dropped as idle.
        const limiter = options.rateLimiter ?? processRateLimiter();
        const connectionId = event.requestContext.connectionId;
        if (parsed.frame?.action === 'ping') limiter.admitPing(connectionId);
        else limiter.admit(connectionId, callerUri(event) ?? `connection:${connectionId}`);
        if (!parsed.frame) throw parsed.error;
        const frame = parsed.frame;
        rid = frame.rid;
        action = frame.action;
        Object.assign(keys, { action: action.slice(0, 64), rid });
        // Own properties only: `toString` or `__proto__` is an unknown action, not an inherited route.
        const schema = Object.hasOwn(schemas, frame.action) ? schemas[frame.action] : undefined;
        if (!isListedAction(frame.action) || !Object.hasOwn(routes, frame.action) || !schema) {
          throw new BadRequestError(`unknown action '${frame.action}'`, 'action');
        }
        const route = routes[frame.action] as (args: unknown, context: CommandContext) => Promise<unknown>;
        const context: CommandContext = { identity: identityOf(event), connectionId, requestId };
        const args = validateArgs(schema, frame.args);
        const body = await withinInFlightLimit(() => route(args, context));
        const durationMs = elapsedMs(started);
        logger.debug('command', { action: keys.action, requestId, status: 200, durationMs });
        recordCommand(action, 200, durationMs);
        return { statusCode: 200, body: JSON.stringify(okResponse(rid, body)) };
      } catch (caught) {
        // A dependency still throttling or failing (5xx, timeout) after its client's retries arrives as the domain's
        // DependencyUnavailableError (translated at the adapter, shared/adapters/aws-errors.ts): a 503 like any other.
        const error = caught;
        const response = errorResponse(rid, error, requestId);
        const outcome = { action: keys.action, requestId, status: response.status, code: response.error.code, durationMs: elapsedMs(started) };
        // A 503 is the service asking the client to come back (throttling): expected, not a bug.
        if (response.status === 503) logger.warn('command deferred', { ...outcome, retryAfterMs: response.error.retryAfterMs });
        else if (response.status >= 500) logger.error('command failed', { ...outcome, error: loggableError(error) });
        else logger.info('command refused', outcome);
        // An unknown action is one dimension value, so a client cannot mint metrics.
        recordCommand(isListedAction(action) ? action : 'unknown', response.status, outcome.durationMs);
        return { statusCode: 200, body: JSON.stringify(response) };
      }
    });
  };
}

/** The frame, or the 400 that names what is wrong with it (thrown once the limiter has been charged). */
function tryParseFrame(body: string | null | undefined): { frame: Frame; error?: undefined } | { frame?: undefined; error: unknown } {
  try {
    return { frame: parseFrame(body) };
  } catch (error) {
    return { error };
  }
}

/** The caller's URI for the log, from the authorizer context (the token itself never reaches a command). */
function callerUri(event: WebSocketEvent): string | undefined {
  const uri = event.requestContext.authorizer?.uri;
  return typeof uri === 'string' ? uri : undefined;
}

function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
