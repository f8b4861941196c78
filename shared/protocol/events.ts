import type { ChatMessage, Invitation, RemovalReason } from '../chat/ports';
import type { ConferencePolicy, DeactivationReason, LobbyEntry, Participant, RosterEntry } from '../conference/conference';
import type { Conversation, EndReason, ImMessage } from '../conversation/conversation';
import type { SendResult } from '../conversation/ports';
import type { PresenceRecord } from '../presence/presence';
import type { Subscription, TerminationReason } from '../presence/subscription';

/**
 * What the server pushes: each event's payload (the frame's fields beside `type` and `event`), by name, as the
 * use cases send it (docs/protocol.md). `serverEvent` takes only these, so a payload that drifts from its type
 * fails tsc at the call; client/src/protocol.ts `ServerEvents` is checked against this map
 * (test/unit/client/protocol-drift.test.ts). Types only, built from the domain's own: no AWS import.
 */
export interface ServerEventPayloads {
  // shared/conversation/service.ts
  /** `publish`: the message, and `participants` only when it opened the conversation. */
  'im.message': Pick<ImMessage, 'conversationId' | 'messageId' | 'from' | 'text' | 'contentType' | 'ts'> &
    Pick<SendResult, 'newConversation' | 'previousConversationId'> & { readonly participants?: Conversation['participants'] };
  'im.typing': Pick<ImMessage, 'conversationId' | 'from'>;
  'im.ended': { readonly conversationId: string; readonly reason: EndReason };
  'im.participantLeft': { readonly conversationId: string; readonly uri: string };

  // shared/conference/service.ts
  'conf.roster': { readonly confId: string; readonly change: 'joined' | 'left'; readonly participant: RosterEntry };
  'conf.lobby': { readonly confId: string } & Pick<LobbyEntry, 'uri' | 'name' | 'kind'>;
  'conf.lobbyWait': { readonly confId: string };
  /** `admit`: the role and activation instance the admitted user entered with (what a joined `conf.join` answers). */
  'conf.admitted': { readonly confId: string } & Pick<Participant, 'role' | 'activationInstance'>;
  'conf.denied': { readonly confId: string };
  /** `update`: the same fields as its answer. */
  'conf.updated': { readonly confId: string; readonly stateVersion: number; readonly locked: boolean } & ConferencePolicy;
  'conf.deactivated': { readonly confId: string; readonly reason: DeactivationReason; readonly activationInstance: string };

  // shared/presence/service.ts
  /** No `seq` (SPEC §5): every change of a user's aggregate is one version and is notified to every subscription watching them. */
  'presence.notify': { readonly subscriptionId: string; readonly uri: string } & PresenceRecord;
  /** `announce`: `reason` only when there is one, `expiresAt` unless terminated. */
  'presence.subscriptionState': Pick<Subscription, 'subscriptionId' | 'state'> & { readonly reason?: TerminationReason; readonly expiresAt?: number };

  // shared/chat/service.ts: the stored values, spread.
  'chat.message': ChatMessage;
  'chat.invitation': Invitation;
  /** `updateRoom` / `deleteRoom`: the user no longer follows the room (they may not read it now, or it is gone). */
  'chat.removed': { readonly roomId: string; readonly reason: RemovalReason };
}

export type ServerEventName = keyof ServerEventPayloads;

