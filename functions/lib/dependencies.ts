import type { ChatService } from '../../shared/chat/service';
import type { ConferenceService } from '../../shared/conference/service';
import type { Config } from '../../shared/config';
import type { Delivery } from '../../shared/connections/delivery';
import type { ConversationService } from '../../shared/conversation/service';
import type { PresenceService } from '../../shared/presence/service';
import type { Clock, ConnectionStore, Connections, Queue, Timers } from '../../shared/ports';
import { chatService } from './compose/chat';
import { complianceQueue, complianceSqsQueue } from './compose/compliance';
import { conferenceService } from './compose/conference';
import { processConfig } from './compose/config';
import { conversationService } from './compose/conversation';
import { edgeDependencies } from './compose/edge';
import { s3FileStorage } from './compose/files';
import { presenceService } from './compose/presence';
import { schedulerTimers } from './compose/timers';
import { chatDeliveryFrom } from './fanout-delivery';

/**
 * The ports a handler may need. Each function's entry (functions/*.ts) is its own composition root and builds
 * only what it calls, from the modules in ./compose/ (docs/architecture.md, "Composition roots"); a handler
 * factory takes the `Pick` of this it uses. Import it as a type only from an entry, never `productionDependencies`.
 */
export interface Dependencies {
  readonly config: Config;
  readonly clock: Clock;
  readonly connectionStore: ConnectionStore;
  readonly connections: Connections;
  readonly delivery: Delivery;
  readonly timers: Timers;
  /** The compliance queue itself (SPEC §7); the use cases reach it through `ComplianceQueue` (compose/compliance.ts). */
  readonly complianceQueue: Queue;
  readonly conversations: ConversationService;
  readonly presence: PresenceService;
  readonly conferences: ConferenceService;
  readonly chat: ChatService;
}

let dependencies: Dependencies | undefined;

/**
 * Every area at once, built on first use, over the same per-process clients as the functions: for tests and
 * tools that reach into several areas. No function entry calls it (it would load every SDK client).
 */
export function productionDependencies(): Dependencies {
  if (dependencies) return dependencies;
  const config = processConfig();
  const edge = edgeDependencies(config);
  const ports = { timers: schedulerTimers(config), compliance: complianceQueue(config) };
  let conversations: ConversationService | undefined;
  let presence: PresenceService | undefined;
  let conferences: ConferenceService | undefined;
  let chat: ChatService | undefined;
  dependencies = {
    ...edge,
    timers: ports.timers,
    complianceQueue: complianceSqsQueue(config),
    get conversations() {
      return (conversations ??= conversationService(edge, ports));
    },
    get presence() {
      return (presence ??= presenceService(edge, ports.timers));
    },
    get conferences() {
      return (conferences ??= conferenceService(edge, ports));
    },
    get chat() {
      return (chat ??= chatService(edge, { compliance: ports.compliance, files: s3FileStorage(config), delivery: chatDeliveryFrom(config, edge.delivery, edge.connectionStore) }));
    },
  };
  return dependencies;
}
