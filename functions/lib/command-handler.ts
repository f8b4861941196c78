import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import type { Identity } from '../../shared/auth/identity';
import { isTransientAwsFailure } from '../../shared/adapters/dynamodb-errors';
import { BadRequestError, UnavailableError } from '../../shared/errors';
import { type Action, type CommandArgs, commandSchemas, isKnownAction } from '../../shared/protocol/commands';
import { errorResponse, okResponse, parseFrame, ridOf, validateArgs } from '../../shared/protocol/envelope';
import type { CommandRateLimiter } from '../../shared/rate-limit';
import { withinInFlightLimit } from './in-flight';
import { loggableError, type LogKeys, logger, withLogKeys } from './logger';
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
        const frame = parseFrame(event.body);
        rid = frame.rid;
        action = frame.action;
        Object.assign(keys, { action: action.slice(0, 64), rid });
        // Own properties only: `toString` or `__proto__` is an unknown action, not an inherited route.
        if (!isKnownAction(frame.action) || !Object.hasOwn(routes, frame.action)) {
          throw new BadRequestError(`unknown action '${frame.action}'`, 'action');
        }
        const route = routes[frame.action] as (args: unknown, context: CommandContext) => Promise<unknown>;
        const context: CommandContext = { identity: identityOf(event), connectionId: event.requestContext.connectionId, requestId };
        // Before validation, so a flood of bad frames is limited too; `ping` is exempt: it is the keep-alive and costs nothing.
        if (frame.action !== 'ping') (options.rateLimiter ?? processRateLimiter()).admit(context.connectionId, context.identity.uri);
        const args = validateArgs(commandSchemas[frame.action], frame.args);
        const body = await withinInFlightLimit(() => route(args, context));
        logger.debug('command', { action: keys.action, requestId, status: 200, durationMs: elapsedMs(started) });
        return { statusCode: 200, body: JSON.stringify(okResponse(rid, body)) };
      } catch (caught) {
        // An AWS service still throttling or failing (5xx, timeout) after the SDK's retries: the client retries later with the same client id.
        const error = isTransientAwsFailure(caught) ? new UnavailableError('the service is busy; retry with the same client id', 500) : caught;
        const response = errorResponse(rid, error, requestId);
        const outcome = { action: keys.action, requestId, status: response.status, code: response.error.code, durationMs: elapsedMs(started) };
        // A 503 is the service asking the client to come back (throttling): expected, not a bug.
        if (response.status === 503) logger.warn('command deferred', { ...outcome, retryAfterMs: response.error.retryAfterMs });
        else if (response.status >= 500) logger.error('command failed', { ...outcome, error: loggableError(error) });
        else logger.info('command refused', outcome);
        return { statusCode: 200, body: JSON.stringify(response) };
      }
    });
  };
}

/** The caller's URI for the log, from the authorizer context (the token itself never reaches a command). */
function callerUri(event: WebSocketEvent): string | undefined {
  const uri = event.requestContext.authorizer?.uri;
  return typeof uri === 'string' ? uri : undefined;
}

function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

/** The Lambda form: middy adds the logger's Lambda context; the raw handler stays exported for tests. */
export function lambdaHandler(handler: (event: WebSocketEvent) => Promise<RouteResult>) {
  return middy(handler);
}
