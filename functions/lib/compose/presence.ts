import { dynamoDocumentClient } from '../../../shared/adapters/aws-clients/dynamodb';
import { DynamoPresenceStore } from '../../../shared/adapters/presence-store-dynamodb';
import { newId } from '../../../shared/ids';
import type { Timers } from '../../../shared/ports';
import { PresenceService } from '../../../shared/presence/service';
import { subscriptionPolicy } from '../../../shared/presence/subscription';
import type { EdgeDependencies } from './edge';

/** Presence (SPEC §5) over the table; `timers` as the function may arm them (refresh timers). */
export function presenceService({ config, clock, connectionStore, connections, delivery }: EdgeDependencies, timers: Timers): PresenceService {
  return new PresenceService({
    store: new DynamoPresenceStore(dynamoDocumentClient(config), config.TABLE_NAME),
    connectionStore,
    connections,
    delivery,
    timers,
    clock,
    policy: subscriptionPolicy(config.PRESENCE_SUBSCRIPTION_SECONDS),
    homeDomain: config.HOME_DOMAIN,
    concurrency: config.PRESENCE_FANOUT_CONCURRENCY,
    stateLifetimeMs: config.PRESENCE_STATE_SECONDS * 1000,
    quotas: {
      maxSubscriptionsPerUser: config.PRESENCE_MAX_SUBSCRIPTIONS_PER_USER,
      maxWatchedTargetsPerUser: config.PRESENCE_MAX_WATCHED_TARGETS_PER_USER,
      maxTargetsPerSubscription: config.PRESENCE_MAX_TARGETS_PER_SUBSCRIPTION,
    },
    newId,
  });
}
