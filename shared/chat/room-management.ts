import type { Identity } from '../auth/identity';
import { actorOf, type ComplianceEvent } from '../compliance/event';
import { RETRY, retryOnConflict } from '../concurrency';
import { ForbiddenError, NotFoundError, QuotaExceededError, UnavailableError } from '../errors';
import { listFit } from '../protocol/frame-fit';
import { archiveFromOutbox } from './command-events';
import type { ChatDependencies } from './dependencies';
import type { Invitation, RemovalReason } from './ports';
import {
  applyRoomChanges,
  assertManager,
  assertVisible,
  canReadRoom,
  type Category,
  inviteToRoom,
  isMember,
  mayCreateRoomIn,
  newRoom,
  type Room,
  type RoomChanges,
  type RoomDefinition,
  roleIn,
} from './room';

/** An invitee `room.invite` did not invite (nor make a member), and why. */
export interface RefusedInvitee {
  readonly uri: string;
  readonly reason: 'MAX_PENDING_INVITATIONS';
}

/** The managers' commands (SPEC §6): categories, `room.create`/`update`/`delete`/`invite`, and `chat.getinv`. */
export class RoomManagement {
  constructor(private readonly deps: ChatDependencies) {}

  async putCategory(caller: Identity, category: Category): Promise<Category> {
    if (caller.kind !== 'admin') throw new ForbiddenError('only admins define categories');
    await this.deps.store.putCategory(category);
    return category;
  }

  async createRoom(caller: Identity, definition: RoomDefinition, clientId?: string): Promise<{ roomId: string }> {
    if (clientId) {
      const earlier = await this.deps.store.replayCreate(caller.uri, clientId);
      if (earlier) return this.replayedCreate(earlier);
    }
    if (!mayCreateRoomIn(await this.deps.store.getCategory(definition.category), caller, this.deps.homeDomain)) {
      throw new ForbiddenError(`you may not create rooms in category ${definition.category}`);
    }
    const maxRooms = this.deps.quotas?.maxRoomsPerUser;
    // The creator manages the room: the rooms a user manages are counted (bounded by the cap itself).
    if (maxRooms !== undefined && (await this.deps.store.countAssociations(caller.uri, 'manager', maxRooms)) >= maxRooms) {
      throw new QuotaExceededError('MAX_ROOMS_PER_USER', maxRooms, 'you manage that many rooms; delete one or hand it to another manager');
    }
    const room = newRoom(this.deps.newId('room'), caller, definition, this.deps.clock.now());
    const outcome = await this.deps.store.createRoom(room, clientId);
    if (outcome.kind === 'replayed') return this.replayedCreate(outcome.roomId);
    await this.deps.store.syncAssociations(room);
    await this.deps.store.syncRoomWords(room);
    return { roomId: room.roomId };
  }

  /** A change of privacy or membership removes the followers who may no longer read the room (SPEC §6). */
  async updateRoom(caller: Identity, roomId: string, changes: RoomChanges) {
    const { previous, next } = await this.changeRoom(caller, roomId, (room) => applyRoomChanges(room, changes));
    // The word index of chat.chansrch, when what it derives from may have changed: written again whole, so a retry
    // after a failed write (which finds the room already changed) still writes it.
    if (changes.name !== undefined || changes.description !== undefined || changes.privacy !== undefined) await this.deps.store.syncRoomWords(next, previous);
    await this.removeLostFollowers(caller, previous, next);
    return next;
  }

  async deleteRoom(caller: Identity, roomId: string): Promise<{ deleted: true }> {
    const room = assertVisible(await this.deps.store.getRoom(roomId), caller.uri, roomId);
    assertManager(room, caller.uri);
    const followers = await this.deps.store.followers(roomId);
    await this.deps.store.deleteRoom(room);
    await this.deps.delivery.toUsers(followers, { event: 'chat.removed', payload: { roomId, reason: 'deleted' } });
    // Its word index items last (a hint readers re-check against the room: one left behind finds no room).
    await this.deps.store.syncRoomWords(undefined, room);
    return { deleted: true };
  }

  /**
   * MAX_PENDING_INVITATIONS: an invitee who already holds that many unseen invitations (not shown by `chat.getinv`
   * yet) is refused: neither invited nor made a member. 403 when every new invitee is refused, else the others are
   * invited and the refused listed in `refused`.
   */
  async invite(caller: Identity, roomId: string, uris: readonly string[]): Promise<{ invited: string[]; refused?: RefusedInvitee[] }> {
    let invited: string[] = [];
    let refused: RefusedInvitee[] = [];
    // Checked once per invitee, kept across a retried write (only those newly not members on a re-read are counted then).
    const overCap = new Map<string, boolean>();
    const { next: room } = await this.changeRoom(caller, roomId, async (current) => {
      const candidates = inviteToRoom(current, uris).invited;
      await Promise.all(
        candidates.filter((uri) => !overCap.has(uri)).map(async (uri) => overCap.set(uri, await this.holdsTooManyInvitations(uri, roomId))),
      );
      refused = candidates.filter((uri) => overCap.get(uri)).map((uri) => ({ uri, reason: 'MAX_PENDING_INVITATIONS' as const }));
      if (refused.length > 0 && refused.length === candidates.length) {
        const max = this.deps.quotas?.maxPendingInvitations ?? 0;
        const who = refused.map((entry) => entry.uri).join(', ');
        throw new QuotaExceededError('MAX_PENDING_INVITATIONS', max, `${who} ${refused.length === 1 ? 'holds' : 'hold'} that many unseen invitations`);
      }
      const outcome = inviteToRoom(
        current,
        candidates.filter((uri) => !overCap.get(uri)),
      );
      invited = outcome.invited;
      return outcome.room;
    });
    const invitation: Invitation = { roomId, roomName: room.name, from: { uri: caller.uri, name: caller.name }, invitedAt: this.deps.clock.now() };
    await this.deps.store.putInvitations(invited, invitation);
    await this.deps.delivery.toUsers(invited, { event: 'chat.invitation', payload: { ...invitation } });
    return { invited, ...(refused.length > 0 ? { refused } : {}) };
  }

