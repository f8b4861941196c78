import type { Identity } from '../auth/identity';
import { actorOf, type ComplianceEvent } from '../compliance/event';
import type { ComplianceQueue } from '../compliance/ports';
import { RETRY, retryOnConflict } from '../concurrency';
import { GoneError, NotFoundError, UnavailableError } from '../errors';
import type { Clock, DomainEvent, EventDelivery, TimerFiring, Timers } from '../ports';
import { listFit } from '../protocol/frame-fit';
import {
  assertParticipant,
  type Conversation,
  decideIdleTimer,
  type EndReason,
  hasEnded,
  type ImMessage,
  leave,
  nextMessageNumber,
  recipientsForNewConversation,
} from './conversation';
import type { ConversationStore, HistoryPage, IdempotencyKey, SendResult } from './ports';
import type { ConversationEvents } from './events';
import { ImRevising } from './revising';
import { type ConversationList, type ImResume, ImReadState } from './read-state';

export const IDLE_TIMER_RULE = 'conversation.idle';

export interface ConversationDependencies {
  readonly store: ConversationStore;
  readonly delivery: Pick<EventDelivery<ConversationEvents>, 'toUsers'>;
  readonly timers: Timers;
  /** The compliance queue (SPEC §7): what a failed send means is its business (shared/compliance/publisher.ts). */
  readonly compliance: ComplianceQueue;
  readonly clock: Clock;
  /** CONVERSATION_IDLE_SECONDS, in milliseconds. */
  readonly idleMs: number;
  readonly newId: (prefix: string) => string;
}

export interface SendCommand {
  readonly to?: string | readonly string[];
  readonly conversationId?: string;
  readonly text: string;
  readonly contentType: ImMessage['contentType'];
  readonly clientMsgId?: string;
  /** SPEC §9: participants the message mentions (each gets `im.mention`). */
  readonly mentions?: readonly string[];
}

/**
 * What an idle timer's retries throw when every attempt lost a race: the firing is then ignored, as a stale one
 * (the clock still ends the conversation on its next use: a send or keep-alive checks the deadline itself).
 */
class IdleTimerKeptLosing extends Error {}

/** The use cases of SPEC §3, over the ports. No AWS here: the rules are in ./conversation.ts. */
export class ConversationService {
  /** `im.edit` / `im.retract` (SPEC §9): ./revising.ts. */
  private readonly revising: ImRevising;

  constructor(private readonly deps: ConversationDependencies) {
    this.revising = new ImRevising(deps);
    this.readState = new ImReadState(deps);
  }

  /** Read state (issue 22 item 3): ./read-state.ts. */
  private readonly readState: ImReadState;

  /** `im.markread`: the caller's read marker moves forward to the message; their other connections get `im.read`. */
  markRead(reader: Identity, connectionId: string, conversationId: string, messageId: string) {
    return this.readState.markRead(reader, connectionId, conversationId, messageId);
  }

  /** `im.conversations`: the caller's conversations, latest activity first, with `unread`. */
  conversations(reader: Identity, limit: number, cursor?: string): Promise<ConversationList> {
    return this.readState.conversations(reader, limit, cursor);
  }

  /** `session.resume`'s IM part: `missedConversations`, and with `imSince` the messages since (issue 22 item 3). */
  resume(reader: Identity, options: { imSince?: number; imCursor?: string }, budgetBytes?: number): Promise<ImResume> {
    return this.readState.resume(reader, options, budgetBytes);
  }

  /** `im.edit`: the author changes a message's text; the participants get `im.edited`. */
  edit(sender: Identity, connectionId: string, command: { conversationId: string; messageId: string; text: string }) {
    return this.revising.edit(sender, connectionId, command);
  }

  /** `im.retract`: the author takes a message back (a tombstone stays in the history); the participants get `im.retracted`. */
  retract(sender: Identity, connectionId: string, command: { conversationId: string; messageId: string }) {
    return this.revising.retract(sender, connectionId, command);
  }

