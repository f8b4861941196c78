import { lambdaHandler, makeCommandHandler } from './lib/command-handler';
import { type Dependencies, productionDependencies } from './lib/dependencies';

/** Presence (SPEC §5): parse, authorize in the domain, answer. */
export function makePresenceHandler(deps: Pick<Dependencies, 'presence'>) {
  return makeCommandHandler({
    'presence.publish': async ({ availability, source, activity, note }, { identity, connectionId }) =>
      // The schema lets through exactly one of `availability` and `reset`.
      deps.presence.publish(identity, connectionId, availability ? { source, availability, activity, note } : { source: 'user', reset: true, note }),
    'presence.subscribe': async (args, { identity, connectionId }) => deps.presence.subscribe(identity, connectionId, args),
    'presence.refresh': async ({ subscriptionId }, { identity, connectionId }) => deps.presence.refresh(identity, connectionId, subscriptionId),
    'presence.unsubscribe': async ({ subscriptionId }, { identity }) => deps.presence.unsubscribe(identity, subscriptionId),
  });
}

export const handler = lambdaHandler(makePresenceHandler(productionDependencies()));
