import { actorOf, type ComplianceEvent } from '../compliance/event';
import { RETRY, retryOnConflict } from '../concurrency';
import { ForbiddenError, GoneError, NotFoundError, UnavailableError } from '../errors';
import { archiveFromOutbox } from './command-events';
import type { ChatCaller, ChatDependencies } from './dependencies';
import type { ChatMessage } from './ports';
import { assertMayPost, assertMayRead, assertVisible, canManageRoom, canReadRoom, type Room } from './room';
import { indexTokens } from './search-tokens';

/** What `chat.edit` answers: the message as it now reads. */
export interface EditResult {
  readonly roomId: string;
  readonly messageId: string;
  readonly seq: number;
  readonly editedAt: number;
}

/** What `chat.retract` answers: the tombstone's seq, who retracted it and when. */
export interface RetractResult {
  readonly roomId: string;
  readonly messageId: string;
  readonly seq: number;
  readonly retractedAt: number;
  readonly by: string;
}

/** The only author of a message may change its text (SPEC §9). */
export function mayEditMessage(message: Pick<ChatMessage, 'from'>, uri: string): boolean {
  return message.from.uri.toLowerCase() === uri.toLowerCase();
}

/** Its author, or a manager of the room, may take a message back (SPEC §9). */
export function mayRetractMessage(room: Room, message: Pick<ChatMessage, 'from'>, uri: string): boolean {
  return mayEditMessage(message, uri) || canManageRoom(room, uri);
}

/** The edited message: new text, and an `editedAt` above the last one, so it versions the message even within one millisecond. */
export function editedMessage(message: ChatMessage, text: string, now: number): ChatMessage {
  return { ...message, text, editedAt: Math.max(now, (message.editedAt ?? 0) + 1) };
}

/** The tombstone a retraction leaves at the message's seq: who wrote it and when stay, its text, file and mentions go. */
export function tombstoneOf(message: ChatMessage, by: string, now: number): ChatMessage {
  const { fileId: _fileId, file: _file, editedAt: _editedAt, mentions: _mentions, ...kept } = message;
  return { ...kept, text: '', retracted: true, retractedAt: now, retractedBy: by };
}

/**
 * `chat.edit` and `chat.retract` (SPEC §9). The message is replaced at its seq by a conditional write (same
 * `editedAt`, not retracted) that carries the compliance event in the outbox, so an edit racing a retraction
 * either lands before it or meets the tombstone; then the search index follows the new text and every reader
 * of the room gets the event, through the room's delivery (the fan-out tier for big rooms, as posts).
 */
export class Revising {
  constructor(private readonly deps: ChatDependencies) {}

  async edit(caller: ChatCaller, command: { roomId: string; messageId: string; text: string }): Promise<EditResult> {
    const uri = caller.identity.uri;
    const room = assertVisible(await this.deps.store.getRoom(command.roomId), uri, command.roomId);
    // Editing is writing: whoever may no longer post in the room (lost membership, not a presenter of an auditorium) may not.
    assertMayPost(room, uri);
    return retryOnConflict(async () => {
      const message = await this.load(room, command.messageId);
      if (!mayEditMessage(message, uri)) throw new ForbiddenError('only the author of a message may edit it');
      if (message.retracted) throw new GoneError(`message ${message.messageId} was retracted`);
      if (message.text === command.text) {
        // The same text again (a retry after a lost answer): nothing changes; the index is written again, idempotently.
        await this.deps.store.indexMessage(message, indexTokens(message.text));
        return { roomId: room.roomId, messageId: message.messageId, seq: message.seq, editedAt: message.editedAt ?? message.ts };
      }
      const next = editedMessage(message, command.text, this.deps.clock.now());
      const event = editEventOf(caller, room, next);
      if (!(await this.deps.store.reviseMessage(message, next, event))) return RETRY;
      const dropped = indexTokens(message.text).filter((token) => !indexTokens(next.text).includes(token));
      await Promise.all([
        this.deps.store.unindexMessage(message, dropped),
        this.deps.store.indexMessage(next, indexTokens(next.text)),
        this.toReaders(caller, room.roomId, { event: 'chat.edited', payload: { roomId: room.roomId, messageId: next.messageId, seq: next.seq, text: next.text, editedAt: next.editedAt! } }),
        archiveFromOutbox(this.deps.compliance, event),
      ]);
      return { roomId: room.roomId, messageId: next.messageId, seq: next.seq, editedAt: next.editedAt! };
    }, () => new UnavailableError('the message kept changing; retry', 200));
  }

