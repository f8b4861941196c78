import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ChatStore } from '../chat/ports';
import { DynamoFileItems } from './chat-files-dynamodb';
import { DynamoFollowerItems } from './chat-followers-dynamodb';
import { DynamoInvitationItems } from './chat-invitations-dynamodb';
import { DynamoMessageItems } from './chat-messages-dynamodb';
import { DynamoPostItems } from './chat-posts-dynamodb';
import { DynamoReadMarkerItems } from './chat-read-markers-dynamodb';
import { DynamoRoomWordItems } from './chat-room-words-dynamodb';
import { DynamoRoomItems } from './chat-rooms-dynamodb';

/**
 * Persistent chat in the single table (docs/architecture.md lists every item and access pattern).
 * `ROOM#{id}` holds the room (`META`), its messages by seq, its followers and its association items;
 * the directory, the token index, invitations and idempotency records have partitions of their own.
 * Each family of items is a part of its own (keys and shared operations: ./chat-items-dynamodb.ts); this class
 * answers the `ChatStore` port by handing each call to its part. Held to test/support/contracts/chat-store.contract.ts.
 */
export class DynamoChatStore implements ChatStore {
  private readonly rooms: DynamoRoomItems;
  private readonly follows: DynamoFollowerItems;
  private readonly invites: DynamoInvitationItems;
  private readonly posts: DynamoPostItems;
  private readonly messages: DynamoMessageItems;
  private readonly files: DynamoFileItems;
  private readonly words: DynamoRoomWordItems;
  private readonly markers: DynamoReadMarkerItems;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.rooms = new DynamoRoomItems(client, tableName);
    this.follows = new DynamoFollowerItems(client, tableName);
    this.invites = new DynamoInvitationItems(client, tableName);
    this.posts = new DynamoPostItems(client, tableName);
    this.messages = new DynamoMessageItems(client, tableName);
    this.files = new DynamoFileItems(client, tableName);
    this.words = new DynamoRoomWordItems(client, tableName);
    this.markers = new DynamoReadMarkerItems(client, tableName);
  }

  // Rooms, their directory entries and association items, categories.
  readonly getRoom: ChatStore['getRoom'] = (...args) => this.rooms.getRoom(...args);
  readonly getRooms: ChatStore['getRooms'] = (...args) => this.rooms.getRooms(...args);
  readonly replayCreate: ChatStore['replayCreate'] = (...args) => this.rooms.replayCreate(...args);
  readonly createRoom: ChatStore['createRoom'] = (...args) => this.rooms.createRoom(...args);
  readonly updateRoom: ChatStore['updateRoom'] = (...args) => this.rooms.updateRoom(...args);
  readonly deleteRoom: ChatStore['deleteRoom'] = (...args) => this.rooms.deleteRoom(...args);
  readonly syncAssociations: ChatStore['syncAssociations'] = (...args) => this.rooms.syncAssociations(...args);
  readonly associations: ChatStore['associations'] = (...args) => this.rooms.associations(...args);
  readonly countAssociations: ChatStore['countAssociations'] = (...args) => this.rooms.countAssociations(...args);
  readonly getCategory: ChatStore['getCategory'] = (...args) => this.rooms.getCategory(...args);
  readonly putCategory: ChatStore['putCategory'] = (...args) => this.rooms.putCategory(...args);
  readonly directory: ChatStore['directory'] = (...args) => this.rooms.directory(...args);
  // The word index of listed rooms (chat.chansrch).
  readonly syncRoomWords: ChatStore['syncRoomWords'] = (...args) => this.words.syncRoomWords(...args);
  readonly roomsByWord: ChatStore['roomsByWord'] = (...args) => this.words.roomsByWord(...args);

  // Followers.
  readonly follow: ChatStore['follow'] = (...args) => this.follows.follow(...args);
  readonly unfollow: ChatStore['unfollow'] = (...args) => this.follows.unfollow(...args);
  readonly followers: ChatStore['followers'] = (...args) => this.follows.followers(...args);
  readonly followedRooms: ChatStore['followedRooms'] = (...args) => this.follows.followedRooms(...args);
  readonly isFollowing: ChatStore['isFollowing'] = (...args) => this.follows.isFollowing(...args);
  readonly countFollowed: ChatStore['countFollowed'] = (...args) => this.follows.countFollowed(...args);
  readonly followersPage: ChatStore['followersPage'] = (...args) => this.follows.followersPage(...args);

  // Posts: reservation, seq, commit.
  readonly getPost: ChatStore['getPost'] = (...args) => this.posts.getPost(...args);
  readonly reservePost: ChatStore['reservePost'] = (...args) => this.posts.reservePost(...args);
  readonly recordPostSeq: ChatStore['recordPostSeq'] = (...args) => this.posts.recordPostSeq(...args);
  readonly releasePost: ChatStore['releasePost'] = (...args) => this.posts.releasePost(...args);
  readonly takeSeq: ChatStore['takeSeq'] = (...args) => this.posts.takeSeq(...args);
  readonly commitMessage: ChatStore['commitMessage'] = (...args) => this.posts.commitMessage(...args);

  // Messages and their search index.
  readonly indexMessage: ChatStore['indexMessage'] = (...args) => this.messages.indexMessage(...args);
  readonly unindexMessage: ChatStore['unindexMessage'] = (...args) => this.messages.unindexMessage(...args);
  readonly messageById: ChatStore['messageById'] = (...args) => this.messages.messageById(...args);
  readonly reviseMessage: ChatStore['reviseMessage'] = (...args) => this.messages.reviseMessage(...args);
  readonly history: ChatStore['history'] = (...args) => this.messages.history(...args);
  readonly messagesAfter: ChatStore['messagesAfter'] = (...args) => this.messages.messagesAfter(...args);
  readonly seqsWithToken: ChatStore['seqsWithToken'] = (...args) => this.messages.seqsWithToken(...args);
  readonly messagesAt: ChatStore['messagesAt'] = (...args) => this.messages.messagesAt(...args);

  // Files.
  readonly takeFileSlot: ChatStore['takeFileSlot'] = (...args) => this.files.takeFileSlot(...args);
  readonly putFile: ChatStore['putFile'] = (...args) => this.files.putFile(...args);
  readonly getFile: ChatStore['getFile'] = (...args) => this.files.getFile(...args);

  // Read markers and mention counters (SPEC §9).
  readonly readMarkers: ChatStore['readMarkers'] = (...args) => this.markers.readMarkers(...args);
  readonly startReading: ChatStore['startReading'] = (...args) => this.markers.startReading(...args);
  readonly markRead: ChatStore['markRead'] = (...args) => this.markers.markRead(...args);
  readonly recordMention: ChatStore['recordMention'] = (...args) => this.markers.recordMention(...args);
  readonly pruneMentions: ChatStore['pruneMentions'] = (...args) => this.markers.pruneMentions(...args);

  // Invitations.
  readonly putInvitations: ChatStore['putInvitations'] = (...args) => this.invites.putInvitations(...args);
  readonly countUnseenInvitations: ChatStore['countUnseenInvitations'] = (...args) => this.invites.countUnseenInvitations(...args);
  readonly holdsUnseenInvitation: ChatStore['holdsUnseenInvitation'] = (...args) => this.invites.holdsUnseenInvitation(...args);
  readonly takeUnseenInvitations: ChatStore['takeUnseenInvitations'] = (...args) => this.invites.takeUnseenInvitations(...args);
  readonly holdsInvitation: ChatStore['holdsInvitation'] = (...args) => this.invites.holdsInvitation(...args);
  readonly removeInvitations: ChatStore['removeInvitations'] = (...args) => this.invites.removeInvitations(...args);
}
