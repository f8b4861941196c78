import type { ComplianceEvent } from '../compliance/event';
import type { PageFit } from '../protocol/frame-fit';
import type { Conversation, EndReason, ImMessage } from './conversation';

/** What a send answered: kept with the client's id so a retry gets the same answer (SPEC §2). */
export interface SendResult {
  readonly conversationId: string;
  readonly messageId: string;
  readonly newConversation: boolean;
  readonly previousConversationId?: string;
  readonly ts: number;
}

export interface IdempotencyKey {
  readonly senderUri: string;
  readonly clientMsgId: string;
}

export type AppendOutcome =
  | { readonly kind: 'appended' }
  | { readonly kind: 'notActive' }
  | { readonly kind: 'replayed'; readonly result: SendResult };

export type OpenOutcome =
  | { readonly kind: 'opened' }
  /** The previous conversation was already continued by another one: send there instead. */
  | { readonly kind: 'alreadyContinued'; readonly nextConversationId: string }
  | { readonly kind: 'replayed'; readonly result: SendResult };

export interface HistoryPage {
  readonly messages: ImMessage[];
  readonly cursor?: string;
}

/** Conversations and their messages. Every write that races is conditional; outcomes say who won. */
export interface ConversationStore {
  get(conversationId: string): Promise<Conversation | undefined>;
  /** The stored answer of an earlier send with this client id, if any. */
  replay(key: IdempotencyKey): Promise<SendResult | undefined>;
  /**
   * Creates the conversation with its first message (and, when it continues one, links the previous); the
   * message's compliance event goes to the outbox in the same transaction.
   */
  open(conversation: Conversation, message: ImMessage, result: SendResult, complianceEvent: ComplianceEvent, key?: IdempotencyKey): Promise<OpenOutcome>;
  /**
   * Appends if the conversation is active, the sender still in it, and its last activity not before
   * `idleCutoff` (a conversation past its idle deadline is over even before its timer fires); the message's
   * compliance event goes to the outbox in the same transaction.
   */
  append(message: ImMessage, result: SendResult, idleCutoff: number, complianceEvent: ComplianceEvent, key?: IdempotencyKey): Promise<AppendOutcome>;
  /** Records a keep-alive under the same conditions; false if the conversation is over for this user. */
  touch(conversationId: string, uri: string, now: number, idleCutoff: number): Promise<boolean>;
  /** Ends it if it is still active and unchanged since `seen` (no activity, no lifecycle change). */
  end(seen: Conversation, reason: EndReason, now: number): Promise<boolean>;
  /** Sets the active participants (and ends it when asked) if its version is still `seen.version`. */
  updateActive(seen: Conversation, active: readonly string[], ends: boolean, now: number): Promise<boolean>;
  /** Moves the timer to `version` if the armed one is still `seen.timerVersion`. */
  advanceTimer(seen: Conversation, version: number): Promise<boolean>;
  /** Newest first; `fit` cuts the page to what one answer frame holds (the cursor follows the cut). */
  history(conversationId: string, limit: number, before?: string, fit?: PageFit<ImMessage>): Promise<HistoryPage>;
}
