import type { Identity } from '../auth/identity';
import type { ComplianceEvent, ComplianceEventType } from '../compliance/event';
import type { ComplianceOutbox } from '../compliance/ports';
import type { Delivery } from '../connections/delivery';
import { BadRequestError, ForbiddenError, NotFoundError, QuotaExceededError, UnavailableError } from '../errors';
import type { Clock, Queue } from '../ports';
import { serverEvent } from '../protocol/envelope';
import { countThatFits, jsonBytes, listFit, MAX_LIST_ANSWER_BYTES, prefixThatFits } from '../protocol/frame-fit';
import { assertFileInRoom, fileObjectKey, fileView } from './files';
import type { ChatFile, ChatMessage, ChatStore, DirectoryEntry, FileStorage, Invitation, PostKey, PostResult, RemovalReason } from './ports';
import {
  type AssociationRole,
  applyRoomChanges,
  assertManager,
  assertMayJoin,
  assertMayPost,
  assertMayRead,
  assertVisible,
  canReadRoom,
  canSeeRoom,
  type Category,
  inviteToRoom,
  isMember,
  mayCreateRoomIn,
  newRoom,
  type Room,
  type RoomChanges,
  type RoomDefinition,
  roleIn,
  roomView,
} from './room';
import { indexTokens, matchesQuery, pickLookupToken, tokenize } from './search-tokens';

export interface ChatDependencies {
  readonly store: ChatStore;
  readonly delivery: Pick<Delivery, 'toUsers'>;
  readonly complianceQueue: Queue;
  /** Where the event of a post, join or part waits, written with the change itself, until it is on the queue (SPEC §7). */
  readonly complianceOutbox: Pick<ComplianceOutbox, 'clear'>;
  readonly clock: Clock;
  readonly homeDomain: string;
  /** CHAT_HISTORY_PAGE_SIZE: the default page, and the most one resume answer holds per room. */
  readonly historyPageSize: number;
  readonly newId: (prefix: string) => string;
  /** Where file bytes live (S3), reached by clients through presigned URLs. */
  readonly files: FileStorage;
  /** FILE_URL_SECONDS: how long an upload or download URL lives. */
  readonly fileUrlSeconds: number;
  /** MAX_FOLLOWED_ROOMS, MAX_ROOMS_PER_USER, MAX_FILES_PER_ROOM, MAX_PENDING_INVITATIONS (issue 17 item 5); none: no cap. */
  readonly quotas?: ChatQuotas;
}

export interface ChatQuotas {
  readonly maxFollowedRooms: number;
  readonly maxRoomsPerUser: number;
  readonly maxFilesPerRoom: number;
  readonly maxPendingInvitations: number;
}

/** An invitee `room.invite` did not invite (nor make a member), and why. */
export interface RefusedInvitee {
  readonly uri: string;
  readonly reason: 'MAX_PENDING_INVITATIONS';
}

/** Who asks, and the command's request id (stable event ids for commands without a client id). */
export interface ChatCaller {
  readonly identity: Identity;
  readonly connectionId: string;
  readonly requestId: string;
}

/** A post holding its client id longer than a Lambda may run has died: a retry may take over. */
const RESERVATION_STALE_MS = 30_000;
/** Index entries one search reads at most (its cost bound; docs/architecture.md). */
const SEARCH_CANDIDATES = 500;
const MAX_ATTEMPTS = 5;
/** Rooms one `session.resume` answer covers at most (the rest: call again with its `cursor`); as many as `since` may name. */
export const MAX_RESUME_ROOMS_PER_ANSWER = 64;
/** Rooms one `chat.getassociations` answer reads at most (then cut by size). */
const ASSOCIATIONS_PAGE_SIZE = 100;

