import { ConnectionLostError, UcError } from './errors';
import { EventHub } from './events';
import type { ClientEventName, ClientEvents, ConnectionState, Fetcher, Handler, UcClientOptions, UploadableFile, WebSocketLike } from './options';
import { PresenceSync } from './presence';
import type { PresenceTracker } from './presence-tracker';
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
  TerminationReason,
} from './protocol';
import { CLIENT_ID_FIELD, type ClientCore, type PendingRequest, RETRYABLE_STATUSES, randomId, SAFE_TO_RESEND } from './requests';
import { ImFeed } from './conversations';
import { RoomFeed } from './rooms';

export { ConnectionLostError, UcError } from './errors';
export type { ClientEventName, ClientEvents, ConnectionState, Fetcher, UcClientOptions, UploadableFile, WebSocketFactory, WebSocketLike } from './options';

const OPEN = 1;

/** A (re)connection attempt that `close()` or `reconnectNow()` stopped: no failure, nothing to report or retry. */
class AttemptStopped extends Error {
  constructor() {
    super('the connection attempt was stopped: the client was closed, or a fresh attempt replaced it');
    this.name = 'AttemptStopped';
  }
}

function ignore(): void {}

/**
 * A client of the WebSocket API that hides its hard parts: one promise per command (matched by `rid`), a
 * keep-alive `ping`, reconnect with backoff and `session.resume` with the last seq of every room so no
 * message is missed, retries of 429/503 with the same client id, and seq tracking of rooms and presence.
 */
export class UcClient {
  private socket?: WebSocketLike;
  private state: ConnectionState = 'idle';
  private readonly hub = new EventHub();
  private readonly pending = new Map<string, PendingRequest>();
  /** Sent while disconnected or answered 429/503: re-sent when the connection is back or the wait is over. */
  private readonly queued = new Set<PendingRequest>();
  /** The areas: rooms (seq, gaps, resume) and presence (tracker, refresh, resubscribe). */
  private readonly rooms: RoomFeed;
  private readonly presenceSync: PresenceSync;
  /** IM (issue 22 item 3): the newest IM seen, sent as `imSince` on every resume; resumed messages emitted once. */
  private readonly ims: ImFeed;
  private ridCounter = 0;
  private lastSentAt = 0;
  private pingTimer?: ReturnType<typeof setInterval>;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private reconnectAttempt = 0;
  private everOpened = false;
  /** Closed because the reconnect attempts ran out (`maxAttempts`), not by `close()`: `reconnectNow()` may start again. */
  private gaveUp = false;
  /**
   * Counts the (re)connection attempts, and `close()`s: an attempt whose number is no longer the latest was stopped
   * (closed, or replaced by `reconnectNow()`) and goes no further after any of its waits.
   */
  private attemptNumber = 0;
  /** The number of the attempt waiting for its token or its handshake (0: none), which `reconnectNow()` may replace. */
  private waitingAttempt = 0;
  /** Fails the handshake under way at once (the attempt was stopped). */
  private stopHandshake?: () => void;
  private readonly prefix = randomId().slice(0, 8);

  constructor(private readonly options: UcClientOptions) {
    // Through `this`, as the client's own calls go, so a subclass or a spy sees the areas' commands too.
    const core: ClientCore = { request: (action, args) => this.request(action, args), events: this.hub, state: () => this.state, options };
    this.rooms = new RoomFeed(core);
    this.presenceSync = new PresenceSync(core);
    this.ims = new ImFeed(core);
  }

  /** The `ts` of the newest IM this client saw: the next resume's `imSince`. */
  get lastImTs(): number | undefined {
    return this.ims.lastSeenTs;
  }

  /** `im.markread`: the read marker moves forward to the message on every device; the others get `im.read`. */
  markImRead(conversationId: string, messageId: string) {
    return this.request('im.markread', { conversationId, messageId });
  }

