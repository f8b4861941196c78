import type {
  ChatFile,
  ChatMessage,
  ChatStore,
  CreateOutcome,
  DirectoryEntry,
  Invitation,
  Page,
  PostKey,
  PostRecord,
  PostReservation,
  PostResult,
  RoomWordPage,
  ReadMarker,
} from '../../../shared/chat/ports';
import { type AssociationRole, associationRoles, type Category, type Room } from '../../../shared/chat/room';
import { indexedRoomWords } from '../../../shared/chat/room-words';
import type { ComplianceEvent } from '../../../shared/compliance/event';
import { BadRequestError, DependencyUnavailableError } from '../../../shared/errors';
import { decodeKeyCursor, encodeKeyCursor } from '../../../shared/protocol/cursor';
import type { PageFit } from '../../../shared/protocol/frame-fit';
import type { MemoryOutbox } from './compliance';

type Method = { [K in keyof ChatStore]: ChatStore[K] extends (...args: never[]) => unknown ? K : never }[keyof ChatStore];

/** What a test runs around one call of a store method: `before` (a concurrent writer, a failure with no effect), `after` (a lost answer). */
interface Interception {
  readonly when: 'before' | 'after';
  readonly run: () => unknown;
}

/** The directory partition listing every category's rooms, as in DynamoDB. */
const ALL_CATEGORIES = '*';
const seqSortKey = (seq: number) => `MSG#${String(seq).padStart(12, '0')}`;
const invitationSortKey = (invitation: Invitation) => `${String(invitation.invitedAt).padStart(15, '0')}#${invitation.roomId}`;

/**
 * The chat store in memory, held to the same contract as `DynamoChatStore` (test/support/contracts/chat-store.contract.ts).
 * Each call runs its effect at once, with no await inside, so a call is atomic as one conditional write or
 * transaction is. A test reaches between a use case's read and its conditional write with `before('updateRoom', …)`
 * (a concurrent writer), makes a call fail without effect with `failNext`, or lose its answer after its effect with
 * `loseNextAnswer`. Outbox items written with a change go to `outbox` when one is given.
 */
export class MemoryChatStore implements ChatStore {
  readonly rooms = new Map<string, Room & { readonly fileCount: number }>();
  readonly messages = new Map<string, Map<number, ChatMessage>>();
  /** roomId → follower uri → followedAt. */
  readonly follows = new Map<string, Map<string, number>>();
  /** `${roomId}|${role}|${uri}` association items. */
  readonly associationItems = new Set<string>();
  /** category (or `*`) → sort key (`name#roomId`) → entry. */
  readonly directoryEntries = new Map<string, Map<string, DirectoryEntry>>();
  readonly categories = new Map<string, Category>();
  readonly posts = new Map<string, PostRecord>();
  readonly creates = new Map<string, string>();
  /** `${roomId}#${token}` → seqs. */
  readonly tokens = new Map<string, Set<number>>();
  /** `${roomId}|${messageId}` → seq: the pointer `chat.edit` and `chat.retract` find a message by. */
  readonly messageIds = new Map<string, number>();
  readonly files = new Map<string, ChatFile>();
  /** uri → sort key (`invitedAt#roomId`) → invitation, seen or not. */
  readonly invitationsOf = new Map<string, Map<string, { invitation: Invitation; seen: boolean }>>();
  /** category (or `*`) → sort key (`word#roomId`) → the word index item (`chat.chansrch`). */
  readonly roomWordItems = new Map<string, Map<string, { roomId: string; word: string }>>();
  /** `${roomId}|${uri}` → the user's read marker item (`readSeq` absent until one is set) and mention seqs. */
  readonly markers = new Map<string, { readSeq?: number; mentionSeqs: Set<number> }>();
  /** Calls made, by method, in order. */
  readonly calls: Method[] = [];
  private readonly interceptions = new Map<Method, Interception[]>();
  private running = 0;

  constructor(private readonly outbox?: MemoryOutbox) {}

