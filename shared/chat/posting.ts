import type { Identity } from '../auth/identity';
import { actorOf, type ComplianceEvent } from '../compliance/event';
import { RETRY, retryOnConflict } from '../concurrency';
import { NotFoundError, UnavailableError } from '../errors';
import type { ChatCaller, ChatDependencies } from './dependencies';
import { assertFileInRoom, fileView } from './files';
import type { ChatFile, ChatMessage, PostKey, PostResult } from './ports';
import { MAX_COUNTED_MENTIONS, mentionedReaders } from './read-state';
import { assertMayPost, assertVisible, canReadRoom, type Room } from './room';
import { indexTokens } from './search-tokens';

/** `chat.grpchat`'s arguments. */
export interface PostCommand {
  readonly roomId: string;
  readonly text: string;
  readonly clientMsgId?: string;
  readonly fileId?: string;
  /** SIP URIs the post mentions (SPEC §9). */
  readonly mentions?: readonly string[];
}

/** A post holding its client id longer than a Lambda may run has died: a retry may take over. */
const RESERVATION_STALE_MS = 30_000;

/** `chat.grpchat`: seq, idempotent retries, all-or-nothing commit, fan-out to readers (docs/architecture.md, "Persistent chat"). */
export class Posting {
  constructor(private readonly deps: ChatDependencies) {}

  /**
   * A post: its seq from the room's counter (recorded in the client id's reservation, so a retry after a failed
   * write posts under the same seq: no hole), then the message, its answer and its compliance event in one
   * transaction, then its search entries, the fan-out and the queue send.
   */
  async post(caller: ChatCaller, command: PostCommand): Promise<PostResult> {
    const { identity } = caller;
    const room = assertVisible(await this.deps.store.getRoom(command.roomId), identity.uri, command.roomId);
    assertMayPost(room, identity.uri);
    const file = command.fileId ? assertFileInRoom(await this.deps.store.getFile(command.fileId), command.fileId, room.roomId) : undefined;
    const key: PostKey | undefined = command.clientMsgId ? { roomId: room.roomId, senderUri: identity.uri, clientMsgId: command.clientMsgId } : undefined;
    const reservation = key ? await this.reserve(key) : undefined;
    if (reservation?.kind === 'done') return this.replayPost(caller, room, reservation.result, command.text, file);
    let seq = reservation?.seq;
    if (seq === undefined) {
      try {
        seq = await this.deps.store.takeSeq(room.roomId);
        if (seq === undefined) throw new NotFoundError(`no room ${room.roomId}`);
        // Died or failed between the counter and this write: that seq stays empty (docs/architecture.md, "seq").
        if (key && reservation) await this.deps.store.recordPostSeq(key, reservation.reservedAt, seq);
      } catch (error) {
        // Nothing of the message was written: free the client id so the retry does not wait for a stale reservation.
        if (key) await this.deps.store.releasePost(key).catch(() => undefined);
        throw error;
      }
    }
    const message = messageOf(caller, room, { seq, messageId: this.deps.newId('cmsg'), ts: this.deps.clock.now() }, command.text, file, command.mentions);
    const result: PostResult = { roomId: room.roomId, messageId: message.messageId, seq, ts: message.ts };
    const event = postEventOf(caller.identity, room, result, message.text, message.fileId);
    const completed = key ? { key, result } : undefined;
    let outcome: 'committed' | 'taken';
    try {
      outcome = await this.deps.store.commitMessage(message, event, completed);
    } catch {
      try {
        // A timeout or 5xx may hide a commit: the same transaction once more meets it (`taken`, our own message)
        // and the post goes on, delivered live, instead of a 503 whose retry would only replay it.
        outcome = await this.deps.store.commitMessage(message, event, completed);
      } catch (error) {
        // All or nothing: nothing was written (or all of it, and the record is done). The reservation keeps
        // its seq and becomes stale at once, so the client's retry takes it over and posts under that seq.
        if (key) await this.deps.store.releasePost(key).catch(() => undefined);
        throw error;
      }
    }
    if (outcome === 'taken') return this.takenBefore(caller, room, message, key, file);
    await afterCommit([this.deps.store.indexMessage(message, indexTokens(message.text)), this.fanOut(caller, message), this.archivePost(event)]);
    return result;
  }

  /**
   * The commit met an earlier write of this post: its own transaction retried by the SDK after a lost answer
   * (then it goes on as committed: nobody has seen it yet), or an earlier attempt of the same client id that
   * finished under the same seq (then its answer holds).
   */
  private async takenBefore(caller: ChatCaller, room: Room, message: ChatMessage, key: PostKey | undefined, file?: ChatFile): Promise<PostResult> {
    const record = key ? await this.deps.store.getPost(key) : undefined;
    const stored = key ? undefined : (await this.deps.store.messagesAt(room.roomId, [message.seq]))[0];
    const storedId = record?.status === 'done' ? record.result.messageId : stored?.messageId;
    if (storedId === message.messageId) {
      const result: PostResult = { roomId: room.roomId, messageId: message.messageId, seq: message.seq, ts: message.ts };
      const event = postEventOf(caller.identity, room, result, message.text, message.fileId);
      await afterCommit([this.deps.store.indexMessage(message, indexTokens(message.text)), this.fanOut(caller, message), this.archivePost(event)]);
      return result;
    }
    if (record?.status === 'done') return this.replayPost(caller, room, record.result, message.text, file);
    throw new Error(`seq ${message.seq} of room ${room.roomId} holds another message`);
  }

