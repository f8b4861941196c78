/**
 * Protocol drift guard: client/src/protocol.ts writes `CommandResults` and `ServerEvents` out by hand (from
 * docs/protocol.md), so here, at compile time (`npm run typecheck`), what the server's routes and use cases
 * return must be assignable to what the client declares (server → client: whatever the server sends, the
 * client's type accepts). A drift fails tsc on the line naming the action or event, with the fields that differ.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Action, CommandResult, ServerEventName, ServerEvents } from '../../../client/src/protocol';
import type { Invitation, ChatMessage } from '../../../shared/chat/ports';
import type { serverInfo } from '../../../shared/chat/server-info';
import type { ChatService } from '../../../shared/chat/service';
import type { DeactivationReason, LobbyEntry } from '../../../shared/conference/conference';
import type { ConferenceService, JoinResult, RosterEntry } from '../../../shared/conference/service';
import type { Conversation, EndReason, ImMessage } from '../../../shared/conversation/conversation';
import type { SendResult } from '../../../shared/conversation/ports';
import type { ConversationService } from '../../../shared/conversation/service';
import type { PresenceRecord } from '../../../shared/presence/presence';
import type { PresenceService } from '../../../shared/presence/service';
import type { Subscription, TerminationReason } from '../../../shared/presence/subscription';

/** What JSON makes of a server value: `readonly` arrays and fields arrive as plain ones (noise, not drift). */
type Wire<T> = T extends readonly (infer E)[] ? Wire<E>[] : T extends object ? { -readonly [K in keyof T]: Wire<T[K]> } : T;
/** A use case's answer on the wire. */
type Answer<M extends (...args: never[]) => unknown> = Wire<Awaited<ReturnType<M>>>;
/** `T` with `Fields` replaced: where the server's inferred type is wider than the literal its code always writes. */
type With<T, Fields> = T extends unknown ? Omit<T, keyof Fields> & Fields : never;

/** Compiles only when `_Server` (type-only) is assignable to `Client`; tsc's error names the fields that differ. */
function accepts<Client, _Server extends Client>(): true {
  return true;
}