  /** Runs `action` just before the next call of `method` takes effect (e.g. a concurrent `room.update` between a read and a write). */
  before(method: Method, action: () => unknown): this {
    return this.intercept(method, { when: 'before', run: action });
  }

  /** The next `times` calls of `method` fail with no effect, as a write that timed out before DynamoDB applied it. */
  failNext(method: Method, times = 1, error: () => Error = () => new DependencyUnavailableError('dynamodb')): this {
    for (let i = 0; i < times; i++) {
      this.intercept(method, {
        when: 'before',
        run: () => {
          throw error();
        },
      });
    }
    return this;
  }

  /** The next call of `method` takes effect, then fails: its answer was lost (a timeout after DynamoDB applied it). */
  loseNextAnswer(method: Method, error: () => Error = () => new DependencyUnavailableError('dynamodb')): this {
    return this.intercept(method, {
      when: 'after',
      run: () => {
        throw error();
      },
    });
  }

  callsOf(method: Method): number {
    return this.calls.filter((call) => call === method).length;
  }

  async getRoom(roomId: string): Promise<Room | undefined> {
    return this.op('getRoom', () => this.roomOf(roomId));
  }

  async getRooms(roomIds: readonly string[]): Promise<Room[]> {
    return this.op('getRooms', () => [...new Set(roomIds)].map((roomId) => this.roomOf(roomId)).filter((room): room is Room => room !== undefined));
  }

  async replayCreate(creatorUri: string, clientId: string): Promise<string | undefined> {
    return this.op('replayCreate', () => this.creates.get(`${creatorUri}|${clientId}`));
  }

  async createRoom(room: Room, clientId?: string): Promise<CreateOutcome> {
    return this.op('createRoom', () => {
      const createKey = clientId ? `${room.createdBy}|${clientId}` : undefined;
      const earlier = createKey ? this.creates.get(createKey) : undefined;
      if (earlier) return { kind: 'replayed', roomId: earlier };
      if (this.rooms.has(room.roomId)) throw new Error(`creating room ${room.roomId} failed: it exists`);
      this.rooms.set(room.roomId, { ...clone(room), fileCount: 0 });
      this.putDirectory(room);
      if (createKey) this.creates.set(createKey, room.roomId);
      return { kind: 'created' };
    });
  }

  async updateRoom(seen: Room, next: Room): Promise<boolean> {
    return this.op('updateRoom', () => {
      const stored = this.rooms.get(seen.roomId);
      if (!stored || stored.version !== seen.version) return false;
      // The definition only: lastSeq and the file count move under concurrent posts and uploads.
      this.rooms.set(seen.roomId, { ...clone(next), lastSeq: stored.lastSeq, fileCount: stored.fileCount, createdBy: stored.createdBy, createdAt: stored.createdAt, category: stored.category });
      this.removeDirectory(seen);
      this.putDirectory(next);
      return true;
    });
  }

  async deleteRoom(room: Room): Promise<void> {
    return this.op('deleteRoom', () => {
      this.rooms.delete(room.roomId);
      this.removeDirectory(room);
      this.follows.delete(room.roomId);
      for (const item of associationKeys(room)) this.associationItems.delete(item);
    });
  }

  async syncAssociations(room: Room, previous?: Room): Promise<void> {
    return this.op('syncAssociations', () => {
      const wanted = new Set(associationKeys(room));
      for (const item of previous ? associationKeys(previous) : []) if (!wanted.has(item)) this.associationItems.delete(item);
      for (const item of wanted) this.associationItems.add(item);
    });
  }

  async associations(uri: string, role: AssociationRole): Promise<string[]> {
    return this.op('associations', () => this.associated(uri, role));
  }

  async getCategory(category: string): Promise<Category | undefined> {
    return this.op('getCategory', () => clone(this.categories.get(category)));
  }

  async putCategory(category: Category): Promise<void> {
    return this.op('putCategory', () => void this.categories.set(category.category, clone(category)));
  }

