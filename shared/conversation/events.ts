import type { Conversation, EndReason, ImMessage } from './conversation';
import type { SendResult } from './ports';

/** What the conversation use cases push (docs/protocol.md), by event name: the payload beside `type` and `event`. */
export interface ConversationEvents {
  /** `publish`: the message, and `participants` only when it opened the conversation. */
  'im.message': Pick<ImMessage, 'conversationId' | 'messageId' | 'from' | 'text' | 'contentType' | 'ts' | 'n'> &
    Pick<SendResult, 'newConversation' | 'previousConversationId'> & { readonly participants?: Conversation['participants'] };
  'im.typing': Pick<ImMessage, 'conversationId' | 'from'>;
  'im.ended': { readonly conversationId: string; readonly reason: EndReason };
  'im.participantLeft': { readonly conversationId: string; readonly uri: string };
  /** `im.markread` (issue 22 item 3): the user's read marker moved, to their other connections (IM's `chat.read`). */
  'im.read': { readonly conversationId: string; readonly messageId: string; readonly unread: number };
  /** `im.edit` (SPEC §9): the message's new text. */
  'im.edited': { readonly conversationId: string; readonly messageId: string; readonly text: string; readonly editedAt: number };
  /** `im.retract` (SPEC §9): the message is a tombstone now; `by` is its author. */
  'im.retracted': { readonly conversationId: string; readonly messageId: string; readonly by: string };
  /** `im.send {mentions}`: to every connection of each mentioned participant (SPEC §9). */
  'im.mention': Pick<ImMessage, 'conversationId' | 'messageId' | 'from' | 'text' | 'contentType' | 'ts'>;
}
