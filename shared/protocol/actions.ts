import type { Action } from './commands';

/**
 * The one list of actions per area (issue 18 item 5), beside their schemas (./commands.ts). Everything that
 * names actions is derived from these: the function that serves them and its WebSocket routes on AWS
 * (infra/functions.ts → infra/stacks/stateless-stack.ts), the local gateway's routes (the same specs, through
 * `routeTable`), `chat.getserverinfo`'s `features` (shared/chat/server-info.ts), and each function's route map,
 * which is checked by tsc to hold exactly its area's actions (`satisfies RoutesOf<...>`, functions/lib/command-handler.ts).
 * A new command: its schema in ./commands.ts, its action in one list here, its route in that area's map.
 */

/** `ping` (functions/system.ts): the keep-alive. */
export const SYSTEM_ACTIONS = ['ping'] as const;

/** Instant messages, SPEC §3 (functions/lib/im-handler.ts). */
export const IM_ACTIONS = ['im.send', 'im.typing', 'im.keepalive', 'im.leave', 'im.history', 'im.edit', 'im.retract', 'im.markread', 'im.conversations'] as const;

/** Presence, SPEC §5 (functions/presence.ts). */
export const PRESENCE_ACTIONS = ['presence.publish', 'presence.subscribe', 'presence.refresh', 'presence.unsubscribe'] as const;

/** What a reconnecting client gets back, SPEC §6 (functions/session.ts). */
export const SESSION_ACTIONS = ['session.resume'] as const;

/** Conferences, SPEC §4, and the user deletion the Focus carries out (functions/conference.ts). */
export const CONFERENCE_ACTIONS = [
  'conf.schedule',
  'conf.get',
  'conf.join',
  'conf.leave',
  'conf.update',
  'conf.end',
  'conf.delete',
  'conf.admit',
  'conf.deny',
  'conf.content.add',
  'conf.content.list',
  'conf.list',
  'conf.eject',
  'conf.role',
  'conf.message',
  'conf.messages',
  'admin.deleteUser',
] as const;

/** Persistent chat, SPEC §6: rooms, then the XCCOS-named commands (functions/lib/chat-handler.ts). */
export const CHAT_ACTIONS = [
  'chat.getserverinfo',
  'admin.category.put',
  'room.create',
  'room.update',
  'room.delete',
  'room.invite',
  'chat.getassociations',
  'chat.chansrch',
  'chat.join',
  'chat.bjoin',
  'chat.part',
  'chat.bccontext',
  'chat.grpchat',
  'chat.markread',
  'chat.edit',
  'chat.retract',
  'chat.getinv',
  'chat.declineinv',
  'chat.occupants',
  'chat.search',
  'chat.file.upload',
  'chat.file.download',
] as const;

/** Every area's list, by area. */
export const ACTIONS_BY_AREA = {
  system: SYSTEM_ACTIONS,
  im: IM_ACTIONS,
  presence: PRESENCE_ACTIONS,
  session: SESSION_ACTIONS,
  conference: CONFERENCE_ACTIONS,
  chat: CHAT_ACTIONS,
} as const;

export type ActionArea = keyof typeof ACTIONS_BY_AREA;
/** The actions of one area. */
export type AreaAction<Area extends ActionArea> = (typeof ACTIONS_BY_AREA)[Area][number];

/**
 * Compiles only while the lists hold exactly the schema'd actions: an action with a schema but in no list, or in a
 * list without a schema, is a type error here. (That no action is in two lists is checked by test/unit/infra/actions.test.ts.)
 */
type Listed = AreaAction<ActionArea>;
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const everySchemaListed: Exactly<Listed, Action> = true;
void everySchemaListed;
