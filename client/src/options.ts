import type { CommandResult, ServerEvents, TargetPresence, TerminationReason } from './protocol';

/** The part of the WHATWG WebSocket the client uses: the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

/** A file to upload: a browser `File` fits (`body` the file itself), as do bytes in Node. */
export interface UploadableFile {
  readonly name: string;
  readonly type?: string;
  readonly size: number;
  readonly body: unknown;
}

/** The part of `fetch` an upload uses. */
export type Fetcher = (url: string, init: { method: string; headers: Record<string, string>; body: unknown }) => Promise<{ ok: boolean; status: number }>;

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface UcClientOptions {
  /** The WebSocket API, e.g. `ws://localhost:3001` (the token is added as `?token=`). */
  readonly url: string;
  /** A token, or a function asked for one at every (re)connect, so an expired token can be replaced. */
  readonly token: string | (() => string | Promise<string>);
  /** Default: the global `WebSocket` (browsers, Node 22); on Node 20 pass `(url) => new WebSocket(url)` from `ws`. */
  readonly webSocket?: WebSocketFactory;
  /** A `ping` when nothing was sent for this long (default 5 minutes: API Gateway drops a connection idle for 10). */
  readonly pingIntervalMs?: number;
  /**
   * How long a (re)connection's WebSocket handshake may take (default 10 s). One that takes longer is closed and
   * counts as failed: `connect()` rejects, a reconnect attempt is followed by the next one after its backoff.
   */
  readonly connectTimeoutMs?: number;
  /** How long a command waits for its answer (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Retries of a command answered 429 or 503, each after the server's `retryAfterMs` (default 5). */
  readonly maxRetries?: number;
  /** Reconnect after a drop (default on): delays from `initialDelayMs` (500) doubling to `maxDelayMs` (30 s), with jitter. */
  readonly reconnect?: false | { readonly initialDelayMs?: number; readonly maxDelayMs?: number; readonly maxAttempts?: number };
  /** How long a seq gap in a room may stay open (events of concurrent posts cross) before it is read from history (default 1 s). */
  readonly gapFillDelayMs?: number;
  /**
   * IM resume before this client saw any IM: `imSince` is when it first connected, by its own clock, less this much
   * for the difference between its clock and the server's (default 5 s; what it brings again is dropped by id).
   */
  readonly imClockSkewMs?: number;
  /**
   * Re-subscribe a presence subscription this client holds when it ends unexpectedly (`terminated` for another
   * reason than `unsubscribed`), as the seed presence-connectivity-failures advises (default on): after
   * `initialDelayMs` (1 s), doubling up to `maxDelayMs` (60 s) while it keeps ending, with jitter.
   */
  readonly resubscribe?: false | { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
}

/** Events the client adds to the server's. */
export interface ClientEvents extends ServerEvents {
  /** The connection's state changed. */
  state: { state: ConnectionState; attempt?: number };
  /** A (re)connection was resumed: the server's `session.resume` answer, after missed messages were delivered. */
  resumed: CommandResult<'session.resume'> & { reconnect: boolean };
  /** A target's presence changed (from a notification or a snapshot), newest version only. */
  presence: TargetPresence & { subscriptionId: string };
  /** A target's `version` jumped (`received` > `expected`): a change was missed; the client refreshes the subscription. */
  'presence.gap': { subscriptionId: string; uri: string; expected: number; received: number };
  /** A subscription that ended unexpectedly was replaced by a new one on the same targets (option `resubscribe`). */
  'presence.resubscribed': { previousSubscriptionId: string; subscriptionId: string; reason: TerminationReason; targets: string[] };
  /** A command is retried after 429/503. */
  retry: { action: string; status: number; retryAfterMs: number; attempt: number };
  /** Something went wrong that no command promise reports (a failed resume or gap fill). */
  error: { message: string; cause?: unknown };
}

export type ClientEventName = keyof ClientEvents;
export type Handler<E extends ClientEventName> = (payload: ClientEvents[E]) => void;
