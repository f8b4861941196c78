import type { ComplianceEvent } from '../../../shared/compliance/event';
import type { Conversation, EndReason, ImMessage } from '../../../shared/conversation/conversation';
import { previewOf } from '../../../shared/conversation/conversation';
import type {
  AppendOutcome,
  ConversationEntry,
  ConversationEntryPage,
  ConversationStore,
  HistoryPage,
  IdempotencyKey,
  OpenOutcome,
  SendResult,
} from '../../../shared/conversation/ports';
import { BadRequestError } from '../../../shared/errors';
import type { PageFit } from '../../../shared/protocol/frame-fit';
import { MemoryOutbox } from './compliance';

/** The store's conditional writes, by name, as the hooks see them. */
export type ConversationWrite = 'open' | 'append' | 'touch' | 'end' | 'updateActive' | 'advanceTimer' | 'reviseMessage' | 'refreshPreviews';

/** A hook around one write: `conversationId` is the conversation written (for `open`, the new one). */
export type WriteHook = (write: ConversationWrite, conversationId: string) => void | Promise<void>;

/**
 * The conversation store in memory, held to the same contract as `DynamoConversationStore`
 * (test/support/contracts/conversation-store.contract.ts): each write checks its conditions and applies all of its
 * items at once, as the adapter's transaction does, and writes the message's compliance event to `outbox`.
 *
 * Hooks for race and failure tests: `beforeWrite` runs before a write checks its conditions (a test makes a
 * concurrent change there, between the service's read and its conditional write); `afterWrite` runs after a write
 * committed, and what it throws is what the caller gets (the store applied the change but the answer was lost).
 */
export class MemoryConversationStore implements ConversationStore {
  readonly conversations = new Map<string, Conversation>();
  /** Messages by conversation, keyed by their sort key (`{ts}#{messageId}`, as in the table). */
  private readonly messages = new Map<string, Map<string, ImMessage>>();
  private readonly answers = new Map<string, SendResult>();
  /** Read state (issue 22 item 3): message numbers by `{conversationId}#{messageId}`, entries and missed notes by `{uri}#{conversationId}`. */
  private readonly numbers = new Map<string, number>();
  private readonly entries = new Map<string, ConversationEntry & { readonly uri: string; readonly lastActivityAt: number }>();
  private readonly missedNotes = new Map<string, { readonly uri: string; readonly conversationId: string; readonly since: number; readonly n?: number }>();
  beforeWrite?: WriteHook;
  afterWrite?: WriteHook;

  constructor(readonly outbox: MemoryOutbox = new MemoryOutbox()) {}

  async get(conversationId: string): Promise<Conversation | undefined> {
    const conversation = this.conversations.get(conversationId);
    return conversation ? structuredClone(conversation) : undefined;
  }

  async replay(key: IdempotencyKey): Promise<SendResult | undefined> {
    const result = this.answers.get(keyOf(key));
    return result ? structuredClone(result) : undefined;
  }

  async open(
    conversation: Conversation,
    message: ImMessage,
    result: SendResult,
    complianceEvent: ComplianceEvent,
    key?: IdempotencyKey,
    readers: readonly string[] = [],
  ): Promise<OpenOutcome> {
    await this.beforeWrite?.('open', conversation.conversationId);
    if (key && this.answers.has(keyOf(key))) return { kind: 'replayed', result: structuredClone(this.answers.get(keyOf(key))!) };
    const previousId = conversation.previousConversationId;
    if (previousId !== undefined) {
      const previous = this.conversations.get(previousId);
      if (!previous || previous.nextConversationId !== undefined) return { kind: 'alreadyContinued', nextConversationId: previous?.nextConversationId ?? '' };
    }
    if (this.conversations.has(conversation.conversationId)) throw new Error(`opening conversation ${conversation.conversationId} failed: it exists`);
    this.conversations.set(conversation.conversationId, structuredClone(conversation));
    if (previousId !== undefined) this.patch(previousId, { nextConversationId: conversation.conversationId });
    this.commitMessage(message, result, complianceEvent, key, readers);
    await this.afterWrite?.('open', conversation.conversationId);
    return { kind: 'opened' };
  }

