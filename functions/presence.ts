import { lambdaHandler, makeCommandHandler, type RoutesOf } from './lib/command-handler';
import type { AreaAction } from '../shared/protocol/actions';
import { processConfig } from './lib/compose/config';
import { edgeDependencies } from './lib/compose/edge';
import { presenceService } from './lib/compose/presence';
import { schedulerTimers } from './lib/compose/timers';
import type { Dependencies } from './lib/dependencies';

/** Presence (SPEC §5): parse, authorize in the domain, answer. */
export function makePresenceHandler(deps: Pick<Dependencies, 'presence'>) {
  return makeCommandHandler({
    'presence.publish': async ({ availability, source, activity, note }, { identity, connectionId }) =>
      // The schema lets through exactly one of `availability` and `reset`.
      deps.presence.publish(identity, connectionId, availability ? { source, availability, activity, note } : { source: 'user', reset: true, note }),
    'presence.subscribe': async (args, { identity, connectionId }) => deps.presence.subscribe(identity, connectionId, args),
    'presence.refresh': async ({ subscriptionId }, { identity, connectionId }) => deps.presence.refresh(identity, connectionId, subscriptionId),
    'presence.unsubscribe': async ({ subscriptionId }, { identity }) => deps.presence.unsubscribe(identity, subscriptionId),
  } satisfies RoutesOf<AreaAction<'presence'>>);
}

const config = processConfig();
export const handler = lambdaHandler(makePresenceHandler({ presence: presenceService(edgeDependencies(config), schedulerTimers(config)) }));
