import type { ChatMessage, Invitation, RemovalReason } from './ports';

/** The post that mentioned the user, and its room's name (they may not follow the room). */
export type ChatMention = Pick<ChatMessage, 'roomId' | 'seq' | 'messageId' | 'from' | 'text' | 'ts'> & { readonly roomName: string };

/** What the chat use cases push (docs/protocol.md), by event name: the stored values, spread. */
export interface ChatEvents {
  'chat.message': ChatMessage;
  'chat.invitation': Invitation;
  /** `updateRoom` / `deleteRoom`: the user no longer follows the room (they may not read it now, or it is gone). */
  'chat.removed': { readonly roomId: string; readonly reason: RemovalReason };
  /** `chat.markread`: the caller's marker moved; to their other connections, with the room's counts for it (SPEC §9). */
  'chat.read': { readonly roomId: string; readonly readSeq: number; readonly unread: number; readonly mentions: number };
  /** `chat.grpchat {mentions}`: to every connection of a mentioned user who may read the room (SPEC §9). */
  'chat.mention': ChatMention;
  /** `chat.edit`: the message's new text (SPEC §9). */
  'chat.edited': { readonly roomId: string; readonly messageId: string; readonly seq: number; readonly text: string; readonly editedAt: number };
  /** `chat.retract`: the message is a tombstone now; `by` retracted it (its author or a manager). */
  'chat.retracted': { readonly roomId: string; readonly messageId: string; readonly seq: number; readonly by: string };
}
