import type { Identity } from '../auth/identity';
import { decodeKeyCursor, encodeKeyCursor } from '../protocol/cursor';
import { countThatFits } from '../protocol/frame-fit';
import type { ChatDependencies } from './dependencies';
import type { DirectoryEntry } from './ports';
import { ReadMarkers } from './read-markers';
import { type AssociationRole, canSeeRoom, type Room, roomView } from './room';
import { RoomWordSearch } from './room-search';
import { roomMatchesWords, wordsOf } from './room-words';

/** Rooms one `chat.getassociations` answer reads at most (then cut by size). */
const ASSOCIATIONS_PAGE_SIZE = 100;

/** Finding rooms: `chat.getassociations` (by role) and `chat.chansrch` (the directory, and the caller's own secret rooms). */
export class RoomLists {
  private readonly markers: ReadMarkers;

  private readonly words: RoomWordSearch;

  constructor(private readonly deps: ChatDependencies) {
    this.markers = new ReadMarkers(deps);
    this.words = new RoomWordSearch(deps.store);
  }

  /** In room id order, a frame at a time: `cursor` (the last room id answered) when more remain. */
  async associations(caller: Identity, role: AssociationRole, cursor?: string) {
    const after = cursor === undefined ? undefined : decodeKeyCursor(cursor);
    const ids = [...new Set(await this.deps.store.associations(caller.uri, role))].sort().filter((roomId) => after === undefined || roomId > after);
    const rooms = new Map((await this.deps.store.getRooms(ids.slice(0, ASSOCIATIONS_PAGE_SIZE))).map((room) => [room.roomId, room]));
    // The index is a hint: the room itself says whether the user still holds the role.
    const held = ids
      .slice(0, ASSOCIATIONS_PAGE_SIZE)
      .map((roomId) => rooms.get(roomId))
      .filter((room): room is Room => room !== undefined)
      .filter((room) => (role === 'member' ? room.members : role === 'manager' ? room.managers : room.presenters).includes(caller.uri.toLowerCase()));
    // The rooms the caller follows carry `readSeq`, `unread` and `mentions` (SPEC §9): one query, one batch read.
    const followed = held.length > 0 ? new Set(await this.deps.store.followedRooms(caller.uri)) : new Set<string>();
    const counts = await this.markers.countsIn(caller.uri, held.filter((room) => followed.has(room.roomId)));
    const holding = held.map((room) => ({ ...roomView(room), ...counts.get(room.roomId) }));
    const kept = countThatFits(holding, (views) => ({ rooms: views }));
    const lastRoomId = kept < holding.length ? holding[kept - 1]?.roomId : ids.length > ASSOCIATIONS_PAGE_SIZE ? ids[ASSOCIATIONS_PAGE_SIZE - 1] : undefined;
    return { rooms: holding.slice(0, kept), ...(lastRoomId ? { cursor: encodeKeyCursor(lastRoomId) } : {}) };
  }

  /**
   * Listed (open and closed) rooms by name prefix from the directory, then (issue 22 item 6) listed rooms with any
   * word of their name or description starting with the query's words, from the word index (./room-search.ts);
   * secret rooms are never listed, so the caller's own secret rooms come from their memberships, on the first page only.
   */
  async searchRooms(caller: Identity, query: string, category: string | undefined, limit: number, cursor?: string) {
    const prefix = query.trim().toLowerCase();
    const queryWords = wordsOf(prefix);
    if (cursor?.startsWith(WORD_CURSOR_MARK)) return this.byWords(prefix, queryWords, category, limit, [], cursor.slice(WORD_CURSOR_MARK.length) || undefined);
    // Secret rooms first (the caller's own), then the directory; a cursor starting with `~` is still among the
    // secret ones (the directory's cursors are base64url, which never holds `~` or `+`).
    let secret: DirectoryEntry[] = [];
    if (!cursor || cursor.startsWith(SECRET_CURSOR_MARK)) {
      const after = cursor ? decodeKeyCursor(cursor.slice(SECRET_CURSOR_MARK.length), 'cursor') : undefined;
      const mine = await this.deps.store.getRooms(await this.deps.store.associations(caller.uri, 'member'));
      secret = mine
        .filter((room) => room.privacy === 'secret' && canSeeRoom(room, caller.uri))
        .filter((room) => (room.name.toLowerCase().startsWith(prefix) || roomMatchesWords(room, queryWords)) && (category === undefined || room.category === category))
        .map(({ roomId, name, description, category: roomCategory, privacy }) => ({ roomId, name, description, category: roomCategory, privacy }))
        .sort((a, b) => compareText(secretOrder(a), secretOrder(b)))
        .filter((entry) => after === undefined || secretOrder(entry) > after);
      const keptSecret = countThatFits(secret, (rooms) => ({ rooms }));
      const last = secret[keptSecret - 1];
      if (keptSecret < secret.length && last) return { rooms: secret.slice(0, keptSecret), cursor: SECRET_CURSOR_MARK + encodeKeyCursor(secretOrder(last)) };
    }
    const directoryCursor = cursor && !cursor.startsWith(SECRET_CURSOR_MARK) ? cursor : undefined;
    const page = await this.deps.store.directory(category, prefix, limit, directoryCursor, (listed) => countThatFits(listed, (rooms) => ({ rooms: [...secret, ...rooms] })));
    const rooms = [...secret, ...page.items];
    if (page.cursor || queryWords.length === 0) return { rooms, ...(page.cursor ? { cursor: page.cursor } : {}) };
    // The directory is done: the rooms found by another word of their name or description follow, in the same answer.
    return this.byWords(prefix, queryWords, category, limit - page.items.length, rooms);
  }

  private async byWords(prefix: string, queryWords: readonly string[], category: string | undefined, limit: number, before: DirectoryEntry[], after?: string) {
    const found = await this.words.page(prefix, queryWords, category, limit, before, after);
    return { rooms: [...before, ...found.rooms], ...(found.after !== undefined ? { cursor: WORD_CURSOR_MARK + found.after } : {}) };
  }
}

/** Marks a `chat.chansrch` cursor that is in the word index part (`+`, then the position in the index; none: its start). */
const WORD_CURSOR_MARK = '+';

/** Marks a `chat.chansrch` cursor that is still among the caller's secret rooms. */
const SECRET_CURSOR_MARK = '~';

/** Secret rooms in directory order: lower-case name, then id. */
function secretOrder(entry: Pick<DirectoryEntry, 'name' | 'roomId'>): string {
  return `${entry.name.toLowerCase()}#${entry.roomId}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
