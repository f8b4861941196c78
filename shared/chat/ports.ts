import type { ComplianceEvent } from '../compliance/event';
import type { PageFit } from '../protocol/frame-fit';
import type { Availability } from '../presence/presence';
import type { AssociationRole, Category, Room, RoomPrivacy } from './room';

export interface ChatMessage {
  readonly roomId: string;
  /**
   * +1 per message in the room, from 1. No gaps where posts carry a clientMsgId (a retry reuses its reserved seq);
   * a seq stays empty only in the cases docs/architecture.md lists ("seq without gaps or duplicates").
   */
  readonly seq: number;
  readonly messageId: string;
  readonly from: { readonly uri: string; readonly name: string };
  readonly text: string;
  readonly ts: number;
  readonly fileId?: string;
  /** The attached file's description (`chat.file.upload`), set with `fileId`. */
  readonly file?: FileView;
  /** `chat.grpchat {mentions}`: the users the post names (SIP URIs, lower-cased, distinct); each who may read the room gets `chat.mention`. */
  readonly mentions?: readonly string[];
  /** `chat.edit`: when the text was last changed (epoch ms; rises with every edit, so it also versions the message). */
  readonly editedAt?: number;
  /** `chat.retract`: a tombstone at its seq (text empty, no file), with when and by whom. */
  readonly retracted?: true;
  readonly retractedAt?: number;
  readonly retractedBy?: string;
}

/** A file uploaded to a room (`FILE#{fileId}`): the bytes live in object storage under `key`. */
export interface ChatFile {
  readonly fileId: string;
  readonly roomId: string;
  readonly uploader: string;
  readonly name: string;
  /** Bytes, as declared at upload and bound into the upload URL's signature. */
  readonly size: number;
  readonly contentType: string;
  /** The object key in the files bucket. */
  readonly key: string;
  readonly createdAt: number;
  /** Set when a message carrying the file was retracted (`chat.retract`): the file is gone, `chat.file.download` answers 410. */
  readonly retractedAt?: number;
}

/** What a message and `chat.file.download` show of a file. */
export interface FileView {
  readonly fileId: string;
  readonly name: string;
  readonly size: number;
  readonly contentType: string;
}

export interface SignedUrl {
  readonly url: string;
  /** Epoch ms after which the URL is refused. */
  readonly expiresAt: number;
}

/** Object storage for chat files, reached by clients through short-lived presigned URLs (S3). */
export interface FileStorage {
  /** A URL that accepts one PUT of `size` bytes of `contentType` until it expires. */
  uploadUrl(file: ChatFile, expiresInSeconds: number, now: number): Promise<SignedUrl>;
  /** A URL that GETs the object, served as an attachment named after the file. */
  downloadUrl(file: ChatFile, expiresInSeconds: number, now: number): Promise<SignedUrl>;
}

/** What a post answered: kept with the client's id so a retry gets the same answer (SPEC §2). */
export interface PostResult {
  readonly roomId: string;
  readonly messageId: string;
  readonly seq: number;
  readonly ts: number;
}

export interface PostKey {
  readonly roomId: string;
  readonly senderUri: string;
  readonly clientMsgId: string;
}

/**
 * A post's idempotency record: reserved while the post runs (with the seq it took, once it has one, so that a
 * retry after a failed write posts under the same seq and leaves no hole), then done with its answer.
 */
export type PostRecord =
  | { readonly status: 'pending'; readonly reservedAt: number; readonly seq?: number }
  | { readonly status: 'done'; readonly result: PostResult };

/** A reservation taken: `seq` when an earlier attempt of this post had already taken one (reuse it). */
export interface PostReservation {
  readonly seq?: number;
}

/** Why a follower lost a room (`chat.removed`): its privacy or its membership changed so they may not read it, or it was deleted. */
export type RemovalReason = 'privacy' | 'membership' | 'deleted';

/** A listed (open or closed) room in the directory that `chat.chansrch` reads. */
export interface DirectoryEntry {
  readonly roomId: string;
  readonly name: string;
  readonly description: string;
  readonly category: string;
  readonly privacy: RoomPrivacy;
}

export interface Page<T> {
  readonly items: T[];
  readonly cursor?: string;
}

/** Word index items (`chat.chansrch`): a room and its word; `position` continues the query after this item. */
export interface RoomWordPage {
  readonly items: { readonly roomId: string; readonly word: string; readonly position: string }[];
  readonly more: boolean;
}

/** What `chat.occupants` reads of presence (SPEC §5): the aggregated availability watchers see, for many users at once. */
export interface PresenceAvailability {
  /** Each user's aggregated availability (batch reads); a user never seen is absent (offline). */
  availabilityOf(uris: readonly string[]): Promise<Map<string, Availability>>;
}

