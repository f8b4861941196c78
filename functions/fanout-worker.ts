import { dynamoDocumentClient } from '../shared/adapters/aws-clients/dynamodb';
import { DynamoShardProgress } from '../shared/adapters/shard-progress-dynamodb';
import { ShardDelivery } from '../shared/connections/fanout';
import { processConfig } from './lib/compose/config';
import { edgeDependencies } from './lib/compose/edge';
import { makeFanOutWorker } from './lib/fanout-worker-handler';
import { lambdaHandler } from './lib/observability';

export { makeFanOutWorker };

/** The fan-out queue's worker (SQS event source): posts the shards of large rooms' messages; see ./lib/fanout-worker-handler.ts. */
const config = processConfig();
const edge = edgeDependencies(config);
const shards = new ShardDelivery(
  edge.connections,
  edge.connectionStore,
  new DynamoShardProgress(dynamoDocumentClient(config), config.TABLE_NAME, edge.clock),
  // Every connection of a shard at once (within the client's socket pool), so a shard is one round of posts.
  Math.max(config.FANOUT_CONCURRENCY, config.FANOUT_SHARD_SIZE),
);
export const handler = lambdaHandler(makeFanOutWorker(shards));
