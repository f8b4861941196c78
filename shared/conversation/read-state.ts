import type { Identity } from '../auth/identity';
import { inParallel } from '../concurrency';
import { BadRequestError, NotFoundError } from '../errors';
import type { Clock, DomainEvent, EventDelivery } from '../ports';
import { countThatFits, MAX_LIST_ANSWER_BYTES, prefixThatFits } from '../protocol/frame-fit';
import { assertParticipant, type Conversation, hasEnded, type ImMessage, unreadOf } from './conversation';
import type { ConversationEvents } from './events';
import type { ConversationEntry, ConversationStore } from './ports';

/** Most conversations `session.resume` reports as missed. */
export const MAX_MISSED_CONVERSATIONS = 50;
/** Most IM messages one `session.resume {imSince}` answer returns (then `imCursor`). */
export const MAX_RESUME_IM_MESSAGES = 100;
/** How many conversations' messages are read at once. */
const READ_PARALLELISM = 8;

/** One conversation as `im.conversations` and `missedConversations` show it to a user (issue 22 item 3). */
export interface ConversationSummary {
  readonly conversationId: string;
  readonly participants: readonly string[];
  /** `ended` also for a user who left it. */
  readonly status: 'active' | 'ended';
  readonly lastMessage: ConversationEntry['lastMessage'];
  readonly unread: number;
}

export interface ConversationList {
  readonly conversations: ConversationSummary[];
  readonly cursor?: string;
}

/** What `session.resume` answers about IM (issue 22 item 3). */
export interface ImResume {
  readonly missedConversations?: ConversationSummary[];
  readonly imMessages?: ImMessage[];
  /** Present while more IM messages remain: `session.resume {imSince, imCursor}` answers the next ones. */
  readonly imCursor?: string;
}

export interface ReadStateDependencies {
  readonly store: ConversationStore;
  readonly delivery: Pick<EventDelivery<ConversationEvents>, 'toUsers'>;
  readonly clock: Clock;
  readonly idleMs: number;
}

/**
 * Where a page of messages since `imSince` stopped: the last message answered, by (ts, conversation, message); or,
 * when none fitted, just before the first (its `messageId` empty, before every id).
 */
interface MessagePosition {
  readonly ts: number;
  readonly conversationId: string;
  readonly messageId: string;
}

/**
 * IM read state, per user (issue 22 item 3): read markers that roam (`im.markread`, event `im.read`), the user's
 * conversations by latest activity with `unread` (`im.conversations`), missed conversations and the IM messages
 * since a moment (`session.resume`). Unread is counted from numbers, `lastN − readN`, never by reading history.
 */
export class ImReadState {
  constructor(private readonly deps: ReadStateDependencies) {}

  /** `im.markread`: the marker moves forward to the message, never back; the reader's other connections get `im.read`. */
  async markRead(reader: Identity, connectionId: string, conversationId: string, messageId: string): Promise<{ conversationId: string; messageId: string; unread: number }> {
    const conversation = await this.deps.store.get(conversationId);
    if (!conversation) throw new NotFoundError(`no conversation ${conversationId}`);
    assertParticipant(conversation, reader.uri);
    const n = await this.deps.store.messageNumber(conversationId, messageId);
    if (n === undefined) throw new NotFoundError(`no message ${messageId} in conversation ${conversationId}`);
    const { moved, entry } = await this.deps.store.markRead(reader.uri, conversationId, n);
    const unread = entry ? unreadOf(entry.lastN, entry.readN) : 0;
    // Only while nothing after the marker was missed: a message missed since it was read keeps its note.
    if (unread === 0) await this.deps.store.clearMissed(reader.uri, conversationId, entry?.readN);
    if (moved) {
      await this.deps.delivery.toUsers([reader.uri], { event: 'im.read', payload: { conversationId, messageId, unread } }, connectionId);
    }
    return { conversationId, messageId, unread };
  }

  /** `im.conversations`: the reader's conversations, latest activity first, cut to one frame. */
  async conversations(reader: Identity, limit: number, cursor?: string): Promise<ConversationList> {
    const page = await this.deps.store.conversationsOf(reader.uri, limit, cursor);
    const summaries = await this.summaries(reader, page.entries);
    const kept = countThatFits(summaries, (list) => ({ conversations: list }));
    if (kept === summaries.length) return page.cursor ? { conversations: summaries, cursor: page.cursor } : { conversations: summaries };
    return { conversations: summaries.slice(0, kept), cursor: entryCursor(page.entries[kept - 1]!) };
  }