export interface Invitation {
  readonly roomId: string;
  readonly roomName: string;
  readonly from: { readonly uri: string; readonly name: string };
  readonly invitedAt: number;
}

export type CreateOutcome = { readonly kind: 'created' } | { readonly kind: 'replayed'; readonly roomId: string };

/** Rooms, their messages and indexes. Writes that race are conditional; outcomes say who won. */
export interface ChatStore extends ReadMarkerStore {
  getRoom(roomId: string): Promise<Room | undefined>;
  /** The rooms that exist among these ids (deleted ones are left out). */
  getRooms(roomIds: readonly string[]): Promise<Room[]>;
  /** The room id an earlier create with this client id made, if any. */
  replayCreate(creatorUri: string, clientId: string): Promise<string | undefined>;
  /** Creates the room (and its directory entries); `replayed` when this client id already made one. */
  createRoom(room: Room, clientId?: string): Promise<CreateOutcome>;
  /** Replaces the room if its version is still `seen.version`; moves its directory entries with it. */
  updateRoom(seen: Room, next: Room): Promise<boolean>;
  deleteRoom(room: Room): Promise<void>;
  /** Brings the per-user association items in line with the room (idempotent; `previous` lists what to remove). */
  syncAssociations(room: Room, previous?: Room): Promise<void>;
  /** Room ids the user holds this role in, by the association index (the caller re-checks the rooms). */
  associations(uri: string, role: AssociationRole): Promise<string[]>;
  getCategory(category: string): Promise<Category | undefined>;
  putCategory(category: Category): Promise<void>;
  /** Listed rooms of a category (or of every category), by name prefix, in name order. */
  directory(category: string | undefined, namePrefix: string, limit: number, cursor?: string, fit?: PageFit<DirectoryEntry>): Promise<Page<DirectoryEntry>>;
  /** Follows the room, with the join's compliance event in the outbox in the same transaction. */
  follow(roomId: string, uri: string, now: number, event: ComplianceEvent): Promise<void>;
  /** Stops following, with the part's compliance event in the outbox in the same transaction; false when the user did not follow the room. */
  unfollow(roomId: string, uri: string, event: ComplianceEvent): Promise<boolean>;
  followers(roomId: string): Promise<string[]>;
  followedRooms(uri: string): Promise<string[]>;
  /** Whether the user follows the room (one item read). */
  isFollowing(roomId: string, uri: string): Promise<boolean>;
  /** How many rooms the user follows, counted up to `atMost` (a bounded query: never more items read than that). */
  countFollowed(uri: string, atMost: number): Promise<number>;
  /** How many rooms the user holds this role in, counted up to `atMost` (a bounded query). */
  countAssociations(uri: string, role: AssociationRole, atMost: number): Promise<number>;
  /** Takes one of the room's file slots (a count kept on the room item); false when `max` are taken (or no room). */
  takeFileSlot(roomId: string, max: number): Promise<boolean>;
  getPost(key: PostKey): Promise<PostRecord | undefined>;
  /**
   * Reserves the client id for this post (with the seq an earlier attempt recorded, if any); undefined if another
   * attempt holds it (unless its hold is older than `staleBefore`).
   */
  reservePost(key: PostKey, now: number, staleBefore: number): Promise<PostReservation | undefined>;
  /** Records in the reservation taken at `reservedAt` the seq this post took. */
  recordPostSeq(key: PostKey, reservedAt: number, seq: number): Promise<void>;
  /** Lets a retry take the reservation at once; the seq it holds stays, for that retry to reuse. */
  releasePost(key: PostKey): Promise<void>;
  /** The room's next seq (atomic counter); undefined when the room does not exist. */
  takeSeq(roomId: string): Promise<number | undefined>;
  /**
   * Stores the message at its seq (with the pointer from its id to its seq, for `chat.edit` / `chat.retract`), for
   * a post with a client id its answer, and its compliance event in the outbox, all or nothing (one transaction). `taken` when the seq already holds a message or the answer is
   * already written (an earlier attempt, or this one's own write retried after a lost response).
   */
  commitMessage(message: ChatMessage, event: ComplianceEvent, completed?: { readonly key: PostKey; readonly result: PostResult }): Promise<'committed' | 'taken'>;
  /** Writes the message's search index entries (idempotent; derived from the message, so written after it). */
  indexMessage(message: ChatMessage, tokens: readonly string[]): Promise<void>;
  /** Removes these search index entries of the message (idempotent): the words an edit or a retraction took out. */
  unindexMessage(message: ChatMessage, tokens: readonly string[]): Promise<void>;
  /** The room's message with this id (two key reads: its id's pointer, then the message), undefined when there is none. */
  messageById(roomId: string, messageId: string): Promise<ChatMessage | undefined>;
  /**
   * Replaces the stored message with `next` (an edit, or a tombstone) if it is still as `seen` (the same
   * `editedAt`, not retracted), with the change's compliance event in the outbox, all or nothing; false when
   * another edit or a retraction won (re-read and decide again). A tombstone of a message with a file also marks
   * the file's record retracted (`retractedAt`), in the same transaction.
   */
  reviseMessage(seen: ChatMessage, next: ChatMessage, event: ComplianceEvent): Promise<boolean>;
  /** Newest first; the cursor is opaque. `fit` cuts the page to what one answer frame holds (the cursor follows the cut). */
  history(roomId: string, limit: number, before?: string, fit?: PageFit<ChatMessage>): Promise<Page<ChatMessage>>;
  /** The newest `limit` messages after `afterSeq`, oldest first; `more` when there were more than that. */
  messagesAfter(roomId: string, afterSeq: number, limit: number): Promise<{ messages: ChatMessage[]; more: boolean }>;
  /** Seqs of the messages indexed under the token, newest first (below `beforeSeq` when given). */
  seqsWithToken(roomId: string, token: string, limit: number, beforeSeq?: number): Promise<number[]>;
  messagesAt(roomId: string, seqs: readonly number[]): Promise<ChatMessage[]>;
  putFile(file: ChatFile): Promise<void>;
  getFile(fileId: string): Promise<ChatFile | undefined>;
  /** Stores one invitation per user, unseen (in the user's unseen-invitations index until `chat.getinv` shows it). */
  putInvitations(uris: readonly string[], invitation: Invitation): Promise<void>;
  /** How many unseen invitations the user holds, counted up to `atMost` (a bounded query: never more items read than that). */
  countUnseenInvitations(uri: string, atMost: number): Promise<number>;
  /** Whether the user holds an unseen invitation to the room (a query reading at most one item). */
  holdsUnseenInvitation(uri: string, roomId: string): Promise<boolean>;
  /** Invitations the user has not fetched yet, as many as `fit` keeps; those are marked seen, `more` when some were left. */
  takeUnseenInvitations(uri: string, now: number, fit?: PageFit<Invitation>): Promise<{ invitations: Invitation[]; more: boolean }>;
  /** Whether the user holds an invitation to the room, seen or not (`chat.declineinv`; one query of the user's invitations). */
  holdsInvitation(uri: string, roomId: string): Promise<boolean>;
  /** Deletes every invitation of the user to the room, seen or not (`chat.declineinv`; idempotent). */
  removeInvitations(uri: string, roomId: string): Promise<void>;
  /** One page of the room's followers in URI order (`chat.occupants`); `cursor` continues after the last one. */
  followersPage(roomId: string, limit: number, cursor?: string): Promise<Page<string>>;
  /**
   * Brings the room's word index items (`chat.chansrch`) in line with `room` (idempotent): writes its words, removes
   * those only `previous` had; `room` undefined removes them all (a deleted room).
   */
  syncRoomWords(room: Room | undefined, previous?: Room): Promise<void>;
  /** Index items of listed rooms with a word starting with `prefix` (of the category, or of all), in word order. */
  roomsByWord(category: string | undefined, prefix: string, limit: number, after?: string): Promise<RoomWordPage>;
}

