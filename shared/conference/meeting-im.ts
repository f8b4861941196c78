import type { Identity } from '../auth/identity';
import { actorOf, type ComplianceEvent } from '../compliance/event';
import { RETRY, retryOnConflict } from '../concurrency';
import { ForbiddenError } from '../errors';
import { listFit, MAX_LIST_ANSWER_BYTES } from '../protocol/frame-fit';
import { type ConferenceContext, conferenceKeptChanging } from './context';
import type { ConferenceMessage, MessageResult } from './ports';

export interface MessageCommand {
  readonly text: string;
  readonly clientMsgId?: string;
}

/** What a `conf.messages` answer holds beside its list (`confId`, `activationInstance`). */
const MESSAGES_ANSWER_RESERVE_BYTES = 256;

/**
 * Meeting IM (SPEC §9): `conf.message` to every participant of the current activation, idempotent by `clientMsgId`
 * and archived like IM; `conf.messages` for its current participants only. The messages belong to the activation
 * (the seed's ActivationInstance): a new activation starts empty, and a deactivation's cleanup deletes them.
 */
export class MeetingIm {
  constructor(private readonly ctx: ConferenceContext) {}

  async send(sender: Identity, connectionId: string, confId: string, command: MessageCommand): Promise<MessageResult> {
    const { deps } = this.ctx;
    if (command.clientMsgId) {
      const earlier = await deps.store.replayMessage(sender.uri, command.clientMsgId);
      // A retry: answer as before, deliver nothing again, and make sure the archive has it (deduplicated there).
      if (earlier) return this.archived(earlier, sender, command, (await deps.store.get(earlier.confId))?.subject);
    }
    return retryOnConflict(async () => {
      const conference = await this.ctx.load(confId);
      const participant = await this.ctx.currentParticipant(conference, sender.uri);
      if (!participant) throw new ForbiddenError("only the meeting's participants may send its IM");
      const message: ConferenceMessage = {
        confId,
        activationInstance: participant.activationInstance,
        messageId: deps.newId('cmsg'),
        from: { uri: sender.uri, name: sender.name },
        text: command.text,
        ts: deps.clock.now(),
      };
      const result: MessageResult = { confId, activationInstance: message.activationInstance, messageId: message.messageId, ts: message.ts };
      // Conditional on the sender's stay read: a message racing their leave or ejection is decided again (403).
      const outcome = await deps.store.postMessage(message, result, participant, complianceEventOf(result, sender, command.text, conference.subject), command.clientMsgId);
      if (outcome.kind === 'replayed') return this.archived(outcome.result, sender, command, conference.subject);
      if (outcome.kind === 'lost') return RETRY;
      await Promise.all([this.ctx.toParticipants(conference, { event: 'conf.message', payload: message }, [connectionId]), this.archived(result, sender, command, conference.subject)]);
      return result;
    }, conferenceKeptChanging);
  }

  /** The current activation's IM, newest first, for its current participants only (not one who left, was ejected or waits in the lobby). */
  async list(reader: Identity, confId: string, limit: number, before?: string): Promise<{ confId: string; activationInstance: string; messages: ConferenceMessage[]; cursor?: string }> {
    const conference = await this.ctx.load(confId);
    const participant = await this.ctx.currentParticipant(conference, reader.uri);
    if (!participant) throw new ForbiddenError("only the meeting's current participants may read its IM");
    const page = await this.ctx.deps.store.messages(confId, participant.activationInstance, limit, before, listFit('messages', MAX_LIST_ANSWER_BYTES - MESSAGES_ANSWER_RESERVE_BYTES));
    return { confId, activationInstance: participant.activationInstance, messages: page.messages, ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  /**
   * The event is in the outbox already. With a client id a failed send is a 503 (the retry archives it at once); without
   * one it is not an error (a retry would post again): the export job's sweep records the outbox item.
   */
  private async archived(result: MessageResult, sender: Identity, command: MessageCommand, subject: string | undefined): Promise<MessageResult> {
    const whenUnsent = command.clientMsgId ? 'the message is stored but not yet archived; retry with the same clientMsgId' : undefined;
    await this.ctx.deps.compliance.publishOutboxed(complianceEventOf(result, sender, command.text, subject), whenUnsent);
    return result;
  }
}

/** The same event for the outbox, the queue and every retry: its id comes from the stored message. */
function complianceEventOf(result: MessageResult, sender: Identity, text: string, subject: string | undefined): ComplianceEvent {
  return {
    eventId: `conf.message:${result.confId}:${result.messageId}`,
    type: 'conf.message',
    actor: actorOf(sender),
    target: { kind: 'conference', id: result.confId, ...(subject !== undefined ? { name: subject } : {}) },
    at: result.ts,
    content: text,
    details: { messageId: result.messageId, activationInstance: result.activationInstance },
  };
}