/** The use cases of SPEC §6 over the ports; the rules are in ./room.ts and ./search-tokens.ts. */
export class ChatService {
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
    return { roomId: room.roomId };
  }

  /** A change of privacy or membership removes the followers who may no longer read the room (SPEC §6). */
  async updateRoom(caller: Identity, roomId: string, changes: RoomChanges) {
    const { previous, next } = await this.changeRoom(caller, roomId, (room) => applyRoomChanges(room, changes));
    await this.removeLostFollowers(caller, previous, next);
    return next;
  }

  async deleteRoom(caller: Identity, roomId: string): Promise<{ deleted: true }> {
    const room = assertVisible(await this.deps.store.getRoom(roomId), caller.uri, roomId);
    assertManager(room, caller.uri);
    const followers = await this.deps.store.followers(roomId);
    await this.deps.store.deleteRoom(room);
    await this.deps.delivery.toUsers(followers, serverEvent('chat.removed', { roomId, reason: 'deleted' }));
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
    await this.deps.delivery.toUsers(invited, serverEvent('chat.invitation', { ...invitation }));
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

  /** In room id order, a frame at a time: `cursor` (the last room id answered) when more remain. */
  async associations(caller: Identity, role: AssociationRole, cursor?: string) {
    const after = cursor === undefined ? undefined : decodeRoomCursor(cursor);
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
    return { rooms: holding.slice(0, kept), ...(lastRoomId ? { cursor: encodeRoomCursor(lastRoomId) } : {}) };
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
      const after = cursor ? decodeRoomCursor(cursor.slice(SECRET_CURSOR_MARK.length), 'cursor') : undefined;
      const mine = await this.deps.store.getRooms(await this.deps.store.associations(caller.uri, 'member'));
      secret = mine
        .filter((room) => room.privacy === 'secret' && canSeeRoom(room, caller.uri))
        .filter((room) => room.name.toLowerCase().startsWith(prefix) && (category === undefined || room.category === category))
        .map(({ roomId, name, description, category: roomCategory, privacy }) => ({ roomId, name, description, category: roomCategory, privacy }))
        .sort((a, b) => compareText(secretOrder(a), secretOrder(b)))
        .filter((entry) => after === undefined || secretOrder(entry) > after);
      const keptSecret = countThatFits(secret, (rooms) => ({ rooms }));
      const last = secret[keptSecret - 1];
      if (keptSecret < secret.length && last) return { rooms: secret.slice(0, keptSecret), cursor: SECRET_CURSOR_MARK + encodeRoomCursor(secretOrder(last)) };
    }
    const directoryCursor = cursor && !cursor.startsWith(SECRET_CURSOR_MARK) ? cursor : undefined;
    const page = await this.deps.store.directory(category, prefix, limit, directoryCursor, (listed) => countThatFits(listed, (rooms) => ({ rooms: [...secret, ...rooms] })));
    return { rooms: [...secret, ...page.items], ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  /** Follows the room: kept server-side per user, so every device of the user receives its messages. */
  async join(caller: ChatCaller, roomId: string) {
    const { identity } = caller;
    const room = assertVisible(await this.deps.store.getRoom(roomId), identity.uri, roomId);
    assertMayJoin(room, identity.uri);
    await this.assertMayFollowAnother(identity.uri, roomId);
    const now = this.deps.clock.now();
    const event = this.eventOf(caller, 'chat.join', room, now);
    await this.deps.store.follow(roomId, identity.uri, now, event);
    await this.archiveFromOutbox(event);
    return { room: roomView(room), role: roleIn(room, identity.uri), followed: true };
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
    const event = this.eventOf(caller, 'chat.part', room ?? { roomId }, this.deps.clock.now());
    if (await this.deps.store.unfollow(roomId, caller.identity.uri, event)) {
      await this.archiveFromOutbox(event);
      return { followed: false };
    }
    assertVisible(room, caller.identity.uri, roomId);
    return { followed: false };
  }

  /**
   * A post: its seq from the room's counter (recorded in the client id's reservation, so a retry after a failed
   * write posts under the same seq: no hole), then the message, its answer and its compliance event in one
   * transaction, then its search entries, the fan-out and the queue send.
   */
  async post(caller: ChatCaller, command: { roomId: string; text: string; clientMsgId?: string; fileId?: string }): Promise<PostResult> {
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
    const message = messageOf(caller, room, { seq, messageId: this.deps.newId('cmsg'), ts: this.deps.clock.now() }, command.text, file);
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
    await Promise.all([this.deps.store.indexMessage(message, indexTokens(message.text)), this.fanOut(caller, message), this.archivePost(event)]);
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
      await Promise.all([this.deps.store.indexMessage(message, indexTokens(message.text)), this.fanOut(caller, message), this.archivePost(event)]);
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
    await this.deps.delivery.toUsers(readers, serverEvent('chat.message', { ...message }), caller.connectionId);
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
        await this.archiveFromOutbox(event);
        await this.deps.delivery.toUsers([uri], serverEvent('chat.removed', { roomId: next.roomId, reason }));
      }),
    );
  }

  /**
   * `chat.file.upload`: whoever may post in the room records a file and gets a URL to PUT its bytes to
   * (the size limit is the handler's). The bytes never pass through the function.
   */
  async uploadFile(caller: ChatCaller, command: { roomId: string; fileName: string; size: number; contentType: string }) {
    const { identity } = caller;
    const room = assertVisible(await this.deps.store.getRoom(command.roomId), identity.uri, command.roomId);
    assertMayPost(room, identity.uri);
    const maxFiles = this.deps.quotas?.maxFilesPerRoom;
    if (maxFiles !== undefined && !(await this.deps.store.takeFileSlot(room.roomId, maxFiles))) {
      throw new QuotaExceededError('MAX_FILES_PER_ROOM', maxFiles, `room ${room.roomId} holds that many files`);
    }
    const now = this.deps.clock.now();
    const fileId = this.deps.newId('file');
    const file: ChatFile = {
      fileId,
      roomId: room.roomId,
      uploader: identity.uri.toLowerCase(),
      name: command.fileName,
      size: command.size,
      contentType: command.contentType,
      key: fileObjectKey(room.roomId, fileId),
      createdAt: now,
    };
    await this.deps.store.putFile(file);
    const upload = await this.deps.files.uploadUrl(file, this.deps.fileUrlSeconds, now);
    await this.archive(caller, 'chat.file.upload', room, now, fileDetails(file));
    return { fileId, uploadUrl: upload.url, expiresAt: upload.expiresAt };
  }

  /**
   * `chat.file.download`: whoever may read the file's room gets a URL to GET it. A file of a room the
   * caller may not see (secret, deleted) does not exist for them: 404 naming the file, not the room.
   */
  async downloadFile(caller: ChatCaller, fileId: string) {
    const { identity } = caller;
    const file = await this.deps.store.getFile(fileId);
    const room = file ? await this.deps.store.getRoom(file.roomId) : undefined;
    if (!file || !room || !canSeeRoom(room, identity.uri)) throw new NotFoundError(`no file ${fileId}`);
    assertMayRead(room, identity.uri);
    const now = this.deps.clock.now();
    const download = await this.deps.files.downloadUrl(file, this.deps.fileUrlSeconds, now);
    await this.archive(caller, 'chat.file.download', room, now, fileDetails(file));
    return { fileId, fileName: file.name, size: file.size, contentType: file.contentType, downloadUrl: download.url, expiresAt: download.expiresAt };
  }

  async history(caller: ChatCaller, roomId: string, limit: number | undefined, before?: string) {
    const room = assertVisible(await this.deps.store.getRoom(roomId), caller.identity.uri, roomId);
    assertMayRead(room, caller.identity.uri);
    const page = await this.deps.store.history(roomId, limit ?? this.deps.historyPageSize, before, listFit('messages'));
    await this.archive(caller, 'chat.history', room, this.deps.clock.now(), { count: page.items.length });
    return { messages: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  /**
   * Reads the index entries of the query's longest token (newest first, at most SEARCH_CANDIDATES), then
   * the candidate messages, keeping those that hold every query token.
   */
  async search(caller: ChatCaller, roomId: string, query: string, limit: number, cursor?: string) {
    const room = assertVisible(await this.deps.store.getRoom(roomId), caller.identity.uri, roomId);
    assertMayRead(room, caller.identity.uri);
    const queryTokens = tokenize(query);
    const lookup = pickLookupToken(queryTokens);
    const beforeSeq = cursor === undefined ? undefined : decodeSeqCursor(cursor);
    let found: ChatMessage[] = [];
    // The seq below which the next page looks: the last candidate examined, when more may match.
    let resumeBelow: number | undefined;
    if (lookup) {
      const seqs = await this.deps.store.seqsWithToken(roomId, lookup, SEARCH_CANDIDATES, beforeSeq);
      // Candidates in small batches, newest first, until the answer is full.
      let examinedTo: number | undefined;
      for (let start = 0; start < seqs.length && found.length < limit; start += 100) {
        const batch = await this.deps.store.messagesAt(roomId, seqs.slice(start, start + 100));
        const bySeq = new Map(batch.map((message) => [message.seq, message]));
        for (const seq of seqs.slice(start, start + 100)) {
          if (found.length >= limit) break;
          examinedTo = seq;
          const message = bySeq.get(seq);
          if (message && matchesQuery(message.text, queryTokens)) found.push(message);
        }
      }
      const kept = countThatFits(found, (messages) => ({ messages }));
      if (kept < found.length) resumeBelow = found[kept - 1]?.seq;
      else if (examinedTo !== undefined && examinedTo !== seqs[seqs.length - 1]) resumeBelow = examinedTo;
      else if (seqs.length === SEARCH_CANDIDATES) resumeBelow = seqs[seqs.length - 1];
      found = found.slice(0, kept);
    }
    await this.archive(caller, 'chat.search', room, this.deps.clock.now(), { query, count: found.length });
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
    const after = page.cursor === undefined ? undefined : decodeRoomCursor(page.cursor);
    // Room id order, from the cursor on: at most MAX_RESUME_ROOMS_PER_ANSWER rooms an answer (issue 17 item 2).
    const followed = [...new Set(await this.deps.store.followedRooms(identity.uri))].sort().filter((roomId) => after === undefined || roomId > after);
    const batch = followed.slice(0, MAX_RESUME_ROOMS_PER_ANSWER);
    const byId = new Map((await this.deps.store.getRooms(batch)).map((room) => [room.roomId, room]));
    const rooms = batch.map((roomId) => byId.get(roomId)).filter((room): room is Room => room !== undefined && canReadRoom(room, identity.uri));
    const missed = await Promise.all(
      rooms.map(async (room) => {
        const seen = since[room.roomId];
        if (seen === undefined || seen >= room.lastSeq) return { messages: [] as ChatMessage[], more: false };
        return this.deps.store.messagesAfter(room.roomId, seen, this.deps.historyPageSize);
      }),
    );
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
        messages: [...kept],
        ...(more || cut ? { more: true as const } : {}),
      });
      const before = answers.map(({ answer }) => answer);
      const newestFirst = [...messages].reverse();
      const answerWith = (newest: readonly ChatMessage[]) => ({ rooms: [...before, entry([...newest].reverse(), true)] });
      // The first room always gets its newest messages that fit (one at least: the caps make one fit a frame).
      const kept = answers.length === 0 ? countThatFits(newestFirst, answerWith, budget) : prefixThatFits(newestFirst, answerWith, budget);
      if ((kept < messages.length || jsonBytes(answerWith([])) > budget) && answers.length > 0) {
        stoppedAt = index;
        break;
      }
      const messagesKept = newestFirst.slice(0, kept).reverse();
      answers.push({ room, answer: entry(messagesKept, kept < messages.length) });
    }
    const lastAnswered = answers[answers.length - 1]?.room.roomId;
    const more = stoppedAt !== undefined || followed.length > batch.length;
    const continueAfter = stoppedAt !== undefined ? lastAnswered : batch[batch.length - 1];
    const now = this.deps.clock.now();
    await Promise.all(
      answers.map(({ room, answer }) => {
        const first = answer.messages[0];
        const last = answer.messages[answer.messages.length - 1];
        if (!first || !last) return undefined;
        return this.send(
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
    return { rooms: answers.map(({ answer }) => answer), ...(more && continueAfter ? { cursor: encodeRoomCursor(continueAfter) } : {}) };
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

  /** Reads, checks the manager, applies the change and writes it on the version read; re-decides on a race. */
  private async changeRoom(caller: Identity, roomId: string, change: (room: Room) => Room | Promise<Room>): Promise<{ previous: Room; next: Room }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const room = assertVisible(await this.deps.store.getRoom(roomId), caller.uri, roomId);
      assertManager(room, caller.uri);
      const next = await change(room);
      if (await this.deps.store.updateRoom(room, next)) {
        await this.deps.store.syncAssociations(next, room);
        return { previous: room, next };
      }
    }
    throw new UnavailableError('the room kept changing; retry', 200);
  }

  private async replayedCreate(roomId: string): Promise<{ roomId: string }> {
    // The first attempt may have stopped before its association items: write them again (idempotent).
    const room = await this.deps.store.getRoom(roomId);
    if (room) await this.deps.store.syncAssociations(room);
    return { roomId };
  }

  /**
   * Reserves the post's client id: `done` with the earlier answer when this is a retry of a finished post, else
   * the reservation, with the seq an earlier attempt recorded (reuse it) when there is one.
   */
  private async reserve(key: PostKey): Promise<{ kind: 'done'; result: PostResult } | { kind: 'reserved'; reservedAt: number; seq?: number }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.deps.clock.now();
      const record = await this.deps.store.getPost(key);
      if (record?.status === 'done') return { kind: 'done', result: record.result };
      if (record?.status === 'pending' && record.reservedAt >= now - RESERVATION_STALE_MS) {
        throw new UnavailableError('this message is being posted; retry with the same clientMsgId', 200);
      }
      const reservation = await this.deps.store.reservePost(key, now, now - RESERVATION_STALE_MS);
      if (reservation) return { kind: 'reserved', reservedAt: now, ...(reservation.seq !== undefined ? { seq: reservation.seq } : {}) };
    }
    throw new UnavailableError('this message is being posted; retry with the same clientMsgId', 200);
  }

  /**
   * The post's event on the queue, then its outbox item cleared. A failed send is a 503 as for IM: the retry
   * (same clientMsgId, same event id) archives it at once; if the client never retries, the export's sweep
   * records the outbox item.
   */
  private async archivePost(event: ComplianceEvent): Promise<void> {
    await this.send(event, 'the message is stored but not yet archived; retry with the same clientMsgId');
    await this.deps.complianceOutbox.clear(event).catch(() => undefined);
  }

  /**
   * A join's or part's event (already in the outbox with the change) on the queue, then the outbox item cleared.
   * A failed send is not an error: the sweep records the outbox item, and a client told to retry a command
   * without a client id would make a second join or part.
   */
  private async archiveFromOutbox(event: ComplianceEvent): Promise<void> {
    try {
      await this.deps.complianceQueue.send(event);
    } catch {
      return;
    }
    await this.deps.complianceOutbox.clear(event).catch(() => undefined);
  }

  /** The event of a command without a client id: its request id makes it stable across redeliveries of this command. */
  private eventOf(caller: ChatCaller, type: ComplianceEventType, room: Pick<Room, 'roomId'> & { readonly name?: string }, at: number, details: Record<string, string | number> = {}): ComplianceEvent {
    return {
      eventId: `${type}:${room.roomId}:${caller.identity.uri}:${caller.requestId}`,
      type,
      actor: actorOf(caller.identity),
      target: { kind: 'room', id: room.roomId, ...(room.name !== undefined ? { name: room.name } : {}) },
      at,
      details,
    };
  }

  private archive(caller: ChatCaller, type: ComplianceEventType, room: Room, at: number, details: Record<string, string | number> = {}): Promise<void> {
    return this.send(this.eventOf(caller, type, room, at, details), 'not yet archived; retry');
  }

  /** A failure to archive is a 503: the client retries and the store deduplicates by event id. */
  private async send(event: ComplianceEvent, message: string): Promise<void> {
    try {
      await this.deps.complianceQueue.send(event);
    } catch {
      throw new UnavailableError(message, 1000);
    }
  }
}

