import { actorOf } from '../compliance/event';
import { decodeKeyCursor, decodeSeqCursor, encodeKeyCursor, encodeSeqCursor } from '../protocol/cursor';
import { countThatFits, jsonBytes, listFit, MAX_LIST_ANSWER_BYTES, prefixThatFits } from '../protocol/frame-fit';
import { archiveCommand } from './command-events';
import type { ChatCaller, ChatDependencies } from './dependencies';
import type { ChatMessage } from './ports';
import { ReadMarkers } from './read-markers';
import type { ReadCounts } from './read-state';
import { assertMayRead, assertVisible, canReadRoom, type Room } from './room';
import { intersectWindows, messageMatches, parseSearchQuery } from './search-query';

/** Index entries of one word a search round reads at most (docs/architecture.md, "Search"). */
const SEARCH_WINDOW = 500;
/** Index entries one `chat.search` call reads at most after its first round (its cost bound); then it answers with a cursor. */
const SEARCH_ENTRIES_PER_CALL = 2000;
/** Rooms one `session.resume` answer covers at most (the rest: call again with its `cursor`); as many as `since` may name. */
export const MAX_RESUME_ROOMS_PER_ANSWER = 64;

/** `session.resume`'s continuation: where the previous answer stopped, and the bytes this answer's rooms may take. */
export interface ResumePage {
  readonly cursor?: string;
  readonly budgetBytes?: number;
}

/** One followed room in `session.resume`: what came after the seq the client gave, the newest that fit, and the user's counts (SPEC §9). */
export interface RoomResume extends ReadCounts {
  readonly roomId: string;
  readonly name: string;
  readonly lastSeq: number;
  readonly messages: ChatMessage[];
  readonly more?: true;
}

/** Reads of a room's messages: `chat.bccontext`, `chat.search`, and the chat part of `session.resume`. Each is archived before it is answered. */
export class Reading {
  private readonly markers: ReadMarkers;

  constructor(private readonly deps: ChatDependencies) {
    this.markers = new ReadMarkers(deps);
  }

