import { ApiGatewayConnections } from '../../shared/adapters/apigw-connections';
import { systemClock } from '../../shared/adapters/clock';
import { DynamoConnectionStore } from '../../shared/adapters/connection-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/dynamodb';
import { type Config, loadConfig } from '../../shared/config';
import { Delivery } from '../../shared/connections/delivery';
import type { Clock, ConnectionStore, Connections } from '../../shared/ports';

/** The ports a handler may need, built once per process from the environment. */
export interface Dependencies {
  readonly config: Config;
  readonly clock: Clock;
  readonly connectionStore: ConnectionStore;
  readonly connections: Connections;
  readonly delivery: Delivery;
}

let dependencies: Dependencies | undefined;

/** The production adapters (AWS SDK); memoized so SDK clients live at module scope, not per invocation. */
export function productionDependencies(): Dependencies {
  if (dependencies) return dependencies;
  const config = loadConfig();
  const clock = systemClock;
  const connectionStore = new DynamoConnectionStore(dynamoDocumentClient(), config.TABLE_NAME, clock);
  const connections = new ApiGatewayConnections(config.WS_MANAGEMENT_ENDPOINT);
  dependencies = {
    config,
    clock,
    connectionStore,
    connections,
    delivery: new Delivery(connections, connectionStore, config.FANOUT_CONCURRENCY),
  };
  return dependencies;
}