  async directory(category: string | undefined, namePrefix: string, limit: number, cursor?: string, fit?: PageFit<DirectoryEntry>): Promise<Page<DirectoryEntry>> {
    return this.op('directory', () => {
      const after = cursor ? decodePrefixed(cursor, 'cursor', namePrefix) : undefined;
      const entries = [...(this.directoryEntries.get(category ?? ALL_CATEGORIES) ?? new Map<string, DirectoryEntry>()).entries()]
        .filter(([sortKey]) => sortKey.startsWith(namePrefix) && (after === undefined || sortKey > after))
        .sort(([a], [b]) => compare(a, b));
      return cutPage(entries, limit, fit);
    });
  }

  async follow(roomId: string, uri: string, now: number, event: ComplianceEvent): Promise<void> {
    return this.op('follow', () => {
      this.followersOf(roomId).set(uri, now);
      this.outbox?.add(event);
    });
  }

  async unfollow(roomId: string, uri: string, event: ComplianceEvent): Promise<boolean> {
    return this.op('unfollow', () => {
      if (!this.follows.get(roomId)?.delete(uri)) return false;
      this.outbox?.add(event);
      return true;
    });
  }

  async followers(roomId: string): Promise<string[]> {
    return this.op('followers', () => [...(this.follows.get(roomId)?.keys() ?? [])].sort(compare));
  }

  async followedRooms(uri: string): Promise<string[]> {
    return this.op('followedRooms', () => this.roomsFollowedBy(uri));
  }

  async isFollowing(roomId: string, uri: string): Promise<boolean> {
    return this.op('isFollowing', () => this.follows.get(roomId)?.has(uri) ?? false);
  }

  async countFollowed(uri: string, atMost: number): Promise<number> {
    return this.op('countFollowed', () => Math.min(atMost, this.roomsFollowedBy(uri).length));
  }

  async countAssociations(uri: string, role: AssociationRole, atMost: number): Promise<number> {
    return this.op('countAssociations', () => Math.min(atMost, this.associated(uri, role).length));
  }

  async takeFileSlot(roomId: string, max: number): Promise<boolean> {
    return this.op('takeFileSlot', () => {
      const room = this.rooms.get(roomId);
      if (!room || room.fileCount >= max) return false;
      this.rooms.set(roomId, { ...room, fileCount: room.fileCount + 1 });
      return true;
    });
  }

  async getPost(key: PostKey): Promise<PostRecord | undefined> {
    return this.op('getPost', () => clone(this.posts.get(postKeyOf(key))));
  }

  async reservePost(key: PostKey, now: number, staleBefore: number): Promise<PostReservation | undefined> {
    return this.op('reservePost', () => {
      const record = this.posts.get(postKeyOf(key));
      if (record && !(record.status === 'pending' && record.reservedAt < staleBefore)) return undefined;
      const seq = record?.status === 'pending' ? record.seq : undefined;
      this.posts.set(postKeyOf(key), { status: 'pending', reservedAt: now, ...(seq !== undefined ? { seq } : {}) });
      return seq !== undefined ? { seq } : {};
    });
  }

  async recordPostSeq(key: PostKey, reservedAt: number, seq: number): Promise<void> {
    return this.op('recordPostSeq', () => {
      const record = this.posts.get(postKeyOf(key));
      if (record?.status !== 'pending' || record.reservedAt !== reservedAt) throw conditionFailed();
      this.posts.set(postKeyOf(key), { ...record, seq });
    });
  }

  async releasePost(key: PostKey): Promise<void> {
    return this.op('releasePost', () => {
      const record = this.posts.get(postKeyOf(key));
      if (record?.status === 'pending') this.posts.set(postKeyOf(key), { ...record, reservedAt: 0 });
    });
  }

