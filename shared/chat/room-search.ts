import { countThatFits } from '../protocol/frame-fit';
import type { ChatStore, DirectoryEntry } from './ports';
import { firstIndexedMatch, lookupWord, roomMatchesWords } from './room-words';

/** Word index items one `chat.chansrch` page reads per query (then the rooms they name, in one BatchGetItem). */
const WORD_PAGE = 100;
/** Word index items one `chat.chansrch` call examines at most; then it answers what it found with a cursor. */
const MAX_WORD_ITEMS_PER_CALL = 500;

/**
 * The second part of `chat.chansrch` (issue 22 item 6): listed rooms with a word of their name or description that
 * starts with the query's words, after the rooms whose name starts with the query (the directory, listed first as
 * before). Reads the word index of the query's longest word (./room-words.ts), then the rooms it names: the room
 * decides (still listed, still holding the words, in this category); a room whose name starts with the query was
 * listed by the directory, and a room with several matching words is answered at the first of them only.
 */
export class RoomWordSearch {
  constructor(private readonly store: ChatStore) {}

  /**
   * Up to `limit` rooms after `after` (a position of an earlier answer), fitting one frame after `before`; `after` in
   * the answer when more may follow.
   */
  async page(prefix: string, queryWords: readonly string[], category: string | undefined, limit: number, before: readonly DirectoryEntry[], after?: string): Promise<{ rooms: DirectoryEntry[]; after?: string }> {
    const lookup = lookupWord(queryWords);
    if (lookup === undefined) return { rooms: [] };
    if (limit <= 0) {
      // This answer is full: one probe says whether the next call would find a room, so a last page carries no cursor.
      const probe = await this.page(prefix, queryWords, category, 1, before, after);
      return probe.rooms.length > 0 || probe.after !== undefined ? { rooms: [], after: after ?? '' } : { rooms: [] };
    }
    const found: { entry: DirectoryEntry; position: string }[] = [];
    let position = after;
    let more = true;
    let examined = 0;
    while (more && found.length < limit && examined < MAX_WORD_ITEMS_PER_CALL) {
      const page = await this.store.roomsByWord(category, lookup, WORD_PAGE, position);
      const rooms = new Map((await this.store.getRooms(page.items.map((item) => item.roomId))).map((room) => [room.roomId, room]));
      more = page.more;
      for (const [index, item] of page.items.entries()) {
        examined++;
        position = item.position;
        const room = rooms.get(item.roomId);
        const answered =
          room !== undefined &&
          room.privacy !== 'secret' &&
          (category === undefined || room.category === category) &&
          !room.name.toLowerCase().startsWith(prefix) &&
          roomMatchesWords(room, queryWords) &&
          firstIndexedMatch(room, lookup) === item.word;
        if (answered) {
          const { roomId, name, description, privacy } = room;
          found.push({ entry: { roomId, name, description, category: room.category, privacy }, position: item.position });
        }
        if (found.length >= limit) {
          more = more || index < page.items.length - 1;
          break;
        }
      }
    }
    const kept = countThatFits(
      found.map(({ entry }) => entry),
      (rooms) => ({ rooms: [...before, ...rooms] }),
    );
    const rooms = found.slice(0, kept).map(({ entry }) => entry);
    if (kept < found.length) return { rooms, after: found[kept - 1]?.position ?? after ?? '' };
    return more && position !== undefined ? { rooms, after: position } : { rooms };
  }
}