  /**
   * A retry answered from its record: the message, its answer and its outbox item were written together, so
   * the message is stored. Its search entries are written again (the first attempt may have stopped before
   * them; idempotent) and its event sent again (deduplicated by id). Nothing is delivered twice.
   */
  private async replayPost(caller: ChatCaller, room: Room, result: PostResult, text: string, file?: ChatFile): Promise<PostResult> {
    const message = messageOf(caller, room, result, text, file);
    await Promise.all([this.deps.store.indexMessage(message, indexTokens(text)), this.archivePost(postEventOf(caller.identity, room, result, text, file?.fileId))]);
    return result;
  }

  /**
   * Every connection of every follower who may read the room now, but the posting connection (it has the
   * answer). The room is read after its followers, so a removal (room.update) that ran before is seen, and a
   * follower item left behind by a race or a crash delivers nothing (SPEC §6, the rule of `chat.bccontext`).
   */
  private async fanOut(caller: ChatCaller, message: ChatMessage): Promise<void> {
    const followers = await this.deps.store.followers(message.roomId);
    const room = await this.deps.store.getRoom(message.roomId);
    if (!room) return;
    const readers = followers.filter((uri) => canReadRoom(room, uri));
    await Promise.all([
      this.deps.delivery.toUsers(readers, { event: 'chat.message', payload: { ...message } }, caller.connectionId),
      this.notifyMentions(room, message, new Set(readers)),
    ]);
  }

  /**
   * `mentions` (SPEC §9): every connection of each mentioned user who may read the room now gets `chat.mention`
   * (never anyone else). For those who follow it the post's seq is first added to their mention counter: one write
   * per mentioned follower, none per follower. The counter is a set of seqs, so a repeated step adds nothing.
   */
  private async notifyMentions(room: Room, message: ChatMessage, followingReaders: ReadonlySet<string>): Promise<void> {
    const mentioned = mentionedReaders(room, message.from.uri, message.mentions);
    if (mentioned.length === 0) return;
    await Promise.all(mentioned.filter((uri) => followingReaders.has(uri)).map((uri) => this.deps.store.recordMention(room.roomId, uri, message.seq, MAX_COUNTED_MENTIONS)));
    const { roomId, seq, messageId, from, text, ts } = message;
    await this.deps.delivery.toUsers(mentioned, { event: 'chat.mention', payload: { roomId, roomName: room.name, seq, messageId, from, text, ts } });
  }

  /**
   * Reserves the post's client id: `done` with the earlier answer when this is a retry of a finished post, else
   * the reservation, with the seq an earlier attempt recorded (reuse it) when there is one.
   */
  private async reserve(key: PostKey): Promise<{ kind: 'done'; result: PostResult } | { kind: 'reserved'; reservedAt: number; seq?: number }> {
    const beingPosted = () => new UnavailableError('this message is being posted; retry with the same clientMsgId', 200);
    return retryOnConflict(async () => {
      const now = this.deps.clock.now();
      const record = await this.deps.store.getPost(key);
      if (record?.status === 'done') return { kind: 'done' as const, result: record.result };
      if (record?.status === 'pending' && record.reservedAt >= now - RESERVATION_STALE_MS) throw beingPosted();
      const reservation = await this.deps.store.reservePost(key, now, now - RESERVATION_STALE_MS);
      if (!reservation) return RETRY;
      return { kind: 'reserved' as const, reservedAt: now, ...(reservation.seq !== undefined ? { seq: reservation.seq } : {}) };
    }, beingPosted);
  }

  /**
   * The post's event on the queue, then its outbox item cleared. A failed send is a 503 as for IM: the retry
   * (same clientMsgId, same event id) archives it at once; if the client never retries, the export's sweep
   * records the outbox item.
   */
  private archivePost(event: ComplianceEvent): Promise<void> {
    return this.deps.compliance.publishOutboxed(event, 'the message is stored but not yet archived; retry with the same clientMsgId');
  }
}

/**
 * A committed post's search entries, fan-out and queue send: each runs to its end before the answer, even when
 * another fails (a retry is answered from the record and delivers nothing, so a fan-out cut short by a failed
 * send, or frozen with the function after the 503, would never be delivered); then the first failure, if any.
 */
async function afterCommit(steps: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(steps)).find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) throw failed.reason;
}

/** The stored and delivered message of a post: the same from the first attempt and from a retry's repair. */
function messageOf(caller: ChatCaller, room: Room, at: Pick<PostResult, 'seq' | 'messageId' | 'ts'>, text: string, file?: ChatFile, mentions?: readonly string[]): ChatMessage {
  const named = [...new Set((mentions ?? []).map((uri) => uri.toLowerCase()))];
  return {
    roomId: room.roomId,
    seq: at.seq,
    messageId: at.messageId,
    from: { uri: caller.identity.uri, name: caller.identity.name },
    text,
    ts: at.ts,
    ...(file ? { fileId: file.fileId, file: fileView(file) } : {}),
    ...(named.length > 0 ? { mentions: named } : {}),
  };
}

/** The same event for the outbox, the queue and every retry: its id is the room and the seq. */
function postEventOf(identity: Identity, room: Room, result: PostResult, text: string, fileId?: string): ComplianceEvent {
  return {
    eventId: `chat.post:${room.roomId}:${result.seq}`,
    type: 'chat.post',
    actor: actorOf(identity),
    target: { kind: 'room', id: room.roomId, name: room.name },
    at: result.ts,
    content: text,
    details: { seq: result.seq, messageId: result.messageId, ...(fileId ? { fileId } : {}) },
  };
}
