import { type ClientEvents, UcClient, type UcClientOptions, type WebSocketFactory, type WebSocketLike } from '../../../client/src';
import { waitFor } from '../../support/wait';

/** A WebSocket the test plays the server of: it sees every frame the client sends and answers by hand. */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly sent: Array<Record<string, unknown>> = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  // The server's side.
  accept(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  refuse(): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code: 1006, reason: '' });
  }

  /** The server drops the connection (API Gateway's 2-hour limit, a network failure). */
  drop(code = 1006): void {
    this.close(code);
  }

  push(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  event(event: string, payload: Record<string, unknown>): void {
    this.push({ type: 'event', event, ...payload });
  }

  answer(request: Record<string, unknown>, status: number, bodyOrError: Record<string, unknown> = {}): void {
    this.push(status === 200 ? { type: 'response', rid: request.rid, status, body: bodyOrError } : { type: 'response', rid: request.rid, status, error: bodyOrError });
  }
}

/** Hands out FakeSockets and lets the test wait for frames of a given action. */
export class FakeServer {
  readonly sockets: FakeSocket[] = [];
  readonly factory: WebSocketFactory = (url) => {
    const socket = new FakeSocket(url);
    this.sockets.push(socket);
    return socket;
  };

  get current(): FakeSocket {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error('no socket opened yet');
    return socket;
  }

  async socketNumber(count: number): Promise<FakeSocket> {
    await until(() => this.sockets.length >= count, `socket #${count}`);
    return this.sockets[count - 1]!;
  }

  /** Waits for the next frame of `action` on the current socket that has not been taken yet. */
  async frame(action: string, socket?: FakeSocket): Promise<Record<string, unknown>> {
    const taken = this.taken;
    let found: Record<string, unknown> | undefined;
    await until(() => {
      const on = socket ?? this.sockets.at(-1);
      found = on?.sent.find((frame) => frame.action === action && !taken.has(frame));
      return found !== undefined;
    }, `a ${action} frame`);
    taken.add(found!);
    return found!;
  }

  /** Opens the current socket and answers the client's session.resume. */
  async acceptAndResume(body: Record<string, unknown> = { presence: { subscriptions: [] } }): Promise<Record<string, unknown>> {
    await until(() => this.sockets.length > 0, 'a socket');
    const socket = this.current;
    socket.accept();
    const resume = await this.frame('session.resume', socket);
    socket.answer(resume, 200, body);
    return resume;
  }

  private readonly taken = new Set<Record<string, unknown>>();
}

/** The shared polling helper (test/support/wait.ts), looking every 2 ms: the fakes answer at once. */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  await waitFor(what, check, timeoutMs, 2);
}

/** A client on a fresh scripted server, with short reconnect and gap-fill delays (the suites' common setup). */
export function scriptedClient(options: Partial<UcClientOptions> = {}): { server: FakeServer; client: UcClient } {
  const server = new FakeServer();
  const client = new UcClient({
    url: 'ws://uc.test',
    token: 'the-token',
    webSocket: server.factory,
    reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
    gapFillDelayMs: 20,
    ...options,
  });
  return { server, client };
}

/** Every payload of the client's event, in order, from now on. */
export function collectEvents<E extends keyof ClientEvents>(client: UcClient, event: E): Array<ClientEvents[E]> {
  const seen: Array<ClientEvents[E]> = [];
  client.on(event, (payload) => seen.push(payload));
  return seen;
}
