import { ForbiddenError, NotFoundError, QuotaExceededError } from '../errors';
import { archiveFromOutbox, commandEvent } from './command-events';
import type { ChatCaller, ChatDependencies } from './dependencies';
import { readCountsOf } from './read-state';
import { assertMayJoin, assertVisible, roleIn, roomView } from './room';

/** `chat.join`, `chat.bjoin`, `chat.part`: followed rooms are per user, so every device of the user receives their messages. */
export class Following {
  constructor(private readonly deps: ChatDependencies) {}

  /** Follows the room: kept server-side per user, so every device of the user receives its messages. */
  async join(caller: ChatCaller, roomId: string) {
    const { identity } = caller;
    const room = assertVisible(await this.deps.store.getRoom(roomId), identity.uri, roomId);
    assertMayJoin(room, identity.uri);
    await this.assertMayFollowAnother(identity.uri, roomId);
    const now = this.deps.clock.now();
    const event = commandEvent(caller, 'chat.join', room, now);
    await this.deps.store.follow(roomId, identity.uri, now, event);
    await archiveFromOutbox(this.deps.compliance, event);
    // A first join starts reading at the room's latest message; a join again keeps the marker (SPEC §9 counts).
    const marker = await this.deps.store.startReading(roomId, identity.uri, room.lastSeq);
    return { room: roomView(room), role: roleIn(room, identity.uri), followed: true, ...readCountsOf(room.lastSeq, marker) };
  }

  /** Many joins in one call: each room answers on its own, as `chat.join` would. */
  async joinMany(caller: ChatCaller, roomIds: readonly string[]) {
    const results = [];
    for (const roomId of [...new Set(roomIds)]) {
      try {
        results.push({ roomId, status: 200, ...(await this.join(caller, roomId)) });
      } catch (error) {
        if (!(error instanceof NotFoundError || error instanceof ForbiddenError || error instanceof QuotaExceededError)) throw error;
        results.push({ roomId, status: error.status, error: { code: error.code, message: error.message } });
      }
    }
    return { rooms: results };
  }

  /**
   * Stops following. A user may always part a room they follow, even one they may no longer see (a removal
   * that never ran); to anyone else a room they may not see answers 404, as before.
   */
  async part(caller: ChatCaller, roomId: string): Promise<{ followed: false }> {
    const room = await this.deps.store.getRoom(roomId);
    const event = commandEvent(caller, 'chat.part', room ?? { roomId }, this.deps.clock.now());
    if (await this.deps.store.unfollow(roomId, caller.identity.uri, event)) {
      await archiveFromOutbox(this.deps.compliance, event);
      return { followed: false };
    }
    assertVisible(room, caller.identity.uri, roomId);
    return { followed: false };
  }

  /**
   * MAX_FOLLOWED_ROOMS: a room not followed yet needs a free slot. Counted by a query that reads at most the cap's
   * worth of keys; two joins racing at the cap may both pass (one room over, at most one per racing join).
   */
  private async assertMayFollowAnother(uri: string, roomId: string): Promise<void> {
    const max = this.deps.quotas?.maxFollowedRooms;
    if (max === undefined) return;
    if ((await this.deps.store.countFollowed(uri, max)) < max || (await this.deps.store.isFollowing(roomId, uri))) return;
    throw new QuotaExceededError('MAX_FOLLOWED_ROOMS', max, 'you follow that many rooms; part one (chat.part) to follow another');
  }
}
