/**
 * The wire protocol as types (SPEC §2–§7, docs/protocol.md). Command arguments come from the server's own
 * zod schemas (type-only import: nothing of the server is bundled), so a field the server adds or renames
 * is a type error here; answers and events are written out from docs/protocol.md.
 */
import type { z } from 'zod';
import type { commandSchemas } from '../../shared/protocol/commands';

export type Action = keyof typeof commandSchemas;
/** What a caller may send: defaults are optional, as the server fills them in. */
export type CommandArgs<A extends Action> = z.input<(typeof commandSchemas)[A]>;

export type IdentityKind = 'enterprise' | 'federated' | 'anonymous' | 'pstn' | 'application' | 'admin';
export type Availability = 'online' | 'busy' | 'doNotDisturb' | 'beRightBack' | 'away' | 'offline';

export interface Person {
  readonly uri: string;
  readonly name: string;
}

export interface Presence {
  readonly availability: Availability;
  readonly activity?: string;
  readonly note?: string;
}

export interface TargetPresence {
  readonly uri: string;
  readonly presence: Presence;
  readonly version: number;
}

export type TerminationReason = 'expired' | 'subscriberGone' | 'targetGone' | 'unsubscribed';

export interface ActiveSubscription {
  readonly subscriptionId: string;
  readonly state: 'subscribed' | 'terminating';
  readonly reason?: TerminationReason;
  readonly expiresAt: number;
  /** Each target's presence with its `version`: a later `presence.notify` of `version + 1` is the next change. */
  readonly targets: readonly TargetPresence[];
}

export interface TerminatedSubscription {
  readonly subscriptionId: string;
  readonly state: 'terminated';
  readonly reason: TerminationReason;
  readonly uris: readonly string[];
}

export type SubscriptionView = ActiveSubscription | TerminatedSubscription;

export interface FileView {
  readonly fileId: string;
  readonly name: string;
  readonly size: number;
  readonly contentType: string;
}

export interface ChatMessage {
  readonly roomId: string;
  readonly seq: number;
  readonly messageId: string;
  readonly from: Person;
  readonly text: string;
  readonly ts: number;
  readonly fileId?: string;
  readonly file?: FileView;
  /** The users the post mentions (`chat.grpchat {mentions}`, lower-cased SIP URIs). */
  readonly mentions?: readonly string[];
  /** `chat.edit`: the text is the latest, changed at this time (epoch ms). */
  readonly editedAt?: number;
  /** `chat.retract`: a tombstone at its seq (text empty, no file), retracted then, by its author or a manager. */
  readonly retracted?: true;
  readonly retractedAt?: number;
  readonly retractedBy?: string;
}

/** The caller's reading of a followed room (SPEC §9): the read marker, the messages after it, the mentions among them. */
export interface ReadCounts {
  readonly readSeq: number;
  readonly unread: number;
  readonly mentions: number;
}

export interface RoomSummary {
  readonly roomId: string;
  readonly name: string;
  readonly description: string;
  readonly category: string;
  readonly privacy: 'open' | 'closed' | 'secret';
  readonly type?: 'normal' | 'auditorium';
}

/** A room as `chat.join` and `chat.getassociations` show it (shared/chat/room.ts `roomView`). */
export interface RoomDetails extends RoomSummary {
  readonly type: 'normal' | 'auditorium';
  readonly members: readonly string[];
  readonly managers: readonly string[];
  readonly presenters: readonly string[];
  readonly createdBy: string;
  readonly createdAt: number;
  /** The seq of the room's last message (0: none yet). */
  readonly lastSeq: number;
}

export type RoomRole = 'manager' | 'presenter' | 'member' | 'visitor';

export interface ImMessage {
  readonly conversationId: string;
  readonly messageId: string;
  readonly from: Person;
  readonly text: string;
  readonly contentType: 'text/plain' | 'text/html';
  readonly ts: number;
  /** `im.edit`: the text is the latest, changed at this time (epoch ms). */
  readonly editedAt?: number;
  /** `im.retract`: a tombstone (text empty), retracted then by its author. */
  readonly retracted?: true;
  readonly retractedAt?: number;
  /** Its number in the conversation (1, 2, 3…), what read markers count by; absent on messages older than numbering. */
  readonly n?: number;
}

/** One of the user's conversations (`im.conversations`, `session.resume`'s `missedConversations`). */
export interface ConversationSummary {
  readonly conversationId: string;
  readonly participants: readonly string[];
  /** `ended` also when the user left it. */
  readonly status: 'active' | 'ended';
  /** The newest message, its text cut to a preview (140 characters and `…`). */
  readonly lastMessage: { readonly messageId: string; readonly from: Person; readonly text: string; readonly ts: number };
  /** Messages after the user's read marker (`im.markread`), on every device. */
  readonly unread: number;
}