// Answers, one per action, as the routes build them (functions/system.ts, functions/lib/im-handler.ts,
// functions/conference.ts, functions/presence.ts, functions/session.ts, functions/lib/chat-handler.ts).
// Actions the client does not list in `CommandResults` are checked against `CommandResult`'s fallback.
const answers = {
  // functions/system.ts answers `{ pong: true }` itself.
  ping: accepts<CommandResult<'ping'>, { pong: true }>(),
  'chat.getserverinfo': accepts<CommandResult<'chat.getserverinfo'>, Wire<ReturnType<typeof serverInfo>>>(),

  'im.send': accepts<CommandResult<'im.send'>, Answer<ConversationService['send']>>(),
  // The route answers `{}` once the use case (void) is done.
  'im.typing': accepts<CommandResult<'im.typing'>, Record<never, never>>(),
  'im.keepalive': accepts<CommandResult<'im.keepalive'>, Answer<ConversationService['keepalive']>>(),
  // Declared `{ ended: boolean }`, but every return in `leave` is `{ ended: true }` (docs: `{ended: true}`).
  'im.leave': accepts<CommandResult<'im.leave'>, With<Answer<ConversationService['leave']>, { ended: true }>>(),
  'im.history': accepts<CommandResult<'im.history'>, Answer<ConversationService['history']>>(),

  'conf.schedule': accepts<CommandResult<'conf.schedule'>, Answer<ConferenceService['schedule']>>(),
  // `state` is the stored one, but `load` answers 410 for a deleted conference: `deleted` never reaches the answer.
  'conf.get': accepts<CommandResult<'conf.get'>, With<Answer<ConferenceService['get']>, { state: 'scheduled' | 'active' | 'deactivated' }>>(),
  'conf.join': accepts<CommandResult<'conf.join'>, Answer<ConferenceService['join']>>(),
  'conf.leave': accepts<CommandResult<'conf.leave'>, Answer<ConferenceService['leave']>>(),
  'conf.update': accepts<CommandResult<'conf.update'>, Answer<ConferenceService['update']>>(),
  'conf.end': accepts<CommandResult<'conf.end'>, Answer<ConferenceService['end']>>(),
  'conf.delete': accepts<CommandResult<'conf.delete'>, Answer<ConferenceService['delete']>>(),
  'conf.admit': accepts<CommandResult<'conf.admit'>, Answer<ConferenceService['admit']>>(),
  'conf.deny': accepts<CommandResult<'conf.deny'>, Answer<ConferenceService['deny']>>(),
  'conf.content.add': accepts<CommandResult<'conf.content.add'>, Answer<ConferenceService['addContent']>>(),
  'conf.content.list': accepts<CommandResult<'conf.content.list'>, Answer<ConferenceService['listContent']>>(),
  'admin.deleteUser': accepts<CommandResult<'admin.deleteUser'>, Answer<ConferenceService['deleteUser']>>(),

  'presence.publish': accepts<CommandResult<'presence.publish'>, Answer<PresenceService['publish']>>(),
  'presence.subscribe': accepts<CommandResult<'presence.subscribe'>, Answer<PresenceService['subscribe']>>(),
  'presence.refresh': accepts<CommandResult<'presence.refresh'>, Answer<PresenceService['refresh']>>(),
  'presence.unsubscribe': accepts<CommandResult<'presence.unsubscribe'>, Answer<PresenceService['unsubscribe']>>(),
  // functions/session.ts: `rooms` only when the user follows any; `more` is only ever written `more: true`.
  'session.resume': accepts<
    CommandResult<'session.resume'>,
    { presence: Answer<PresenceService['resume']>; rooms?: With<Answer<ChatService['resume']>[number], { more?: true }>[] }
  >(),

  'admin.category.put': accepts<CommandResult<'admin.category.put'>, Answer<ChatService['putCategory']>>(),
  'room.create': accepts<CommandResult<'room.create'>, Answer<ChatService['createRoom']>>(),
  // The route answers `{ roomId, version }` of the updated room.
  'room.update': accepts<CommandResult<'room.update'>, Pick<Answer<ChatService['updateRoom']>, 'roomId' | 'version'>>(),
  'room.delete': accepts<CommandResult<'room.delete'>, Answer<ChatService['deleteRoom']>>(),
  'room.invite': accepts<CommandResult<'room.invite'>, Answer<ChatService['invite']>>(),
  'chat.getassociations': accepts<CommandResult<'chat.getassociations'>, Answer<ChatService['associations']>>(),
  'chat.chansrch': accepts<CommandResult<'chat.chansrch'>, Answer<ChatService['searchRooms']>>(),
  // `join` writes `followed: true` (inferred as boolean).
  'chat.join': accepts<CommandResult<'chat.join'>, ServerJoin>(),
  // `joinMany` writes `status: 200` and spreads `join`'s answer, or the status of a NotFoundError (404) or
  // ForbiddenError (403), the only ones it catches (both inferred as number).
  'chat.bjoin': accepts<CommandResult<'chat.bjoin'>, { rooms: Array<JoinedOrRefused<Answer<ChatService['joinMany']>['rooms'][number]>> }>(),
  'chat.part': accepts<CommandResult<'chat.part'>, Answer<ChatService['part']>>(),
  'chat.bccontext': accepts<CommandResult<'chat.bccontext'>, Answer<ChatService['history']>>(),
  'chat.grpchat': accepts<CommandResult<'chat.grpchat'>, Answer<ChatService['post']>>(),
  'chat.getinv': accepts<CommandResult<'chat.getinv'>, Answer<ChatService['invitations']>>(),
  'chat.search': accepts<CommandResult<'chat.search'>, Answer<ChatService['search']>>(),
  'chat.file.upload': accepts<CommandResult<'chat.file.upload'>, Answer<ChatService['uploadFile']>>(),
  'chat.file.download': accepts<CommandResult<'chat.file.download'>, Answer<ChatService['downloadFile']>>(),
} satisfies Record<Action, true>;

type ServerJoin = With<Answer<ChatService['join']>, { followed: true }>;
type JoinedOrRefused<Entry> = Entry extends { error: object } ? With<Entry, { status: 403 | 404 }> : With<Entry, { status: 200; followed: true }>;

