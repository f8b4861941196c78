import { lambdaHandler } from './lib/command-handler';
import { type Dependencies, productionDependencies } from './lib/dependencies';
import type { RouteResult, WebSocketEvent } from './lib/websocket-event';

/** `$disconnect` is best-effort on API Gateway: a missed one is caught by GoneException on the next post. */
export function makeDisconnectHandler(deps: Pick<Dependencies, 'connectionStore'>) {
  return async (event: WebSocketEvent): Promise<RouteResult> => {
    await deps.connectionStore.delete(event.requestContext.connectionId);
    return { statusCode: 200 };
  };
}

export const handler = lambdaHandler(makeDisconnectHandler(productionDependencies()));