  async send(sender: Identity, connectionId: string, command: SendCommand): Promise<SendResult> {
    const key = command.clientMsgId ? { senderUri: sender.uri, clientMsgId: command.clientMsgId } : undefined;
    if (key) {
      const earlier = await this.deps.store.replay(key);
      // A retry: answer as before, deliver nothing again, and make sure the archive has it (deduplicated there).
      if (earlier) return this.archived(earlier, sender, command.text, command.contentType);
    }
    if (command.to !== undefined) {
      const recipients = recipientsForNewConversation(sender, command.to);
      const opened = await this.sendToNewConversation(sender, connectionId, command, [sender.uri, ...recipients], undefined, key);
      // Only a continuation can find itself already continued; a fresh conversation always opens.
      if (!opened) throw new UnavailableError('the conversation could not be opened; retry with the same clientMsgId', 200);
      return opened;
    }
    let conversation = await this.load(command.conversationId!);
    assertParticipant(conversation, sender.uri);
    const named = conversation.conversationId;
    // Each attempt works on `conversation` as last read: a lost race reads it again (or the one continuing it) first.
    return retryOnConflict(async () => {
      const now = this.deps.clock.now();
      if (hasEnded(conversation, now, this.deps.idleMs) || !conversation.active.includes(sender.uri)) {
        await this.endIfIdle(conversation, now);
        // Already continued (by another participant's message): send there, or continue from it if it is over too.
        const next = conversation.nextConversationId ? await this.deps.store.get(conversation.nextConversationId) : undefined;
        if (next) {
          conversation = next;
          return RETRY;
        }
        const opened = await this.sendToNewConversation(sender, connectionId, command, conversation.participants, conversation, key);
        if (opened) return opened;
        conversation = await this.load(conversation.conversationId);
        return RETRY;
      }
      const messageId = this.deps.newId('msg');
      const result: SendResult = {
        conversationId: conversation.conversationId,
        messageId,
        newConversation: false,
        ...(named !== conversation.conversationId ? { previousConversationId: named } : {}),
        ts: now,
      };
      // Numbered: the next after the count read; a send that loses the number to another reads again (notActive).
      const message = { ...this.message(conversation.conversationId, messageId, sender, command, now), n: nextMessageNumber(conversation) };
      const event = complianceEventOf(result, sender, command.text, command.contentType);
      const outcome = await this.deps.store.append(message, result, this.idleCutoff(now), event, key, conversation.active);
      if (outcome.kind === 'replayed') return this.archived(outcome.result, sender, command.text, command.contentType);
      if (outcome.kind === 'notActive') {
        conversation = await this.load(conversation.conversationId);
        return RETRY;
      }
      await this.publish(conversation.active, connectionId, message, result, sender, undefined, command.mentions);
      return result;
    }, () => new UnavailableError('the conversation kept changing; retry with the same clientMsgId', 200));
  }

  async typing(sender: Identity, connectionId: string, conversationId: string): Promise<void> {
    const conversation = await this.load(conversationId);
    assertParticipant(conversation, sender.uri);
    this.assertOpenFor(conversation, sender.uri);
    const others = conversation.active.filter((uri) => uri !== sender.uri);
    await this.deps.delivery.toUsers(others, { event: 'im.typing', payload: { conversationId, from: { uri: sender.uri, name: sender.name } } }, connectionId);
  }

  /** A keep-alive is activity without a visible message: what bots need to hold a conversation open. */
  async keepalive(sender: Identity, conversationId: string): Promise<{ idleDeadline: number }> {
    const conversation = await this.load(conversationId);
    assertParticipant(conversation, sender.uri);
    const now = this.deps.clock.now();
    if (!(await this.deps.store.touch(conversationId, sender.uri, now, this.idleCutoff(now)))) {
      await this.endIfIdle(conversation, now);
      throw new GoneError(`conversation ${conversationId} has ended`);
    }
    return { idleDeadline: now + this.deps.idleMs };
  }

