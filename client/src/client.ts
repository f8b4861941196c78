import { PresenceTracker } from './presence-tracker';
import type {
  Action,
  ChatMessage,
  CommandArgs,
  CommandResult,
  CommandResults,
  EventFrame,
  ResponseFrame,
  ServerEventName,
  ServerEvents,
  SubscriptionView,
  TargetPresence,
  TerminationReason,
} from './protocol';
import { RoomSequence } from './room-sequence';
import { MAX_RESUME_ROOMS } from '../../shared/protocol/limits';

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
  /** How long a command waits for its answer (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Retries of a command answered 429 or 503, each after the server's `retryAfterMs` (default 5). */
  readonly maxRetries?: number;
  /** Reconnect after a drop (default on): delays from `initialDelayMs` (500) doubling to `maxDelayMs` (30 s), with jitter. */
  readonly reconnect?: false | { readonly initialDelayMs?: number; readonly maxDelayMs?: number; readonly maxAttempts?: number };
  /** How long a seq gap in a room may stay open (events of concurrent posts cross) before it is read from history (default 1 s). */
  readonly gapFillDelayMs?: number;
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
type Handler<E extends ClientEventName> = (payload: ClientEvents[E]) => void;

/** A command answered with an error status. */
export class UcError extends Error {
  constructor(
    readonly action: string,
    readonly status: number,
    readonly code: string,
    /** The server's own message, e.g. "field 'text': must not be empty". */
    readonly serverMessage: string,
    readonly field?: string,
    readonly retryAfterMs?: number,
  ) {
    super(`${action}: ${status} ${code}: ${serverMessage}`);
    this.name = 'UcError';
  }
}

/** The connection closed before a command that cannot be safely re-sent was answered. */
export class ConnectionLostError extends Error {
  constructor(readonly action: string) {
    super(`${action}: the connection closed before the answer; it may or may not have been done`);
    this.name = 'ConnectionLostError';
  }
}

/** Commands that create something, and the client id that makes them idempotent (SPEC §2). */
const CLIENT_ID_FIELD: Partial<Record<Action, 'clientMsgId' | 'clientId'>> = {
  'im.send': 'clientMsgId',
  'chat.grpchat': 'clientMsgId',
  'conf.schedule': 'clientId',
  'room.create': 'clientId',
  'presence.subscribe': 'clientId',
};

/** Commands that change nothing (or only refresh), so re-sending one after a drop is harmless. */
const SAFE_TO_RESEND = new Set<string>([
  'ping',
  'chat.getserverinfo',
  'conf.get',
  'conf.content.list',
  'im.history',
  'presence.refresh',
  'presence.publish',
  'chat.getassociations',
  'chat.chansrch',
  'chat.bccontext',
  'chat.search',
  'chat.join',
  'chat.bjoin',
  'chat.file.download',
]);

const OPEN = 1;
/** `presence.subscribe` takes at most this many targets at once (a subscription holds more, added in steps). */
const MAX_TARGETS_PER_SUBSCRIBE = 50;

/** A presence subscription the client holds: what it watches, since when, and how often its line ended early. */
interface HeldSubscription {
  readonly targets: readonly string[];
  readonly since: number;
  readonly endings: number;
}
const RETRYABLE_STATUSES = new Set([429, 503]);

interface PendingRequest {
  readonly action: string;
  readonly frame: Record<string, unknown>;
  readonly resendable: boolean;
  attempt: number;
  rid: string;
  timer?: ReturnType<typeof setTimeout>;
  resolve(body: unknown): void;
  reject(error: Error): void;
}

/**
 * A client of the WebSocket API that hides its hard parts: one promise per command (matched by `rid`), a
 * keep-alive `ping`, reconnect with backoff and `session.resume` with the last seq of every room so no
 * message is missed, retries of 429/503 with the same client id, and seq tracking of rooms and presence.
 */
