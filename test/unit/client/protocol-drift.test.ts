/**
 * Protocol drift guard: client/src/protocol.ts writes `CommandResults` and `ServerEvents` out by hand (from
 * docs/protocol.md), so here, at compile time (`npm run typecheck`), what the server's routes and use cases
 * return, and the event payloads its `serverEvent` calls are typed with (`ServerEventPayloads`), must be
 * assignable to what the client declares (server → client: whatever the server sends, the client's type
 * accepts). A drift fails tsc on the line naming the action or event, with the fields that differ.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Action, CommandResult, ServerEventName, ServerEvents } from '../../../client/src/protocol';
import type { serverInfo } from '../../../shared/chat/server-info';
import type { ChatService } from '../../../shared/chat/service';
import type { ConferenceService } from '../../../shared/conference/service';
import type { ConversationService } from '../../../shared/conversation/service';
import type { PresenceService } from '../../../shared/presence/service';
import type { ServerEventName as SentEventName, ServerEventPayloads } from '../../../shared/protocol/events';

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
  'im.edit': accepts<CommandResult<'im.edit'>, Answer<ConversationService['edit']>>(),
  'im.retract': accepts<CommandResult<'im.retract'>, Answer<ConversationService['retract']>>(),
  'im.markread': accepts<CommandResult<'im.markread'>, Answer<ConversationService['markRead']>>(),
  'im.conversations': accepts<CommandResult<'im.conversations'>, Answer<ConversationService['conversations']>>(),

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
  'conf.list': accepts<CommandResult<'conf.list'>, Answer<ConferenceService['list']>>(),
  'conf.eject': accepts<CommandResult<'conf.eject'>, Answer<ConferenceService['eject']>>(),
  'conf.role': accepts<CommandResult<'conf.role'>, Answer<ConferenceService['setRole']>>(),
  'conf.message': accepts<CommandResult<'conf.message'>, Answer<ConferenceService['sendMessage']>>(),
  'conf.messages': accepts<CommandResult<'conf.messages'>, Answer<ConferenceService['messages']>>(),
  'admin.deleteUser': accepts<CommandResult<'admin.deleteUser'>, Answer<ConferenceService['deleteUser']>>(),

  'presence.publish': accepts<CommandResult<'presence.publish'>, Answer<PresenceService['publish']>>(),
  'presence.subscribe': accepts<CommandResult<'presence.subscribe'>, Answer<PresenceService['subscribe']>>(),
  'presence.refresh': accepts<CommandResult<'presence.refresh'>, Answer<PresenceService['refresh']>>(),
  'presence.unsubscribe': accepts<CommandResult<'presence.unsubscribe'>, Answer<PresenceService['unsubscribe']>>(),
  // functions/session.ts: `rooms` only when the user follows any; `more` is only ever written `more: true`.
  'session.resume': accepts<
    CommandResult<'session.resume'>,
    { presence: Answer<PresenceService['resume']>; rooms?: Answer<ChatService['resume']>['rooms']; cursor?: string } & Answer<ConversationService['resume']>
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
  'chat.edit': accepts<CommandResult<'chat.edit'>, Answer<ChatService['edit']>>(),
  'chat.retract': accepts<CommandResult<'chat.retract'>, Answer<ChatService['retract']>>(),
  'chat.markread': accepts<CommandResult<'chat.markread'>, Answer<ChatService['markRead']>>(),
  'chat.getinv': accepts<CommandResult<'chat.getinv'>, Answer<ChatService['invitations']>>(),
  'chat.search': accepts<CommandResult<'chat.search'>, Answer<ChatService['search']>>(),
  'chat.declineinv': accepts<CommandResult<'chat.declineinv'>, Answer<ChatService['declineInvitation']>>(),
  'chat.occupants': accepts<CommandResult<'chat.occupants'>, Answer<ChatService['occupants']>>(),
  'chat.file.upload': accepts<CommandResult<'chat.file.upload'>, Answer<ChatService['uploadFile']>>(),
  'chat.file.download': accepts<CommandResult<'chat.file.download'>, Answer<ChatService['downloadFile']>>(),
} satisfies Record<Action, true>;

type ServerJoin = With<Answer<ChatService['join']>, { followed: true }>;
type JoinedOrRefused<Entry> = Entry extends { error: object } ? With<Entry, { status: 403 | 404 }> : With<Entry, { status: 200; followed: true }>;

// Events: `serverEvent` takes, for each name, the payload `ServerEventPayloads` (shared/protocol/events.ts) gives
// it, so a key renamed or a type changed in a `serverEvent(...)` call fails tsc there or here. Each line checks
// that the client's `ServerEvents` accepts what the server's map says it sends. Listing every name of both maps
// (`satisfies`) makes the key sets equal: a server event the client lacks fails on `ServerEvents[...]`, a client
// event the server never sends on `ServerEventPayloads[...]`.
const events = {
  'im.message': accepts<ServerEvents['im.message'], Sent<'im.message'>>(),
  'im.typing': accepts<ServerEvents['im.typing'], Sent<'im.typing'>>(),
  'im.ended': accepts<ServerEvents['im.ended'], Sent<'im.ended'>>(),
  'im.participantLeft': accepts<ServerEvents['im.participantLeft'], Sent<'im.participantLeft'>>(),
  'conf.roster': accepts<ServerEvents['conf.roster'], Sent<'conf.roster'>>(),
  'conf.ejected': accepts<ServerEvents['conf.ejected'], Sent<'conf.ejected'>>(),
  'conf.message': accepts<ServerEvents['conf.message'], Sent<'conf.message'>>(),
  'conf.content': accepts<ServerEvents['conf.content'], Sent<'conf.content'>>(),
  'conf.lobby': accepts<ServerEvents['conf.lobby'], Sent<'conf.lobby'>>(),
  'conf.lobbyLeft': accepts<ServerEvents['conf.lobbyLeft'], Sent<'conf.lobbyLeft'>>(),
  'conf.lobbyWait': accepts<ServerEvents['conf.lobbyWait'], Sent<'conf.lobbyWait'>>(),
  'conf.waitEnded': accepts<ServerEvents['conf.waitEnded'], Sent<'conf.waitEnded'>>(),
  'conf.admitted': accepts<ServerEvents['conf.admitted'], Sent<'conf.admitted'>>(),
  'conf.denied': accepts<ServerEvents['conf.denied'], Sent<'conf.denied'>>(),
  'conf.updated': accepts<ServerEvents['conf.updated'], Sent<'conf.updated'>>(),
  'conf.deactivated': accepts<ServerEvents['conf.deactivated'], Sent<'conf.deactivated'>>(),
  'presence.notify': accepts<ServerEvents['presence.notify'], Sent<'presence.notify'>>(),
  'presence.subscriptionState': accepts<ServerEvents['presence.subscriptionState'], Sent<'presence.subscriptionState'>>(),
  'chat.message': accepts<ServerEvents['chat.message'], Sent<'chat.message'>>(),
  'chat.invitation': accepts<ServerEvents['chat.invitation'], Sent<'chat.invitation'>>(),
  'chat.removed': accepts<ServerEvents['chat.removed'], Sent<'chat.removed'>>(),
  'chat.edited': accepts<ServerEvents['chat.edited'], Sent<'chat.edited'>>(),
  'chat.retracted': accepts<ServerEvents['chat.retracted'], Sent<'chat.retracted'>>(),
  'im.edited': accepts<ServerEvents['im.edited'], Sent<'im.edited'>>(),
  'im.retracted': accepts<ServerEvents['im.retracted'], Sent<'im.retracted'>>(),
  'chat.read': accepts<ServerEvents['chat.read'], Sent<'chat.read'>>(),
  'chat.mention': accepts<ServerEvents['chat.mention'], Sent<'chat.mention'>>(),
  'im.mention': accepts<ServerEvents['im.mention'], Sent<'im.mention'>>(),
  'im.read': accepts<ServerEvents['im.read'], Sent<'im.read'>>(),
} satisfies Record<ServerEventName | SentEventName, true>;

/** An event's payload on the wire, as the server's map types it. */
type Sent<E extends SentEventName> = Wire<ServerEventPayloads[E]>;

/** Every event the server code hands to delivery (`{ event: 'name', payload }`, `as const` or not) or builds itself (`serverEvent('name', ...)`). */
function serverEventNames(): string[] {
  const root = join(__dirname, '..', '..', '..');
  const names = new Set<string>();
  const scan = (directory: string) => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) scan(path);
      else if (entry.name.endsWith('.ts')) for (const match of readFileSync(path, 'utf8').matchAll(/serverEvent\(\s*'([^']+)'|\{\s*event:\s*'([a-z]+\.[A-Za-z]+)'(?:\s+as\s+const)?,\s*payload:/g)) names.add((match[1] ?? match[2])!);
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

  // `events` lists exactly the names of both maps (compile time); the scan adds that each one is sent somewhere.
  test('every event the server sends is one the client types (and this file checks), and every typed one is sent', () => {
    expect(serverEventNames()).toEqual(Object.keys(events).sort());
  });
});
