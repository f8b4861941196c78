import { ApiGatewayConnections } from '../../shared/adapters/apigw-connections';
import { DynamoChatStore } from '../../shared/adapters/chat-store-dynamodb';
import { systemClock } from '../../shared/adapters/clock';
import { DynamoConferenceStore } from '../../shared/adapters/conference-store-dynamodb';
import { DynamoComplianceOutbox } from '../../shared/adapters/compliance-outbox-dynamodb';
import { DynamoConnectionStore } from '../../shared/adapters/connection-store-dynamodb';
import { DynamoConversationStore } from '../../shared/adapters/conversation-store-dynamodb';
import { DynamoPresenceStore } from '../../shared/adapters/presence-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/dynamodb';
import { SchedulerTimers, schedulerSdkClient } from '../../shared/adapters/scheduler-timers';
import { S3FileStorage, s3SdkClient } from '../../shared/adapters/s3-file-storage';
import { SqsQueue, sqsSdkClient } from '../../shared/adapters/sqs-queue';
import { ChatService } from '../../shared/chat/service';
import { type Config, loadConfig, requireSetting } from '../../shared/config';
import { configureInFlightLimit } from './in-flight';
import { MeasuredDelivery } from './observability';
import { ConferenceService } from '../../shared/conference/service';
import type { Delivery } from '../../shared/connections/delivery';
import { ConversationService } from '../../shared/conversation/service';
import { newId } from '../../shared/ids';
import { PresenceService } from '../../shared/presence/service';
import { subscriptionPolicy } from '../../shared/presence/subscription';
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
  readonly presence: PresenceService;
  readonly conferences: ConferenceService;
  /** Persistent chat (SPEC §6), built on first use. */
  readonly chat: ChatService;
}

let dependencies: Dependencies | undefined;

/** The production adapters (AWS SDK); memoized so SDK clients live at module scope, not per invocation. */
export function productionDependencies(): Dependencies {
  if (dependencies) return dependencies;
  const config = loadConfig();
  configureInFlightLimit(config.MAX_IN_FLIGHT_COMMANDS);
  const clock = systemClock;
  const connectionStore = new DynamoConnectionStore(dynamoDocumentClient(), config.TABLE_NAME, clock);
  const connections = new ApiGatewayConnections(config.WS_MANAGEMENT_ENDPOINT, config);
  let timers: Timers | undefined;
  let complianceQueue: Queue | undefined;
  let conversations: ConversationService | undefined;
  let presence: PresenceService | undefined;
  let conferences: ConferenceService | undefined;
  let chat: ChatService | undefined;
  dependencies = {
    config,
    clock,
    connectionStore,
    connections,
    delivery: new MeasuredDelivery(connections, connectionStore, config.FANOUT_CONCURRENCY),
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
        complianceOutbox: new DynamoComplianceOutbox(dynamoDocumentClient(), config.TABLE_NAME),
        clock,
        idleMs: config.CONVERSATION_IDLE_SECONDS * 1000,
        newId,
      });
      return conversations;
    },
    get presence() {
      const deps = this as Dependencies;
      presence ??= new PresenceService({
        store: new DynamoPresenceStore(dynamoDocumentClient(), config.TABLE_NAME),
        connectionStore,
        connections,
        delivery: deps.delivery,
        // Lazy: $connect and $disconnect update presence but never arm a timer, so they need no Scheduler settings.
        get timers() {
          return deps.timers;
        },
        clock,
        policy: subscriptionPolicy(config.PRESENCE_SUBSCRIPTION_SECONDS),
        homeDomain: config.HOME_DOMAIN,
        concurrency: config.FANOUT_CONCURRENCY,
        quotas: {
          maxSubscriptionsPerUser: config.PRESENCE_MAX_SUBSCRIPTIONS_PER_USER,
          maxWatchedTargetsPerUser: config.PRESENCE_MAX_WATCHED_TARGETS_PER_USER,
          maxTargetsPerSubscription: config.PRESENCE_MAX_TARGETS_PER_SUBSCRIPTION,
        },
        newId,
      });
      return presence;
    },
    get conferences() {
      const deps = this as Dependencies;
      conferences ??= new ConferenceService({
        store: new DynamoConferenceStore(dynamoDocumentClient(), config.TABLE_NAME),
        delivery: deps.delivery,
        timers: deps.timers,
        complianceQueue: deps.complianceQueue,
        complianceOutbox: new DynamoComplianceOutbox(dynamoDocumentClient(), config.TABLE_NAME),
        connections,
        clock,
        durations: {
          emptyGraceMs: config.CONFERENCE_EMPTY_GRACE_SECONDS * 1000,
          noEnterpriseMs: config.CONFERENCE_NO_ENTERPRISE_SECONDS * 1000,
          noJoinMs: config.CONFERENCE_NO_JOIN_SECONDS * 1000,
          expiryMs: config.CONFERENCE_EXPIRY_SECONDS * 1000,
          contentGraceMs: config.CONTENT_GRACE_SECONDS * 1000,
        },
        homeDomain: config.HOME_DOMAIN,
        newId,
      });
      return conferences;
    },
    get chat() {
      const deps = this as Dependencies;
      chat ??= new ChatService({
        store: new DynamoChatStore(dynamoDocumentClient(), config.TABLE_NAME),
        delivery: deps.delivery,
        // Lazy: the queue settings are read only when a command archives.
        get complianceQueue() {
          return deps.complianceQueue;
        },
        complianceOutbox: new DynamoComplianceOutbox(dynamoDocumentClient(), config.TABLE_NAME),
        clock,
        homeDomain: config.HOME_DOMAIN,
        historyPageSize: config.CHAT_HISTORY_PAGE_SIZE,
        newId,
        files: new S3FileStorage(s3SdkClient(), config.FILES_BUCKET),
        fileUrlSeconds: config.FILE_URL_SECONDS,
        quotas: { maxFollowedRooms: config.MAX_FOLLOWED_ROOMS, maxRoomsPerUser: config.MAX_ROOMS_PER_USER, maxFilesPerRoom: config.MAX_FILES_PER_ROOM, maxPendingInvitations: config.MAX_PENDING_INVITATIONS },
      });
      return chat;
    },
  };
  return dependencies;
}