  async retract(caller: ChatCaller, command: { roomId: string; messageId: string }): Promise<RetractResult> {
    const uri = caller.identity.uri;
    const room = assertVisible(await this.deps.store.getRoom(command.roomId), uri, command.roomId);
    assertMayRead(room, uri);
    return retryOnConflict(async () => {
      const message = await this.load(room, command.messageId);
      if (!mayRetractMessage(room, message, uri)) throw new ForbiddenError('only the author of a message or a manager of the room may retract it');
      if (message.retracted) {
        // Already a tombstone (a retry, or the author and a manager at once): the same answer, nothing archived twice.
        // A retry by the one who retracted it sends `chat.retracted` again: the try that committed may have died first.
        const by = message.retractedBy ?? uri;
        if (by.toLowerCase() === uri.toLowerCase()) await this.toReaders(caller, room.roomId, retractedEventOf(message, by));
        return { roomId: room.roomId, messageId: message.messageId, seq: message.seq, retractedAt: message.retractedAt ?? message.ts, by };
      }
      // What only the message knows (its words, whom it mentioned) is undone before the tombstone replaces it: a try
      // that dies before the commit leaves the message as it was, and its retry does all of it again.
      await Promise.all([this.deps.store.unindexMessage(message, indexTokens(message.text)), this.forgetMentions(message)]);
      const next = tombstoneOf(message, uri, this.deps.clock.now());
      const event = retractEventOf(caller, room, message, next);
      if (!(await this.deps.store.reviseMessage(message, next, event))) return RETRY;
      await Promise.all([this.toReaders(caller, room.roomId, retractedEventOf(next, uri)), archiveFromOutbox(this.deps.compliance, event)]);
      return { roomId: room.roomId, messageId: next.messageId, seq: next.seq, retractedAt: next.retractedAt!, by: uri };
    }, () => new UnavailableError('the message kept changing; retry', 200));
  }

  /** The message's seq leaves each mentioned user's mention set (at most MAX_MENTIONS writes; a user without a marker has nothing to forget). */
  private async forgetMentions(message: ChatMessage): Promise<void> {
    await Promise.all((message.mentions ?? []).map((uri) => this.deps.store.pruneMentions(message.roomId, uri, [message.seq])));
  }

  private async load(room: Room, messageId: string): Promise<ChatMessage> {
    const message = await this.deps.store.messageById(room.roomId, messageId);
    if (!message) throw new NotFoundError(`no message ${messageId} in room ${room.roomId}`);
    return message;
  }

  /**
   * Every connection of every follower who may read the room now, but the caller's (it has the answer): the
   * audience of `chat.message`, read the same way (followers, then the room, so a removal that ran before is seen).
   */
  private async toReaders(caller: ChatCaller, roomId: string, event: Parameters<ChatDependencies['delivery']['toUsers']>[1]): Promise<void> {
    const followers = await this.deps.store.followers(roomId);
    const room = await this.deps.store.getRoom(roomId);
    if (!room) return;
    await this.deps.delivery.toUsers(
      followers.filter((follower) => canReadRoom(room, follower)),
      event,
      caller.connectionId,
    );
  }
}

/** `chat.retracted` for the tombstone: sent after the commit, and again on a retry by the one who retracted it. */
function retractedEventOf(tombstone: ChatMessage, by: string) {
  return { event: 'chat.retracted' as const, payload: { roomId: tombstone.roomId, messageId: tombstone.messageId, seq: tombstone.seq, by } };
}

/** One event per version: its id names the room, the seq and the new `editedAt`; `content` is the new text. */
function editEventOf(caller: ChatCaller, room: Room, next: ChatMessage): ComplianceEvent {
  return {
    eventId: `chat.edit:${room.roomId}:${next.seq}:${next.editedAt}`,
    type: 'chat.edit',
    actor: actorOf(caller.identity),
    target: { kind: 'room', id: room.roomId, name: room.name },
    at: next.editedAt!,
    content: next.text,
    details: { seq: next.seq, messageId: next.messageId },
  };
}

/** The retraction, by its author or a manager (`author` says whose message it was); `content` is the text it took back. */
function retractEventOf(caller: ChatCaller, room: Room, message: ChatMessage, next: ChatMessage): ComplianceEvent {
  return {
    eventId: `chat.retract:${room.roomId}:${next.seq}`,
    type: 'chat.retract',
    actor: actorOf(caller.identity),
    target: { kind: 'room', id: room.roomId, name: room.name },
    at: next.retractedAt!,
    content: message.text,
    details: { seq: next.seq, messageId: next.messageId, author: message.from.uri, ...(message.fileId ? { fileId: message.fileId } : {}) },
  };
}