export class UcClient {
  private socket?: WebSocketLike;
  private state: ConnectionState = 'idle';
  private readonly handlers = new Map<string, Set<(payload: never) => void>>();
  private readonly anyHandlers = new Set<(event: ClientEventName, payload: unknown) => void>();
  private readonly pending = new Map<string, PendingRequest>();
  /** Sent while disconnected or answered 429/503: re-sent when the connection is back or the wait is over. */
  private readonly queued = new Set<PendingRequest>();
  private readonly rooms = new Map<string, RoomSequence>();
  private readonly gapTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly filling = new Map<string, Promise<void>>();
  private readonly presenceTracker = new PresenceTracker();
  /** Subscriptions with a gap refresh in flight. */
  private readonly presenceRefreshing = new Set<string>();
  /** The presence subscriptions this client holds, to subscribe again to their targets if they end unexpectedly. */
  private readonly presenceSubscriptions = new Map<string, HeldSubscription>();
  private readonly resubscribeTimers = new Set<ReturnType<typeof setTimeout>>();
  private ridCounter = 0;
  private lastSentAt = 0;
  private pingTimer?: ReturnType<typeof setInterval>;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private reconnectAttempt = 0;
  private everOpened = false;
  private readonly prefix = randomId().slice(0, 8);

  constructor(private readonly options: UcClientOptions) {}

  get connectionState(): ConnectionState {
    return this.state;
  }

  /** Presence as this client holds it (newest version per target). */
  get presence(): PresenceTracker {
    return this.presenceTracker;
  }

  /** The last seq seen per room, with no gap below it: what `session.resume` is sent. */
  lastSeqByRoom(): Record<string, number> {
    return Object.fromEntries([...this.rooms].map(([roomId, sequence]) => [roomId, sequence.watermark]));
  }

  /** Opens the connection and resumes the session; rejects if the first connection fails. */
  async connect(): Promise<CommandResult<'session.resume'>> {
    if (this.state === 'open' || this.state === 'connecting') throw new Error('already connected');
    try {
      return await this.open(false);
    } catch (error) {
      if (!this.everOpened) this.setState('idle');
      throw error;
    }
  }

  /** Closes for good: no reconnect; commands still waiting are rejected. */
  close(): void {
    this.setState('closed');
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    for (const timer of this.gapTimers.values()) clearTimeout(timer);
    this.gapTimers.clear();
    for (const timer of this.resubscribeTimers) clearTimeout(timer);
    this.resubscribeTimers.clear();
    this.socket?.close(1000, 'client closed');
    this.socket = undefined;
    for (const request of [...this.pending.values(), ...this.queued]) this.fail(request, new ConnectionLostError(request.action));
  }

