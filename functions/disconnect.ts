import { lambdaHandler } from './lib/command-handler';
import { type Dependencies, productionDependencies } from './lib/dependencies';
import { loggableError, logger } from './lib/logger';
import { identityOf, type RouteResult, type WebSocketEvent } from './lib/websocket-event';

/** `$disconnect` is best-effort on API Gateway: a missed one is caught by GoneException on the next post. */
export function makeDisconnectHandler(deps: Pick<Dependencies, 'connectionStore' | 'conferences' | 'presence'>) {
  return async (event: WebSocketEvent): Promise<RouteResult> => {
    const connectionId = event.requestContext.connectionId;
    await deps.connectionStore.delete(connectionId);
    try {
      // The user's presence without this endpoint (offline if it was the last), told to their subscribers.
      await deps.presence.endpointGone(identityOf(event).uri, connectionId);
    } catch (error) {
      // Best-effort like $disconnect itself: the next refresh checks the endpoint with GetConnection and cleans it.
      logger.warn('presence not updated at disconnect', { connectionId, error: loggableError(error) });
    }
    // A closed endpoint leaves the meetings it was in (the user stays while another device is in).
    await deps.conferences.disconnected(identityOf(event), connectionId);
    return { statusCode: 200 };
  };
}

export const handler = lambdaHandler(makeDisconnectHandler(productionDependencies()));