  async history(caller: ChatCaller, roomId: string, limit: number | undefined, before?: string) {
    const room = assertVisible(await this.deps.store.getRoom(roomId), caller.identity.uri, roomId);
    assertMayRead(room, caller.identity.uri);
    const page = await this.deps.store.history(roomId, limit ?? this.deps.historyPageSize, before, listFit('messages'));
    await archiveCommand(this.deps.compliance, caller, 'chat.history', room, this.deps.clock.now(), { count: page.items.length });
    return { messages: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  /**
   * A message matches when it holds every word of the query (issue 22 item 6). Each indexed word's entries are read
   * below the same seq, a window at a time, and intersected (./search-query.ts); only the seqs in every list are read
   * as messages (BatchGetItem) and checked against their text (one-character words, and entries an edit left behind).
   * Newest first. A call reads at most SEARCH_ENTRIES_PER_CALL index entries (one round always): when it stops
   * before the answer is full it answers what it found with a `cursor`, from which the next call goes on.
   */
  async search(caller: ChatCaller, roomId: string, query: string, limit: number, cursor?: string) {
    const room = assertVisible(await this.deps.store.getRoom(roomId), caller.identity.uri, roomId);
    assertMayRead(room, caller.identity.uri);
    const parsed = parseSearchQuery(query);
    let below = cursor === undefined ? undefined : decodeSeqCursor(cursor);
    let found: ChatMessage[] = [];
    // The seq below which the next page looks, when more may match.
    let resumeBelow: number | undefined;
    let entriesRead = 0;
    for (;;) {
      const windows = await Promise.all(parsed.indexed.map((token) => this.deps.store.seqsWithToken(roomId, token, SEARCH_WINDOW, below)));
      entriesRead += windows.reduce((sum, seqs) => sum + seqs.length, 0);
      const { seqs, floor } = intersectWindows(windows, SEARCH_WINDOW);
      for (let start = 0; start < seqs.length && found.length < limit; start += 100) {
        const batch = seqs.slice(start, start + 100);
        const bySeq = new Map((await this.deps.store.messagesAt(roomId, batch)).map((message) => [message.seq, message]));
        for (const seq of batch) {
          if (found.length >= limit) break;
          const message = bySeq.get(seq);
          if (message && messageMatches(message.text, parsed)) found.push(message);
          // Every candidate above this one is examined, and the lists are complete down to `floor`.
          resumeBelow = seq;
        }
      }
      if (found.length >= limit) {
        if (resumeBelow === seqs[seqs.length - 1] && floor === 0) resumeBelow = undefined;
        break;
      }
      if (floor === 0) {
        resumeBelow = undefined;
        break;
      }
      below = floor;
      resumeBelow = floor;
      if (entriesRead >= SEARCH_ENTRIES_PER_CALL) break;
    }
    const kept = countThatFits(found, (messages) => ({ messages }));
    if (kept < found.length) resumeBelow = found[kept - 1]?.seq;
    found = found.slice(0, kept);
    await archiveCommand(this.deps.compliance, caller, 'chat.search', room, this.deps.clock.now(), { query, count: found.length });
    return { messages: found, ...(resumeBelow !== undefined ? { cursor: encodeSeqCursor(resumeBelow) } : {}) };
  }

  /**
   * `session.resume`: for each room the user follows and may still read, what came after `since[roomId]`
   * (the newest page at most, `more` when more was missed). Followed rooms are per user, so the new
   * connection receives live messages already; nothing needs re-attaching. A room answered with messages is
   * a read, archived as `chat.history` (`via: session.resume`); its event id names the seqs returned, so the
   * same range read again (a retry after a 503) is the same event.
   */
  async resume(caller: ChatCaller, since: Readonly<Record<string, number>> = {}, page: ResumePage = {}): Promise<{ rooms: RoomResume[]; cursor?: string }> {
    const { identity } = caller;
    const after = page.cursor === undefined ? undefined : decodeKeyCursor(page.cursor);
    // Room id order, from the cursor on: at most MAX_RESUME_ROOMS_PER_ANSWER rooms an answer (issue 17 item 2).
    const followed = [...new Set(await this.deps.store.followedRooms(identity.uri))].sort().filter((roomId) => after === undefined || roomId > after);
    const batch = followed.slice(0, MAX_RESUME_ROOMS_PER_ANSWER);
    const byId = new Map((await this.deps.store.getRooms(batch)).map((room) => [room.roomId, room]));
    const rooms = batch.map((roomId) => byId.get(roomId)).filter((room): room is Room => room !== undefined && canReadRoom(room, identity.uri));
    // The user's counts in these rooms: one batch read of their markers, beside the missed messages.
    const [countsOf, missed] = await Promise.all([
      this.markers.countsIn(identity.uri, rooms),
      Promise.all(
        rooms.map(async (room) => {
          const seen = since[room.roomId];
          if (seen === undefined || seen >= room.lastSeq) return { messages: [] as ChatMessage[], more: false };
          return this.deps.store.messagesAfter(room.roomId, seen, this.deps.historyPageSize);
        }),
      ),
    ]);
    // Fill the frame room by room. A room whose messages do not all fit waits for the next answer, unless it is the
    // first: then it keeps its newest messages that fit, with `more` (the older ones are read with chat.bccontext).
    const budget = page.budgetBytes ?? MAX_LIST_ANSWER_BYTES;
    const answers: { room: Room; answer: RoomResume }[] = [];
    let stoppedAt: number | undefined;
    for (const [index, room] of rooms.entries()) {
      const { messages, more } = missed[index]!;
      const entry = (kept: readonly ChatMessage[], cut: boolean): RoomResume => ({
        roomId: room.roomId,
        name: room.name,
        lastSeq: room.lastSeq,
        ...(countsOf.get(room.roomId) ?? { readSeq: 0, unread: room.lastSeq, mentions: 0 }),
        messages: [...kept],
        ...(more || cut ? { more: true as const } : {}),
      });
      const before = answers.map(({ answer }) => answer);
      const newestFirst = [...messages].reverse();
      const answerWith = (newest: readonly ChatMessage[]) => ({ rooms: [...before, entry([...newest].reverse(), true)] });
      // The first room gets its newest messages that fit: one at least in a cursor's answer, whose whole frame holds the
      // largest. The first answer shares its frame with presence and IM: when none fits there, the room waits for the cursor.
      const kept = answers.length === 0 && page.cursor !== undefined ? countThatFits(newestFirst, answerWith, budget) : prefixThatFits(newestFirst, answerWith, budget);
      const overflows = jsonBytes(answerWith([])) > budget;
      const waits = answers.length > 0 ? kept < messages.length || overflows : page.cursor === undefined && ((kept === 0 && messages.length > 0) || overflows);
      if (waits) {
        stoppedAt = index;
        break;
      }
      const messagesKept = newestFirst.slice(0, kept).reverse();
      answers.push({ room, answer: entry(messagesKept, kept < messages.length) });
    }
    // Stopped at the first room: continue after a key just before it (a proper prefix of its id sorts before it).
    const lastAnswered = answers[answers.length - 1]?.room.roomId ?? (stoppedAt !== undefined ? rooms[stoppedAt]!.roomId.slice(0, -1) : undefined);
    const more = stoppedAt !== undefined || followed.length > batch.length;
    const continueAfter = stoppedAt !== undefined ? lastAnswered : batch[batch.length - 1];
    const now = this.deps.clock.now();
    await Promise.all(
      answers.map(({ room, answer }) => {
        const first = answer.messages[0];
        const last = answer.messages[answer.messages.length - 1];
        if (!first || !last) return undefined;
        return this.deps.compliance.publish(
          {
            eventId: `chat.history:${room.roomId}:${identity.uri}:resume:${first.seq}-${last.seq}`,
            type: 'chat.history',
            actor: actorOf(identity),
            target: { kind: 'room', id: room.roomId, name: room.name },
            at: now,
            details: { via: 'session.resume', count: answer.messages.length, fromSeq: first.seq, toSeq: last.seq },
          },
          'not yet archived; retry',
        );
      }),
    );
    return { rooms: answers.map(({ answer }) => answer), ...(more && continueAfter ? { cursor: encodeKeyCursor(continueAfter) } : {}) };
  }
}
