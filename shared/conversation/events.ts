import type { Conversation, EndReason, ImMessage } from './conversation';
import type { SendResult } from './ports';

/** What the conversation use cases push (docs/protocol.md), by event name: the payload beside `type` and `event`. */
export interface ConversationEvents {
  /** `publish`: the message, and `participants` only when it opened the conversation. */
  'im.message': Pick<ImMessage, 'conversationId' | 'messageId' | 'from' | 'text' | 'contentType' | 'ts'> &
    Pick<SendResult, 'newConversation' | 'previousConversationId'> & { readonly participants?: Conversation['participants'] };
  'im.typing': Pick<ImMessage, 'conversationId' | 'from'>;
  'im.ended': { readonly conversationId: string; readonly reason: EndReason };
  'im.participantLeft': { readonly conversationId: string; readonly uri: string };
}
