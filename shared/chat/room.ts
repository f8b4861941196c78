import { domainOf, type Identity } from '../auth/identity';
import { BadRequestError, ForbiddenError, NotFoundError } from '../errors';

/**
 * A persistent chat room (SPEC §6). The room item is the truth for every authorization decision;
 * the association and directory items are indexes derived from it.
 */
export const roomPrivacies = ['open', 'closed', 'secret'] as const;
export const roomTypes = ['normal', 'auditorium'] as const;
export type RoomPrivacy = (typeof roomPrivacies)[number];
export type RoomType = (typeof roomTypes)[number];
export type RoomRole = 'manager' | 'presenter' | 'member' | 'visitor';
/** The roles `chat.getassociations` lists, each backed by an association item per user. */
export const associationRoles = ['member', 'manager', 'presenter'] as const;
export type AssociationRole = (typeof associationRoles)[number];

export interface Room {
  readonly roomId: string;
  readonly name: string;
  readonly description: string;
  readonly category: string;
  readonly privacy: RoomPrivacy;
  readonly type: RoomType;
  /** Everyone who belongs to the room; managers and presenters are always members too. */
  readonly members: readonly string[];
  readonly managers: readonly string[];
  readonly presenters: readonly string[];
  readonly createdBy: string;
  readonly createdAt: number;
  /** Bumped by every update, for conditional writes. */
  readonly version: number;
  /** The seq of the last message (0: none yet); moved by an atomic counter on post. */
  readonly lastSeq: number;
}

export interface RoomDefinition {
  readonly name: string;
  readonly description: string;
  readonly category: string;
  readonly privacy: RoomPrivacy;
  readonly type: RoomType;
  readonly members: readonly string[];
  readonly managers: readonly string[];
  readonly presenters: readonly string[];
}

export type RoomChanges = Partial<Omit<RoomDefinition, 'category'>>;

/** Who may create rooms in a category (`admin.category.put`): SIP URIs, domains, or `*` for anyone. */
export interface Category {
  readonly category: string;
  readonly creators: readonly string[];
}

export const DEFAULT_CATEGORY = 'general';

/** Lower-cased, unique: the lists are compared with the caller's URI. */
function uniqueUris(uris: readonly string[]): string[] {
  return [...new Set(uris.map((uri) => uri.toLowerCase()))];
}

/** Managers and presenters are members; each list without duplicates. */
function withMembership(members: readonly string[], managers: readonly string[], presenters: readonly string[]) {
  const managerList = uniqueUris(managers);
  const presenterList = uniqueUris(presenters);
  return { members: uniqueUris([...members, ...managerList, ...presenterList]), managers: managerList, presenters: presenterList };
}

/** `room.create`: the creator is a manager and a member (SPEC §6). */
export function newRoom(roomId: string, creator: Identity, definition: RoomDefinition, now: number): Room {
  const creatorUri = creator.uri.toLowerCase();
  return {
    roomId,
    name: definition.name,
    description: definition.description,
    category: definition.category,
    privacy: definition.privacy,
    type: definition.type,
    ...withMembership([...definition.members, creatorUri], [...definition.managers, creatorUri], definition.presenters),
    createdBy: creatorUri,
    createdAt: now,
    version: 1,
    lastSeq: 0,
  };
}

/** `room.update`: the changed fields, with membership kept consistent; a room always keeps a manager. */
export function applyRoomChanges(room: Room, changes: RoomChanges): Room {
  const managers = changes.managers ?? room.managers;
  if (managers.length === 0) throw new BadRequestError("field 'managers': a room keeps at least one manager", 'managers');
  return {
    ...room,
    ...(changes.name !== undefined ? { name: changes.name } : {}),
    ...(changes.description !== undefined ? { description: changes.description } : {}),
    ...(changes.privacy !== undefined ? { privacy: changes.privacy } : {}),
    ...(changes.type !== undefined ? { type: changes.type } : {}),
    ...withMembership(changes.members ?? room.members, managers, changes.presenters ?? room.presenters),
    version: room.version + 1,
  };
}

