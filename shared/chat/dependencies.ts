import type { Identity } from '../auth/identity';
import type { ComplianceQueue } from '../compliance/ports';
import type { Clock, EventDelivery } from '../ports';
import type { ChatEvents } from './events';
import type { ChatStore, FileStorage, PresenceAvailability } from './ports';

/** What every chat use case is built from (functions/lib/compose/chat.ts in production, memory ports in tests). */
export interface ChatDependencies {
  readonly store: ChatStore;
  readonly delivery: Pick<EventDelivery<ChatEvents>, 'toUsers'>;
  /** The compliance queue (SPEC §7): what a failed send means is its business (shared/compliance/publisher.ts). */
  readonly compliance: ComplianceQueue;
  readonly clock: Clock;
  readonly homeDomain: string;
  /** CHAT_HISTORY_PAGE_SIZE: the default page, and the most one resume answer holds per room. */
  readonly historyPageSize: number;
  readonly newId: (prefix: string) => string;
  /** Where file bytes live (S3), reached by clients through presigned URLs. */
  readonly files: FileStorage;
  /** FILE_URL_SECONDS: how long an upload or download URL lives. */
  readonly fileUrlSeconds: number;
  /** Users' aggregated presence, for `chat.occupants` (the presence store's batch read); none: nobody shows as connected. */
  readonly presence?: PresenceAvailability;
  /** MAX_FOLLOWED_ROOMS, MAX_ROOMS_PER_USER, MAX_FILES_PER_ROOM, MAX_PENDING_INVITATIONS (issue 17 item 5); none: no cap. */
  readonly quotas?: ChatQuotas;
}

export interface ChatQuotas {
  readonly maxFollowedRooms: number;
  readonly maxRoomsPerUser: number;
  readonly maxFilesPerRoom: number;
  readonly maxPendingInvitations: number;
}

/** Who asks, and the command's request id (stable event ids for commands without a client id). */
export interface ChatCaller {
  readonly identity: Identity;
  readonly connectionId: string;
  readonly requestId: string;
}
