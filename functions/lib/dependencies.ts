import { ApiGatewayConnections } from '../../shared/adapters/apigw-connections';
import { systemClock } from '../../shared/adapters/clock';
import { DynamoConnectionStore } from '../../shared/adapters/connection-store-dynamodb';
import { DynamoConversationStore } from '../../shared/adapters/conversation-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/dynamodb';
import { SchedulerTimers, schedulerSdkClient } from '../../shared/adapters/scheduler-timers';
import { SqsQueue, sqsSdkClient } from '../../shared/adapters/sqs-queue';
import { type Config, loadConfig, requireSetting } from '../../shared/config';
import { Delivery } from '../../shared/connections/delivery';
import { ConversationService } from '../../shared/conversation/service';
import { newId } from '../../shared/ids';
import type { Clock, ConnectionStore, Connections, Queue, Timers } from '../../shared/ports';

/** The ports a handler may need, built once per process from the environment. */
export interface Dependencies {
  readonly config: Config;
  readonly clock: Clock;
  readonly connectionStore: ConnectionStore;
  readonly connections: Connections;
  readonly delivery: Delivery;
  /** Built on first use: only functions that arm timers need the Scheduler settings. */
  readonly timers: Timers;
  /** The compliance queue (SPEC §7), built on first use. */
  readonly complianceQueue: Queue;
  readonly conversations: ConversationService;
}

let dependencies: Dependencies | undefined;

/** The production adapters (AWS SDK); memoized so SDK clients live at module scope, not per invocation. */
export function productionDependencies(): Dependencies {
  if (dependencies) return dependencies;
  const config = loadConfig();
  const clock = systemClock;
  const connectionStore = new DynamoConnectionStore(dynamoDocumentClient(), config.TABLE_NAME, clock);
  const connections = new ApiGatewayConnections(config.WS_MANAGEMENT_ENDPOINT);
  let timers: Timers | undefined;
  let complianceQueue: Queue | undefined;
  let conversations: ConversationService | undefined;
  dependencies = {
    config,
    clock,
    connectionStore,
    connections,
    delivery: new Delivery(connections, connectionStore, config.FANOUT_CONCURRENCY),
    get timers() {
      timers ??= new SchedulerTimers(schedulerSdkClient(), {
        groupName: config.SCHEDULE_GROUP,
        targetArn: requireSetting(config, 'TIMER_FUNCTION_ARN'),
        roleArn: requireSetting(config, 'SCHEDULER_ROLE_ARN'),
        deadLetterArn: config.TIMER_DLQ_ARN,
      });
      return timers;
    },
    get complianceQueue() {
      complianceQueue ??= new SqsQueue(sqsSdkClient(), requireSetting(config, 'COMPLIANCE_QUEUE_URL'));
      return complianceQueue;
    },
    get conversations() {
      const deps = this as Dependencies;
      conversations ??= new ConversationService({
        store: new DynamoConversationStore(dynamoDocumentClient(), config.TABLE_NAME),
        delivery: deps.delivery,
        timers: deps.timers,
        complianceQueue: deps.complianceQueue,
        clock,
        idleMs: config.CONVERSATION_IDLE_SECONDS * 1000,
        newId,
      });
      return conversations;
    },
  };
  return dependencies;
}