  async takeSeq(roomId: string): Promise<number | undefined> {
    return this.op('takeSeq', () => {
      const room = this.rooms.get(roomId);
      if (!room) return undefined;
      this.rooms.set(roomId, { ...room, lastSeq: room.lastSeq + 1 });
      return room.lastSeq + 1;
    });
  }

  async commitMessage(message: ChatMessage, event: ComplianceEvent, completed?: { readonly key: PostKey; readonly result: PostResult }): Promise<'committed' | 'taken'> {
    return this.op('commitMessage', () => {
      const messages = this.messages.get(message.roomId) ?? new Map<number, ChatMessage>();
      if (messages.has(message.seq)) return 'taken';
      if (completed && this.posts.get(postKeyOf(completed.key))?.status === 'done') return 'taken';
      messages.set(message.seq, clone(message));
      this.messages.set(message.roomId, messages);
      this.messageIds.set(`${message.roomId}|${message.messageId}`, message.seq);
      if (completed) this.posts.set(postKeyOf(completed.key), { status: 'done', result: clone(completed.result) });
      this.outbox?.add(event);
      return 'committed';
    });
  }

  async indexMessage(message: ChatMessage, tokens: readonly string[]): Promise<void> {
    return this.op('indexMessage', () => {
      for (const token of tokens) {
        const seqs = this.tokens.get(`${message.roomId}#${token}`) ?? new Set<number>();
        seqs.add(message.seq);
        this.tokens.set(`${message.roomId}#${token}`, seqs);
      }
    });
  }

  async unindexMessage(message: ChatMessage, tokens: readonly string[]): Promise<void> {
    return this.op('unindexMessage', () => {
      for (const token of tokens) this.tokens.get(`${message.roomId}#${token}`)?.delete(message.seq);
    });
  }

  async messageById(roomId: string, messageId: string): Promise<ChatMessage | undefined> {
    return this.op('messageById', () => {
      const seq = this.messageIds.get(`${roomId}|${messageId}`);
      return seq === undefined ? undefined : clone(this.messages.get(roomId)?.get(seq));
    });
  }

  async reviseMessage(seen: ChatMessage, next: ChatMessage, event: ComplianceEvent): Promise<boolean> {
    return this.op('reviseMessage', () => {
      const messages = this.messages.get(seen.roomId);
      const stored = messages?.get(seen.seq);
      if (!messages || !stored || stored.messageId !== seen.messageId || stored.retracted || stored.editedAt !== seen.editedAt) return false;
      // As the adapter's transaction: the file's record is marked with the tombstone, on condition that it exists.
      const file = next.retracted && seen.fileId ? this.files.get(seen.fileId) : undefined;
      if (next.retracted && seen.fileId && !file) return false;
      if (file) this.files.set(file.fileId, { ...file, retractedAt: next.retractedAt! });
      messages.set(seen.seq, clone(next));
      this.outbox?.add(event);
      return true;
    });
  }

  async history(roomId: string, limit: number, before?: string, fit?: PageFit<ChatMessage>): Promise<Page<ChatMessage>> {
    return this.op('history', () => {
      const below = before ? decodePrefixed(before, 'before', 'MSG#') : undefined;
      const newestFirst = this.messagesOf(roomId)
        .reverse()
        .map((message): [string, ChatMessage] => [seqSortKey(message.seq), message])
        .filter(([sortKey]) => below === undefined || sortKey < below);
      return cutPage(newestFirst, limit, fit);
    });
  }

  async messagesAfter(roomId: string, afterSeq: number, limit: number): Promise<{ messages: ChatMessage[]; more: boolean }> {
    return this.op('messagesAfter', () => {
      const after = this.messagesOf(roomId).filter((message) => message.seq > afterSeq);
      return { messages: after.slice(Math.max(0, after.length - limit)), more: after.length > limit };
    });
  }

  async seqsWithToken(roomId: string, token: string, limit: number, beforeSeq?: number): Promise<number[]> {
    return this.op('seqsWithToken', () =>
      [...(this.tokens.get(`${roomId}#${token}`) ?? [])]
        .filter((seq) => beforeSeq === undefined || seq < beforeSeq)
        .sort((a, b) => b - a)
        .slice(0, limit),
    );
  }

