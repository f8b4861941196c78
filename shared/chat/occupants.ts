import type { Identity } from '../auth/identity';
import { type Availability, mayWatch } from '../presence/presence';
import type { ChatDependencies } from './dependencies';
import { assertMayRead, assertVisible, canReadRoom } from './room';

/** Followers one query page reads. */
const FOLLOWERS_PAGE = 100;
/** Followers one `chat.occupants` call examines at most (then it answers with a cursor): bounds its reads and its frame. */
const MAX_FOLLOWERS_PER_CALL = 1000;
/** An answer stops taking further pages once it holds this many occupants. */
const OCCUPANTS_PER_ANSWER = 100;

export interface Occupant {
  readonly uri: string;
  readonly availability: Availability;
}

/**
 * `chat.occupants` (SPEC §9): the room's followers who are connected now, with their availability, for a caller who
 * may read the room. "Connected" is what presence says (SPEC §5: a user with no connection is `offline`), read from
 * the aggregates in batches; a follower whose presence shows `offline` (no connection, or appearing offline) is not
 * listed, nor one the caller may not watch (an anonymous or PSTN caller and the organization's users), nor a
 * follower item left behind by someone who may no longer read the room.
 */
export class Occupants {
  constructor(private readonly deps: ChatDependencies) {}

  async occupants(caller: Identity, roomId: string, cursor?: string): Promise<{ occupants: Occupant[]; cursor?: string }> {
    const room = assertVisible(await this.deps.store.getRoom(roomId), caller.uri, roomId);
    assertMayRead(room, caller.uri);
    const occupants: Occupant[] = [];
    let position = cursor;
    let examined = 0;
    do {
      const page = await this.deps.store.followersPage(roomId, FOLLOWERS_PAGE, position);
      const candidates = page.items.filter((uri) => canReadRoom(room, uri) && mayWatch(caller, uri, this.deps.homeDomain));
      const availability = candidates.length > 0 && this.deps.presence ? await this.deps.presence.availabilityOf(candidates) : new Map<string, Availability>();
      for (const uri of candidates) {
        const state = availability.get(uri);
        if (state !== undefined && state !== 'offline') occupants.push({ uri, availability: state });
      }
      examined += page.items.length;
      position = page.cursor;
    } while (position !== undefined && occupants.length < OCCUPANTS_PER_ANSWER && examined < MAX_FOLLOWERS_PER_CALL);
    return { occupants, ...(position !== undefined ? { cursor: position } : {}) };
  }
}
