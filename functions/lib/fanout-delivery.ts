import { SqsFanOutQueue } from '../../shared/adapters/fanout-queue-sqs';
import { sqsClient } from '../../shared/adapters/aws-clients/sqs';
import type { Config } from '../../shared/config';
import type { Delivery } from '../../shared/connections/delivery';
import { TieredDelivery } from '../../shared/connections/fanout';
import { newId } from '../../shared/ids';
import type { ConnectionStore, EventDelivery } from '../../shared/ports';
import type { ServerEventPayloads } from '../../shared/protocol/events';

/**
 * The chat function's delivery: the fan-out tier above FANOUT_DIRECT_MAX connections (docs/architecture.md,
 * "Fan-out tier"), the direct path below it and whenever no fan-out queue is configured.
 */
export function chatDeliveryFrom(config: Config, direct: Delivery, connectionStore: ConnectionStore): EventDelivery<ServerEventPayloads> {
  if (!config.FANOUT_QUEUE_URL) return direct;
  return new TieredDelivery(direct, connectionStore, new SqsFanOutQueue(sqsClient(config), config.FANOUT_QUEUE_URL), { directMax: config.FANOUT_DIRECT_MAX, shardSize: config.FANOUT_SHARD_SIZE }, newId);
}