// Events, as the server builds them. `serverEvent(event: string, payload: Record<string, unknown>)` is untyped,
// so each payload is written here after its `serverEvent(...)` call, with its fields' types taken from the
// server's own types: a changed server type (a new reason, role, availability, field of a message) fails
// here; a key renamed in the call itself does not.
const events = {
  // shared/conversation/service.ts `publish`.
  'im.message': accepts<
    ServerEvents['im.message'],
    Wire<
      Pick<ImMessage, 'conversationId' | 'messageId' | 'from' | 'text' | 'contentType' | 'ts'> &
        Pick<SendResult, 'newConversation' | 'previousConversationId'> & { participants?: Conversation['participants'] }
    >
  >(),
  'im.typing': accepts<ServerEvents['im.typing'], Wire<Pick<ImMessage, 'conversationId' | 'from'>>>(),
  'im.ended': accepts<ServerEvents['im.ended'], { conversationId: string; reason: EndReason }>(),
  'im.participantLeft': accepts<ServerEvents['im.participantLeft'], { conversationId: string; uri: string }>(),
  // shared/conference/service.ts.
  'conf.roster': accepts<ServerEvents['conf.roster'], { confId: string; change: 'joined' | 'left'; participant: Wire<RosterEntry> }>(),
  'conf.lobby': accepts<ServerEvents['conf.lobby'], { confId: string } & Wire<Pick<LobbyEntry, 'uri' | 'name' | 'kind'>>>(),
  'conf.lobbyWait': accepts<ServerEvents['conf.lobbyWait'], { confId: string }>(),
  // `admit`: the role and activation instance of what `enter` (the joined answer of `conf.join`) returned.
  'conf.admitted': accepts<ServerEvents['conf.admitted'], Wire<Pick<Extract<JoinResult, { state: 'joined' }>, 'confId' | 'role' | 'activationInstance'>>>(),
  'conf.denied': accepts<ServerEvents['conf.denied'], { confId: string }>(),
  // `update` sends its answer's fields as the event.
  'conf.updated': accepts<ServerEvents['conf.updated'], Answer<ConferenceService['update']>>(),
  'conf.deactivated': accepts<ServerEvents['conf.deactivated'], { confId: string; reason: DeactivationReason; activationInstance: string }>(),
  // shared/presence/service.ts `fanout` and `announce`.
  'presence.notify': accepts<ServerEvents['presence.notify'], { subscriptionId: string; seq: Subscription['seq']; uri: string } & Wire<PresenceRecord>>(),
  'presence.subscriptionState': accepts<
    ServerEvents['presence.subscriptionState'],
    Wire<Pick<Subscription, 'subscriptionId' | 'state'>> & { reason?: TerminationReason; expiresAt?: Subscription['expiresAt'] }
  >(),
  // shared/chat/service.ts `post` (and its retry's `restoreIfMissing`) and `invite`: the stored values, spread.
  'chat.message': accepts<ServerEvents['chat.message'], Wire<ChatMessage>>(),
  'chat.invitation': accepts<ServerEvents['chat.invitation'], Wire<Invitation>>(),
} satisfies Record<ServerEventName, true>;

/** Every `serverEvent('name', ...)` call in the server code. */
function serverEventNames(): string[] {
  const root = join(__dirname, '..', '..', '..');
  const names = new Set<string>();
  const scan = (directory: string) => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) scan(path);
      else if (entry.name.endsWith('.ts')) for (const match of readFileSync(path, 'utf8').matchAll(/serverEvent\(\s*'([^']+)'/g)) names.add(match[1]!);
    }
  };
  scan(join(root, 'shared'));
  scan(join(root, 'functions'));
  return [...names].sort();
}

describe('protocol drift (client/src/protocol.ts against the server; the checks are compile-time, in `npm run typecheck`)', () => {
  test('every action and every server event is checked', () => {
    expect(Object.values(answers).every(Boolean)).toBe(true);
    expect(Object.values(events).every(Boolean)).toBe(true);
  });

  test('every event the server sends is one the client types (and this file checks)', () => {
    expect(serverEventNames()).toEqual(Object.keys(events).sort());
  });
});