  /** `im.conversations`: this user's conversations, latest activity first, with `unread`. */
  imConversations(args: CommandArgs<'im.conversations'> = {}) {
    return this.request('im.conversations', args);
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  /** Presence as this client holds it (newest version per target). */
  get presence(): PresenceTracker {
    return this.presenceSync.tracker;
  }

  /** The last seq seen per room, with no gap below it: what `session.resume` is sent. */
  lastSeqByRoom(): Record<string, number> {
    return this.rooms.lastSeqByRoom();
  }

  /** Opens the connection and resumes the session; rejects if the first connection fails. */
  async connect(): Promise<CommandResult<'session.resume'>> {
    if (this.state === 'open' || this.state === 'connecting') throw new Error('already connected');
    try {
      return await this.open(false);
    } catch (error) {
      if (!this.everOpened && this.state !== 'closed') this.setState('idle');
      throw error;
    }
  }

  /**
   * Tries to reconnect at once instead of waiting out the backoff ("Retry now": the network is back, the page is
   * shown again), or starts over after the attempts ran out (`maxAttempts`). An attempt under way that has not
   * opened yet (waiting for its token or its handshake, which may hang until `connectTimeoutMs`) is dropped for a
   * fresh one. False when there is nothing to retry: connected, connecting, resuming, or closed by `close()`.
   */
  reconnectNow(): boolean {
    if (this.state === 'closed') {
      if (!this.gaveUp) return false;
      this.gaveUp = false;
      this.reconnectAttempt = 1;
      this.attemptReconnect();
      return true;
    }
    if (this.state !== 'reconnecting') return false;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    else if (this.waitingAttempt !== 0 && this.waitingAttempt === this.attemptNumber) this.stopAttempt();
    else return false; // between two steps (e.g. a state listener of this very attempt): it goes on by itself
    this.attemptReconnect();
    return true;
  }

  /**
   * Closes for good: no reconnect, and an attempt under way goes no further (its socket is closed); commands still
   * waiting are rejected.
   */
  close(): void {
    this.shutDown(false);
  }

  on<E extends ClientEventName>(event: E, handler: Handler<E>): () => void {
    return this.hub.on(event, handler);
  }

  /** Every event, server's and client's, with its name (logs, test recorders). */
  onAny(handler: (event: ClientEventName, payload: unknown) => void): () => void {
    return this.hub.onAny(handler);
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

  /** `chat.edit`: the author changes a room message's text; readers get `chat.edited`. */
  editPost(roomId: string, messageId: string, text: string) {
    return this.request('chat.edit', { roomId, messageId, text });
  }

  /** `chat.retract`: the author or a manager leaves a tombstone at the message's seq; readers get `chat.retracted`. */
  retractPost(roomId: string, messageId: string) {
    return this.request('chat.retract', { roomId, messageId });
  }

  /** `im.edit`: the author changes an IM's text; the participants get `im.edited`. */
  editIm(conversationId: string, messageId: string, text: string) {
    return this.request('im.edit', { conversationId, messageId, text });
  }

  /** `im.retract`: the author takes an IM back; the participants get `im.retracted`. */
  retractIm(conversationId: string, messageId: string) {
    return this.request('im.retract', { conversationId, messageId });
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
  messagesAfter(roomId: string, afterSeq: number): Promise<ChatMessage[]> {
    return this.rooms.messagesAfter(roomId, afterSeq);
  }

  /**
   * Closes (`close()`, or giving up after `maxAttempts`). Everything is stopped before `closed` is announced, so a
   * state listener may call `reconnectNow()` at once. Giving up keeps the presence subscriptions held, and those
   * waiting to be subscribed again, for when the connection opens again.
   */
  private shutDown(gaveUp: boolean): void {
    this.stopAttempt();
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    clearInterval(this.pingTimer);
    this.rooms.stop();
    if (gaveUp) this.presenceSync.suspend();
    else this.presenceSync.stop();
    const socket = this.socket;
    this.socket = undefined; // before closing it: its close is no drop
    socket?.close(1000, 'client closed');
    for (const request of [...this.pending.values(), ...this.queued]) this.fail(request, new ConnectionLostError(request.action));
    this.gaveUp = gaveUp;
    this.setState('closed');
  }

  /** The attempt under way goes no further: it sees at its next step that it is no longer the latest. */
  private stopAttempt(): void {
    this.attemptNumber++;
    this.stopHandshake?.();
  }

  private async open(reconnect: boolean): Promise<CommandResult<'session.resume'>> {
    const attempt = ++this.attemptNumber;
    const stopped = () => attempt !== this.attemptNumber;
    this.setState(reconnect ? 'reconnecting' : 'connecting', reconnect ? { attempt: this.reconnectAttempt } : undefined);
    if (stopped()) throw new AttemptStopped(); // by a state listener
    this.waitingAttempt = attempt;
    let socket: WebSocketLike;
    try {
      const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
      if (stopped()) throw new AttemptStopped();
      socket = await this.openSocket(`${this.options.url.replace(/\/?$/, '/')}?token=${encodeURIComponent(token)}`, stopped);
    } finally {
      if (this.waitingAttempt === attempt) this.waitingAttempt = 0;
    }
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => this.dropped(socket, event.code);
    socket.onerror = ignore; // a close follows
    this.everOpened = true;
    this.reconnectAttempt = 0;
    this.setState('open');
    if (stopped()) throw new AttemptStopped(); // closed by a state listener
    this.startPings();
    // Resume first, so the missed messages come before anything the queued commands cause.
    // IM since the newest seen rides on the same request; the messages it brings are emitted before `resumed`.
    const imArgs = this.ims.resumeArgs();
    const resumed = await this.rooms.resume(reconnect, imArgs, (answer) => this.ims.resumed(answer, imArgs.imSince));
    if (stopped()) throw new AttemptStopped();
    // Re-subscribes parked while the client had given up reconnecting, after the resume answer applied its own.
    this.presenceSync.reopened();
    for (const request of [...this.queued]) {
      this.queued.delete(request);
      this.transmit(request);
    }
    return resumed;
  }

  /** A new socket, open; on failure (or when the attempt was stopped meanwhile) it is closed. */
  private async openSocket(url: string, stopped: () => boolean): Promise<WebSocketLike> {
    const socket = (this.options.webSocket ?? defaultWebSocket)(url);
    this.socket = socket;
    try {
      await this.handshake(socket);
      if (stopped()) throw new AttemptStopped();
      return socket;
    } catch (error) {
      // No handler left to report anything more of it (an error handler stays: the `ws` package throws without one).
      socket.onopen = ignore;
      socket.onclose = ignore;
      socket.onerror = ignore;
      socket.close(1000, 'client closed');
      if (this.socket === socket) this.socket = undefined;
      throw stopped() ? new AttemptStopped() : error;
    }
  }

  /** Waits for the socket to open; fails if it errors or closes first, after `connectTimeoutMs`, or when stopped. */
  private handshake(socket: WebSocketLike): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        if (this.stopHandshake === stop) this.stopHandshake = undefined;
        if (error) reject(error);
        else resolve();
      };
      const stop = () => done(new AttemptStopped());
      // Clamped: a timer longer than 2^31 - 1 ms would fire at once.
      const timer = setTimeout(() => done(new Error(`could not connect to ${this.options.url} within ${timeoutMs} ms`)), Math.min(timeoutMs, 2 ** 31 - 1));
      this.stopHandshake = stop;
      socket.onopen = () => done();
      socket.onerror = () => done(new Error(`could not connect to ${this.options.url}`));
      socket.onclose = (event) => done(new Error(`connection refused or closed (${event.code})`));
    });
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
      this.shutDown(true);
      return;
    }
    const base = Math.min(settings.maxDelayMs ?? 30_000, (settings.initialDelayMs ?? 500) * 2 ** (attempt - 1));
    const delay = base / 2 + Math.random() * (base / 2);
    this.setState('reconnecting', { attempt });
    this.reconnectTimer = setTimeout(() => this.attemptReconnect(), delay);
  }

  /** One reconnect attempt; a failed one schedules the next (with backoff). */
  private attemptReconnect(): void {
    this.reconnectTimer = undefined;
    this.open(true).catch((error: unknown) => {
      // Stopped on purpose (closed, or replaced by a fresh attempt): whoever stopped it goes on from there.
      if (error instanceof AttemptStopped || this.state === 'closed') return;
      this.emit('error', { message: 'reconnect failed', cause: error });
      // A connection that opened and then dropped has scheduled the next attempt already.
      if (this.reconnectTimer !== undefined || (this.socket && this.socket.readyState === OPEN)) return;
      this.socket = undefined;
      this.scheduleReconnect(0);
    });
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
    if (event === 'chat.message') return this.rooms.deliver(payload as unknown as ChatMessage);
    if (event === 'presence.notify') this.presenceSync.notify(payload as unknown as ServerEvents['presence.notify']);
    if (event === 'im.message') this.ims.live(payload as unknown as ServerEvents['im.message']);
    const ended = event === 'presence.subscriptionState' && payload.state === 'terminated';
    if (ended) this.presenceSync.tracker.forget(String(payload.subscriptionId));
    this.emit(event as ServerEventName, payload as never);
    if (ended) this.presenceSync.ended(String(payload.subscriptionId), payload.reason as TerminationReason | undefined);
  }

  /** Keeps the client's seq and presence bookkeeping in step with the answers that carry them. */
  private afterAnswer<A extends Action>(action: A, frame: Record<string, unknown>, body: CommandResult<A>): CommandResult<A> {
    switch (action) {
      case 'presence.subscribe':
        this.presenceSync.subscribed(body as CommandResults['presence.subscribe']);
        break;
      case 'presence.refresh': {
        const refresh = body as CommandResults['presence.refresh'];
        this.presenceSync.snapshots('subscriptions' in refresh ? refresh.subscriptions : [refresh], true);
        break;
      }
      case 'presence.unsubscribe':
        this.presenceSync.unsubscribed((body as CommandResults['presence.unsubscribe']).subscriptionId);
        break;
      case 'session.resume': {
        // A continuation (`cursor` sent) answers rooms only.
        const resumed = body as Partial<CommandResults['session.resume']>;
        if (resumed.presence) this.presenceSync.snapshots(resumed.presence.subscriptions, true);
        break;
      }
      case 'im.send':
        this.ims.sent(body as CommandResults['im.send']);
        break;
      case 'chat.grpchat': {
        const posted = body as CommandResults['chat.grpchat'];
        this.rooms.posted(posted.roomId, posted.seq);
        break;
      }
      case 'chat.join': {
        const joined = body as CommandResults['chat.join'];
        this.rooms.joined(joined.room.roomId, joined.room.lastSeq);
        break;
      }
      case 'chat.part':
        this.rooms.left((frame as { roomId: string }).roomId);
        break;
    }
    return body;
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
    this.hub.emit(event, payload);
  }
}

function defaultWebSocket(url: string): WebSocketLike {
  const Constructor = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!Constructor) throw new Error('no global WebSocket here: pass options.webSocket (e.g. from the ws package)');
  return new Constructor(url);
}