  async messagesAt(roomId: string, seqs: readonly number[]): Promise<ChatMessage[]> {
    return this.op('messagesAt', () => {
      const messages = this.messages.get(roomId);
      return [...new Set(seqs)].map((seq) => messages?.get(seq)).filter((message): message is ChatMessage => message !== undefined).map(clone);
    });
  }

  async putFile(file: ChatFile): Promise<void> {
    return this.op('putFile', () => {
      if (this.files.has(file.fileId)) throw conditionFailed();
      this.files.set(file.fileId, clone(file));
    });
  }

  async getFile(fileId: string): Promise<ChatFile | undefined> {
    return this.op('getFile', () => clone(this.files.get(fileId)));
  }

  async putInvitations(uris: readonly string[], invitation: Invitation): Promise<void> {
    return this.op('putInvitations', () => {
      for (const uri of uris) {
        const held = this.invitationsOf.get(uri) ?? new Map<string, { invitation: Invitation; seen: boolean }>();
        held.set(invitationSortKey(invitation), { invitation: clone(invitation), seen: false });
        this.invitationsOf.set(uri, held);
      }
    });
  }

  async countUnseenInvitations(uri: string, atMost: number): Promise<number> {
    return this.op('countUnseenInvitations', () => Math.min(atMost, this.unseen(uri).length));
  }

  async holdsUnseenInvitation(uri: string, roomId: string): Promise<boolean> {
    return this.op('holdsUnseenInvitation', () => this.unseen(uri).some((entry) => entry.invitation.roomId === roomId));
  }

  async takeUnseenInvitations(uri: string, _now: number, fit?: PageFit<Invitation>): Promise<{ invitations: Invitation[]; more: boolean }> {
    return this.op('takeUnseenInvitations', () => {
      const unseen = this.unseen(uri);
      const kept = fit ? fit(unseen.map((entry) => entry.invitation)) : unseen.length;
      const taken = unseen.slice(0, kept);
      for (const entry of taken) entry.seen = true;
      return { invitations: taken.map((entry) => clone(entry.invitation)), more: kept < unseen.length };
    });
  }

  async readMarkers(uri: string, roomIds: readonly string[]): Promise<Map<string, ReadMarker>> {
    return this.op('readMarkers', () => {
      const found = new Map<string, ReadMarker>();
      for (const roomId of roomIds) {
        const item = this.markers.get(`${roomId}|${uri}`);
        if (item) found.set(roomId, markerOf(item));
      }
      return found;
    });
  }

  async startReading(roomId: string, uri: string, seq: number): Promise<ReadMarker> {
    return this.op('startReading', () => {
      const item = this.markerItem(roomId, uri);
      item.readSeq ??= seq;
      return markerOf(item);
    });
  }

  async markRead(roomId: string, uri: string, seq: number, _now: number): Promise<{ moved: boolean; marker: ReadMarker }> {
    return this.op('markRead', () => {
      const item = this.markerItem(roomId, uri);
      if (item.readSeq !== undefined && item.readSeq >= seq) return { moved: false, marker: markerOf(item) };
      item.readSeq = seq;
      return { moved: true, marker: markerOf(item) };
    });
  }

  async recordMention(roomId: string, uri: string, seq: number, max: number): Promise<boolean> {
    return this.op('recordMention', () => {
      const item = this.markerItem(roomId, uri);
      if (item.mentionSeqs.size >= max && !item.mentionSeqs.has(seq)) return false;
      item.mentionSeqs.add(seq);
      return true;
    });
  }

  async pruneMentions(roomId: string, uri: string, seqs: readonly number[]): Promise<void> {
    return this.op('pruneMentions', () => {
      const item = this.markers.get(`${roomId}|${uri}`);
      for (const seq of seqs) item?.mentionSeqs.delete(seq);
    });
  }