  /**
   * `session.resume`: the missed conversations (a message of theirs reached none of the user's connections and is
   * still unread), and with `imSince` the messages of the user's conversations at or after it, oldest first.
   * `imCursor` (a previous answer's) answers only the next messages.
   */
  async resume(reader: Identity, options: { imSince?: number; imCursor?: string }, budgetBytes = MAX_LIST_ANSWER_BYTES): Promise<ImResume> {
    let missed: ConversationSummary[] | undefined;
    if (options.imCursor === undefined) {
      // The newest that fit in half the budget (50 conversations of 50 participants would not); the rest stay noted.
      const all = await this.missed(reader);
      missed = all.slice(0, prefixThatFits(all, (list) => ({ missedConversations: list }), budgetBytes / 2));
      budgetBytes -= missed.length > 0 ? countedBytes({ missedConversations: missed }) : 0;
    }
    const base: ImResume = missed && missed.length > 0 ? { missedConversations: missed } : {};
    const after = options.imCursor !== undefined ? decodePosition(options.imCursor) : undefined;
    const since = after?.ts ?? options.imSince;
    if (since === undefined) return base;
    const messages = await this.messagesSince(reader, since, after);
    const page = messages.slice(0, MAX_RESUME_IM_MESSAGES);
    // An `imCursor` answer has the whole budget, in which the largest message fits. The first answer shares it with
    // presence and the rooms: when not even its first message fits, it answers none and a cursor just before it.
    const fit = options.imCursor !== undefined ? countThatFits : prefixThatFits;
    const kept = fit(page, (list) => ({ imMessages: list }), budgetBytes);
    const first = page[0];
    const last = page[kept - 1];
    const cursor = last ? encodePosition(last) : first ? encodePosition({ ts: first.ts, conversationId: first.conversationId, messageId: '' }) : undefined;
    return { ...base, imMessages: page.slice(0, kept), ...(messages.length > kept && cursor ? { imCursor: cursor } : {}) };
  }

  /**
   * Delivers a new message's `im.message` to each recipient, and notes a missed conversation for each other
   * participant none of whose connections it reached (Lync's "missed conversation": they were not signed in).
   */
  async deliverNotingMisses(recipients: readonly string[], event: DomainEvent<ConversationEvents>, exceptConnectionId: string, message: ImMessage): Promise<void> {
    await inParallel(recipients, READ_PARALLELISM, async (uri) => {
      const report = await this.deps.delivery.toUsers([uri], event, exceptConnectionId);
      if (uri !== message.from.uri && report.delivered === 0) await this.deps.store.recordMissed(uri, message.conversationId, message.ts, message.n);
    });
  }

  private async missed(reader: Identity): Promise<ConversationSummary[]> {
    const ids = await this.deps.store.missed(reader.uri, MAX_MISSED_CONVERSATIONS);
    if (ids.length === 0) return [];
    const entries = await this.deps.store.entriesOf(reader.uri, ids);
    const summaries = (await this.summaries(reader, entries)).filter((summary) => summary.unread > 0);
    return summaries.sort((a, b) => b.lastMessage.ts - a.lastMessage.ts);
  }

  private async messagesSince(reader: Identity, since: number, after: MessagePosition | undefined): Promise<ImMessage[]> {
    // Every one of them (paged): the messages are merged oldest first, and a conversation left out would lose its own.
    const conversationIds = await this.deps.store.activeSince(reader.uri, since);
    // Each conversation's first MAX + 1 messages from `since` hold every message of the answer's first MAX, and tell if more remain.
    const perConversation = await inParallel(conversationIds, READ_PARALLELISM, (id) => this.deps.store.messagesFrom(id, since, MAX_RESUME_IM_MESSAGES + 1));
    return perConversation
      .flat()
      .filter((message) => message.ts >= since && (after === undefined || comparePositions(message, after) > 0))
      .sort(comparePositions);
  }

  private async summaries(reader: Identity, entries: readonly ConversationEntry[]): Promise<ConversationSummary[]> {
    if (entries.length === 0) return [];
    const conversations = new Map((await this.deps.store.getMany(entries.map((entry) => entry.conversationId))).map((c) => [c.conversationId, c]));
    const now = this.deps.clock.now();
    return entries.flatMap((entry) => {
      const conversation = conversations.get(entry.conversationId);
      return conversation ? [this.summaryOf(reader, conversation, entry, now)] : [];
    });
  }

  private summaryOf(reader: Identity, conversation: Conversation, entry: ConversationEntry, now: number): ConversationSummary {
    const ended = hasEnded(conversation, now, this.deps.idleMs) || !conversation.active.includes(reader.uri);
    return {
      conversationId: conversation.conversationId,
      participants: conversation.participants,
      status: ended ? 'ended' : 'active',
      lastMessage: entry.lastMessage,
      unread: unreadOf(entry.lastN, entry.readN),
    };
  }
}

function countedBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** `im.conversations`' cursor: the entry's position on the user's index (`{ts, 15 digits}#{conversationId}`), as the stores write it. */
export function entryCursor(entry: ConversationEntry): string {
  return Buffer.from(`${String(entry.lastMessage.ts).padStart(15, '0')}#${entry.conversationId}`, 'utf8').toString('base64url');
}

function comparePositions(a: MessagePosition, b: MessagePosition): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  if (a.conversationId !== b.conversationId) return a.conversationId < b.conversationId ? -1 : 1;
  return a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0;
}

function encodePosition(message: MessagePosition): string {
  return Buffer.from(JSON.stringify([message.ts, message.conversationId, message.messageId]), 'utf8').toString('base64url');
}

function decodePosition(cursor: string): MessagePosition {
  try {
    const [ts, conversationId, messageId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof ts === 'number' && typeof conversationId === 'string' && typeof messageId === 'string') return { ts, conversationId, messageId };
  } catch {
    // answered below
  }
  throw new BadRequestError("field 'imCursor': not a cursor this server gave", 'imCursor');
}
