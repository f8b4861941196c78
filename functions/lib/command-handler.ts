import middy from '@middy/core';
import type { Identity } from '../../shared/auth/identity';
import { isThrottling } from '../../shared/adapters/dynamodb-errors';
import { BadRequestError, UnavailableError } from '../../shared/errors';
import { type Action, type CommandArgs, commandSchemas, isKnownAction } from '../../shared/protocol/commands';
import { errorResponse, okResponse, parseFrame, ridOf, validateArgs } from '../../shared/protocol/envelope';
import type { CommandRateLimiter } from '../../shared/rate-limit';
import { withinInFlightLimit } from './in-flight';
import { logger } from './logger';
import { processRateLimiter } from './rate-limiter';
import { identityOf, type RouteResult, type WebSocketEvent } from './websocket-event';

export interface CommandContext {
  readonly identity: Identity;
  readonly connectionId: string;
  /** Correlation id of this command (API Gateway's request id). */
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
    const requestId = event.requestContext.requestId;
    let rid = ridOf(event.body);
    let action = 'unknown';
    try {
      const frame = parseFrame(event.body);
      rid = frame.rid;
      action = frame.action;
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
      logger.debug('command', { action, status: 200, requestId });
      return { statusCode: 200, body: JSON.stringify(okResponse(rid, body)) };
    } catch (caught) {
      // The store still throttling after the SDK's retries: the client retries later with the same client id.
      const error = isThrottling(caught) ? new UnavailableError('the service is busy; retry with the same client id', 500) : caught;
      const response = errorResponse(rid, error, requestId);
      // A 503 is the service asking the client to come back (throttling): expected, not a bug.
      if (response.status === 503) logger.warn('command deferred', { action, requestId, retryAfterMs: response.error.retryAfterMs });
      else if (response.status >= 500) logger.error('command failed', { action, requestId, error: error as Error });
      else logger.info('command refused', { action, status: response.status, code: response.error.code, requestId });
      return { statusCode: 200, body: JSON.stringify(response) };
    }
  };
}

/** The Lambda form: middy adds the logger's Lambda context; the raw handler stays exported for tests. */
export function lambdaHandler(handler: (event: WebSocketEvent) => Promise<RouteResult>) {
  return middy(handler);
}
