import type { ComplianceEvent } from '../../../shared/compliance/event';
import type { Conversation, EndReason, ImMessage } from '../../../shared/conversation/conversation';
import type { AppendOutcome, ConversationStore, HistoryPage, IdempotencyKey, OpenOutcome, SendResult } from '../../../shared/conversation/ports';
import { BadRequestError } from '../../../shared/errors';
import type { PageFit } from '../../../shared/protocol/frame-fit';
import { MemoryOutbox } from './compliance';

/** The store's conditional writes, by name, as the hooks see them. */
export type ConversationWrite = 'open' | 'append' | 'touch' | 'end' | 'updateActive' | 'advanceTimer';

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

  async open(conversation: Conversation, message: ImMessage, result: SendResult, complianceEvent: ComplianceEvent, key?: IdempotencyKey): Promise<OpenOutcome> {
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
    this.commitMessage(message, result, complianceEvent, key);
    await this.afterWrite?.('open', conversation.conversationId);
    return { kind: 'opened' };
  }

  async append(message: ImMessage, result: SendResult, idleCutoff: number, complianceEvent: ComplianceEvent, key?: IdempotencyKey): Promise<AppendOutcome> {
    await this.beforeWrite?.('append', message.conversationId);
    if (key && this.answers.has(keyOf(key))) return { kind: 'replayed', result: structuredClone(this.answers.get(keyOf(key))!) };
    if (!this.openFor(message.conversationId, message.from.uri, idleCutoff)) return { kind: 'notActive' };
    this.patch(message.conversationId, { lastActivityAt: message.ts });
    this.commitMessage(message, result, complianceEvent, key);
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

  /** Every stored message of the conversation, oldest first, as written (client id included): what a test counts. */
  stored(conversationId: string): ImMessage[] {
    return [...(this.messages.get(conversationId)?.entries() ?? [])].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, message]) => structuredClone(message));
  }

  private openFor(conversationId: string, uri: string, idleCutoff: number): boolean {
    const stored = this.conversations.get(conversationId);
    return stored?.status === 'active' && stored.active.includes(uri) && stored.lastActivityAt >= idleCutoff;
  }

  private commitMessage(message: ImMessage, result: SendResult, complianceEvent: ComplianceEvent, key: IdempotencyKey | undefined): void {
    const messages = this.messages.get(message.conversationId) ?? new Map<string, ImMessage>();
    messages.set(sortKeyOf(message), structuredClone(message));
    this.messages.set(message.conversationId, messages);
    if (key) this.answers.set(keyOf(key), structuredClone(result));
    this.outbox.add(structuredClone(complianceEvent));
  }

  private patch(conversationId: string, change: Partial<Conversation> & { endedAt?: number }): void {
    const stored = this.conversations.get(conversationId)!;
    this.conversations.set(conversationId, { ...stored, ...structuredClone(change) });
  }
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
