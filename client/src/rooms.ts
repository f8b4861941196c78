import type { ChatMessage, CommandArgs, CommandResult } from './protocol';
import type { ClientCore } from './requests';
import { RoomSequence } from './room-sequence';
import { MAX_RESUME_ROOMS } from '../../shared/protocol/limits';

/**
 * The rooms as this client has seen them: a `RoomSequence` per room, each message emitted once in whatever order it
 * comes, a gap that stays open read from history, and `session.resume` with the last seq of every room.
 */
export class RoomFeed {
  private readonly rooms = new Map<string, RoomSequence>();
  private readonly gapTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly filling = new Map<string, Promise<void>>();

  constructor(private readonly core: ClientCore) {}

  /** The last seq seen per room, with no gap below it: what `session.resume` is sent. */
  lastSeqByRoom(): Record<string, number> {
    return Object.fromEntries([...this.rooms].map(([roomId, sequence]) => [roomId, sequence.watermark]));
  }

  /** Every message of a room newer than `afterSeq`, oldest first, read from history (`chat.bccontext`) page by page. */
  async messagesAfter(roomId: string, afterSeq: number): Promise<ChatMessage[]> {
    const found: ChatMessage[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await this.core.request('chat.bccontext', before ? { roomId, before } : { roomId });
      for (const message of page.messages) if (message.seq > afterSeq) found.push(message);
      const oldest = page.messages.at(-1);
      if (!page.cursor || !oldest || oldest.seq <= afterSeq + 1) break;
      before = page.cursor;
    }
    return found.sort((a, b) => a.seq - b.seq);
  }

  /**
   * `extra`: what the other areas add to the first request (IM's `imSince`); `beforeResumed` delivers what they got
   * back before `resumed` is emitted.
   */
  async resume(
    reconnect: boolean,
    extra: Pick<CommandArgs<'session.resume'>, 'imSince'> = {},
    beforeResumed?: (answer: CommandResult<'session.resume'>) => Promise<void>,
  ): Promise<CommandResult<'session.resume'>> {
    const since = this.lastSeqByRoom();
    // A frame holds `since` for MAX_RESUME_ROOMS rooms: each request sends the known rooms after the last one answered
    // (answers come in room id order), and a known room answered without its `since` is read from history below.
    const sent = new Set<string>();
    const sinceAfter = (lastAnswered?: string) => {
      const chunk = Object.keys(since)
        .filter((roomId) => lastAnswered === undefined || roomId > lastAnswered)
        .sort()
        .slice(0, MAX_RESUME_ROOMS);
      for (const roomId of chunk) sent.add(roomId);
      return chunk.length > 0 ? { since: Object.fromEntries(chunk.map((roomId) => [roomId, since[roomId]!])) } : {};
    };
    const first = await this.core.request('session.resume', { ...extra, ...sinceAfter() });
    // One answer is one frame: the rest of the followed rooms come with `cursor`, page by page (docs/protocol.md).
    const rooms = [...(first.rooms ?? [])];
    for (let cursor = first.cursor; cursor !== undefined; ) {
      const next = await this.core.request('session.resume', { ...sinceAfter(rooms.at(-1)?.roomId), cursor });
      rooms.push(...(next.rooms ?? []));
      cursor = next.cursor;
    }
    const { cursor: _cursor, ...answer } = { ...first, ...(rooms.length > 0 ? { rooms } : {}) };
    for (const room of answer.rooms ?? []) {
      const known = since[room.roomId] !== undefined;
      const sequence = this.room(room.roomId, known ? undefined : room.lastSeq);
      const unsent = known && !sent.has(room.roomId) && room.lastSeq > sequence.watermark;
      const delivered = room.more || unsent ? await this.messagesAfter(room.roomId, sequence.watermark) : room.messages;
      for (const message of delivered) this.deliver(message);
    }
    await beforeResumed?.(answer);
    this.core.events.emit('resumed', { ...answer, reconnect });
    return answer;
  }

  /** Emits a room message once, in whatever order it comes; a gap that stays open is read from history. */
  deliver(message: ChatMessage): void {
    const sequence = this.room(message.roomId);
    if (!sequence.add(message.seq)) return;
    this.core.events.emit('chat.message', message);
    this.watchGap(message.roomId);
  }

  /** Own posts are answered, not delivered back: count them as seen. */
  posted(roomId: string, seq: number): void {
    this.room(roomId).add(seq);
    this.watchGap(roomId);
  }

  /** What came before the join is history (chat.bccontext), not missed messages. */
  joined(roomId: string, lastSeq: number | undefined): void {
    if (lastSeq !== undefined) this.room(roomId).skipTo(lastSeq);
  }

  left(roomId: string): void {
    this.rooms.delete(roomId);
  }

  /** Cancels the gap fills that have not started (the client closed). */
  stop(): void {
    for (const timer of this.gapTimers.values()) clearTimeout(timer);
    this.gapTimers.clear();
  }

  private watchGap(roomId: string): void {
    const sequence = this.room(roomId);
    if (sequence.missing().length === 0 || this.gapTimers.has(roomId)) return;
    this.gapTimers.set(
      roomId,
      setTimeout(() => {
        this.gapTimers.delete(roomId);
        if (sequence.missing().length === 0 || this.filling.has(roomId) || this.core.state() !== 'open') return;
        const fill = this.messagesAfter(roomId, sequence.watermark)
          .then((messages) => messages.forEach((message) => this.deliver(message)))
          .catch((error: unknown) => this.core.events.emit('error', { message: `could not read the messages missed in ${roomId}`, cause: error }))
          .finally(() => this.filling.delete(roomId));
        this.filling.set(roomId, fill);
      }, this.core.options.gapFillDelayMs ?? 1000),
    );
  }

  /** The room's sequence; a room first seen starts at `initialSeq` (its `lastSeq`: older messages are history). */
  private room(roomId: string, initialSeq?: number): RoomSequence {
    let sequence = this.rooms.get(roomId);
    if (!sequence) this.rooms.set(roomId, (sequence = new RoomSequence(initialSeq ?? 0)));
    return sequence;
  }
}
