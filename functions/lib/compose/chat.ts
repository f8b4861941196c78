import { dynamoDocumentClient } from '../../../shared/adapters/aws-clients/dynamodb';
import { DynamoChatStore } from '../../../shared/adapters/chat-store-dynamodb';
import { DynamoPresenceStore } from '../../../shared/adapters/presence-store-dynamodb';
import type { FileStorage, PresenceAvailability } from '../../../shared/chat/ports';
import { ChatService } from '../../../shared/chat/service';
import type { ComplianceQueue } from '../../../shared/compliance/ports';
import { newId } from '../../../shared/ids';
import type { EventDelivery } from '../../../shared/ports';
import type { ServerEventPayloads } from '../../../shared/protocol/events';
import type { EdgeDependencies } from './edge';

/**
 * Persistent chat (SPEC §6) over the table; compliance events, files and delivery through the ports given
 * (the chat function's delivery goes through the fan-out tier for large rooms, ../fanout-delivery.ts).
 */
export function chatService(
  { config, clock }: EdgeDependencies,
  ports: { readonly compliance: ComplianceQueue; readonly files: FileStorage; readonly delivery: EventDelivery<ServerEventPayloads> },
): ChatService {
  return new ChatService({
    store: new DynamoChatStore(dynamoDocumentClient(config), config.TABLE_NAME),
    delivery: ports.delivery,
    compliance: ports.compliance,
    clock,
    homeDomain: config.HOME_DOMAIN,
    historyPageSize: config.CHAT_HISTORY_PAGE_SIZE,
    newId,
    files: ports.files,
    fileUrlSeconds: config.FILE_URL_SECONDS,
    presence: presenceAvailability(config),
    quotas: { maxFollowedRooms: config.MAX_FOLLOWED_ROOMS, maxRoomsPerUser: config.MAX_ROOMS_PER_USER, maxFilesPerRoom: config.MAX_FILES_PER_ROOM, maxPendingInvitations: config.MAX_PENDING_INVITATIONS },
  });
}

/** `chat.occupants` reads users' aggregated presence (SPEC §5) through the presence store's batch read. */
function presenceAvailability(config: EdgeDependencies['config']): PresenceAvailability {
  const store = new DynamoPresenceStore(dynamoDocumentClient(config), config.TABLE_NAME);
  return {
    availabilityOf: async (uris) => new Map([...(await store.readAggregates(uris))].map(([uri, record]) => [uri, record.presence.availability])),
  };
}
