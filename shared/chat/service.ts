import type { Identity } from '../auth/identity';
import type { ComplianceEvent, ComplianceEventType } from '../compliance/event';
import type { Delivery } from '../connections/delivery';
import { ForbiddenError, NotFoundError, UnavailableError } from '../errors';
import type { Clock, Queue } from '../ports';
import { serverEvent } from '../protocol/envelope';
import { assertFileInRoom, fileObjectKey, fileView } from './files';
import type { ChatFile, ChatMessage, ChatStore, DirectoryEntry, FileStorage, Invitation, PostKey, PostResult } from './ports';
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
  readonly clock: Clock;
  readonly homeDomain: string;
  /** CHAT_HISTORY_PAGE_SIZE: the default page, and the most one resume answer holds per room. */
  readonly historyPageSize: number;
  readonly newId: (prefix: string) => string;
  /** Where file bytes live (S3), reached by clients through presigned URLs. */
  readonly files: FileStorage;
  /** FILE_URL_SECONDS: how long an upload or download URL lives. */
  readonly fileUrlSeconds: number;
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
    const room = newRoom(this.deps.newId('room'), caller, definition, this.deps.clock.now());
    const outcome = await this.deps.store.createRoom(room, clientId);
    if (outcome.kind === 'replayed') return this.replayedCreate(outcome.roomId);
    await this.deps.store.syncAssociations(room);
    return { roomId: room.roomId };
  }

  async updateRoom(caller: Identity, roomId: string, changes: RoomChanges) {
    return this.changeRoom(caller, roomId, (room) => applyRoomChanges(room, changes));
  }

  async deleteRoom(caller: Identity, roomId: string): Promise<{ deleted: true }> {
    const room = assertVisible(await this.deps.store.getRoom(roomId), caller.uri, roomId);
    assertManager(room, caller.uri);
    await this.deps.store.deleteRoom(room);
    return { deleted: true };
  }

  async invite(caller: Identity, roomId: string, uris: readonly string[]): Promise<{ invited: string[] }> {
    let invited: string[] = [];
    const room = await this.changeRoom(caller, roomId, (current) => {
      const outcome = inviteToRoom(current, uris);
      invited = outcome.invited;
      return outcome.room;
    });
    const invitation: Invitation = { roomId, roomName: room.name, from: { uri: caller.uri, name: caller.name }, invitedAt: this.deps.clock.now() };
    await this.deps.store.putInvitations(invited, invitation);
    await this.deps.delivery.toUsers(invited, serverEvent('chat.invitation', { ...invitation }));
    return { invited };
  }

  async invitations(caller: Identity): Promise<{ invitations: Invitation[] }> {
    return { invitations: await this.deps.store.takeUnseenInvitations(caller.uri, this.deps.clock.now()) };
  }

  async associations(caller: Identity, role: AssociationRole) {
    const rooms = await this.deps.store.getRooms(await this.deps.store.associations(caller.uri, role));
    // The index is a hint: the room itself says whether the user still holds the role.
    const holding = rooms.filter((room) => (role === 'member' ? room.members : role === 'manager' ? room.managers : room.presenters).includes(caller.uri.toLowerCase()));
    return { rooms: holding.map(roomView) };
  }

  /**
   * Listed (open and closed) rooms by name prefix from the directory; secret rooms are never listed, so
   * the caller's own secret rooms come from their memberships, on the first page only.
   */
  async searchRooms(caller: Identity, query: string, category: string | undefined, limit: number, cursor?: string) {
    const prefix = query.trim().toLowerCase();
    const page = await this.deps.store.directory(category, prefix, limit, cursor);
    const listed: DirectoryEntry[] = page.items;
    let secret: DirectoryEntry[] = [];
    if (!cursor) {
      const mine = await this.deps.store.getRooms(await this.deps.store.associations(caller.uri, 'member'));
      secret = mine
        .filter((room) => room.privacy === 'secret' && canSeeRoom(room, caller.uri))
        .filter((room) => room.name.toLowerCase().startsWith(prefix) && (category === undefined || room.category === category))
        .map(({ roomId, name, description, category: roomCategory, privacy }) => ({ roomId, name, description, category: roomCategory, privacy }));
    }
    return { rooms: [...secret, ...listed], ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  /** Follows the room: kept server-side per user, so every device of the user receives its messages. */
  async join(caller: ChatCaller, roomId: string) {
    const { identity } = caller;
    const room = assertVisible(await this.deps.store.getRoom(roomId), identity.uri, roomId);
    assertMayJoin(room, identity.uri);
    const now = this.deps.clock.now();
    await this.deps.store.follow(roomId, identity.uri, now);
    await this.archive(caller, 'chat.join', room, now);
    return { room: roomView(room), role: roleIn(room, identity.uri), followed: true };
  }

  /** Many joins in one call: each room answers on its own, as `chat.join` would. */
  async joinMany(caller: ChatCaller, roomIds: readonly string[]) {
    const results = [];
    for (const roomId of [...new Set(roomIds)]) {
      try {
        results.push({ roomId, status: 200, ...(await this.join(caller, roomId)) });
      } catch (error) {
        if (!(error instanceof NotFoundError || error instanceof ForbiddenError)) throw error;
        results.push({ roomId, status: error.status, error: { code: error.code, message: error.message } });
      }
    }
    return { rooms: results };
  }

  async part(caller: ChatCaller, roomId: string): Promise<{ followed: false }> {
    const room = assertVisible(await this.deps.store.getRoom(roomId), caller.identity.uri, roomId);
    if (await this.deps.store.unfollow(roomId, caller.identity.uri)) await this.archive(caller, 'chat.part', room, this.deps.clock.now());
    return { followed: false };
  }

  async post(caller: ChatCaller, command: { roomId: string; text: string; clientMsgId?: string; fileId?: string }): Promise<PostResult> {
    const { identity } = caller;
    const room = assertVisible(await this.deps.store.getRoom(command.roomId), identity.uri, command.roomId);
    assertMayPost(room, identity.uri);
    const file = command.fileId ? assertFileInRoom(await this.deps.store.getFile(command.fileId), command.fileId, room.roomId) : undefined;
    const key: PostKey | undefined = command.clientMsgId ? { roomId: room.roomId, senderUri: identity.uri, clientMsgId: command.clientMsgId } : undefined;
    if (key) {
      const replayed = await this.reserve(key);
      if (replayed) {
        const restored = await this.restoreIfMissing(caller, room, replayed, command.text, file);
        // Nobody saw a message that was not stored: it goes out now, as the first attempt would have sent it.
        if (restored) await this.fanOut(caller, restored);
        return this.archivePost(caller, room, replayed, command.text, file?.fileId);
      }
    }
    let seq: number | undefined;
    try {
      seq = await this.deps.store.takeSeq(room.roomId);
    } catch (error) {
      // Nothing was written: free the client id so the retry does not wait for a stale reservation.
      if (key) await this.deps.store.releasePost(key);
      throw error;
    }
    if (seq === undefined) throw new NotFoundError(`no room ${room.roomId}`);
    const message = messageOf(caller, room, { seq, messageId: this.deps.newId('cmsg'), ts: this.deps.clock.now() }, command.text, file);
    const result: PostResult = { roomId: room.roomId, messageId: message.messageId, seq, ts: message.ts };
    const completed = key ? { key, result } : undefined;
    try {
      await this.deps.store.putMessage(message, indexTokens(message.text), completed);
    } catch (error) {
      // BatchWriteItem is not atomic: a write that failed part-way may hold the message without its answer, or
      // the answer without its message. The same items once more (same seq: idempotent) make the post whole,
      // and it goes on as if the first write had worked.
      try {
        await this.deps.store.putMessage(message, indexTokens(message.text), completed);
      } catch {
        // Still failing: free the client id so the retry runs at once (a dead function's gap in the seqs); an
        // answer written without its message is repaired by that retry (restoreIfMissing).
        if (key) await this.deps.store.releasePost(key).catch(() => undefined);
        throw error;
      }
    }
    await Promise.all([this.fanOut(caller, message), this.archivePost(caller, room, result, message.text, message.fileId)]);
    return result;
  }

  /** Every connection of every follower but the posting one (it has the answer). */
  private async fanOut(caller: ChatCaller, message: ChatMessage): Promise<void> {
    await this.deps.delivery.toUsers(await this.deps.store.followers(message.roomId), serverEvent('chat.message', { ...message }), caller.connectionId);
  }

  /**
   * `chat.file.upload`: whoever may post in the room records a file and gets a URL to PUT its bytes to
   * (the size limit is the handler's). The bytes never pass through the function.
   */
  async uploadFile(caller: ChatCaller, command: { roomId: string; fileName: string; size: number; contentType: string }) {
    const { identity } = caller;
    const room = assertVisible(await this.deps.store.getRoom(command.roomId), identity.uri, command.roomId);
    assertMayPost(room, identity.uri);
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
    const page = await this.deps.store.history(roomId, limit ?? this.deps.historyPageSize, before);
    await this.archive(caller, 'chat.history', room, this.deps.clock.now(), { count: page.items.length });
    return { messages: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  /**
   * Reads the index entries of the query's longest token (newest first, at most SEARCH_CANDIDATES), then
   * the candidate messages, keeping those that hold every query token.
   */
  async search(caller: ChatCaller, roomId: string, query: string, limit: number) {
    const room = assertVisible(await this.deps.store.getRoom(roomId), caller.identity.uri, roomId);
    assertMayRead(room, caller.identity.uri);
    const queryTokens = tokenize(query);
    const lookup = pickLookupToken(queryTokens);
    const found: ChatMessage[] = [];
    if (lookup) {
      const seqs = await this.deps.store.seqsWithToken(roomId, lookup, SEARCH_CANDIDATES);
      // Candidates in small batches, newest first, until the answer is full.
      for (let start = 0; start < seqs.length && found.length < limit; start += 100) {
        const batch = await this.deps.store.messagesAt(roomId, seqs.slice(start, start + 100));
        for (const message of batch.sort((a, b) => b.seq - a.seq)) {
          if (found.length < limit && matchesQuery(message.text, queryTokens)) found.push(message);
        }
      }
    }
    await this.archive(caller, 'chat.search', room, this.deps.clock.now(), { query, count: found.length });
    return { messages: found };
  }

  /**
   * `session.resume`: for each room the user follows and may still read, what came after `since[roomId]`
   * (the newest page at most, `more` when more was missed). Followed rooms are per user, so the new
   * connection receives live messages already; nothing needs re-attaching.
   */
  async resume(identity: Identity, since: Readonly<Record<string, number>> = {}) {
    const rooms = (await this.deps.store.getRooms(await this.deps.store.followedRooms(identity.uri))).filter((room) => canReadRoom(room, identity.uri));
    return Promise.all(
      rooms.map(async (room) => {
        const after = since[room.roomId];
        if (after === undefined || after >= room.lastSeq) return { roomId: room.roomId, name: room.name, lastSeq: room.lastSeq, messages: [] };
        const missed = await this.deps.store.messagesAfter(room.roomId, after, this.deps.historyPageSize);
        return { roomId: room.roomId, name: room.name, lastSeq: room.lastSeq, messages: missed.messages, ...(missed.more ? { more: true } : {}) };
      }),
    );
  }

  /** Reads, checks the manager, applies the change and writes it on the version read; re-decides on a race. */
  private async changeRoom(caller: Identity, roomId: string, change: (room: Room) => Room): Promise<Room> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const room = assertVisible(await this.deps.store.getRoom(roomId), caller.uri, roomId);
      assertManager(room, caller.uri);
      const next = change(room);
      if (await this.deps.store.updateRoom(room, next)) {
        await this.deps.store.syncAssociations(next, room);
        return next;
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

  /** Reserves the post's client id; answers the earlier result when this is a retry of a finished post. */
  /**
   * A retry answered from its idempotency record: the record is written with its message, but not atomically
   * (see post), so the message is checked (one consistent read, on retries only) and written from the retry,
   * which carries the same message, if a failed write left the answer without it. Acknowledged is stored.
   */
  private async restoreIfMissing(caller: ChatCaller, room: Room, result: PostResult, text: string, file?: ChatFile): Promise<ChatMessage | undefined> {
    const [stored] = await this.deps.store.messagesAt(room.roomId, [result.seq]);
    if (stored) return undefined;
    const message = messageOf(caller, room, result, text, file);
    await this.deps.store.putMessage(message, indexTokens(text));
    return message;
  }

  private async reserve(key: PostKey): Promise<PostResult | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.deps.clock.now();
      const record = await this.deps.store.getPost(key);
      if (record?.status === 'done') return record.result;
      if (record?.status === 'pending' && record.reservedAt >= now - RESERVATION_STALE_MS) {
        throw new UnavailableError('this message is being posted; retry with the same clientMsgId', 200);
      }
      if (await this.deps.store.reservePost(key, now, now - RESERVATION_STALE_MS)) return undefined;
    }
    throw new UnavailableError('this message is being posted; retry with the same clientMsgId', 200);
  }

  private archivePost(caller: ChatCaller, room: Room, result: PostResult, text: string, fileId?: string): Promise<PostResult> {
    return this.send(
      {
        eventId: `chat.post:${room.roomId}:${result.seq}`,
        type: 'chat.post',
        actor: actorOf(caller.identity),
        target: { kind: 'room', id: room.roomId, name: room.name },
        at: result.ts,
        content: text,
        details: { seq: result.seq, messageId: result.messageId, ...(fileId ? { fileId } : {}) },
      },
      'the message is stored but not yet archived; retry with the same clientMsgId',
    ).then(() => result);
  }

  private archive(caller: ChatCaller, type: ComplianceEventType, room: Room, at: number, details: Record<string, string | number> = {}): Promise<void> {
    return this.send(
      {
        // A command without a client id: its request id makes the event stable across redeliveries of this command.
        eventId: `${type}:${room.roomId}:${caller.identity.uri}:${caller.requestId}`,
        type,
        actor: actorOf(caller.identity),
        target: { kind: 'room', id: room.roomId, name: room.name },
        at,
        details,
      },
      'not yet archived; retry',
    );
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

function fileDetails(file: ChatFile): Record<string, string | number> {
  return { fileId: file.fileId, fileName: file.name, size: file.size, contentType: file.contentType };
}

function actorOf(identity: Identity): ComplianceEvent['actor'] {
  return { uri: identity.uri, kind: identity.kind, name: identity.name };
}
