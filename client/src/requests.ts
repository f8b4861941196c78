import type { EventHub } from './events';
import type { ConnectionState, UcClientOptions } from './options';
import type { Action, CommandArgs, CommandResult } from './protocol';

/** Commands that create something, and the client id that makes them idempotent (SPEC §2). */
export const CLIENT_ID_FIELD: Partial<Record<Action, 'clientMsgId' | 'clientId'>> = {
  'im.send': 'clientMsgId',
  'chat.grpchat': 'clientMsgId',
  'conf.schedule': 'clientId',
  'conf.message': 'clientMsgId',
  'room.create': 'clientId',
  'presence.subscribe': 'clientId',
};

/** Commands that change nothing (or only refresh), so re-sending one after a drop is harmless. */
export const SAFE_TO_RESEND = new Set<string>([
  'ping',
  'chat.getserverinfo',
  'conf.get',
  'conf.content.list',
  'conf.list',
  'conf.messages',
  'im.history',
  'presence.refresh',
  'presence.publish',
  'chat.getassociations',
  'chat.chansrch',
  'chat.bccontext',
  'chat.search',
  'chat.occupants',
  'chat.join',
  'chat.bjoin',
  'chat.file.download',
  // Idempotent (SPEC §9): the same text again changes nothing; a retracted message answers its tombstone again.
  'chat.edit',
  'chat.retract',
  'im.edit',
  'im.retract',
  // Issue 22 item 3: a read marker never moves back, so marking again changes nothing; a list is a read.
  'im.markread',
  'im.conversations',
  // SPEC §9: a room's read marker never moves back either (issue 22 item 2).
  'chat.markread',
]);

export const RETRYABLE_STATUSES = new Set([429, 503]);

/** A command sent or waiting to be: matched to its answer by `rid`, a new one per attempt. */
export interface PendingRequest {
  readonly action: string;
  readonly frame: Record<string, unknown>;
  readonly resendable: boolean;
  attempt: number;
  rid: string;
  timer?: ReturnType<typeof setTimeout>;
  resolve(body: unknown): void;
  reject(error: Error): void;
}

/** What the area helpers (rooms, presence) use of the client: its commands, its events, its state and options. */
export interface ClientCore {
  request<A extends Action>(action: A, args?: CommandArgs<A>): Promise<CommandResult<A>>;
  readonly events: EventHub;
  state(): ConnectionState;
  readonly options: UcClientOptions;
}

export function randomId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}
