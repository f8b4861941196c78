import type { ChatCaller, ChatDependencies } from './dependencies';
import { markerTarget, passedMentions, type ReadCounts, readCountsOf } from './read-state';
import { assertMayRead, assertVisible, type Room } from './room';

/** What `chat.markread` answers and `chat.read` tells the user's other connections. */
export interface RoomReadState extends ReadCounts {
  readonly roomId: string;
}

/**
 * Read markers that roam (SPEC §9): one per user and room, the same on every device, moved only forward by a
 * conditional write; unread and mention counts computed from it and the room's seq (./read-state.ts).
 */
export class ReadMarkers {
  constructor(private readonly deps: ChatDependencies) {}

  /**
   * `chat.markread`: the marker moves to `seq` (at most the room's latest) unless it is there or further already,
   * then the caller's other connections get `chat.read`. A stale mark (another device went further) changes
   * nothing and answers the marker as stored, so counts never go back up and unread is never negative.
   */
  async markRead(caller: ChatCaller, roomId: string, seq: number): Promise<RoomReadState> {
    const { identity } = caller;
    const room = assertVisible(await this.deps.store.getRoom(roomId), identity.uri, roomId);
    assertMayRead(room, identity.uri);
    const { moved, marker } = await this.deps.store.markRead(roomId, identity.uri, markerTarget(seq, room.lastSeq), this.deps.clock.now());
    const state: RoomReadState = { roomId, ...readCountsOf(room.lastSeq, marker) };
    if (!moved) return state;
    const passed = passedMentions(marker);
    await Promise.all([
      // Housekeeping only (counts skip passed seqs): a failure here must not fail a marker already moved.
      passed.length > 0 ? this.deps.store.pruneMentions(roomId, identity.uri, passed).catch(() => undefined) : undefined,
      this.deps.delivery.toUsers([identity.uri], { event: 'chat.read', payload: { ...state } }, caller.connectionId),
    ]);
    return state;
  }

  /** The user's counts in each of these rooms (one batch read of their markers). */
  async countsIn(uri: string, rooms: readonly Room[]): Promise<Map<string, ReadCounts>> {
    if (rooms.length === 0) return new Map();
    const markers = await this.deps.store.readMarkers(uri, rooms.map((room) => room.roomId));
    return new Map(rooms.map((room) => [room.roomId, readCountsOf(room.lastSeq, markers.get(room.roomId))]));
  }
}
