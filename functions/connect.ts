import { lambdaHandler } from './lib/command-handler';
import { type Dependencies, productionDependencies } from './lib/dependencies';
import { identityOf, type RouteResult, type WebSocketEvent } from './lib/websocket-event';

/** `$connect`: the authorizer has verified the token; record the endpoint so deliveries can reach it. */
export function makeConnectHandler(deps: Pick<Dependencies, 'connectionStore' | 'clock' | 'config'>) {
  return async (event: WebSocketEvent): Promise<RouteResult> => {
    const identity = identityOf(event);
    const connectedAt = event.requestContext.connectedAt ?? deps.clock.now();
    await deps.connectionStore.put({
      ...identity,
      connectionId: event.requestContext.connectionId,
      connectedAt,
      expiresAt: connectedAt + deps.config.CONNECTION_TTL_SECONDS * 1000,
    });
    return { statusCode: 200 };
  };
}

export const handler = lambdaHandler(makeConnectHandler(productionDependencies()));