  /**
   * Whether the user holds MAX_PENDING_INVITATIONS unseen invitations: a query that reads at most the cap's worth of
   * keys (and, at the cap, one more reading one key: an unseen invitation to this room already held is no new one).
   * Two invites racing at the cap may both pass (one over per racing invite).
   */
  private async holdsTooManyInvitations(uri: string, roomId: string): Promise<boolean> {
    const max = this.deps.quotas?.maxPendingInvitations;
    if (max === undefined) return false;
    if ((await this.deps.store.countUnseenInvitations(uri, max)) < max) return false;
    return !(await this.deps.store.holdsUnseenInvitation(uri, roomId));
  }

  /**
   * `chat.declineinv` (SPEC §9): every invitation of the user to the room is deleted, seen or not, so `chat.getinv`
   * shows it on no device again; and the membership the invitation gave is given back (a member who is neither
   * manager nor presenter stops being a member, and loses the room if it is closed or secret, as a `room.update`
   * would take it away), so a later `room.invite` invites the user again. 404 when the user holds no invitation to
   * the room. The membership goes first: a retry after a failure finds the invitation still there.
   */
  async declineInvitation(caller: Identity, roomId: string): Promise<{ declined: true }> {
    if (!(await this.deps.store.holdsInvitation(caller.uri, roomId))) throw new NotFoundError(`no invitation to room ${roomId}`);
    const uri = caller.uri.toLowerCase();
    const changed = await retryOnConflict(
      async () => {
        const room = await this.deps.store.getRoom(roomId);
        if (!room || roleIn(room, uri) !== 'member') return undefined;
        const next: Room = { ...room, members: room.members.filter((member) => member !== uri), version: room.version + 1 };
        return (await this.deps.store.updateRoom(room, next)) ? { previous: room, next } : RETRY;
      },
      () => new UnavailableError('the room kept changing; retry', 200),
    );
    if (changed) {
      await this.deps.store.syncAssociations(changed.next, changed.previous);
      await this.removeLostFollowers(caller, changed.previous, changed.next);
    }
    await this.deps.store.removeInvitations(caller.uri, roomId);
    return { declined: true };
  }

  /** Invitations to rooms the user may still read: one removed since (or a deleted room) invites to nothing. */
  async invitations(caller: Identity): Promise<{ invitations: Invitation[]; more?: true }> {
    // As many as one frame holds; `more`: call again for the rest (those answered are not answered again).
    const taken = await this.deps.store.takeUnseenInvitations(caller.uri, this.deps.clock.now(), listFit('invitations'));
    const rooms = new Map((await this.deps.store.getRooms(taken.invitations.map((invitation) => invitation.roomId))).map((room) => [room.roomId, room]));
    return {
      invitations: taken.invitations.filter((invitation) => {
        const room = rooms.get(invitation.roomId);
        return room !== undefined && canReadRoom(room, caller.uri);
      }),
      ...(taken.more ? { more: true as const } : {}),
    };
  }

  /**
   * After a change of privacy or membership: every follower who may no longer read the room stops following
   * it (a `chat.part` in the archive, by the manager, through the outbox) and is told on every connection.
   */
  private async removeLostFollowers(manager: Identity, previous: Room, next: Room): Promise<void> {
    const lost = (await this.deps.store.followers(next.roomId)).filter((uri) => !canReadRoom(next, uri));
    const now = this.deps.clock.now();
    await Promise.all(
      lost.map(async (uri) => {
        const reason: RemovalReason = isMember(previous, uri) && !isMember(next, uri) ? 'membership' : 'privacy';
        const event: ComplianceEvent = {
          // Stable per room version: a repeated removal for the same change is the same event.
          eventId: `chat.part:${next.roomId}:${uri}:removed:${next.version}`,
          type: 'chat.part',
          actor: actorOf(manager),
          target: { kind: 'room', id: next.roomId, name: next.name },
          at: now,
          details: { uri, reason },
        };
        if (!(await this.deps.store.unfollow(next.roomId, uri, event))) return;
        await archiveFromOutbox(this.deps.compliance, event);
        await this.deps.delivery.toUsers([uri], { event: 'chat.removed', payload: { roomId: next.roomId, reason } });
      }),
    );
  }

  /** Reads, checks the manager, applies the change and writes it on the version read; re-decides on a race. */
  private async changeRoom(caller: Identity, roomId: string, change: (room: Room) => Room | Promise<Room>): Promise<{ previous: Room; next: Room }> {
    const changed = await retryOnConflict(
      async () => {
        const room = assertVisible(await this.deps.store.getRoom(roomId), caller.uri, roomId);
        assertManager(room, caller.uri);
        const next = await change(room);
        return (await this.deps.store.updateRoom(room, next)) ? { previous: room, next } : RETRY;
      },
      () => new UnavailableError('the room kept changing; retry', 200),
    );
    await this.deps.store.syncAssociations(changed.next, changed.previous);
    return changed;
  }

  private async replayedCreate(roomId: string): Promise<{ roomId: string }> {
    // The first attempt may have stopped before its association items: write them again (idempotent).
    const room = await this.deps.store.getRoom(roomId);
    if (room) {
      await this.deps.store.syncAssociations(room);
      await this.deps.store.syncRoomWords(room);
    }
    return { roomId };
  }
}