/** The stored and delivered message of a post: the same from the first attempt and from a retry's repair. */
function messageOf(caller: ChatCaller, room: Room, at: Pick<PostResult, 'seq' | 'messageId' | 'ts'>, text: string, file?: ChatFile): ChatMessage {
  return {
    roomId: room.roomId,
    seq: at.seq,
    messageId: at.messageId,
    from: { uri: caller.identity.uri, name: caller.identity.name },
    text,
    ts: at.ts,
    ...(file ? { fileId: file.fileId, file: fileView(file) } : {}),
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

function fileDetails(file: ChatFile): Record<string, string | number> {
  return { fileId: file.fileId, fileName: file.name, size: file.size, contentType: file.contentType };
}

function actorOf(identity: Identity): ComplianceEvent['actor'] {
  return { uri: identity.uri, kind: identity.kind, name: identity.name };
}

/** `session.resume`'s continuation: where the previous answer stopped, and the bytes this answer's rooms may take. */
export interface ResumePage {
  readonly cursor?: string;
  readonly budgetBytes?: number;
}

/** One followed room in `session.resume`: what came after the seq the client gave, the newest that fit. */
export interface RoomResume {
  readonly roomId: string;
  readonly name: string;
  readonly lastSeq: number;
  readonly messages: ChatMessage[];
  readonly more?: true;
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

function encodeRoomCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeRoomCursor(cursor: string, field = 'cursor'): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (key.length === 0) throw new BadRequestError(`field '${field}': not a cursor this server gave`, field);
  return key;
}

function encodeSeqCursor(seq: number): string {
  return encodeRoomCursor(`seq:${seq}`);
}

function decodeSeqCursor(cursor: string): number {
  const match = /^seq:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new BadRequestError("field 'cursor': not a cursor this server gave", 'cursor');
  return Number(match[1]);
}