  on<E extends ClientEventName>(event: E, handler: Handler<E>): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => set.delete(handler as (payload: never) => void);
  }

  /** Every event, server's and client's, with its name (logs, test recorders). */
  onAny(handler: (event: ClientEventName, payload: unknown) => void): () => void {
    this.anyHandlers.add(handler);
    return () => this.anyHandlers.delete(handler);
  }

  /**
   * Sends a command and resolves with its answer's body; rejects with `UcError` for an error status. A
   * command that creates something gets a client id when it has none, so retries (after 429/503, or a drop
   * before the answer) are done once by the server.
   */
  request<A extends Action>(action: A, args: CommandArgs<A> = {} as CommandArgs<A>): Promise<CommandResult<A>> {
    const frame: Record<string, unknown> = { ...(args as Record<string, unknown>) };
    const idField = CLIENT_ID_FIELD[action];
    if (idField && frame[idField] === undefined) frame[idField] = randomId();
    return new Promise<CommandResult<A>>((resolve, reject) => {
      const request: PendingRequest = {
        action,
        frame,
        resendable: idField !== undefined || SAFE_TO_RESEND.has(action),
        attempt: 0,
        rid: '',
        resolve: (body) => resolve(body as CommandResult<A>),
        reject,
      };
      if (this.state === 'closed') return reject(new ConnectionLostError(action));
      this.transmit(request);
    }).then((body) => this.afterAnswer(action, frame, body));
  }

  // Conveniences for what the UI does most; everything else goes through request().
  sendIm(args: CommandArgs<'im.send'>) {
    return this.request('im.send', args);
  }

  post(roomId: string, text: string, extra: Omit<CommandArgs<'chat.grpchat'>, 'roomId' | 'text'> = {}) {
    return this.request('chat.grpchat', { roomId, text, ...extra });
  }

  /** Uploads a file to a room (`chat.file.upload`, then the bytes with PUT) and answers its `fileId`. */
  async uploadFile(roomId: string, file: UploadableFile, fetcher: Fetcher = globalThis.fetch as unknown as Fetcher) {
    const contentType = file.type || 'application/octet-stream';
    const upload = await this.request('chat.file.upload', { roomId, fileName: file.name, size: file.size, contentType });
    const put = await fetcher(upload.uploadUrl, { method: 'PUT', headers: { 'content-type': contentType }, body: file.body });
    if (!put.ok) throw new UcError('chat.file.upload', put.status, 'UploadFailed', `the file store answered ${put.status} to the upload`);
    return upload;
  }

  /** Every message of a room newer than `afterSeq`, oldest first, read from history (`chat.bccontext`) page by page. */
  async messagesAfter(roomId: string, afterSeq: number): Promise<ChatMessage[]> {
    const found: ChatMessage[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await this.request('chat.bccontext', before ? { roomId, before } : { roomId });
      for (const message of page.messages) if (message.seq > afterSeq) found.push(message);
      const oldest = page.messages.at(-1);
      if (!page.cursor || !oldest || oldest.seq <= afterSeq + 1) break;
      before = page.cursor;
    }
    return found.sort((a, b) => a.seq - b.seq);
  }

  private async open(reconnect: boolean): Promise<CommandResult<'session.resume'>> {
    this.setState(reconnect ? 'reconnecting' : 'connecting', reconnect ? { attempt: this.reconnectAttempt } : undefined);
    const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    const url = `${this.options.url.replace(/\/?$/, '/')}?token=${encodeURIComponent(token)}`;
    const socket = (this.options.webSocket ?? defaultWebSocket)(url);
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`could not connect to ${this.options.url}`));
      socket.onclose = (event) => reject(new Error(`connection refused or closed (${event.code})`));
    });
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => this.dropped(socket, event.code);
    socket.onerror = () => undefined; // a close follows
    this.everOpened = true;
    this.reconnectAttempt = 0;
    this.setState('open');
    this.startPings();
    // Resume first, so the missed messages come before anything the queued commands cause.
    const resumed = await this.resume(reconnect);
    for (const request of [...this.queued]) {
      this.queued.delete(request);
      this.transmit(request);
    }
    return resumed;
  }

  private async resume(reconnect: boolean): Promise<CommandResult<'session.resume'>> {
    const since = this.lastSeqByRoom();
    // A frame holds `since` for MAX_RESUME_ROOMS rooms: each request sends the known rooms after the last one answered
    // (answers come in room id order), and a known room answered without its `since` is read from history below.
    const sent = new Set<string>();
    const sinceAfter = (lastAnswered?: string) => {
      const chunk = Object.keys(since)
        .filter((roomId) => lastAnswered === undefined || roomId > lastAnswered)
        .sort()
        .slice(0, MAX_RESUME_ROOMS);
      for (const roomId of chunk) sent.add(roomId);
      return chunk.length > 0 ? { since: Object.fromEntries(chunk.map((roomId) => [roomId, since[roomId]!])) } : {};
    };
    const first = await this.request('session.resume', sinceAfter());
    // One answer is one frame: the rest of the followed rooms come with `cursor`, page by page (docs/protocol.md).
    const rooms = [...(first.rooms ?? [])];
    for (let cursor = first.cursor; cursor !== undefined; ) {
      const next = await this.request('session.resume', { ...sinceAfter(rooms.at(-1)?.roomId), cursor });
      rooms.push(...(next.rooms ?? []));
      cursor = next.cursor;
    }
    const { cursor: _cursor, ...answer } = { ...first, ...(rooms.length > 0 ? { rooms } : {}) };
    for (const room of answer.rooms ?? []) {
      const known = since[room.roomId] !== undefined;
      const sequence = this.room(room.roomId, known ? undefined : room.lastSeq);
      const unsent = known && !sent.has(room.roomId) && room.lastSeq > sequence.watermark;
      const delivered = room.more || unsent ? await this.messagesAfter(room.roomId, sequence.watermark) : room.messages;
      for (const message of delivered) this.deliverChat(message);
    }
    this.emit('resumed', { ...answer, reconnect });
    return answer;
  }

  private dropped(socket: WebSocketLike, code: number): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    clearInterval(this.pingTimer);
    // Commands on the wire: those safe to re-send wait for the next connection, the others fail now.
    for (const request of this.pending.values()) {
      clearTimeout(request.timer);
      if (request.resendable && this.options.reconnect !== false) this.queued.add(request);
      else request.reject(new ConnectionLostError(request.action));
    }
    this.pending.clear();
    if (this.state === 'closed') return;
    if (this.options.reconnect === false || !this.everOpened) {
      this.close();
      return;
    }
    this.scheduleReconnect(code);
  }

  private scheduleReconnect(_code: number): void {
    const settings = this.options.reconnect || {};
    const attempt = ++this.reconnectAttempt;
    if (settings.maxAttempts !== undefined && attempt > settings.maxAttempts) {
      this.emit('error', { message: `gave up reconnecting after ${settings.maxAttempts} attempts` });
      this.close();
      return;
    }
    const base = Math.min(settings.maxDelayMs ?? 30_000, (settings.initialDelayMs ?? 500) * 2 ** (attempt - 1));
    const delay = base / 2 + Math.random() * (base / 2);
    this.setState('reconnecting', { attempt });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open(true).catch((error: unknown) => {
        if (this.state === 'closed') return;
        this.emit('error', { message: 'reconnect failed', cause: error });
        // A connection that opened and then dropped has scheduled the next attempt already.
        if (this.reconnectTimer !== undefined || (this.socket && this.socket.readyState === OPEN)) return;
        this.socket = undefined;
        this.scheduleReconnect(0);
      });
    }, delay);
  }

  private transmit(request: PendingRequest): void {
    if (!this.socket || this.socket.readyState !== OPEN || (this.state !== 'open' && request.action !== 'session.resume')) {
      this.queued.add(request);
      return;
    }
    request.rid = `${this.prefix}-${++this.ridCounter}`;
    this.pending.set(request.rid, request);
    request.timer = setTimeout(() => {
      this.pending.delete(request.rid);
      request.reject(new UcError(request.action, 0, 'Timeout', `no answer within ${this.requestTimeout} ms`));
    }, this.requestTimeout);
    this.lastSentAt = Date.now();
    this.socket.send(JSON.stringify({ action: request.action, rid: request.rid, ...request.frame }));
  }

  private get requestTimeout(): number {
    return this.options.requestTimeoutMs ?? 30_000;
  }

  private receive(data: unknown): void {
    let frame: ResponseFrame | EventFrame;
    try {
      frame = JSON.parse(typeof data === 'string' ? data : String(data)) as ResponseFrame | EventFrame;
    } catch {
      return;
    }
    if (frame.type === 'response') this.answer(frame);
    else if (frame.type === 'event') this.event(frame);
  }

  private answer(frame: ResponseFrame): void {
    const request = frame.rid === undefined ? undefined : this.pending.get(frame.rid);
    if (!request) return;
    this.pending.delete(request.rid);
    clearTimeout(request.timer);
    if (frame.status === 200) return request.resolve(frame.body ?? {});
    const error = frame.error ?? { code: 'Unknown', message: `status ${frame.status}` };
    if (RETRYABLE_STATUSES.has(frame.status) && request.attempt < (this.options.maxRetries ?? 5)) {
      request.attempt++;
      const retryAfterMs = error.retryAfterMs ?? 1000;
      this.emit('retry', { action: request.action, status: frame.status, retryAfterMs, attempt: request.attempt });
      // The same frame (same client id): the server does it once however many attempts reach it.
      setTimeout(() => (this.state === 'closed' ? this.fail(request, new ConnectionLostError(request.action)) : this.transmit(request)), retryAfterMs);
      return;
    }
    request.reject(new UcError(request.action, frame.status, error.code, error.message, error.field, error.retryAfterMs));
  }

  private event(frame: EventFrame): void {
    const { type: _type, event, ...payload } = frame;
    if (event === 'chat.message') return this.deliverChat(payload as unknown as ChatMessage);
    if (event === 'presence.notify') this.presenceNotify(payload as unknown as ServerEvents['presence.notify']);
    const ended = event === 'presence.subscriptionState' && payload.state === 'terminated';
    if (ended) this.presenceTracker.forget(String(payload.subscriptionId));
    this.emit(event as ServerEventName, payload as never);
    if (ended) this.presenceEnded(String(payload.subscriptionId), payload.reason as TerminationReason | undefined);
  }

  /** Emits a room message once, in whatever order it comes; a gap that stays open is read from history. */
  private deliverChat(message: ChatMessage): void {
    const sequence = this.room(message.roomId);
    if (!sequence.add(message.seq)) return;
    this.emit('chat.message', message);
    this.watchGap(message.roomId);
  }

  private watchGap(roomId: string): void {
    const sequence = this.room(roomId);
    if (sequence.missing().length === 0 || this.gapTimers.has(roomId)) return;
    this.gapTimers.set(
      roomId,
      setTimeout(() => {
        this.gapTimers.delete(roomId);
        if (sequence.missing().length === 0 || this.filling.has(roomId) || this.state !== 'open') return;
        const fill = this.messagesAfter(roomId, sequence.watermark)
          .then((messages) => messages.forEach((message) => this.deliverChat(message)))
          .catch((error: unknown) => this.emit('error', { message: `could not read the messages missed in ${roomId}`, cause: error }))
          .finally(() => this.filling.delete(roomId));
        this.filling.set(roomId, fill);
      }, this.options.gapFillDelayMs ?? 1000),
    );
  }

  private presenceNotify(notify: ServerEvents['presence.notify']): void {
    const decision = this.presenceTracker.notify(notify.subscriptionId, notify.uri, notify.presence, notify.version);
    if (decision.kind === 'stale' || (decision.kind === 'unknown' && !decision.changed)) return;
    this.emit('presence', { subscriptionId: notify.subscriptionId, uri: notify.uri, presence: notify.presence, version: notify.version });
    if (decision.kind !== 'gap') return;
    this.emit('presence.gap', { subscriptionId: notify.subscriptionId, uri: decision.uri, expected: decision.expected, received: decision.received });
    // One refresh at a time per subscription: its answer is a snapshot of every target (applied in afterAnswer).
    if (this.presenceRefreshing.has(notify.subscriptionId)) return;
    this.presenceRefreshing.add(notify.subscriptionId);
    this.request('presence.refresh', { subscriptionId: notify.subscriptionId })
      .catch((error: unknown) => this.emit('error', { message: `could not refresh presence subscription ${notify.subscriptionId}`, cause: error }))
      .finally(() => this.presenceRefreshing.delete(notify.subscriptionId));
  }

  /** Keeps the client's seq and presence bookkeeping in step with the answers that carry them. */
  private afterAnswer<A extends Action>(action: A, frame: Record<string, unknown>, body: CommandResult<A>): CommandResult<A> {
    switch (action) {
      case 'presence.subscribe': {
        const view = body as CommandResults['presence.subscribe'];
        this.presenceSnapshots([view]);
        // An answer to added targets carries only those: the subscription watches them and the earlier ones.
        const earlier = this.presenceSubscriptions.get(view.subscriptionId)?.targets ?? [];
        if (view.state !== 'terminated') this.holdSubscription(view.subscriptionId, [...earlier, ...view.targets.map((target) => target.uri)]);
        break;
      }
      case 'presence.refresh': {
        const refresh = body as CommandResults['presence.refresh'];
        this.presenceSnapshots('subscriptions' in refresh ? refresh.subscriptions : [refresh], true);
        break;
      }
      case 'presence.unsubscribe':
        this.presenceTracker.forget((body as CommandResults['presence.unsubscribe']).subscriptionId);
        this.presenceSubscriptions.delete((body as CommandResults['presence.unsubscribe']).subscriptionId);
        break;
      case 'session.resume': {
        // A continuation (`cursor` sent) answers rooms only.
        const resumed = body as Partial<CommandResults['session.resume']>;
        if (resumed.presence) this.presenceSnapshots(resumed.presence.subscriptions, true);
        break;
      }
      case 'chat.grpchat': {
        // Own posts are answered, not delivered back: count them as seen.
        const posted = body as CommandResults['chat.grpchat'];
        this.room(posted.roomId).add(posted.seq);
        this.watchGap(posted.roomId);
        break;
      }
      case 'chat.join': {
        // What came before the join is history (chat.bccontext), not missed messages.
        const joined = body as CommandResults['chat.join'];
        if (joined.room.lastSeq !== undefined) this.room(joined.room.roomId).skipTo(joined.room.lastSeq);
        break;
      }
      case 'chat.part':
        this.rooms.delete((frame as { roomId: string }).roomId);
        break;
    }
    return body;
  }

  /**
   * Applies snapshots; with `track`, also what they say of the subscriptions: an active one is attached to this
   * connection (this client holds it, with those targets), a terminated one this client held has ended.
   */
  private presenceSnapshots(views: readonly SubscriptionView[], track = false): void {
    for (const view of views) {
      for (const target of this.presenceTracker.snapshot(view)) this.emit('presence', { ...target, subscriptionId: view.subscriptionId });
      if (!track) continue;
      if (view.state !== 'terminated') this.holdSubscription(view.subscriptionId, view.targets.map((target) => target.uri));
      else if (this.presenceSubscriptions.has(view.subscriptionId)) this.presenceEnded(view.subscriptionId, view.reason);
    }
  }

  private holdSubscription(subscriptionId: string, targets: readonly string[]): void {
    const held = this.presenceSubscriptions.get(subscriptionId);
    this.presenceSubscriptions.set(subscriptionId, { targets: [...new Set(targets)], since: held?.since ?? Date.now(), endings: held?.endings ?? 0 });
  }

  /**
   * A subscription this client holds ended. Unless its owner ended it (`unsubscribed`), its targets are subscribed
   * again after a backoff that doubles while the replacements keep ending soon (the seed presence-connectivity-failures:
   * a subscription that terminates unexpectedly does not recover by itself).
   */
  private presenceEnded(subscriptionId: string, reason: TerminationReason | undefined): void {
    const held = this.presenceSubscriptions.get(subscriptionId);
    this.presenceSubscriptions.delete(subscriptionId);
    if (!held || reason === 'unsubscribed' || this.options.resubscribe === false || this.state === 'closed') return;
    const settings = this.options.resubscribe ?? {};
    const maxDelayMs = settings.maxDelayMs ?? 60_000;
    // One that lived longer than the longest wait ended on its own account: start the backoff over.
    const endings = Date.now() - held.since > maxDelayMs ? 1 : held.endings + 1;
    const attempt = (tries: number) => {
      const base = Math.min(maxDelayMs, (settings.initialDelayMs ?? 1000) * 2 ** (endings + tries - 1));
      const timer = setTimeout(
        () => {
          this.resubscribeTimers.delete(timer);
          if (this.state === 'closed') return;
          this.subscribeAgain(subscriptionId, reason ?? 'expired', held.targets, endings).then(
            (done) => (done ? undefined : attempt(tries + 1)),
            (error: unknown) => {
              this.emit('error', { message: `could not subscribe again to the targets of presence subscription ${subscriptionId}`, cause: error });
              // A refusal (403, 400) will not change by waiting; anything else (503, a drop, a timeout) is tried again.
              if (error instanceof UcError && error.status >= 400 && error.status < 500 && error.status !== 429) return;
              attempt(tries + 1);
            },
          );
        },
        base / 2 + Math.random() * (base / 2),
      );
      this.resubscribeTimers.add(timer);
    };
    attempt(0);
  }

  /** A new subscription on the targets of one that ended (50 targets a command); false if it answered terminated. */
  private async subscribeAgain(previousSubscriptionId: string, reason: TerminationReason, targets: readonly string[], endings: number): Promise<boolean> {
    const first = await this.request('presence.subscribe', { targets: targets.slice(0, MAX_TARGETS_PER_SUBSCRIBE) });
    if (first.state === 'terminated') return false;
    // Held with every target from now on, so that if it ends too, all of them are subscribed again.
    this.presenceSubscriptions.set(first.subscriptionId, { targets, since: Date.now(), endings });
    for (let start = MAX_TARGETS_PER_SUBSCRIBE; start < targets.length; start += MAX_TARGETS_PER_SUBSCRIBE) {
      const chunk = targets.slice(start, start + MAX_TARGETS_PER_SUBSCRIBE);
      // Not a reason to subscribe anew (that would make two): the rest of the targets are reported and go on.
      await this.request('presence.subscribe', { subscriptionId: first.subscriptionId, targets: chunk }).catch((error: unknown) =>
        this.emit('error', { message: `could not add ${chunk.length} targets to presence subscription ${first.subscriptionId}`, cause: error }),
      );
    }
    this.emit('presence.resubscribed', { previousSubscriptionId, subscriptionId: first.subscriptionId, reason, targets: [...targets] });
    return true;
  }

  /** The room's sequence; a room first seen starts at `initialSeq` (its `lastSeq`: older messages are history). */
  private room(roomId: string, initialSeq?: number): RoomSequence {
    let sequence = this.rooms.get(roomId);
    if (!sequence) this.rooms.set(roomId, (sequence = new RoomSequence(initialSeq ?? 0)));
    return sequence;
  }

  private startPings(): void {
    clearInterval(this.pingTimer);
    const interval = this.options.pingIntervalMs ?? 5 * 60_000;
    this.pingTimer = setInterval(
      () => {
        if (this.state !== 'open' || Date.now() - this.lastSentAt < interval * 0.9) return;
        this.request('ping').catch(() => undefined); // a lost ping shows as a drop, handled there
      },
      Math.max(50, interval / 4),
    );
  }

  private fail(request: PendingRequest, error: Error): void {
    clearTimeout(request.timer);
    this.queued.delete(request);
    this.pending.delete(request.rid);
    request.reject(error);
  }

  private setState(state: ConnectionState, extra?: { attempt: number }): void {
    this.state = state;
    this.emit('state', { state, ...extra });
  }

  private emit<E extends ClientEventName>(event: E, payload: ClientEvents[E]): void {
    const handlers = [...(this.handlers.get(event) ?? [])].map((handler) => (value: ClientEvents[E]) => (handler as Handler<E>)(value));
    for (const any of this.anyHandlers) handlers.push((value) => any(event, value));
    for (const handler of handlers) {
      try {
        handler(payload);
      } catch (error) {
        if (event !== 'error') this.emit('error', { message: `a handler of ${event} threw`, cause: error });
      }
    }
  }
}

function defaultWebSocket(url: string): WebSocketLike {
  const Constructor = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!Constructor) throw new Error('no global WebSocket here: pass options.webSocket (e.g. from the ws package)');
  return new Constructor(url);
}

function randomId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}