export type ConferenceRole = 'presenter' | 'attendee';
export type Admission = 'invited' | 'organization' | 'anyone';
export type AutoPromote = 'scheduledPresenters' | 'organization' | 'anyone';
export type DeactivationReason = 'ended' | 'empty' | 'noEnterprise' | 'inactivity' | 'deleted' | 'organizerDeleted';

export interface RosterEntry {
  readonly uri: string;
  readonly name: string;
  readonly role: ConferenceRole;
}

export interface ConferenceContent {
  readonly contentId: string;
  readonly title: string;
  readonly kind: 'link' | 'document';
  readonly body: string;
  readonly addedBy: string;
  readonly addedAt: number;
}

/** A meeting in `conf.list` (SPEC §9): one the user organizes or is invited to; `joinUrl` opens the web app on it. */
export interface MeetingSummary {
  readonly confId: string;
  readonly subject: string;
  readonly organizer: string;
  readonly role: 'organizer' | 'presenter' | 'invitee';
  readonly joinUrl: string;
  readonly state: 'scheduled' | 'active' | 'deactivated';
  readonly static: boolean;
  readonly scheduledAt: number;
  /** Absent for a static meeting space (it never expires). */
  readonly expiresAt?: number;
  /** While active: who is in (trusted participants hidden). */
  readonly participantCount?: number;
}

/** Meeting IM (SPEC §9): a message of one activation of the meeting. */
export interface ConferenceMessage {
  readonly confId: string;
  readonly activationInstance: string;
  readonly messageId: string;
  readonly from: Person;
  readonly text: string;
  readonly ts: number;
}

export interface RoomResume extends ReadCounts {
  readonly roomId: string;
  readonly name: string;
  readonly lastSeq: number;
  readonly messages: readonly ChatMessage[];
  readonly more?: true;
}

