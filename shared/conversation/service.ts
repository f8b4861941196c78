import type { Identity } from '../auth/identity';
import type { ComplianceEvent } from '../compliance/event';
import type { ComplianceOutbox } from '../compliance/ports';
import type { Delivery } from '../connections/delivery';
import { GoneError, NotFoundError, UnavailableError } from '../errors';
import type { Clock, Queue, TimerFiring, Timers } from '../ports';
import { serverEvent } from '../protocol/envelope';
import { listFit } from '../protocol/frame-fit';
import {
  assertParticipant,
  type Conversation,
  decideIdleTimer,
  type EndReason,
  hasEnded,
  type ImMessage,
  leave,
  recipientsForNewConversation,
} from './conversation';
import type { ConversationStore, HistoryPage, IdempotencyKey, SendResult } from './ports';

export const IDLE_TIMER_RULE = 'conversation.idle';

export interface ConversationDependencies {
  readonly store: ConversationStore;
  readonly delivery: Pick<Delivery, 'toUsers'>;
  readonly timers: Timers;
  readonly complianceQueue: Queue;
  /** Where each message's event waits, written with the message, until it is on the queue (SPEC §7). */
  readonly complianceOutbox: Pick<ComplianceOutbox, 'clear'>;
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
}

/** How often a send retries after losing a race (an end, a leave, a concurrent continuation). */
const MAX_ATTEMPTS = 5;