  async append(
    message: ImMessage,
    result: SendResult,
    idleCutoff: number,
    complianceEvent: ComplianceEvent,
    key?: IdempotencyKey,
    readers: readonly string[] = [],
  ): Promise<AppendOutcome> {
    await this.beforeWrite?.('append', message.conversationId);
    if (key && this.answers.has(keyOf(key))) return { kind: 'replayed', result: structuredClone(this.answers.get(keyOf(key))!) };
    if (!this.openFor(message.conversationId, message.from.uri, idleCutoff)) return { kind: 'notActive' };
    // A numbered message is the next one or none, as the adapter's condition on `messageCount`.
    if (message.n !== undefined && (this.conversations.get(message.conversationId)!.messageCount ?? 0) !== message.n - 1) return { kind: 'notActive' };
    this.patch(message.conversationId, { lastActivityAt: message.ts, ...(message.n === undefined ? {} : { messageCount: message.n }) });
    this.commitMessage(message, result, complianceEvent, key, readers);
    await this.afterWrite?.('append', message.conversationId);
    return { kind: 'appended' };
  }

  async touch(conversationId: string, uri: string, now: number, idleCutoff: number): Promise<boolean> {
    await this.beforeWrite?.('touch', conversationId);
    if (!this.openFor(conversationId, uri, idleCutoff)) return false;
    this.patch(conversationId, { lastActivityAt: now });
    await this.afterWrite?.('touch', conversationId);
    return true;
  }

  async end(seen: Conversation, reason: EndReason, now: number): Promise<boolean> {
    await this.beforeWrite?.('end', seen.conversationId);
    const stored = this.conversations.get(seen.conversationId);
    if (stored?.status !== 'active' || stored.version !== seen.version || stored.lastActivityAt !== seen.lastActivityAt) return false;
    this.patch(seen.conversationId, { status: 'ended', endedReason: reason, endedAt: now, version: stored.version + 1 });
    await this.afterWrite?.('end', seen.conversationId);
    return true;
  }

  async updateActive(seen: Conversation, active: readonly string[], ends: boolean, now: number): Promise<boolean> {
    await this.beforeWrite?.('updateActive', seen.conversationId);
    const stored = this.conversations.get(seen.conversationId);
    if (stored?.status !== 'active' || stored.version !== seen.version) return false;
    this.patch(seen.conversationId, {
      active: [...active],
      version: stored.version + 1,
      ...(ends ? { status: 'ended', endedReason: 'left', endedAt: now } : {}),
    });
    await this.afterWrite?.('updateActive', seen.conversationId);
    return true;
  }

  async advanceTimer(seen: Conversation, version: number): Promise<boolean> {
    await this.beforeWrite?.('advanceTimer', seen.conversationId);
    const stored = this.conversations.get(seen.conversationId);
    if (stored?.status !== 'active' || stored.timerVersion !== seen.timerVersion) return false;
    this.patch(seen.conversationId, { timerVersion: version });
    await this.afterWrite?.('advanceTimer', seen.conversationId);
    return true;
  }

