import { conferenceService } from './lib/compose/conference';
import { processConfig } from './lib/compose/config';
import { edgeDependencies } from './lib/compose/edge';
import { complianceOnFirstUse, timersOnFirstUse } from './lib/compose/lazy';
import { presenceService } from './lib/compose/presence';
import type { Dependencies } from './lib/dependencies';
import { loggableError, logger } from './lib/logger';
import { untracedLambdaHandler } from './lib/lambda-handler';
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

const config = processConfig();
const edge = edgeDependencies(config);
// The rare path: an endpoint that was in a meeting leaves it, which may arm the conference's timers and queue its
// compliance events. The Scheduler and SQS clients are loaded then, not at every `$disconnect`'s init.
const timers = timersOnFirstUse(() => (require('./lib/compose/timers') as typeof import('./lib/compose/timers')).schedulerTimers(config));
const compliance = complianceOnFirstUse(() => (require('./lib/compose/compliance') as typeof import('./lib/compose/compliance')).complianceQueue(config));
export const handler = untracedLambdaHandler(
  makeDisconnectHandler({ ...edge, presence: presenceService(edge, timers), conferences: conferenceService(edge, { timers, compliance }) }),
);
