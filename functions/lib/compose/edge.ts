import { ApiGatewayConnections } from '../../../shared/adapters/apigw-connections';
import { dynamoDocumentClient } from '../../../shared/adapters/aws-clients/dynamodb';
import { systemClock } from '../../../shared/adapters/clock';
import { DynamoConnectionStore } from '../../../shared/adapters/connection-store-dynamodb';
import type { Config } from '../../../shared/config';
import type { Delivery } from '../../../shared/connections/delivery';
import type { Clock, ConnectionStore, Connections } from '../../../shared/ports';
import { MeasuredDelivery } from '../metrics';

/** What every function on the WebSocket path needs: the table's connections, the management API, delivery. */
export interface EdgeDependencies {
  readonly config: Config;
  readonly clock: Clock;
  readonly connectionStore: ConnectionStore;
  readonly connections: Connections;
  readonly delivery: Delivery;
}

let edge: EdgeDependencies | undefined;

/** The DynamoDB and management API clients and the ports over them, once per process. */
export function edgeDependencies(config: Config): EdgeDependencies {
  if (edge) return edge;
  const connectionStore = new DynamoConnectionStore(dynamoDocumentClient(config), config.TABLE_NAME, systemClock);
  const connections = new ApiGatewayConnections(config.WS_MANAGEMENT_ENDPOINT, config);
  edge = { config, clock: systemClock, connectionStore, connections, delivery: new MeasuredDelivery(connections, connectionStore, config.FANOUT_CONCURRENCY) };
  return edge;
}