/** What each command answers (`body` of a 200). Commands not listed answer an object described in docs/protocol.md. */
export interface CommandResults {
  ping: { pong: true };
  'chat.getserverinfo': {
    serverVersion: string;
    protocol: string;
    limits: { maxMessageBytes: number; historyPageSize: number; maxFrameBytes: number; maxFileBytes: number };
    features: string[];
  };
  'im.send': { conversationId: string; messageId: string; newConversation: boolean; previousConversationId?: string; ts: number };
  'im.typing': Record<string, never>;
  'im.keepalive': { idleDeadline: number };
  'im.leave': { ended: true };
  'im.history': { messages: ImMessage[]; cursor?: string };
  /** SPEC §9: the same text again changes nothing (a retry), and answers the same. */
  'im.edit': { conversationId: string; messageId: string; editedAt: number };
  /** A message already retracted answers its tombstone's time again. */
  'im.retract': { conversationId: string; messageId: string; retractedAt: number };
  /** With `static: true` the user's one meeting space, the same `confId` every time; `reset: true` gives it a new one (arguments typed from the schema). */
  'conf.schedule': { confId: string; joinUrl: string };
  'conf.get': {
    confId: string;
    subject: string;
    organizer: string;
    state: 'scheduled' | 'active' | 'deactivated';
    lastDeactivationReason?: DeactivationReason;
    expiresAt?: number;
    active?: { locked: boolean; activationInstance: string; stateVersion: number; participantCount: number; admissionType: string };
    roster?: RosterEntry[];
    /** The roster is cut to one frame (by URI): `conf.get {confId, rosterCursor}` reads the rest. */
    rosterCursor?: string;
    [field: string]: unknown;
  };
  'conf.join':
    | { state: 'joined'; confId: string; role: ConferenceRole; activationInstance: string; roster: RosterEntry[]; rosterCursor?: string }
    | { state: 'lobby'; confId: string };
  'conf.leave': { left: boolean };
  'conf.update': { stateVersion: number; locked: boolean; [field: string]: unknown };
  /** `true` when this call ended the active meeting (reason `ended`), `false` when it was not active. */
  'conf.end': { deactivated: boolean };
  'conf.delete': { deleted: boolean };
  'conf.admit': { admitted: string };
  'conf.deny': { denied: string };
  'conf.content.add': ConferenceContent;
  'conf.content.list': { content: ConferenceContent[]; cursor?: string };
  /** Newest first; `cursor` when more may follow (`conf.list {cursor}`). */
  'conf.list': { meetings: MeetingSummary[]; cursor?: string };
  'conf.eject': { ejected: string };
  /** `changed: false` when the participant already had that role (no `conf.roster` then). */
  'conf.role': { confId: string; uri: string; role: ConferenceRole; changed: boolean };
  'conf.message': { confId: string; activationInstance: string; messageId: string; ts: number };
  /** The current activation's IM, newest first; `cursor` (as `before`) for older ones. */
  'conf.messages': { confId: string; activationInstance: string; messages: ConferenceMessage[]; cursor?: string };
  'admin.deleteUser': { conferences: number };
  'presence.publish': { uri: string; presence: Presence; version: number };
  /** Terminated only for a retry (same `clientId`) of a subscription that has ended since. */
  'presence.subscribe': SubscriptionView;
  'presence.refresh': { subscriptions: SubscriptionView[] } | TerminatedSubscription;
  'presence.unsubscribe': TerminatedSubscription;
  /** With `cursor` (a continuation), `presence` is not answered again; the client library follows `cursor` itself. */
  'session.resume': {
    presence: { subscriptions: SubscriptionView[] };
    rooms?: RoomResume[];
    cursor?: string;
    /** Conversations with unread messages that reached none of the user's connections. */
    missedConversations?: ConversationSummary[];
    /** With `imSince`: the IM messages of the user's conversations at or after it, oldest first. */
    imMessages?: ImMessage[];
    /** More IM messages remain: `session.resume {imSince, imCursor}` answers them (only them). */
    imCursor?: string;
  };
  'im.markread': { conversationId: string; messageId: string; unread: number };
  'im.conversations': { conversations: ConversationSummary[]; cursor?: string };
  'room.create': { roomId: string };
  'room.update': { roomId: string; version: number };
  'room.delete': { deleted: true };
  'room.invite': { invited: string[]; refused?: Array<{ uri: string; reason: 'MAX_PENDING_INVITATIONS' }> };
  'admin.category.put': { category: string; creators: string[] };
  /** The rooms the caller follows carry their `ReadCounts`; the others do not. */
  'chat.getassociations': { rooms: Array<RoomDetails & Partial<ReadCounts>>; cursor?: string };
  'chat.chansrch': { rooms: RoomSummary[]; cursor?: string };
  /** With the caller's counts: a first join starts reading at the room's latest message. */
  'chat.join': { room: RoomDetails; role: RoomRole; followed: true } & ReadCounts;
  /** Per room, in the order asked: what `chat.join` answers with `status: 200`, or the refusal (403, 404). */
  'chat.bjoin': {
    rooms: Array<
      | ({ roomId: string; status: 200 } & CommandResults['chat.join'])
      | { roomId: string; status: 403 | 404; error: { code: string; message: string } }
    >;
  };
  'chat.part': { followed: false };
  'chat.bccontext': { messages: ChatMessage[]; cursor?: string };
  'chat.grpchat': { roomId: string; messageId: string; seq: number; ts: number };
  /** SPEC §9: the same text again changes nothing (a retry), and answers the same. */
  'chat.edit': { roomId: string; messageId: string; seq: number; editedAt: number };
  /** A message already retracted answers its tombstone again (who retracted it, when). */
  'chat.retract': { roomId: string; messageId: string; seq: number; retractedAt: number; by: string };
  /** The marker as stored: the one asked, or further when another device already went further (it never moves back). */
  'chat.markread': { roomId: string } & ReadCounts;
  /** `more`: as many as one frame holds were answered; call again for the rest. */
  'chat.getinv': { invitations: Array<{ roomId: string; roomName: string; from: Person; invitedAt: number }>; more?: true };
  /** SPEC §9: every invitation to the room is gone (on every device), with the membership it gave; 404 when there is none. */
  'chat.declineinv': { declined: true };
  /** SPEC §9: followers connected now (presence not `offline`), with their availability; follow `cursor` for more. */
  'chat.occupants': { occupants: Array<{ uri: string; availability: Availability }>; cursor?: string };
  'chat.search': { messages: ChatMessage[]; cursor?: string };
  'chat.file.upload': { fileId: string; uploadUrl: string; expiresAt: number };
  'chat.file.download': { fileId: string; fileName: string; size: number; contentType: string; downloadUrl: string; expiresAt: number };
}

export type CommandResult<A extends Action> = A extends keyof CommandResults ? CommandResults[A] : Record<string, unknown>;

/**
 * Server events by name (the frame's other fields), checked against what the server sends (`ServerEventPayloads`,
 * shared/protocol/events.ts) in test/unit/client/protocol-drift.test.ts.
 */