  private markerItem(roomId: string, uri: string): { readSeq?: number; mentionSeqs: Set<number> } {
    const key = `${roomId}|${uri}`;
    const item = this.markers.get(key) ?? { mentionSeqs: new Set<number>() };
    this.markers.set(key, item);
    return item;
  }

  async holdsInvitation(uri: string, roomId: string): Promise<boolean> {
    return this.op('holdsInvitation', () => [...(this.invitationsOf.get(uri)?.values() ?? [])].some((entry) => entry.invitation.roomId === roomId));
  }

  async removeInvitations(uri: string, roomId: string): Promise<void> {
    return this.op('removeInvitations', () => {
      const held = this.invitationsOf.get(uri);
      for (const [sortKey, entry] of held ?? []) if (entry.invitation.roomId === roomId) held?.delete(sortKey);
    });
  }

  async followersPage(roomId: string, limit: number, cursor?: string): Promise<Page<string>> {
    return this.op('followersPage', () => {
      const after = cursor ? decodePrefixed(cursor, 'cursor', 'FOLLOWER#') : undefined;
      const followers = [...(this.follows.get(roomId)?.keys() ?? [])]
        .map((uri): [string, string] => [`FOLLOWER#${uri}`, uri])
        .filter(([sortKey]) => after === undefined || sortKey > after)
        .sort(([a], [b]) => compare(a, b));
      return cutPage(followers, limit);
    });
  }

  async syncRoomWords(room: Room | undefined, previous?: Room): Promise<void> {
    return this.op('syncRoomWords', () => {
      for (const old of previous ? roomWordEntries(previous) : []) this.roomWordItems.get(old.category)?.delete(old.sortKey);
      for (const entry of room ? roomWordEntries(room) : []) {
        const items = this.roomWordItems.get(entry.category) ?? new Map<string, { roomId: string; word: string }>();
        items.set(entry.sortKey, { roomId: entry.roomId, word: entry.word });
        this.roomWordItems.set(entry.category, items);
      }
    });
  }

  async roomsByWord(category: string | undefined, prefix: string, limit: number, after?: string): Promise<RoomWordPage> {
    return this.op('roomsByWord', () => {
      const start = after ? decodePrefixed(after, 'cursor', prefix) : undefined;
      const matching = [...(this.roomWordItems.get(category ?? ALL_CATEGORIES)?.entries() ?? [])]
        .filter(([sortKey]) => sortKey.startsWith(prefix) && (start === undefined || sortKey > start))
        .sort(([a], [b]) => compare(a, b));
      return {
        items: matching.slice(0, limit).map(([sortKey, item]) => ({ ...item, position: encodeKeyCursor(sortKey) })),
        more: matching.length > limit,
      };
    });
  }

  private intercept(method: Method, interception: Interception): this {
    this.interceptions.set(method, [...(this.interceptions.get(method) ?? []), interception]);
    return this;
  }

  /** One call: the `before` interceptions queued for it, its effect (synchronous: atomic), then the `after` ones. */
  private async op<T>(method: Method, effect: () => T): Promise<T> {
    this.calls.push(method);
    // The calls an interception makes itself (the concurrent writer's) are not intercepted.
    const queued = this.running > 0 ? [] : (this.interceptions.get(method) ?? []);
    const next = queued[0];
    if (next?.when === 'before') {
      queued.shift();
      await this.run(next);
    }
    const result = effect();
    const after = queued[0];
    if (after?.when === 'after') {
      queued.shift();
      await this.run(after);
    }
    return result;
  }

  private async run(interception: Interception): Promise<void> {
    this.running++;
    try {
      await interception.run();
    } finally {
      this.running--;
    }
  }

  private roomOf(roomId: string): Room | undefined {
    const stored = this.rooms.get(roomId);
    if (!stored) return undefined;
    const { fileCount: _fileCount, ...room } = stored;
    return clone(room);
  }

