import type { AssociationRole, Category, Room, RoomPrivacy } from './room';

export interface ChatMessage {
  readonly roomId: string;
  /** +1 per message in the room, from 1, without gaps. */
  readonly seq: number;
  readonly messageId: string;
  readonly from: { readonly uri: string; readonly name: string };
  readonly text: string;
  readonly ts: number;
  readonly fileId?: string;
  /** The attached file's description (`chat.file.upload`), set with `fileId`. */
  readonly file?: FileView;
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

/** A post's idempotency record: reserved while the post runs, then done with its answer. */
export type PostRecord =
  | { readonly status: 'pending'; readonly reservedAt: number }
  | { readonly status: 'done'; readonly result: PostResult };

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

export interface Invitation {
  readonly roomId: string;
  readonly roomName: string;
  readonly from: { readonly uri: string; readonly name: string };
  readonly invitedAt: number;
}

export type CreateOutcome = { readonly kind: 'created' } | { readonly kind: 'replayed'; readonly roomId: string };

/** Rooms, their messages and indexes. Writes that race are conditional; outcomes say who won. */
export interface ChatStore {
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
  directory(category: string | undefined, namePrefix: string, limit: number, cursor?: string): Promise<Page<DirectoryEntry>>;
  follow(roomId: string, uri: string, now: number): Promise<void>;
  /** False when the user did not follow the room. */
  unfollow(roomId: string, uri: string): Promise<boolean>;
  followers(roomId: string): Promise<string[]>;
  followedRooms(uri: string): Promise<string[]>;
  getPost(key: PostKey): Promise<PostRecord | undefined>;
  /** Reserves the client id for this post; false if another attempt holds it (unless its hold is older than `staleBefore`). */
  reservePost(key: PostKey, now: number, staleBefore: number): Promise<boolean>;
  releasePost(key: PostKey): Promise<void>;
  /** The room's next seq (atomic counter); undefined when the room does not exist. */
  takeSeq(roomId: string): Promise<number | undefined>;
  /** Writes the message at its seq, its search index entries and, for a post with a client id, its answer. */
  putMessage(message: ChatMessage, tokens: readonly string[], completed?: { readonly key: PostKey; readonly result: PostResult }): Promise<void>;
  /** Newest first; the cursor is opaque. */
  history(roomId: string, limit: number, before?: string): Promise<Page<ChatMessage>>;
  /** The newest `limit` messages after `afterSeq`, oldest first; `more` when there were more than that. */
  messagesAfter(roomId: string, afterSeq: number, limit: number): Promise<{ messages: ChatMessage[]; more: boolean }>;
  /** Seqs of the messages indexed under the token, newest first. */
  seqsWithToken(roomId: string, token: string, limit: number): Promise<number[]>;
  messagesAt(roomId: string, seqs: readonly number[]): Promise<ChatMessage[]>;
  putFile(file: ChatFile): Promise<void>;
  getFile(fileId: string): Promise<ChatFile | undefined>;
  putInvitations(uris: readonly string[], invitation: Invitation): Promise<void>;
  /** Invitations the user has not fetched yet; they are marked seen. */
  takeUnseenInvitations(uri: string, now: number): Promise<Invitation[]>;
}