  async history(conversationId: string, limit: number, before?: string, fit?: PageFit<ImMessage>): Promise<HistoryPage> {
    const after = before === undefined ? undefined : decodeCursor(before);
    const newestFirst = [...(this.messages.get(conversationId) ?? new Map<string, ImMessage>()).entries()]
      .filter(([sortKey]) => after === undefined || sortKey < after)
      .sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0));
    const all = newestFirst.slice(0, limit).map(([, message]) => withoutClientId(message));
    const kept = fit ? fit(all) : all.length;
    const last = newestFirst[kept - 1];
    return newestFirst.length > kept && last ? { messages: all.slice(0, kept), cursor: encodeCursor(last[0]) } : { messages: all.slice(0, kept) };
  }

  async messageNumber(conversationId: string, messageId: string): Promise<number | undefined> {
    return this.numbers.get(`${conversationId}#${messageId}`);
  }

  async markRead(uri: string, conversationId: string, n: number): Promise<{ moved: boolean; entry?: ConversationEntry }> {
    const stored = this.entries.get(`${uri}#${conversationId}`);
    if (!stored) return { moved: false };
    if (stored.readN >= n) return { moved: false, entry: entryOf(stored) };
    const moved = { ...stored, readN: n };
    this.entries.set(`${uri}#${conversationId}`, moved);
    return { moved: true, entry: entryOf(moved) };
  }

  async conversationsOf(uri: string, limit: number, cursor?: string, fit?: PageFit<ConversationEntry>): Promise<ConversationEntryPage> {
    const after = cursor === undefined ? undefined : decodeEntryCursor(cursor);
    const newestFirst = [...this.entries.values()]
      .filter((entry) => entry.uri === uri)
      .map((entry) => ({ sortKey: `${pad(entry.lastActivityAt)}#${entry.conversationId}`, entry }))
      .filter(({ sortKey }) => after === undefined || sortKey < after)
      .sort((a, b) => (a.sortKey < b.sortKey ? 1 : -1));
    const all = newestFirst.slice(0, limit).map(({ entry }) => entryOf(entry));
    const kept = fit ? fit(all) : all.length;
    const last = newestFirst[kept - 1];
    return newestFirst.length > kept && last ? { entries: all.slice(0, kept), cursor: encodeCursor(last.sortKey) } : { entries: all.slice(0, kept) };
  }

  async entriesOf(uri: string, conversationIds: readonly string[]): Promise<ConversationEntry[]> {
    return [...new Set(conversationIds)].flatMap((id) => {
      const entry = this.entries.get(`${uri}#${id}`);
      return entry ? [entryOf(entry)] : [];
    });
  }

  async getMany(conversationIds: readonly string[]): Promise<Conversation[]> {
    return [...new Set(conversationIds)].flatMap((id) => {
      const conversation = this.conversations.get(id);
      return conversation ? [structuredClone(conversation)] : [];
    });
  }

  async recordMissed(uri: string, conversationId: string, ts: number, n?: number): Promise<void> {
    const note = this.missedNotes.get(`${uri}#${conversationId}`);
    const latest = n === undefined || (note?.n !== undefined && note.n > n) ? note?.n : n;
    this.missedNotes.set(`${uri}#${conversationId}`, { uri, conversationId, since: note?.since ?? ts, ...(latest === undefined ? {} : { n: latest }) });
  }

  async missed(uri: string, limit: number): Promise<string[]> {
    return [...this.missedNotes.values()]
      .filter((note) => note.uri === uri)
      .sort((a, b) => a.since - b.since)
      .slice(0, limit)
      .map((note) => note.conversationId);
  }

  async clearMissed(uri: string, conversationId: string, readN?: number): Promise<void> {
    const note = this.missedNotes.get(`${uri}#${conversationId}`);
    if (note && (readN === undefined || note.n === undefined || note.n <= readN)) this.missedNotes.delete(`${uri}#${conversationId}`);
  }

  async activeSince(uri: string, ts: number): Promise<string[]> {
    return [...this.entries.values()]
      .filter((entry) => entry.uri === uri && entry.lastActivityAt >= ts)
      .sort((a, b) => b.lastActivityAt - a.lastActivityAt)
      .map((entry) => entry.conversationId);
  }

  async messagesFrom(conversationId: string, ts: number, limit: number): Promise<ImMessage[]> {
    return [...(this.messages.get(conversationId) ?? new Map<string, ImMessage>()).entries()]
      .filter(([, message]) => message.ts >= ts)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .slice(0, limit)
      .map(([, message]) => withoutClientId(message));
  }

  async messageById(conversationId: string, messageId: string): Promise<ImMessage | undefined> {
    // Found through its number's pointer, as the adapter does: a message older than numbering is not found.
    if (!this.numbers.has(`${conversationId}#${messageId}`)) return undefined;
    const found = [...(this.messages.get(conversationId)?.values() ?? [])].find((message) => message.messageId === messageId);
    return found ? withoutClientId(found) : undefined;
  }

  async reviseMessage(seen: ImMessage, next: ImMessage, complianceEvent: ComplianceEvent, readers: readonly string[] = []): Promise<boolean> {
    await this.beforeWrite?.('reviseMessage', seen.conversationId);
    const messages = this.messages.get(seen.conversationId);
    const stored = messages?.get(sortKeyOf(seen));
    if (!messages || !stored || stored.messageId !== seen.messageId || stored.retracted || stored.editedAt !== seen.editedAt) return false;
    // As the adapter's update: what else the item holds (number, client id) stays; a tombstone loses `editedAt`.
    const { editedAt: _editedAt, ...rest } = stored;
    messages.set(
      sortKeyOf(seen),
      next.retracted ? { ...rest, text: next.text, retracted: true, retractedAt: next.retractedAt! } : { ...stored, text: next.text, editedAt: next.editedAt! },
    );
    this.outbox.add(structuredClone(complianceEvent));
    // As the adapter: the transaction, then the previews (a failure after the commit leaves them as they were).
    await this.afterWrite?.('reviseMessage', seen.conversationId);
    await this.refreshPreviews(next, readers);
    return true;
  }

  async refreshPreviews(message: ImMessage, readers: readonly string[]): Promise<void> {
    await this.beforeWrite?.('refreshPreviews', message.conversationId);
    for (const uri of readers) {
      const entry = this.entries.get(`${uri}#${message.conversationId}`);
      if (entry?.lastMessage.messageId === message.messageId) {
        this.entries.set(`${uri}#${message.conversationId}`, { ...entry, lastMessage: { ...entry.lastMessage, text: previewOf(message.text) } });
      }
    }
    await this.afterWrite?.('refreshPreviews', message.conversationId);
  }

  /** Every stored message of the conversation, oldest first, as written (client id included): what a test counts. */
  stored(conversationId: string): ImMessage[] {
    return [...(this.messages.get(conversationId)?.entries() ?? [])].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, message]) => structuredClone(message));
  }

  private openFor(conversationId: string, uri: string, idleCutoff: number): boolean {
    const stored = this.conversations.get(conversationId);
    return stored?.status === 'active' && stored.active.includes(uri) && stored.lastActivityAt >= idleCutoff;
  }

  private commitMessage(message: ImMessage, result: SendResult, complianceEvent: ComplianceEvent, key: IdempotencyKey | undefined, readers: readonly string[]): void {
    const messages = this.messages.get(message.conversationId) ?? new Map<string, ImMessage>();
    messages.set(sortKeyOf(message), structuredClone(message));
    this.messages.set(message.conversationId, messages);
    if (message.n !== undefined) {
      const n = message.n;
      this.numbers.set(`${message.conversationId}#${message.messageId}`, n);
      const lastMessage = { messageId: message.messageId, from: structuredClone(message.from), text: previewOf(message.text), ts: message.ts };
      for (const uri of readers) {
        const stored = this.entries.get(`${uri}#${message.conversationId}`);
        const readN = uri === message.from.uri ? n : (stored?.readN ?? 0);
        this.entries.set(`${uri}#${message.conversationId}`, { uri, conversationId: message.conversationId, lastMessage, lastN: n, readN, lastActivityAt: message.ts });
      }
    }
    if (key) this.answers.set(keyOf(key), structuredClone(result));
    this.outbox.add(structuredClone(complianceEvent));
  }

  private patch(conversationId: string, change: Partial<Conversation> & { endedAt?: number }): void {
    const stored = this.conversations.get(conversationId)!;
    this.conversations.set(conversationId, { ...stored, ...structuredClone(change) });
  }
}

const pad = (ts: number) => String(ts).padStart(15, '0');

function entryOf(stored: ConversationEntry): ConversationEntry {
  return structuredClone({ conversationId: stored.conversationId, lastMessage: stored.lastMessage, lastN: stored.lastN, readN: stored.readN });
}

function decodeEntryCursor(cursor: string): string {
  const sortKey = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^\d{15}#./.test(sortKey)) throw new BadRequestError("field 'cursor': not a cursor this server gave", 'cursor');
  return sortKey;
}

const keyOf = (key: IdempotencyKey) => `${key.senderUri}#im.send#${key.clientMsgId}`;
const sortKeyOf = (message: ImMessage) => `MSG#${String(message.ts).padStart(15, '0')}#${message.messageId}`;

function withoutClientId(message: ImMessage): ImMessage {
  const { clientMsgId: _client, ...rest } = message;
  return structuredClone(rest);
}

function encodeCursor(sortKey: string): string {
  return Buffer.from(sortKey, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const sortKey = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!sortKey.startsWith('MSG#')) throw new BadRequestError("field 'before': not a cursor this server gave", 'before');
  return sortKey;
}
