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
export interface ConversationStore extends ConversationReadState {
  get(conversationId: string): Promise<Conversation | undefined>;
  /** The stored answer of an earlier send with this client id, if any. */
  replay(key: IdempotencyKey): Promise<SendResult | undefined>;
  /**
   * Creates the conversation with its first message (and, when it continues one, links the previous); the
   * message's compliance event goes to the outbox in the same transaction.
   */
  open(
    conversation: Conversation,
    message: ImMessage,
    result: SendResult,
    complianceEvent: ComplianceEvent,
    key?: IdempotencyKey,
    readers?: readonly string[],
  ): Promise<OpenOutcome>;
  /**
   * Appends if the conversation is active, the sender still in it, and its last activity not before
   * `idleCutoff` (a conversation past its idle deadline is over even before its timer fires); the message's
   * compliance event goes to the outbox in the same transaction.
   *
   * Read state (issue 22 item 3), in the same transaction, for `open` and `append` alike: a numbered message
   * (`n`) is appended only if it is the next (`messageCount` = n − 1: two sends racing for the same number
   * make one lose, `notActive`, and read again), and is found by id later (`messageNumber`); each of `readers`
   * gets their conversation entry moved to it (`lastN`, the preview, latest activity), the sender's marker with it.
   */
  append(
    message: ImMessage,
    result: SendResult,
    idleCutoff: number,
    complianceEvent: ComplianceEvent,
    key?: IdempotencyKey,
    readers?: readonly string[],
  ): Promise<AppendOutcome>;
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
  /** The conversation's message with this id, undefined when there is none (`im.edit`, `im.retract`: SPEC §9). */
  messageById(conversationId: string, messageId: string): Promise<ImMessage | undefined>;
  /**
   * Changes the stored message to `next`'s text (an edit) or to a tombstone (`next.retracted`) if it is still as
   * `seen` (the same `editedAt`, not retracted), with the change's compliance event in the outbox, all or
   * nothing; false when another edit or a retraction won (re-read and decide again). Then, for each of `readers`
   * whose conversation entry still shows this message as its latest (`im.conversations`' preview), the preview
   * follows: the new text, or none for a tombstone (after the change, one conditional update each).
   */
  reviseMessage(seen: ImMessage, next: ImMessage, complianceEvent: ComplianceEvent, readers?: readonly string[]): Promise<boolean>;
  /**
   * The preview step of `reviseMessage` alone (idempotent): for each of `readers` whose entry still shows this
   * message as its latest, the preview shows its text as stored now. A retried `im.retract` repairs with it.
   */
  refreshPreviews(message: ImMessage, readers: readonly string[]): Promise<void>;
}

/** One user's view of one conversation (issue 22 item 3): the newest message and their read marker. */
export interface ConversationEntry {
  readonly conversationId: string;
  /** The newest message, its text cut to a preview. */
  readonly lastMessage: Pick<ImMessage, 'messageId' | 'from' | 'text' | 'ts'>;
  /** The newest message's `n`. */
  readonly lastN: number;
  /** The read marker: the `n` of the last message read (0: none). */
  readonly readN: number;
}

export interface ConversationEntryPage {
  readonly entries: ConversationEntry[];
  readonly cursor?: string;
}

/**
 * The read state of conversations, per user (issue 22 item 3): every read is a key lookup or a query on a key
 * made for it (docs/architecture.md, "The table").
 */
export interface ConversationReadState {
  /** The `n` of a message of the conversation; undefined for one unknown (or older than numbering). */
  messageNumber(conversationId: string, messageId: string): Promise<number | undefined>;
  /**
   * Moves the user's read marker forward to `n`, never back: `moved` false when it was already there or past it.
   * The entry as it now is (undefined: the user has no entry for that conversation).
   */
  markRead(uri: string, conversationId: string, n: number): Promise<{ readonly moved: boolean; readonly entry?: ConversationEntry }>;
  /** The user's conversations, latest activity first; `fit` cuts the page to one answer frame (the cursor follows the cut). */
  conversationsOf(uri: string, limit: number, cursor?: string, fit?: PageFit<ConversationEntry>): Promise<ConversationEntryPage>;
  /** The user's entries of these conversations (those that exist), in no particular order. */
  entriesOf(uri: string, conversationIds: readonly string[]): Promise<ConversationEntry[]>;
  /** Conversations by id (those that exist), in no particular order. */
  getMany(conversationIds: readonly string[]): Promise<Conversation[]>;
  /**
   * Notes that a message of the conversation reached none of the user's connections (a missed conversation): the
   * first note's `ts` stays; `n`, the newest missed message's number, rises with every miss.
   */
  recordMissed(uri: string, conversationId: string, ts: number, n?: number): Promise<void>;
  /** The conversations noted as missed for the user, oldest note first, at most `limit`. */
  missed(uri: string, limit: number): Promise<string[]>;
  /**
   * Removes the note; with `readN` (the read marker) only while no message after it was missed, so a message missed
   * after the marker was read keeps its note.
   */
  clearMissed(uri: string, conversationId: string, readN?: number): Promise<void>;
  /**
   * Every one of the user's conversations with a message at or after `ts` (their entry's latest activity), read
   * `pageSize` entries a key Query until none remain.
   */
  activeSince(uri: string, ts: number, pageSize?: number): Promise<string[]>;
  /** The conversation's messages at or after `ts`, oldest first, at most `limit`. */
  messagesFrom(conversationId: string, ts: number, limit: number): Promise<ImMessage[]>;
}
