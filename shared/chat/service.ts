import type { Identity } from '../auth/identity';
import type { ChatCaller, ChatDependencies } from './dependencies';
import { FileTransfers } from './file-transfers';
import { Following } from './following';
import { Occupants } from './occupants';
import { type PostCommand, Posting } from './posting';
import { ReadMarkers } from './read-markers';
import { Reading, type ResumePage } from './reading';
import { Revising } from './revising';
import type { AssociationRole, Category, RoomChanges, RoomDefinition } from './room';
import { RoomLists } from './room-lists';
import { RoomManagement } from './room-management';

export type { ChatCaller, ChatDependencies, ChatQuotas } from './dependencies';
export type { RefusedInvitee } from './room-management';
export { MAX_RESUME_ROOMS_PER_ANSWER, type ResumePage, type RoomResume } from './reading';
export type { EditResult, RetractResult } from './revising';

/**
 * The use cases of SPEC §6 over the ports, one entry point for the handlers; each seam is a module of its own:
 * managing rooms (./room-management.ts), finding them (./room-lists.ts), following them (./following.ts), posting
 * (./posting.ts), editing and retracting (./revising.ts), reading (./reading.ts) and files (./file-transfers.ts). The rules are in ./room.ts and ./search-tokens.ts.
 */
export class ChatService {
  private readonly rooms: RoomManagement;
  private readonly lists: RoomLists;
  private readonly following: Following;
  private readonly posting: Posting;
  private readonly reading: Reading;
  private readonly files: FileTransfers;
  private readonly occupancy: Occupants;
  private readonly markers: ReadMarkers;
  private readonly revising: Revising;

  constructor(deps: ChatDependencies) {
    this.rooms = new RoomManagement(deps);
    this.lists = new RoomLists(deps);
    this.following = new Following(deps);
    this.posting = new Posting(deps);
    this.reading = new Reading(deps);
    this.files = new FileTransfers(deps);
    this.occupancy = new Occupants(deps);
    this.markers = new ReadMarkers(deps);
    this.revising = new Revising(deps);
  }

  putCategory(caller: Identity, category: Category) {
    return this.rooms.putCategory(caller, category);
  }

  createRoom(caller: Identity, definition: RoomDefinition, clientId?: string) {
    return this.rooms.createRoom(caller, definition, clientId);
  }

  updateRoom(caller: Identity, roomId: string, changes: RoomChanges) {
    return this.rooms.updateRoom(caller, roomId, changes);
  }

  deleteRoom(caller: Identity, roomId: string) {
    return this.rooms.deleteRoom(caller, roomId);
  }

  invite(caller: Identity, roomId: string, uris: readonly string[]) {
    return this.rooms.invite(caller, roomId, uris);
  }

  declineInvitation(caller: Identity, roomId: string) {
    return this.rooms.declineInvitation(caller, roomId);
  }

  occupants(caller: Identity, roomId: string, cursor?: string) {
    return this.occupancy.occupants(caller, roomId, cursor);
  }

  invitations(caller: Identity) {
    return this.rooms.invitations(caller);
  }

  associations(caller: Identity, role: AssociationRole, cursor?: string) {
    return this.lists.associations(caller, role, cursor);
  }

  searchRooms(caller: Identity, query: string, category: string | undefined, limit: number, cursor?: string) {
    return this.lists.searchRooms(caller, query, category, limit, cursor);
  }

  join(caller: ChatCaller, roomId: string) {
    return this.following.join(caller, roomId);
  }

  joinMany(caller: ChatCaller, roomIds: readonly string[]) {
    return this.following.joinMany(caller, roomIds);
  }

  part(caller: ChatCaller, roomId: string) {
    return this.following.part(caller, roomId);
  }

  post(caller: ChatCaller, command: PostCommand) {
    return this.posting.post(caller, command);
  }

  markRead(caller: ChatCaller, roomId: string, seq: number) {
    return this.markers.markRead(caller, roomId, seq);
  }

  /** `chat.edit` (SPEC §9): the author changes the text (./revising.ts). */
  edit(caller: ChatCaller, command: { roomId: string; messageId: string; text: string }) {
    return this.revising.edit(caller, command);
  }

  /** `chat.retract` (SPEC §9): the author or a manager leaves a tombstone at the message's seq. */
  retract(caller: ChatCaller, command: { roomId: string; messageId: string }) {
    return this.revising.retract(caller, command);
  }

  uploadFile(caller: ChatCaller, command: { roomId: string; fileName: string; size: number; contentType: string }) {
    return this.files.uploadFile(caller, command);
  }

  downloadFile(caller: ChatCaller, fileId: string) {
    return this.files.downloadFile(caller, fileId);
  }

  history(caller: ChatCaller, roomId: string, limit: number | undefined, before?: string) {
    return this.reading.history(caller, roomId, limit, before);
  }

  search(caller: ChatCaller, roomId: string, query: string, limit: number, cursor?: string) {
    return this.reading.search(caller, roomId, query, limit, cursor);
  }

  resume(caller: ChatCaller, since: Readonly<Record<string, number>> = {}, page: ResumePage = {}) {
    return this.reading.resume(caller, since, page);
  }
}
