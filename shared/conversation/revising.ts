import type { Identity } from '../auth/identity';
import { actorOf, type ComplianceEvent } from '../compliance/event';
import type { ComplianceQueue } from '../compliance/ports';
import { RETRY, retryOnConflict } from '../concurrency';
import { ForbiddenError, GoneError, NotFoundError, UnavailableError } from '../errors';
import type { Clock, EventDelivery } from '../ports';
import { assertParticipant, type Conversation, type ImMessage } from './conversation';
import type { ConversationEvents } from './events';
import type { ConversationStore } from './ports';

/** What `im.edit` and `im.retract` are built from: a part of the conversation service's dependencies. */
export interface RevisingDependencies {
  readonly store: ConversationStore;
  readonly delivery: Pick<EventDelivery<ConversationEvents>, 'toUsers'>;
  readonly compliance: ComplianceQueue;
  readonly clock: Clock;
}

export interface ImEditResult {
  readonly conversationId: string;
  readonly messageId: string;
  readonly editedAt: number;
}

export interface ImRetractResult {
  readonly conversationId: string;
  readonly messageId: string;
  readonly retractedAt: number;
}

/** Only its author changes or takes back an IM message (SPEC §9). */
export function isAuthorOf(message: Pick<ImMessage, 'from'>, uri: string): boolean {
  return message.from.uri.toLowerCase() === uri.toLowerCase();
}

/** The edited message: new text, and an `editedAt` above the last one (it versions the message). */
export function editedImMessage(message: ImMessage, text: string, now: number): ImMessage {
  return { ...message, text, editedAt: Math.max(now, (message.editedAt ?? 0) + 1) };
}

/** The tombstone: who wrote it and when stay, the text goes. */
export function imTombstoneOf(message: ImMessage, now: number): ImMessage {
  const { editedAt: _editedAt, ...kept } = message;
  return { ...kept, text: '', retracted: true, retractedAt: now };
}

/**
 * `im.edit` and `im.retract` (SPEC §9): the author, a participant (who may have left: they still read the
 * history), changes the stored message on condition that it is still the version read, with the compliance
 * event in the outbox; every participant's connections but the caller's get `im.edited` / `im.retracted`. Neither
 * is activity: an ended conversation's messages may still be corrected or taken back.
 */
export class ImRevising {
  constructor(private readonly deps: RevisingDependencies) {}

  async edit(caller: Identity, connectionId: string, command: { conversationId: string; messageId: string; text: string }): Promise<ImEditResult> {
    const conversation = await this.load(command.conversationId);
    assertParticipant(conversation, caller.uri);
    return retryOnConflict(async () => {
      const message = await this.message(conversation, command.messageId);
      if (!isAuthorOf(message, caller.uri)) throw new ForbiddenError('only the author of a message may edit it');
      if (message.retracted) throw new GoneError(`message ${message.messageId} was retracted`);
      // The same text again (a retry after a lost answer): nothing changes.
      if (message.text === command.text) return { conversationId: conversation.conversationId, messageId: message.messageId, editedAt: message.editedAt ?? message.ts };
      const next = editedImMessage(message, command.text, this.deps.clock.now());
      const event = imEditEventOf(caller, next);
      if (!(await this.deps.store.reviseMessage(message, next, event, previewReaders(conversation, message)))) return RETRY;
      await Promise.all([
        this.deps.delivery.toUsers(
          conversation.participants,
          { event: 'im.edited', payload: { conversationId: next.conversationId, messageId: next.messageId, text: next.text, editedAt: next.editedAt! } },
          connectionId,
        ),
        // Already in the outbox with the change: a failed send is left to the export's sweep, not a 503.
        this.deps.compliance.publishOutboxed(event),
      ]);
      return { conversationId: next.conversationId, messageId: next.messageId, editedAt: next.editedAt! };
    }, () => new UnavailableError('the message kept changing; retry', 200));
  }

  async retract(caller: Identity, connectionId: string, command: { conversationId: string; messageId: string }): Promise<ImRetractResult> {
    const conversation = await this.load(command.conversationId);
    assertParticipant(conversation, caller.uri);
    return retryOnConflict(async () => {
      const message = await this.message(conversation, command.messageId);
      if (!isAuthorOf(message, caller.uri)) throw new ForbiddenError('only the author of a message may retract it');
      if (message.retracted) {
        // Already a tombstone (a retry by its author): the same answer, nothing archived twice; the follow-ups the try
        // that committed may not have reached (the previews, `im.retracted`) run again, both idempotent.
        await Promise.all([
          this.deps.store.refreshPreviews(message, previewReaders(conversation, message)),
          this.deps.delivery.toUsers(conversation.participants, retractedEventOf(message, caller), connectionId),
        ]);
        return { conversationId: conversation.conversationId, messageId: message.messageId, retractedAt: message.retractedAt ?? message.ts };
      }
      const next = imTombstoneOf(message, this.deps.clock.now());
      const event = imRetractEventOf(caller, message, next);
      if (!(await this.deps.store.reviseMessage(message, next, event, previewReaders(conversation, message)))) return RETRY;
      await Promise.all([
        this.deps.delivery.toUsers(conversation.participants, retractedEventOf(next, caller), connectionId),
        this.deps.compliance.publishOutboxed(event),
      ]);
      return { conversationId: next.conversationId, messageId: next.messageId, retractedAt: next.retractedAt! };
    }, () => new UnavailableError('the message kept changing; retry', 200));
  }

  private async load(conversationId: string): Promise<Conversation> {
    const conversation = await this.deps.store.get(conversationId);
    if (!conversation) throw new NotFoundError(`no conversation ${conversationId}`);
    return conversation;
  }

  private async message(conversation: Conversation, messageId: string): Promise<ImMessage> {
    const message = await this.deps.store.messageById(conversation.conversationId, messageId);
    if (!message) throw new NotFoundError(`no message ${messageId} in conversation ${conversation.conversationId}`);
    return message;
  }
}

/**
 * Whose `im.conversations` preview may show this message: everyone's when it is the conversation's latest (as read;
 * one sent since moved the entries on, and the store's conditional update then leaves them), nobody's otherwise.
 */
function previewReaders(conversation: Conversation, message: ImMessage): readonly string[] {
  return message.n !== undefined && message.n === conversation.messageCount ? conversation.participants : [];
}

/** One event per version: its id names the message and the new `editedAt`; `content` is the new text. */
function imEditEventOf(caller: Identity, next: ImMessage): ComplianceEvent {
  return {
    eventId: `im.edit:${next.conversationId}:${next.messageId}:${next.editedAt}`,
    type: 'im.edit',
    actor: actorOf(caller),
    target: { kind: 'conversation', id: next.conversationId },
    at: next.editedAt!,
    content: next.text,
    details: { contentType: next.contentType, messageId: next.messageId },
  };
}

/** `im.retracted` for the tombstone: sent after the commit, and again on a retry by its author. */
function retractedEventOf(tombstone: ImMessage, caller: Identity) {
  return { event: 'im.retracted' as const, payload: { conversationId: tombstone.conversationId, messageId: tombstone.messageId, by: caller.uri } };
}

/** The retraction; `content` is the text it took back. */
function imRetractEventOf(caller: Identity, message: ImMessage, next: ImMessage): ComplianceEvent {
  return {
    eventId: `im.retract:${next.conversationId}:${next.messageId}`,
    type: 'im.retract',
    actor: actorOf(caller),
    target: { kind: 'conversation', id: next.conversationId },
    at: next.retractedAt!,
    content: message.text,
    details: { contentType: message.contentType, messageId: message.messageId },
  };
}
