import { useEffect, useRef, useState } from 'preact/hooks';
import { type CommandResult, type RoomSummary, type ServerEvents, UcError } from '../../client/src';
import type { Session } from './session';
import { errorText, maxMessageBytes, useAction, useClientEvent } from './ui';

/**
 * The rooms pane's state: my rooms, the directory search, unread counts, invitations (kept across reloads), the
 * room open now and why one was taken away, kept current by the chat events; and the actions on them (search,
 * open, accept an invitation, create). The views are rooms.tsx.
 */

/** Rooms per page of the room directory (`chat.chansrch` `limit`); "More rooms" asks for the next page with the `cursor`. */
export const ROOM_PAGE_SIZE = 20;
/** Most messages one message search shows (`chat.search` `limit`). */
export const SEARCH_LIMIT = 50;

export type Privacy = RoomSummary['privacy'];
export type Invitation = ServerEvents['chat.invitation'];
export type Removal = ServerEvents['chat.removed'];
export type JoinAnswer = CommandResult<'chat.join'>;
/** A room's unread messages and mentions of me among them (SPEC §9: counted by the server from my read marker). */
export interface Counts {
  readonly unread: number;
  readonly mentions: number;
  /** The newest seq these counts take in (a live message at or before it is counted already), and the same for mentions. */
  readonly seq: number;
  readonly mentionSeq: number;
}

const NO_COUNTS: Counts = { unread: 0, mentions: 0, seq: 0, mentionSeq: 0 };

/** The server's counts (`chat.read`, `chat.markread`): `readSeq + unread` is the newest message they take in. */
function readCounts({ readSeq, unread, mentions }: { readSeq: number; unread: number; mentions: number }): Counts {
  return { unread, mentions, seq: readSeq + unread, mentionSeq: readSeq + unread };
}

/** What the user is told when a room leaves their list (`chat.removed`). */
function removalText(name: string, reason: Removal['reason']): string {
  return reason === 'deleted' ? `${name} was deleted.` : `You no longer have access to ${name}.`;
}

function invitationsKey(uri: string): string {
  return `uc.invitations.${uri}`;
}

/** Invitations not acted on yet, kept in this browser per user: `chat.getinv` answers each one only once. */
function loadInvitations(uri: string): Invitation[] {
  try {
    const stored = JSON.parse(localStorage.getItem(invitationsKey(uri)) ?? '[]') as unknown;
    return Array.isArray(stored) ? stored.filter((entry: Partial<Invitation> | null): entry is Invitation => typeof entry?.roomId === 'string' && typeof entry.roomName === 'string') : [];
  } catch {
    return [];
  }
}

function leftKey(uri: string): string {
  return `uc.rooms.left.${uri}`;
}

/**
 * Rooms left here (`chat.part`) that the user is still a member of: `chat.getassociations` keeps answering them, so
 * they are kept out of "My rooms" in this browser until the user follows them again (opens or is invited).
 */
function loadLeft(uri: string): Set<string> {
  try {
    const stored = JSON.parse(localStorage.getItem(leftKey(uri)) ?? '[]') as unknown;
    return new Set(Array.isArray(stored) ? stored.filter((entry): entry is string => typeof entry === 'string') : []);
  } catch {
    return new Set();
  }
}

/** The server's room limits (`room.create`, `room.update`): characters of a name and of a description. */
export const MAX_ROOM_NAME_CHARS = 256;
export const MAX_ROOM_DESCRIPTION_CHARS = 1024;
/** What the new-room form says next to a field before sending (none: it may be sent). */
export function roomFieldProblems(name: string, description: string): CreateErrors {
  const trimmed = name.trim();
  return {
    ...(trimmed.length === 0
      ? { name: 'Give the room a name.' }
      : trimmed.length > MAX_ROOM_NAME_CHARS
        ? { name: `The name is ${trimmed.length.toLocaleString('en-US')} characters long: at most ${MAX_ROOM_NAME_CHARS} fit.` }
        : {}),
    ...(description.length > MAX_ROOM_DESCRIPTION_CHARS
      ? { description: `The description is ${description.length.toLocaleString('en-US')} characters long: at most ${MAX_ROOM_DESCRIPTION_CHARS.toLocaleString('en-US')} fit.` }
      : {}),
  };
}

