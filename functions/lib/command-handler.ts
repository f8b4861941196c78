import { randomUUID } from 'node:crypto';
import type { Identity } from '../../shared/auth/identity';
import { BadRequestError } from '../../shared/errors';
import { type Action, type CommandArgs, commandSchemas, isKnownAction } from '../../shared/protocol/commands';
import { errorResponse, type Frame, okResponse, parseFrame, ridOf, validateArgs } from '../../shared/protocol/envelope';
import type { CommandRateLimiter } from '../../shared/rate-limit';
import { withinInFlightLimit } from './in-flight';
import { loggableError, type LogKeys, logger, withLogKeys } from './logger';
import { lambdaHandler, recordCommand } from './observability';
import { processRateLimiter } from './rate-limiter';
import { identityOf, type RouteResult, type WebSocketEvent } from './websocket-event';

export interface CommandContext {
  readonly identity: Identity;
  readonly connectionId: string;
  /** Correlation id of this command (API Gateway's request id, else a generated one); it is on the command's log lines. */
  readonly requestId: string;
}

export type CommandRoutes = {
  readonly [A in Action]?: (args: CommandArgs<A>, context: CommandContext) => Promise<unknown>;
};

/**
 * A function's route map, exactly its actions: `{...} satisfies RoutesOf<AreaAction<'chat'>>` makes a missing or
 * an extra route a type error (the actions are listed once, in shared/protocol/actions.ts).
 */
export type RoutesOf<Actions extends Action> = {
  readonly [A in Actions]: (args: CommandArgs<A>, context: CommandContext) => Promise<unknown>;
};

export interface CommandHandlerOptions {
  /** Default: this process's limiter from the configuration (RATE_LIMIT_*). */
  readonly rateLimiter?: CommandRateLimiter;
}

/**
 * A command function: parse the frame, validate its arguments, identify the caller, run the use case,
 * answer in the envelope. Every outcome, errors included, is a response frame; the connection stays open.
 */

export function makeCommandHandler(routes: CommandRoutes, options: CommandHandlerOptions = {}) {
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
        if (!isKnownAction(frame.action) || !Object.hasOwn(routes, frame.action)) {
          throw new BadRequestError(`unknown action '${frame.action}'`, 'action');
        }
        const route = routes[frame.action] as (args: unknown, context: CommandContext) => Promise<unknown>;
        const context: CommandContext = { identity: identityOf(event), connectionId, requestId };
        const args = validateArgs(commandSchemas[frame.action], frame.args);
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
        recordCommand(isKnownAction(action) ? action : 'unknown', response.status, outcome.durationMs);
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

/** The Lambda form (Powertools' Lambda context on the logger, the Tracer): functions/lib/observability.ts. */
export { lambdaHandler };