/** `room.invite`: invitees become members (so they may join a closed or secret room). */
export function inviteToRoom(room: Room, uris: readonly string[]): { room: Room; invited: string[] } {
  const invited = uniqueUris(uris).filter((uri) => !room.members.includes(uri));
  return { room: { ...room, members: [...room.members, ...invited], version: room.version + 1 }, invited };
}

export function isMember(room: Room, uri: string): boolean {
  return room.members.includes(uri.toLowerCase());
}

export function roleIn(room: Room, uri: string): RoomRole {
  const lower = uri.toLowerCase();
  if (room.managers.includes(lower)) return 'manager';
  if (room.presenters.includes(lower)) return 'presenter';
  if (room.members.includes(lower)) return 'member';
  return 'visitor';
}

/** The roles this user holds in the room, for the association index. */
export function associationsOf(room: Room, uri: string): AssociationRole[] {
  const lower = uri.toLowerCase();
  return associationRoles.filter((role) => (role === 'member' ? room.members : role === 'manager' ? room.managers : room.presenters).includes(lower));
}

/** Secret rooms exist only for their members: everyone else is told there is no such room. */
export function canSeeRoom(room: Room, uri: string): boolean {
  return room.privacy !== 'secret' || isMember(room, uri);
}

/** open: anyone may join; closed and secret: members only. */
export function canJoinRoom(room: Room, uri: string): boolean {
  return room.privacy === 'open' || isMember(room, uri);
}

/** History and search follow the join rule: who may join may read. */
export const canReadRoom = canJoinRoom;

/** Posting needs the right to join; in an auditorium only presenters post. */
export function canPostInRoom(room: Room, uri: string): boolean {
  if (!canJoinRoom(room, uri)) return false;
  return room.type !== 'auditorium' || room.presenters.includes(uri.toLowerCase());
}

export function canManageRoom(room: Room, uri: string): boolean {
  return room.managers.includes(uri.toLowerCase());
}

/** 404 to whoever may not see the room, so a secret room's existence is never revealed. */
export function assertVisible(room: Room | undefined, uri: string, roomId: string): Room {
  if (!room || !canSeeRoom(room, uri)) throw new NotFoundError(`no room ${roomId}`);
  return room;
}

export function assertMayJoin(room: Room, uri: string): void {
  if (!canJoinRoom(room, uri)) throw new ForbiddenError(`room ${room.roomId} is ${room.privacy}: members only`);
}

export function assertMayRead(room: Room, uri: string): void {
  if (!canReadRoom(room, uri)) throw new ForbiddenError(`room ${room.roomId} is ${room.privacy}: only members read it`);
}

export function assertMayPost(room: Room, uri: string): void {
  assertMayJoin(room, uri);
  if (!canPostInRoom(room, uri)) throw new ForbiddenError(`room ${room.roomId} is an auditorium: only presenters post`);
}

export function assertManager(room: Room, uri: string): void {
  if (!canManageRoom(room, uri)) throw new ForbiddenError(`only managers of room ${room.roomId} may do this`);
}

/**
 * Who may create a room in a category: with a definition, its creators (a SIP URI, a domain, or `*`);
 * without one, any enterprise user of the home organization (admins too).
 */
export function mayCreateRoomIn(category: Category | undefined, creator: Identity, homeDomain: string): boolean {
  if (!category) return (creator.kind === 'enterprise' || creator.kind === 'admin') && domainOf(creator.uri) === homeDomain.toLowerCase();
  const uri = creator.uri.toLowerCase();
  const domain = domainOf(creator.uri);
  return category.creators.some((entry) => {
    const lower = entry.toLowerCase();
    return lower === '*' || lower === uri || lower === domain;
  });
}

/** What `chat.join`, `chat.chansrch` and `room.*` show of a room. */
export function roomView(room: Room) {
  return {
    roomId: room.roomId,
    name: room.name,
    description: room.description,
    category: room.category,
    privacy: room.privacy,
    type: room.type,
    members: room.members,
    managers: room.managers,
    presenters: room.presenters,
    createdBy: room.createdBy,
    createdAt: room.createdAt,
    lastSeq: room.lastSeq,
  };
}
