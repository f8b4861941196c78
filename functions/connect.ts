import { processConfig } from './lib/compose/config';
import { edgeDependencies } from './lib/compose/edge';
import { noTimers } from './lib/compose/lazy';
import { presenceService } from './lib/compose/presence';
import type { Dependencies } from './lib/dependencies';
import { loggableError, logger } from './lib/logger';
import { untracedLambdaHandler } from './lib/lambda-handler';
import { identityOf, type RouteResult, type WebSocketEvent } from './lib/websocket-event';

/**
 * `$connect`: the authorizer has verified the token; record the endpoint so deliveries can reach it, and
 * count it in the user's presence (online until it publishes otherwise).
 */
export function makeConnectHandler(deps: Pick<Dependencies, 'connectionStore' | 'clock' | 'config' | 'presence'>) {
  return async (event: WebSocketEvent): Promise<RouteResult> => {
    const identity = identityOf(event);
    const connectedAt = event.requestContext.connectedAt ?? deps.clock.now();
    const connectionId = event.requestContext.connectionId;
    const expiresAt = connectedAt + deps.config.CONNECTION_TTL_SECONDS * 1000;
    await deps.connectionStore.put({ ...identity, connectionId, connectedAt, expiresAt });
    try {
      await deps.presence.endpointOpened(identity, connectionId, expiresAt);
    } catch (error) {
      // Presence must not refuse a connection: the endpoint's first `presence.publish` records it.
      logger.warn('presence not updated at connect', { connectionId, error: loggableError(error) });
    }
    return { statusCode: 200 };
  };
}

// The table and the management API only: a connect publishes presence, which never arms a timer.
const edge = edgeDependencies(processConfig());
export const handler = untracedLambdaHandler(makeConnectHandler({ ...edge, presence: presenceService(edge, noTimers('connect')) }));
