import type { Identity } from '../auth/identity';
import { BadRequestError, ForbiddenError } from '../errors';

/**
 * An IM conversation (SPEC §3): two or more participants; it ends after a period without activity
 * (a message or a keep-alive; typing is not activity) or when fewer than two participants remain.
 */
export interface Conversation {
  readonly conversationId: string;
  /** Everyone who was ever in it: they may read its history. */
  readonly participants: readonly string[];
  /** Those who have not left. */
  readonly active: readonly string[];
  readonly status: 'active' | 'ended';
  readonly endedReason?: EndReason;
  readonly createdAt: number;
  /** The last message or keep-alive. */
  readonly lastActivityAt: number;
  /** The version of the idle timer now armed; a firing of another version is stale. */
  readonly timerVersion: number;
  /** Bumped by every lifecycle change (leave, end), for conditional writes. */
  readonly version: number;
  readonly previousConversationId?: string;
  /** Set once when a message on this ended conversation opened the next one. */
  readonly nextConversationId?: string;
  /** How many messages it holds: the last message's `n` (issue 22 item 3; absent on conversations older than it). */
  readonly messageCount?: number;
}

export type EndReason = 'idle' | 'left';

export interface ImMessage {
  readonly conversationId: string;
  readonly messageId: string;
  readonly from: { readonly uri: string; readonly name: string };
  readonly text: string;
  readonly contentType: 'text/plain' | 'text/html';
  readonly ts: number;
  readonly clientMsgId?: string;
  /** `im.edit` (SPEC §9): when the text was last changed (epoch ms; rises with every edit, so it versions the message). */
  readonly editedAt?: number;
  /** `im.retract` (SPEC §9): a tombstone (text empty), and when. */
  readonly retracted?: true;
  readonly retractedAt?: number;
  /** Its number in the conversation, 1, 2, 3…: read markers and `unread` count by it (issue 22 item 3). */
  readonly n?: number;
}

/** When the conversation idles out, counted from its last activity. */
export function idleDeadline(conversation: Conversation, idleMs: number): number {
  return conversation.lastActivityAt + idleMs;
}

/**
 * Whether the conversation is over at `now`: ended, or idle past its deadline even if its timer has
 * not fired yet (timers are hints; the stored state and the clock decide).
 */
export function hasEnded(conversation: Conversation, now: number, idleMs: number): boolean {
  return conversation.status === 'ended' || now >= idleDeadline(conversation, idleMs);
}

export type IdleTimerDecision =
  | { readonly kind: 'ignore'; readonly why: 'ended' | 'staleTimer' }
  | { readonly kind: 'end' }
  | { readonly kind: 'rearm'; readonly at: number; readonly version: number };

/**
 * The idle rule, when the timer fires: a stale or moot firing is ignored; an idle conversation ends;
 * one with recent activity gets its timer re-armed at the new deadline (lazily: messages never touch it).
 */
export function decideIdleTimer(conversation: Conversation, firedVersion: number, now: number, idleMs: number): IdleTimerDecision {
  if (conversation.status === 'ended') return { kind: 'ignore', why: 'ended' };
  if (firedVersion !== conversation.timerVersion) return { kind: 'ignore', why: 'staleTimer' };
  if (now >= idleDeadline(conversation, idleMs)) return { kind: 'end' };
  return { kind: 'rearm', at: idleDeadline(conversation, idleMs), version: conversation.timerVersion + 1 };
}

/** Leaving: the user is no longer active; with fewer than two left, the conversation ends. */
export function leave(conversation: Conversation, uri: string): { readonly active: string[]; readonly ends: boolean } {
  const active = conversation.active.filter((participant) => participant !== uri);
  return { active, ends: active.length < 2 };
}

export function isParticipant(conversation: Conversation, uri: string): boolean {
  return conversation.participants.includes(uri);
}

export function assertParticipant(conversation: Conversation, uri: string): void {
  if (!isParticipant(conversation, uri)) throw new ForbiddenError('only participants may use this conversation');
}

/** Most participants a conversation may have. */
export const MAX_PARTICIPANTS = 50;

/**
 * Who may open a conversation, and with whom (docs/protocol.md): anonymous guests and PSTN callers may
 * not open IM conversations (they message inside meetings only); everyone else may, with any SIP URI.
 */
export function recipientsForNewConversation(sender: Identity, to: string | readonly string[]): string[] {
  if (sender.kind === 'anonymous' || sender.kind === 'pstn') {
    throw new ForbiddenError(`${sender.kind} users may not open IM conversations`);
  }
  const recipients = [...new Set((typeof to === 'string' ? [to] : to).map((uri) => uri.toLowerCase()))].filter((uri) => uri !== sender.uri);
  if (recipients.length === 0) throw new BadRequestError("field 'to': name at least one other participant", 'to');
  if (recipients.length + 1 > MAX_PARTICIPANTS) throw new BadRequestError(`field 'to': at most ${MAX_PARTICIPANTS - 1} recipients`, 'to');
  return recipients;
}

/** How many characters of a message `im.conversations` and `missedConversations` show as its preview. */
export const PREVIEW_CHARACTERS = 140;

/** A message's preview: its first characters, never cutting a surrogate pair. */
export function previewOf(text: string): string {
  const characters = Array.from(text);
  return characters.length <= PREVIEW_CHARACTERS ? text : `${characters.slice(0, PREVIEW_CHARACTERS).join('')}…`;
}

/**
 * Unread messages of a conversation for one user: those after their read marker. A sender's own message moves
 * their marker to it, so what lies after the marker is only others' messages; never negative, whatever the devices do.
 */
export function unreadOf(lastN: number, readN: number): number {
  return Math.max(0, lastN - readN);
}

/** The number of the next message: 1 for a conversation's first (and for one older than numbering, its first numbered). */
export function nextMessageNumber(conversation: Conversation): number {
  return (conversation.messageCount ?? 0) + 1;
}