  private followersOf(roomId: string): Map<string, number> {
    const followers = this.follows.get(roomId) ?? new Map<string, number>();
    this.follows.set(roomId, followers);
    return followers;
  }

  private roomsFollowedBy(uri: string): string[] {
    return [...this.follows.entries()].filter(([, followers]) => followers.has(uri)).map(([roomId]) => roomId).sort(compare);
  }

  private associated(uri: string, role: AssociationRole): string[] {
    const suffix = `|${role}|${uri.toLowerCase()}`;
    return [...this.associationItems].filter((item) => item.endsWith(suffix)).map((item) => item.slice(0, item.length - suffix.length)).sort(compare);
  }

  private messagesOf(roomId: string): ChatMessage[] {
    return [...(this.messages.get(roomId)?.values() ?? [])].sort((a, b) => a.seq - b.seq).map(clone);
  }

  private unseen(uri: string): { invitation: Invitation; seen: boolean }[] {
    return [...(this.invitationsOf.get(uri)?.entries() ?? [])]
      .sort(([a], [b]) => compare(a, b))
      .map(([, entry]) => entry)
      .filter((entry) => !entry.seen);
  }

  /** Secret rooms are never listed. */
  private putDirectory(room: Room): void {
    if (room.privacy === 'secret') return;
    const entry: DirectoryEntry = { roomId: room.roomId, name: room.name, description: room.description, category: room.category, privacy: room.privacy };
    for (const category of [room.category, ALL_CATEGORIES]) {
      const entries = this.directoryEntries.get(category) ?? new Map<string, DirectoryEntry>();
      entries.set(directorySortKey(room), entry);
      this.directoryEntries.set(category, entries);
    }
  }

  private removeDirectory(room: Room): void {
    for (const category of [room.category, ALL_CATEGORIES]) this.directoryEntries.get(category)?.delete(directorySortKey(room));
  }
}

function directorySortKey(room: Pick<Room, 'name' | 'roomId'>): string {
  return `${room.name.toLowerCase()}#${room.roomId}`;
}

/** The word index items of a listed room, under its category and `*`, as DynamoDB keys them. */
function roomWordEntries(room: Room): { category: string; sortKey: string; roomId: string; word: string }[] {
  return indexedRoomWords(room).flatMap((word) => [room.category, ALL_CATEGORIES].map((category) => ({ category, sortKey: `${word}#${room.roomId}`, roomId: room.roomId, word })));
}

function associationKeys(room: Room): string[] {
  return associationRoles.flatMap((role) => (role === 'member' ? room.members : role === 'manager' ? room.managers : room.presenters).map((uri) => `${room.roomId}|${role}|${uri}`));
}

function postKeyOf(key: PostKey): string {
  return `${key.senderUri}|${key.roomId}|${key.clientMsgId}`;
}

/** `limit` items (cut further by `fit`), the cursor after the last one kept whenever items remain: as the adapter's pages. */
function cutPage<T>(sorted: readonly [string, T][], limit: number, fit?: PageFit<T>): Page<T> {
  const page = sorted.slice(0, limit).map(([, item]) => clone(item));
  const kept = fit ? fit(page) : page.length;
  const last = sorted[kept - 1];
  return sorted.length > kept && last ? { items: page.slice(0, kept), cursor: encodeKeyCursor(last[0]) } : { items: page };
}

function decodePrefixed(cursor: string, field: string, prefix: string): string {
  const key = decodeKeyCursor(cursor, field);
  if (!key.startsWith(prefix)) throw new BadRequestError(`field '${field}': not a cursor this server gave`, field);
  return key;
}

function conditionFailed(): Error {
  return Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
}

function markerOf(item: { readSeq?: number; mentionSeqs: Set<number> }): ReadMarker {
  return { readSeq: item.readSeq ?? 0, mentionSeqs: [...item.mentionSeqs].sort((a, b) => a - b) };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}
