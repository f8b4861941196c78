import WebSocket from 'ws';
import { type ClientEventName, type ClientEvents, UcClient, UcError, type UcClientOptions, type WebSocketFactory, type WebSocketLike } from '../../client/src';
import { waitFor } from './client';

/** The `ws` package's WebSocket, which has the browser's interface (Node 20 has no global one). */
export const nodeWebSocket: WebSocketFactory = (url) => new WebSocket(url, { perMessageDeflate: false }) as unknown as WebSocketLike;

/** One event as the client library emitted it: the server's events (frame minus `type`/`event`) and its own. */
export interface RecordedEvent<E extends ClientEventName = ClientEventName> {
  readonly event: E;
  readonly payload: ClientEvents[E];
}

/**
 * Every event a `UcClient` emits, kept for assertions, as `TestClient` keeps frames: `nextEvent` waits for
 * one (polling with `waitFor`, no fixed sleeps), `eventsNamed` lists them. What the library changes is
 * what tests see: `chat.message` once per seq (duplicates dropped by design); IM, conference and presence
 * events pass through unchanged; plus the library's own (`state`, `resumed`, `presence`, `retry`, ...).
 */
export class EventRecorder {
  readonly events: RecordedEvent[] = [];
  private readonly detach: () => void;

  constructor(readonly client: UcClient) {
    this.detach = client.onAny((event, payload) => this.events.push({ event, payload } as RecordedEvent));
  }

  /** The first event named `event` (matching `where`), waiting for it to arrive. */
  nextEvent<E extends ClientEventName>(event: E, where: (payload: ClientEvents[E]) => boolean = () => true, timeoutMs = 10_000): Promise<ClientEvents[E]> {
    return waitFor(`event ${event}`, () => this.eventsNamed(event).find((payload) => where(payload)), timeoutMs);
  }

  eventsNamed<E extends ClientEventName>(event: E): Array<ClientEvents[E]> {
    return this.events.filter((recorded): recorded is RecordedEvent<E> => recorded.event === event).map((recorded) => recorded.payload);
  }

  /** Resolves when the client reached `closed` (with reconnect off, a dropped connection gets there). */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    await this.nextEvent('state', ({ state }) => state === 'closed', timeoutMs);
  }

  stop(): void {
    this.detach();
  }
}

/**
 * A `UcClient` with its `EventRecorder` (`events`), that knows its sockets so a test can close it and wait
 * until the server has seen the connection close (`disconnect`), as `TestClient.close` does.
 */
export class RecordedClient extends UcClient {
  readonly events: EventRecorder;
  private readonly sockets: WebSocketLike[];

  constructor(options: UcClientOptions) {
    const sockets: WebSocketLike[] = [];
    const factory = options.webSocket ?? nodeWebSocket;
    super({
      ...options,
      webSocket: (url) => {
        const socket = factory(url);
        sockets.push(socket);
        return socket;
      },
    });
    this.sockets = sockets;
    this.events = new EventRecorder(this);
  }

  /** Closes for good and waits until every socket it opened is closed. */
  async disconnect(timeoutMs = 10_000): Promise<void> {
    this.close();
    await waitFor('the client’s sockets to close', () => this.sockets.every((socket) => socket.readyState === WebSocket.CLOSED) || undefined, timeoutMs);
  }
}

/** The status a command was answered: 200, or the status of the `UcError` it was refused with. */
export async function answerStatus(answer: Promise<unknown>): Promise<number> {
  try {
    await answer;
    return 200;
  } catch (error) {
    if (error instanceof UcError) return error.status;
    throw error;
  }
}