/** The use cases of SPEC §3, over the ports. No AWS here: the rules are in ./conversation.ts. */
export class ConversationService {
  constructor(private readonly deps: ConversationDependencies) {}

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
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.deps.clock.now();
      if (hasEnded(conversation, now, this.deps.idleMs) || !conversation.active.includes(sender.uri)) {
        await this.endIfIdle(conversation, now);
        // Already continued (by another participant's message): send there, or continue from it if it is over too.
        const next = conversation.nextConversationId ? await this.deps.store.get(conversation.nextConversationId) : undefined;
        if (next) {
          conversation = next;
          continue;
        }
        const opened = await this.sendToNewConversation(sender, connectionId, command, conversation.participants, conversation, key);
        if (opened) return opened;
        conversation = await this.load(conversation.conversationId);
        continue;
      }
      const messageId = this.deps.newId('msg');
      const result: SendResult = {
        conversationId: conversation.conversationId,
        messageId,
        newConversation: false,
        ...(named !== conversation.conversationId ? { previousConversationId: named } : {}),
        ts: now,
      };
      const message = this.message(conversation.conversationId, messageId, sender, command, now);
      const event = complianceEventOf(result, sender, command.text, command.contentType);
      const outcome = await this.deps.store.append(message, result, now - this.deps.idleMs, event, key);
      if (outcome.kind === 'replayed') return this.archived(outcome.result, sender, command.text, command.contentType);
      if (outcome.kind === 'notActive') {
        conversation = await this.load(conversation.conversationId);
        continue;
      }
      await this.publish(conversation.active, connectionId, message, result, sender);
      return result;
    }
    throw new UnavailableError('the conversation kept changing; retry with the same clientMsgId', 200);
  }

  async typing(sender: Identity, connectionId: string, conversationId: string): Promise<void> {
    const conversation = await this.load(conversationId);
    assertParticipant(conversation, sender.uri);
    this.assertOpenFor(conversation, sender.uri);
    const others = conversation.active.filter((uri) => uri !== sender.uri);
    await this.deps.delivery.toUsers(others, serverEvent('im.typing', { conversationId, from: { uri: sender.uri, name: sender.name } }), connectionId);
  }

  /** A keep-alive is activity without a visible message: what bots need to hold a conversation open. */
  async keepalive(sender: Identity, conversationId: string): Promise<{ idleDeadline: number }> {
    const conversation = await this.load(conversationId);
    assertParticipant(conversation, sender.uri);
    const now = this.deps.clock.now();
    if (!(await this.deps.store.touch(conversationId, sender.uri, now, now - this.deps.idleMs))) {
      await this.endIfIdle(conversation, now);
      throw new GoneError(`conversation ${conversationId} has ended`);
    }
    return { idleDeadline: now + this.deps.idleMs };
  }

  async leave(sender: Identity, connectionId: string, conversationId: string): Promise<{ ended: boolean }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const conversation = await this.load(conversationId);
      assertParticipant(conversation, sender.uri);
      if (conversation.status === 'ended' || !conversation.active.includes(sender.uri)) return { ended: true };
      const now = this.deps.clock.now();
      const decision = leave(conversation, sender.uri);
      if (!(await this.deps.store.updateActive(conversation, decision.active, decision.ends, now))) continue;
      if (decision.ends) {
        await this.notifyEnded(conversation.conversationId, conversation.active, 'left');
      } else {
        await Promise.all([
          this.deps.delivery.toUsers([sender.uri], serverEvent('im.ended', { conversationId, reason: 'left' })),
          this.deps.delivery.toUsers(decision.active, serverEvent('im.participantLeft', { conversationId, uri: sender.uri }), connectionId),
        ]);
      }
      return { ended: true };
    }
    throw new UnavailableError('the conversation kept changing; retry', 200);
  }

  async history(reader: Identity, conversationId: string, limit: number, before?: string): Promise<HistoryPage> {
    const conversation = await this.load(conversationId);
    assertParticipant(conversation, reader.uri);
    return this.deps.store.history(conversationId, limit, before, listFit('messages'));
  }

  /** The idle timer (a hint): re-read, then end, re-arm lazily, or ignore a stale or duplicate firing. */
  async onIdleTimer(firing: TimerFiring): Promise<'acted' | 'rearmed' | 'ignored'> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
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
        continue; // activity or a leave won the race: decide again from the new state
      }
      // Arm first: if the write below loses, the extra timer is stale and ignored when it fires.
      await this.deps.timers.arm({ rule: IDLE_TIMER_RULE, subject: conversation.conversationId, version: decision.version, at: decision.at });
      return (await this.deps.store.advanceTimer(conversation, decision.version)) ? 'rearmed' : 'ignored';
    }
    return 'ignored';
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
      ...(previous ? { previousConversationId: previous.conversationId } : {}),
    };
    const result: SendResult = {
      conversationId,
      messageId,
      newConversation: true,
      ...(previous ? { previousConversationId: previous.conversationId } : {}),
      ts: now,
    };
    const message = this.message(conversationId, messageId, sender, command, now);
    // The one schedule write of this conversation's life unless it outlives its first idle period.
    await this.deps.timers.arm({ rule: IDLE_TIMER_RULE, subject: conversationId, version: 1, at: now + this.deps.idleMs });
    const outcome = await this.deps.store.open(conversation, message, result, complianceEventOf(result, sender, command.text, command.contentType), key);
    if (outcome.kind === 'replayed') return this.archived(outcome.result, sender, command.text, command.contentType);
    if (outcome.kind === 'alreadyContinued') return undefined;
    await this.publish(conversation.active, connectionId, message, result, sender, conversation);
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
  ): Promise<void> {
    const event = serverEvent('im.message', {
      conversationId: message.conversationId,
      messageId: message.messageId,
      from: message.from,
      text: message.text,
      contentType: message.contentType,
      ts: message.ts,
      newConversation: result.newConversation,
      ...(result.previousConversationId ? { previousConversationId: result.previousConversationId } : {}),
      ...(opened ? { participants: opened.participants } : {}),
    });
    await Promise.all([this.deps.delivery.toUsers(recipients, event, connectionId), this.archived(result, sender, message.text, message.contentType)]);
  }

  /**
   * Puts the message's compliance event on the queue, then clears its outbox item; a failed send is a 503 so
   * the client retries with its id, and the outbox item stays for the export job's sweep if it never does.
   */
  private async archived(result: SendResult, sender: Identity, text: string, contentType: string): Promise<SendResult> {
    const event = complianceEventOf(result, sender, text, contentType);
    try {
      await this.deps.complianceQueue.send(event);
    } catch {
      throw new UnavailableError('the message is stored but not yet archived; retry with the same clientMsgId', 1000);
    }
    // The event is on the queue: an item left by a failed delete is recorded again by the sweep, a no-op.
    await this.deps.complianceOutbox.clear(event).catch(() => undefined);
    return result;
  }

  private async endIfIdle(conversation: Conversation, now: number): Promise<void> {
    if (conversation.status !== 'active' || !hasEnded(conversation, now, this.deps.idleMs)) return;
    if (await this.deps.store.end(conversation, 'idle', now)) await this.notifyEnded(conversation.conversationId, conversation.active, 'idle');
  }

  private async notifyEnded(conversationId: string, participants: readonly string[], reason: EndReason): Promise<void> {
    await this.deps.delivery.toUsers(participants, serverEvent('im.ended', { conversationId, reason }));
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
    actor: { uri: sender.uri, kind: sender.kind, name: sender.name },
    target: { kind: 'conversation', id: result.conversationId },
    at: result.ts,
    content: text,
    details: { contentType, messageId: result.messageId },
  };
}