  async leave(sender: Identity, connectionId: string, conversationId: string): Promise<{ ended: boolean }> {
    return retryOnConflict(async () => {
      const conversation = await this.load(conversationId);
      assertParticipant(conversation, sender.uri);
      if (conversation.status === 'ended' || !conversation.active.includes(sender.uri)) return { ended: true };
      const now = this.deps.clock.now();
      const decision = leave(conversation, sender.uri);
      if (!(await this.deps.store.updateActive(conversation, decision.active, decision.ends, now))) return RETRY;
      if (decision.ends) {
        await this.notifyEnded(conversation.conversationId, conversation.active, 'left');
      } else {
        await Promise.all([
          this.deps.delivery.toUsers([sender.uri], { event: 'im.ended', payload: { conversationId, reason: 'left' } }),
          this.deps.delivery.toUsers(decision.active, { event: 'im.participantLeft', payload: { conversationId, uri: sender.uri } }, connectionId),
        ]);
      }
      return { ended: true };
    }, () => new UnavailableError('the conversation kept changing; retry', 200));
  }

  async history(reader: Identity, conversationId: string, limit: number, before?: string): Promise<HistoryPage> {
    const conversation = await this.load(conversationId);
    assertParticipant(conversation, reader.uri);
    return this.deps.store.history(conversationId, limit, before, listFit('messages'));
  }

  /** The idle timer (a hint): re-read, then end, re-arm lazily, or ignore a stale or duplicate firing. */
  async onIdleTimer(firing: TimerFiring): Promise<'acted' | 'rearmed' | 'ignored'> {
    const keptLosing = new IdleTimerKeptLosing('the conversation kept changing');
    const outcome = retryOnConflict<'acted' | 'rearmed' | 'ignored'>(async () => {
      const conversation = await this.deps.store.get(firing.subject);
      if (!conversation) return 'ignored';
      const now = this.deps.clock.now();
      const decision = decideIdleTimer(conversation, firing.version, now, this.deps.idleMs);
      if (decision.kind === 'ignore') return 'ignored';
      if (decision.kind === 'end') {
        if (await this.deps.store.end(conversation, 'idle', now)) {
          await this.notifyEnded(conversation.conversationId, conversation.active, 'idle');
          return 'acted';
        }
        return RETRY; // activity or a leave won the race: decide again from the new state
      }
      // Arm first: if the write below loses, the extra timer is stale and ignored when it fires.
      await this.deps.timers.arm({ rule: IDLE_TIMER_RULE, subject: conversation.conversationId, version: decision.version, at: decision.at });
      return (await this.deps.store.advanceTimer(conversation, decision.version)) ? 'rearmed' : 'ignored';
    }, () => keptLosing);
    return outcome.catch((error: unknown) => {
      if (error === keptLosing) return 'ignored';
      throw error;
    });
  }

  private async sendToNewConversation(
    sender: Identity,
    connectionId: string,
    command: SendCommand,
    participants: readonly string[],
    previous: Conversation | undefined,
    key: IdempotencyKey | undefined,
  ): Promise<SendResult | undefined> {
    const now = this.deps.clock.now();
    const conversationId = this.deps.newId('conv');
    const messageId = this.deps.newId('msg');
    const conversation: Conversation = {
      conversationId,
      participants: [...participants],
      active: [...participants],
      status: 'active',
      createdAt: now,
      lastActivityAt: now,
      timerVersion: 1,
      version: 1,
      messageCount: 1,
      ...(previous ? { previousConversationId: previous.conversationId } : {}),
    };
    const result: SendResult = {
      conversationId,
      messageId,
      newConversation: true,
      ...(previous ? { previousConversationId: previous.conversationId } : {}),
      ts: now,
    };
    const message = { ...this.message(conversationId, messageId, sender, command, now), n: 1 };
    // The one schedule write of this conversation's life unless it outlives its first idle period.
    await this.deps.timers.arm({ rule: IDLE_TIMER_RULE, subject: conversationId, version: 1, at: now + this.deps.idleMs });
    const outcome = await this.deps.store.open(conversation, message, result, complianceEventOf(result, sender, command.text, command.contentType), key, conversation.active);
    if (outcome.kind === 'replayed') return this.archived(outcome.result, sender, command.text, command.contentType);
    if (outcome.kind === 'alreadyContinued') return undefined;
    await this.publish(conversation.active, connectionId, message, result, sender, conversation, command.mentions);
    return result;
  }

  private message(conversationId: string, messageId: string, sender: Identity, command: SendCommand, now: number): ImMessage {
    return {
      conversationId,
      messageId,
      from: { uri: sender.uri, name: sender.name },
      text: command.text,
      contentType: command.contentType,
      ts: now,
      ...(command.clientMsgId ? { clientMsgId: command.clientMsgId } : {}),
    };
  }