export interface ServerEvents {
  'im.message': ImMessage & { newConversation: boolean; previousConversationId?: string; participants?: string[] };
  'im.typing': { conversationId: string; from: Person };
  'im.ended': { conversationId: string; reason: 'idle' | 'left' };
  'im.participantLeft': { conversationId: string; uri: string };
  /** `role`: a presenter changed the participant's role (the entry has the new one). */
  'conf.roster': { confId: string; change: 'joined' | 'left' | 'role'; participant: RosterEntry };
  /** To the ejected participant's connections: they are out; `conf.join` goes through admission again. */
  'conf.ejected': { confId: string; activationInstance: string; by: string };
  'conf.message': ConferenceMessage;
  /** Content a presenter added: no Refresh needed. */
  'conf.content': { confId: string; content: ConferenceContent };
  'conf.lobby': { confId: string; uri: string; name: string; kind: IdentityKind };
  /**
   * To presenters: a wait ended, so off the lobby list. `reason`: `left` (the user left the lobby or disconnected),
   * `admitted` or `denied` (a presenter decided: any presenter, this one included).
   */
  'conf.lobbyLeft': { confId: string; uri: string; reason: 'left' | 'admitted' | 'denied' };
  /**
   * To the waiting connection: the user's `conf.leave` ended this wait (perhaps sent from another tab or device); not a
   * presenter's decision (that is `conf.denied`).
   */
  'conf.waitEnded': { confId: string; reason: 'left' };
  /** To the waiting user, on entering the lobby and whenever a presenter comes or the last one goes: `false`, nobody can let them in for now. */
  'conf.lobbyWait': { confId: string; presenterPresent: boolean };
  'conf.admitted': { confId: string; role: ConferenceRole; activationInstance: string };
  'conf.denied': { confId: string };
  /** The new policy: what `conf.update` answers. */
  'conf.updated': { confId: string; stateVersion: number; locked: boolean; admission: Admission; autoPromote: AutoPromote; pstnLobbyBypass: boolean };
  'conf.deactivated': { confId: string; reason: DeactivationReason; activationInstance: string };
  /** `version` rises by one per change of the target's presence: a jump means a change was missed (SPEC §5). */
  'presence.notify': { subscriptionId: string; uri: string; presence: Presence; version: number };
  'presence.subscriptionState': { subscriptionId: string; state: 'subscribed' | 'terminating' | 'terminated'; reason?: TerminationReason; expiresAt?: number };
  'chat.message': ChatMessage;
  'chat.invitation': { roomId: string; roomName: string; from: Person; invitedAt: number };
  /** The user no longer follows the room: they may not read it now (`privacy`, `membership`), or it was deleted. */
  'chat.removed': { roomId: string; reason: 'privacy' | 'membership' | 'deleted' };
  /** `chat.edit`: the message's new text, to every reader of the room. */
  'chat.edited': { roomId: string; messageId: string; seq: number; text: string; editedAt: number };
  /** `chat.retract`: the message at `seq` is a tombstone now; `by` is its author or a manager. */
  'chat.retracted': { roomId: string; messageId: string; seq: number; by: string };
  /** `im.edit`: the message's new text, to the conversation's participants. */
  'im.edited': { conversationId: string; messageId: string; text: string; editedAt: number };
  /** `im.retract`: the message is a tombstone now; `by` is its author. */
  'im.retracted': { conversationId: string; messageId: string; by: string };
  /** Another connection of the user moved their read marker (`chat.markread`): the room's counts for it. */
  'chat.read': { roomId: string } & ReadCounts;
  /** A post mentioned the user (`chat.grpchat {mentions}`), who may read the room; on every connection. */
  'chat.mention': { roomId: string; roomName: string; seq: number; messageId: string; from: Person; text: string; ts: number };
  /** An IM mentioned the user (`im.send {mentions}`), a participant; on every connection. */
  'im.mention': ImMessage;
  /** Another connection of the user moved their read marker (`im.markread`): the conversation's `unread` now. */
  'im.read': { conversationId: string; messageId: string; unread: number };
}

export type ServerEventName = keyof ServerEvents;

export interface ResponseFrame {
  readonly type: 'response';
  readonly rid?: string;
  readonly status: number;
  readonly body?: unknown;
  readonly error?: { readonly code: string; readonly message: string; readonly field?: string; readonly retryAfterMs?: number; readonly correlationId?: string };
}

export interface EventFrame {
  readonly type: 'event';
  readonly event: string;
  readonly [payload: string]: unknown;
}