/** A refused new room said next to the field it concerns (anything else: next to the Create button, from `create.error`). */
export interface CreateErrors {
  readonly name?: string;
  readonly description?: string;
}

/** Persistent chat: invitations, my rooms, search, create, and one open room. */

export function useRooms({ client, me, resumed }: Session, visible: boolean) {
  const [mine, setMine] = useState<RoomSummary[]>([]);
  const [found, setFound] = useState<{ query: string; rooms: RoomSummary[]; cursor?: string }>();
  const [openRoom, setOpenRoom] = useState<{ room: RoomSummary; joined?: JoinAnswer }>();
  const [unread, setUnread] = useState<Record<string, Counts>>(() => countsOf(resumed.rooms ?? []));
  const [invitations, setInvitations] = useState<Invitation[]>(() => loadInvitations(me.uri));
  const [removed, setRemoved] = useState<{ roomId: string; reason: Removal['reason'] | 'left'; text: string }>();
  const [createErrors, setCreateErrors] = useState<CreateErrors>({});
  const list = useAction();
  const more = useAction();
  const create = useAction();
  const invites = useAction();
  const searchRun = useRef(0);

  // My rooms: those I am a member of, and those I follow from here (an open room joined as a visitor).
  const followed = useRef(new Map<string, RoomSummary>());
  // Rooms the server took away (`chat.removed`): an answer already on its way does not bring them back; an invitation
  // or opening the room again does.
  const gone = useRef(new Set<string>());
  const left = useRef<Set<string>>(loadLeft(me.uri));
  const saveLeft = () => localStorage.setItem(leftKey(me.uri), JSON.stringify([...left.current]));
  const followAgain = (roomId: string) => {
    if (left.current.delete(roomId)) saveLeft();
  };
  const loadMine = () =>
    list.run(async () => {
      const { rooms } = await client.request('chat.getassociations', {});
      // A room followed again (on another device) comes back; one left here and not followed stays out.
      for (const room of rooms) if (room.unread !== undefined) followAgain(room.roomId);
      setUnread((current) => newerCounts(current, countsOf(rooms)));
      const members = new Set(rooms.map((room) => room.roomId));
      setMine(
        [...rooms, ...[...followed.current.values()].filter((room) => !members.has(room.roomId))]
          .filter((room) => !gone.current.has(room.roomId) && !left.current.has(room.roomId))
          .sort((a, b) => a.name.localeCompare(b.name)),
      );
    });
  // The directory, a page at a time: a new search starts over, "More rooms" appends the page after `cursor`.
  const search = (text: string) =>
    list.run(async () => {
      const run = ++searchRun.current;
      more.clear();
      const page = await client.request('chat.chansrch', { query: text, limit: ROOM_PAGE_SIZE });
      if (run === searchRun.current) setFound({ query: text, rooms: page.rooms, ...(page.cursor ? { cursor: page.cursor } : {}) });
    });
  const searchMore = () =>
    more.run(async () => {
      if (!found?.cursor) return;
      const run = searchRun.current;
      const page = await client.request('chat.chansrch', { query: found.query, limit: ROOM_PAGE_SIZE, cursor: found.cursor });
      if (run !== searchRun.current) return;
      setFound((current) => {
        if (!current) return current;
        const known = new Set(current.rooms.map((room) => room.roomId));
        return { query: current.query, rooms: [...current.rooms, ...page.rooms.filter((room) => !known.has(room.roomId))], ...(page.cursor ? { cursor: page.cursor } : {}) };
      });
    });

  const saveInvitations = (change: (current: Invitation[]) => Invitation[]) =>
    setInvitations((current) => {
      const next = change(current);
      localStorage.setItem(invitationsKey(me.uri), JSON.stringify(next));
      return next;
    });
  // Joined or dismissed here (room id → invitedAt): a `chat.getinv` answer still on its way does not bring it back.
  const handledInvitations = useRef(new Map<string, number>());
  const addInvitations = (incoming: readonly Invitation[]) =>
    saveInvitations((current) => {
      const byRoom = new Map(current.map((invitation) => [invitation.roomId, invitation]));
      for (const invitation of incoming) {
        if (invitation.invitedAt > (handledInvitations.current.get(invitation.roomId) ?? -1)) byRoom.set(invitation.roomId, invitation);
      }
      return [...byRoom.values()].sort((a, b) => b.invitedAt - a.invitedAt);
    });
  const dropInvitation = (invitation: Invitation) => {
    handledInvitations.current.set(invitation.roomId, Math.max(invitation.invitedAt, handledInvitations.current.get(invitation.roomId) ?? -1));
    saveInvitations((current) => current.filter((held) => held.roomId !== invitation.roomId || held.invitedAt > invitation.invitedAt));
  };
  // `chat.getinv` answers the invitations not fetched before (each once), so asking after a live one also marks it seen.
  const fetchInvitations = () => invites.run(async () => addInvitations((await client.request('chat.getinv', {})).invitations));

  useEffect(() => {
    void loadMine();
    void search('');
    void fetchInvitations();
    // The server's limits, once after connecting: the composers say a too-long message before it is sent.
    void maxMessageBytes(client);
  }, [client]);

  // Counted here until the server's next count (chat.read, a reconnect); the open room, seen, is marked read instead.
  const seen = (roomId: string) => visible && roomId === openRoom?.room.roomId;
  const bump = (roomId: string, change: (counts: Counts) => Counts) => setUnread((current) => ({ ...current, [roomId]: change(current[roomId] ?? NO_COUNTS) }));
  // A message the server's counts took in already (its answer came before the event) is not counted twice.
  useClientEvent(client, 'chat.message', (message) => {
    const counted = !seen(message.roomId) && message.from.uri !== me.uri;
    bump(message.roomId, (counts) => (message.seq <= counts.seq ? counts : { ...counts, seq: message.seq, unread: counts.unread + (counted ? 1 : 0) }));
  });
  useClientEvent(client, 'chat.mention', (mention) => {
    const counted = !seen(mention.roomId);
    bump(mention.roomId, (counts) => (mention.seq <= counts.mentionSeq ? counts : { ...counts, mentionSeq: mention.seq, mentions: counts.mentions + (counted ? 1 : 0) }));
  });
  // My read marker moved on another device (or here): the server's counts.
  useClientEvent(client, 'chat.read', (read) => setUnread((current) => ({ ...current, [read.roomId]: readCounts(read) })));
  useClientEvent(client, 'resumed', (answer) => {
    if (answer.reconnect) setUnread((current) => newerCounts(current, countsOf(answer.rooms ?? [])));
  });
  /** Marks the room read up to `seq` (`chat.markread`; the marker never moves back); the answer's counts are shown. */
  const markRead = async (roomId: string, seq: number) => {
    const counts = await client.request('chat.markread', { roomId, seq });
    setUnread((current) => ({ ...current, [roomId]: readCounts(counts) }));
  };
  useClientEvent(client, 'chat.invitation', (invitation) => {
    gone.current.delete(invitation.roomId);
    followAgain(invitation.roomId);
    addInvitations([invitation]);
    void fetchInvitations();
    void loadMine();
  });

  // The user may no longer read the room (or it was deleted): out of the list, closed if open, and said in words.
  // A room forgotten here already (left, or deleted from here: its own `chat.removed` follows) has nothing new to say.
  useClientEvent(client, 'chat.removed', ({ roomId, reason }) => {
    if (!gone.current.has(roomId)) forget(roomId, reason, removalText(nameOf(roomId), reason));
  });

  const nameOf = (roomId: string) =>
    followed.current.get(roomId)?.name ??
    [...(openRoom ? [openRoom.room] : []), ...mine, ...(found?.rooms ?? [])].find((room) => room.roomId === roomId)?.name ??
    invitations.find((invitation) => invitation.roomId === roomId)?.roomName ??
    'A room';
  /** The room leaves "My rooms" (deleted: the directory too), its counts and invitation go, it closes if open; said in words. */
  const forget = (roomId: string, reason: Removal['reason'] | 'left', text: string) => {
    gone.current.add(roomId);
    followed.current.delete(roomId);
    setMine((current) => current.filter((room) => room.roomId !== roomId));
    if (reason === 'deleted') setFound((current) => current && { ...current, rooms: current.rooms.filter((room) => room.roomId !== roomId) });
    setOpenRoom((current) => (current?.room.roomId === roomId ? undefined : current));
    setUnread((current) => Object.fromEntries(Object.entries(current).filter(([id]) => id !== roomId)));
    const invitation = invitations.find((held) => held.roomId === roomId);
    if (invitation) dropInvitation(invitation);
    setRemoved({ roomId, reason, text });
  };

  const open = (room: RoomSummary, joined?: JoinAnswer) => {
    gone.current.delete(room.roomId);
    followAgain(room.roomId);
    setRemoved(undefined);
    setOpenRoom({ room, ...(joined ? { joined } : {}) });
  };

  /** Back to the list (on a phone, the list pane again). */
  const close = () => setOpenRoom(undefined);

  /** Leaves the room (`chat.part`): its messages stop coming and it leaves "My rooms"; a member may open it again from the directory. */
  const leaveRoom = async (room: RoomSummary) => {
    await client.request('chat.part', { roomId: room.roomId });
    left.current.add(room.roomId);
    saveLeft();
    forget(room.roomId, 'left', `You left ${room.name}.`);
  };

  /** Deletes the room for everyone (`room.delete`, managers): its followers get `chat.removed` `deleted`. */
  const deleteRoom = async (room: RoomSummary) => {
    await client.request('room.delete', { roomId: room.roomId });
    forget(room.roomId, 'deleted', removalText(room.name, 'deleted'));
  };

  /** Every unread message of the rooms followed (the shell's Rooms tab dot and page title). */
  const totalUnread = Object.values(unread).reduce((sum, counts) => sum + Math.max(0, counts.unread), 0);

  /** Joins the room an invitation names (`chat.join`) and opens it; the invitation goes once that worked. */
  const acceptInvitation = async (invitation: Invitation) => {
    const joined = await client.request('chat.join', { roomId: invitation.roomId });
    dropInvitation(invitation);
    followed.current.set(joined.room.roomId, joined.room);
    open(joined.room, joined);
    await loadMine();
  };

  /** Declines an invitation (`chat.declineinv`): it is gone on every device. */
  const declineInvitation = async (invitation: Invitation) => {
    await client.request('chat.declineinv', { roomId: invitation.roomId });
    dropInvitation(invitation);
  };

  /**
   * Creates a room and opens it; `onCreated` runs once the server answered (the form clears). What can be checked
   * is checked first (nothing is sent); a refusal naming a field is said next to that field.
   */
  const createRoom = (name: string, description: string, privacy: Privacy, onCreated: () => void) => {
    const problems = roomFieldProblems(name, description);
    setCreateErrors(problems);
    if (problems.name || problems.description) return Promise.resolve(false);
    return create.run(async () => {
      try {
        const { roomId } = await client.request('room.create', { name: name.trim(), description, privacy });
        onCreated();
        open({ roomId, name: name.trim(), description, category: 'general', privacy });
      } catch (failure) {
        const field = failure instanceof UcError ? failure.field : undefined;
        if (field === 'name' || field === 'description') {
          setCreateErrors({ [field]: errorText(failure) });
          return;
        }
        throw failure;
      }
      await loadMine();
    });
  };

  return {
    acceptInvitation,
    close,
    create,
    createErrors,
    createRoom,
    declineInvitation,
    deleteRoom,
    dropInvitation,
    followed,
    found,
    invitations,
    invites,
    leaveRoom,
    list,
    loadMine,
    markRead,
    mine,
    more,
    open,
    openRoom,
    removed,
    search,
    searchMore,
    setCreateErrors,
    setRemoved,
    totalUnread,
    unread,
  };
}

/**
 * The server's counts, except where this page already counts a newer message (a live one that came after the
 * server read them): an answer read before a message must not take that message's count back.
 */
function newerCounts(current: Readonly<Record<string, Counts>>, read: Readonly<Record<string, Counts>>): Record<string, Counts> {
  const next = { ...current };
  for (const [roomId, counts] of Object.entries(read)) {
    const held = current[roomId];
    if (!held || held.seq <= counts.seq) next[roomId] = counts;
  }
  return next;
}

/** Counts by room from rooms carrying them (`chat.getassociations`, `session.resume`). */
function countsOf(rooms: ReadonlyArray<{ roomId: string; lastSeq: number; unread?: number; mentions?: number }>): Record<string, Counts> {
  return Object.fromEntries(
    rooms.flatMap((room) => (room.unread === undefined ? [] : [[room.roomId, { unread: room.unread, mentions: room.mentions ?? 0, seq: room.lastSeq, mentionSeq: room.lastSeq }]])),
  );
}
