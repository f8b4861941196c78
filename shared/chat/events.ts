import type { ChatMessage, Invitation, RemovalReason } from './ports';

/** What the chat use cases push (docs/protocol.md), by event name: the stored values, spread. */
export interface ChatEvents {
  'chat.message': ChatMessage;
  'chat.invitation': Invitation;
  /** `updateRoom` / `deleteRoom`: the user no longer follows the room (they may not read it now, or it is gone). */
  'chat.removed': { readonly roomId: string; readonly reason: RemovalReason };
}
