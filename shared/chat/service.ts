import type { Identity } from '../auth/identity';
import type { ChatCaller, ChatDependencies } from './dependencies';
import { FileTransfers } from './file-transfers';
import { Following } from './following';
import { Posting } from './posting';
import { Reading, type ResumePage } from './reading';
import type { AssociationRole, Category, RoomChanges, RoomDefinition } from './room';
import { RoomLists } from './room-lists';
import { RoomManagement } from './room-management';

export type { ChatCaller, ChatDependencies, ChatQuotas } from './dependencies';
export type { RefusedInvitee } from './room-management';
export { MAX_RESUME_ROOMS_PER_ANSWER, type ResumePage, type RoomResume } from './reading';

/**
 * The use cases of SPEC §6 over the ports, one entry point for the handlers; each seam is a module of its own:
 * managing rooms (./room-management.ts), finding them (./room-lists.ts), following them (./following.ts), posting
 * (./posting.ts), reading (./reading.ts) and files (./file-transfers.ts). The rules are in ./room.ts and ./search-tokens.ts.
 */
export class ChatService {
  private readonly rooms: RoomManagement;
  private readonly lists: RoomLists;
  private readonly following: Following;
  private readonly posting: Posting;
  private readonly reading: Reading;
  private readonly files: FileTransfers;

  constructor(deps: ChatDependencies) {
    this.rooms = new RoomManagement(deps);
    this.lists = new RoomLists(deps);
    this.following = new Following(deps);
    this.posting = new Posting(deps);
    this.reading = new Reading(deps);
    this.files = new FileTransfers(deps);
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

  post(caller: ChatCaller, command: { roomId: string; text: string; clientMsgId?: string; fileId?: string }) {
    return this.posting.post(caller, command);
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