  /** Archive and deliver: to every endpoint of every active participant but the sending connection. */
  private async publish(
    recipients: readonly string[],
    connectionId: string,
    message: ImMessage,
    result: SendResult,
    sender: Identity,
    opened?: Conversation,
    mentions: readonly string[] = [],
  ): Promise<void> {
    const event: DomainEvent<ConversationEvents> = { event: 'im.message', payload: {
      conversationId: message.conversationId,
      messageId: message.messageId,
      from: message.from,
      text: message.text,
      contentType: message.contentType,
      ts: message.ts,
      ...(message.n !== undefined ? { n: message.n } : {}),
      newConversation: result.newConversation,
      ...(result.previousConversationId ? { previousConversationId: result.previousConversationId } : {}),
      ...(opened ? { participants: opened.participants } : {}),
    } };
    // SPEC §9: each mentioned participant (never the sender, never someone outside the conversation) gets `im.mention` on every connection.
    const mentioned = [...new Set(mentions.map((uri) => uri.toLowerCase()))].filter((uri) => uri !== sender.uri && recipients.includes(uri));
    const mention: DomainEvent<ConversationEvents> = {
      event: 'im.mention',
      payload: { conversationId: message.conversationId, messageId: message.messageId, from: message.from, text: message.text, contentType: message.contentType, ts: message.ts },
    };
    await Promise.all([
      // Per recipient, so one none of whose connections it reached gets a missed conversation (issue 22 item 3).
      this.readState.deliverNotingMisses(recipients, event, connectionId, message),
      mentioned.length > 0 ? this.deps.delivery.toUsers(mentioned, mention) : undefined,
      this.archived(result, sender, message.text, message.contentType),
    ]);
  }

  /**
   * Puts the message's compliance event on the queue, then clears its outbox item; a failed send is a 503 so
   * the client retries with its id, and the outbox item stays for the export job's sweep if it never does.
   */
  private async archived(result: SendResult, sender: Identity, text: string, contentType: string): Promise<SendResult> {
    await this.deps.compliance.publishOutboxed(complianceEventOf(result, sender, text, contentType), 'the message is stored but not yet archived; retry with the same clientMsgId');
    return result;
  }


  /**
   * The oldest last activity that still keeps the conversation open at `now`: it is over at exactly its deadline
   * (`hasEnded`), so activity at `now - idle` is too old, as the idle timer firing at that instant also decides.
   */
  private idleCutoff(now: number): number {
    return now - this.deps.idleMs + 1;
  }

  private async endIfIdle(conversation: Conversation, now: number): Promise<void> {
    if (conversation.status !== 'active' || !hasEnded(conversation, now, this.deps.idleMs)) return;
    if (await this.deps.store.end(conversation, 'idle', now)) await this.notifyEnded(conversation.conversationId, conversation.active, 'idle');
  }

  private async notifyEnded(conversationId: string, participants: readonly string[], reason: EndReason): Promise<void> {
    await this.deps.delivery.toUsers(participants, { event: 'im.ended', payload: { conversationId, reason } });
  }

  private assertOpenFor(conversation: Conversation, uri: string): void {
    if (hasEnded(conversation, this.deps.clock.now(), this.deps.idleMs) || !conversation.active.includes(uri)) {
      throw new GoneError(`conversation ${conversation.conversationId} has ended`);
    }
  }

  private async load(conversationId: string): Promise<Conversation> {
    const conversation = await this.deps.store.get(conversationId);
    if (!conversation) throw new NotFoundError(`no conversation ${conversationId}`);
    return conversation;
  }
}

/** The same event for the outbox, the queue and every retry: its id comes from the stored message. */
function complianceEventOf(result: SendResult, sender: Identity, text: string, contentType: string): ComplianceEvent {
  return {
    eventId: `im.message:${result.conversationId}:${result.messageId}`,
    type: 'im.message',
    actor: actorOf(sender),
    target: { kind: 'conversation', id: result.conversationId },
    at: result.ts,
    content: text,
    details: { contentType, messageId: result.messageId },
  };
}