/**
 * A user's read state in a room (`ROOM#{roomId}` / `READ#{uri}`, SPEC §9), the same on every device: the marker and
 * the seqs of the messages that mentioned the user. Counts are computed from it and the room's `lastSeq`
 * (shared/chat/read-state.ts), never from history.
 */
export interface ReadMarker {
  /** The last seq the user has read (0: none). It never moves back. */
  readonly readSeq: number;
  /** Seqs of posts that mentioned the user, oldest first; those at or below `readSeq` are pruned lazily and never counted. */
  readonly mentionSeqs: readonly number[];
}

/** The read markers and mention counters (docs/architecture.md, "Unread and mentions"). */
export interface ReadMarkerStore {
  /** The user's markers in these rooms (a room without one is absent from the map). */
  readMarkers(uri: string, roomIds: readonly string[]): Promise<Map<string, ReadMarker>>;
  /** The marker as stored; a user without one starts at `seq` (a first `chat.join` starts at the room's latest message). */
  startReading(roomId: string, uri: string, seq: number): Promise<ReadMarker>;
  /** Moves the marker to `seq` only if that is further (a conditional write); `moved: false` answers the marker as stored. */
  markRead(roomId: string, uri: string, seq: number, now: number): Promise<{ readonly moved: boolean; readonly marker: ReadMarker }>;
  /** Adds the post's seq to the user's mentions (idempotent: a set); false when the user already holds `max` (not counted). */
  recordMention(roomId: string, uri: string, seq: number, max: number): Promise<boolean>;
  /** Forgets these mention seqs (idempotent; the marker has passed them). */
  pruneMentions(roomId: string, uri: string, seqs: readonly number[]): Promise<void>;
}
