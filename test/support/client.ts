import WebSocket from 'ws';
import { waitFor } from './wait';

export interface ResponseFrame {
  type: 'response';
  rid?: string;
  status: number;
  body?: Record<string, unknown>;
  error?: { code: string; message: string; field?: string; retryAfterMs?: number };
}

export interface EventFrame {
  type: 'event';
  event: string;
  [key: string]: unknown;
}

// The one polling helper lives in ./wait; suites that import it from here keep working.
export { waitFor } from './wait';

/** A WebSocket client for tests: request/response by `rid`, and every event kept for assertions. */
export class TestClient {
  readonly events: EventFrame[] = [];
  readonly frames: unknown[] = [];
  private readonly waiting = new Map<string, { resolve: (frame: ResponseFrame) => void; reject: (error: Error) => void }>();
  private nextRid = 0;
  closeCode?: number;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ResponseFrame | EventFrame;
      this.frames.push(frame);
      if (frame.type === 'event') this.events.push(frame);
      else if (frame.type === 'response' && frame.rid !== undefined) {
        this.waiting.get(frame.rid)?.resolve(frame);
      }
    });
    socket.on('close', (code) => {
      this.closeCode = code;
      for (const pending of this.waiting.values()) pending.reject(new Error(`connection closed (${code}) before the response`));
    });
  }

  static connect(url: string): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new TestClient(socket)));
      socket.once('unexpected-response', (_request, response) => reject(new UpgradeRefused(response.statusCode ?? 0)));
      socket.once('error', reject);
    });
  }

  /** Sends a command and resolves with its response frame. */
  request(action: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<ResponseFrame> {
    const rid = `r${++this.nextRid}`;
    return this.sendRaw(JSON.stringify({ action, rid, ...args }), rid, timeoutMs);
  }

  /** Sends any text (malformed frames included) and waits for the response carrying `rid`. */
  sendRaw(text: string, rid: string, timeoutMs = 10_000): Promise<ResponseFrame> {
    if (this.socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error(`connection not open for ${rid}`));
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.waiting.delete(rid);
      };
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`no response to ${rid} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(rid, {
        resolve: (frame) => {
          settle();
          resolve(frame);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      this.socket.send(text);
    });
  }

  /** Sends text and waits for the next frame of any kind (for frames without a usable rid). */
  async sendAndNextFrame(text: string, timeoutMs = 10_000): Promise<unknown> {
    const before = this.frames.length;
    this.socket.send(text);
    return waitFor('a frame', () => this.frames[before], timeoutMs);
  }

  /** The first event named `event` (matching `where`), waiting for it to arrive. */
  nextEvent(event: string, where: (frame: EventFrame) => boolean = () => true, timeoutMs = 10_000): Promise<EventFrame> {
    return waitFor(`event ${event}`, () => this.events.find((frame) => frame.event === event && where(frame)), timeoutMs);
  }

  eventsNamed(event: string): EventFrame[] {
    return this.events.filter((frame) => frame.event === event);
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  waitClosed(timeoutMs = 10_000): Promise<number> {
    return waitFor('the connection to close', () => this.closeCode, timeoutMs);
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

export class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`upgrade refused with HTTP ${status}`);
  }
}

/** Connects and returns the HTTP status of a refused upgrade (or 101 when it was accepted). */
export async function upgradeStatus(url: string): Promise<number> {
  try {
    const client = await TestClient.connect(url);
    await client.close();
    return 101;
  } catch (error) {
    if (error instanceof UpgradeRefused) return error.status;
    throw error;
  }
}
