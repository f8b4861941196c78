import type { Identity } from '../auth/identity';
import { decodeKeyCursor, encodeKeyCursor } from '../protocol/cursor';
import { countThatFits } from '../protocol/frame-fit';
import type { ChatDependencies } from './dependencies';
import type { DirectoryEntry } from './ports';
import { type AssociationRole, canSeeRoom, type Room, roomView } from './room';

/** Rooms one `chat.getassociations` answer reads at most (then cut by size). */
const ASSOCIATIONS_PAGE_SIZE = 100;

/** Finding rooms: `chat.getassociations` (by role) and `chat.chansrch` (the directory, and the caller's own secret rooms). */
export class RoomLists {
  constructor(private readonly deps: ChatDependencies) {}

  /** In room id order, a frame at a time: `cursor` (the last room id answered) when more remain. */
  async associations(caller: Identity, role: AssociationRole, cursor?: string) {
    const after = cursor === undefined ? undefined : decodeKeyCursor(cursor);
    const ids = [...new Set(await this.deps.store.associations(caller.uri, role))].sort().filter((roomId) => after === undefined || roomId > after);
    const rooms = new Map((await this.deps.store.getRooms(ids.slice(0, ASSOCIATIONS_PAGE_SIZE))).map((room) => [room.roomId, room]));
    // The index is a hint: the room itself says whether the user still holds the role.
    const holding = ids
      .slice(0, ASSOCIATIONS_PAGE_SIZE)
      .map((roomId) => rooms.get(roomId))
      .filter((room): room is Room => room !== undefined)
      .filter((room) => (role === 'member' ? room.members : role === 'manager' ? room.managers : room.presenters).includes(caller.uri.toLowerCase()))
      .map(roomView);
    const kept = countThatFits(holding, (views) => ({ rooms: views }));
    const lastRoomId = kept < holding.length ? holding[kept - 1]?.roomId : ids.length > ASSOCIATIONS_PAGE_SIZE ? ids[ASSOCIATIONS_PAGE_SIZE - 1] : undefined;
    return { rooms: holding.slice(0, kept), ...(lastRoomId ? { cursor: encodeKeyCursor(lastRoomId) } : {}) };
  }

  /**
   * Listed (open and closed) rooms by name prefix from the directory; secret rooms are never listed, so
   * the caller's own secret rooms come from their memberships, on the first page only.
   */
  async searchRooms(caller: Identity, query: string, category: string | undefined, limit: number, cursor?: string) {
    const prefix = query.trim().toLowerCase();
    // Secret rooms first (the caller's own), then the directory; a cursor starting with `~` is still among the
    // secret ones (the directory's cursors are base64url, which never holds `~`).
    let secret: DirectoryEntry[] = [];
    if (!cursor || cursor.startsWith(SECRET_CURSOR_MARK)) {
      const after = cursor ? decodeKeyCursor(cursor.slice(SECRET_CURSOR_MARK.length), 'cursor') : undefined;
      const mine = await this.deps.store.getRooms(await this.deps.store.associations(caller.uri, 'member'));
      secret = mine
        .filter((room) => room.privacy === 'secret' && canSeeRoom(room, caller.uri))
        .filter((room) => room.name.toLowerCase().startsWith(prefix) && (category === undefined || room.category === category))
        .map(({ roomId, name, description, category: roomCategory, privacy }) => ({ roomId, name, description, category: roomCategory, privacy }))
        .sort((a, b) => compareText(secretOrder(a), secretOrder(b)))
        .filter((entry) => after === undefined || secretOrder(entry) > after);
      const keptSecret = countThatFits(secret, (rooms) => ({ rooms }));
      const last = secret[keptSecret - 1];
      if (keptSecret < secret.length && last) return { rooms: secret.slice(0, keptSecret), cursor: SECRET_CURSOR_MARK + encodeKeyCursor(secretOrder(last)) };
    }
    const directoryCursor = cursor && !cursor.startsWith(SECRET_CURSOR_MARK) ? cursor : undefined;
    const page = await this.deps.store.directory(category, prefix, limit, directoryCursor, (listed) => countThatFits(listed, (rooms) => ({ rooms: [...secret, ...rooms] })));
    return { rooms: [...secret, ...page.items], ...(page.cursor ? { cursor: page.cursor } : {}) };
  }
}

/** Marks a `chat.chansrch` cursor that is still among the caller's secret rooms. */
const SECRET_CURSOR_MARK = '~';

/** Secret rooms in directory order: lower-case name, then id. */
function secretOrder(entry: Pick<DirectoryEntry, 'name' | 'roomId'>): string {
  return `${entry.name.toLowerCase()}#${entry.roomId}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
