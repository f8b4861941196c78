/**
 * `npm run load` (issue 11): many connections in many rooms posting for a bounded time against the local cloud,
 * over loopback only, in one process, then it drains, checks and stops by itself.
 *
 *   npm run load -- --connections 1000 --rooms 50 --seconds 180 --rate 0.02
 *
 * Checks: no error (every response 200, no unexpected close, no exception); every acknowledged post received
 * exactly once by every other follower of its room (no loss, no duplicate, no gap in any connection's seqs);
 * every room's seqs 1..N contiguous; memory bounded over the posting phase. `runLoad` is also what the short
 * run in `npm test` calls (test/e2e/load.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { type LocalCloud, type LocalCloudOptions, startLocalCloud } from '../infra/local/cloud';
import { issueToken } from '../shared/auth/tokens';
import { requireJwtSecret } from '../shared/config';

export interface LoadOptions {
  /** Connections held, each its own enterprise user (default 1,000). */
  readonly connections?: number;
  /** Rooms; connection i follows room i mod rooms (default 50: 20 followers each). */
  readonly rooms?: number;
  /** How long every connection posts (default 180 s). */
  readonly durationSeconds?: number;
  /** `chat.grpchat` per second per connection (default 0.02: one every 50 s, 20 posts/s for 1,000 connections). */
  readonly postsPerSecond?: number;
  /** How long to wait for the last deliveries after the posting stops (default 60 s). */
  readonly drainTimeoutSeconds?: number;
  /** Size of each message text in bytes (default 100). */
  readonly textBytes?: number;
  /** Connections (and joins) set up at once (default 50). */
  readonly setupConcurrency?: number;
  /** A running cloud to load (left running); otherwise one is started with `cloudOptions` and stopped. */
  readonly cloud?: LocalCloud;
  readonly cloudOptions?: LocalCloudOptions;
  /** Make `gc()` available (v8 flag at run time) for post-GC heap samples; `global.gc` is used when exposed. */
  readonly exposeGc?: boolean;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface MemorySample {
  /** Seconds since the start of the run. */
  readonly t: number;
  readonly rss: number;
  readonly heapUsed: number;
}

export interface LoadReport {
  readonly connections: number;
  readonly rooms: number;
  readonly durationSeconds: number;
  readonly postsPerSecondPerConnection: number;
  /** Connections open when the posting stopped (all of them, unless one closed). */
  readonly connectionsHeld: number;
  readonly setupSeconds: number;
  readonly postingSeconds: number;
  readonly drainSeconds: number;
  readonly totalSeconds: number;
  readonly postsSent: number;
  readonly postsAcknowledged: number;
  /** Tries after a 503 or 429, with the same clientMsgId (each post is still created once). */
  readonly postRetries: number;
  readonly deliveries: {
    /** For each acknowledged post, one per other follower of its room. */
    readonly expected: number;
    /** chat.message events received for an acknowledged post (duplicates included). */
    readonly received: number;
    readonly lost: number;
    /** Live deliveries of posts answered only after a retry that never came, whose message history holds. */
    readonly recoveredFromHistory: number;
    readonly duplicates: number;
    /** Events for a seq no answer acknowledged, or for a room the connection does not follow. */
    readonly unexpected: number;
    /** Events that came after a higher seq of the same room on the same connection (allowed: posts run concurrently). */
    readonly outOfOrder: number;
    /** Connections missing at least one seq of their room. */
    readonly connectionsWithGaps: number;
  };
  /** Rooms whose acknowledged seqs are not exactly 1..N (a seq answered twice, or one missing). */
  readonly roomsNotContiguous: number;
  readonly seqsPerRoom: { readonly min: number; readonly max: number };
  readonly errors: { readonly count: number; readonly byKind: Readonly<Record<string, number>>; readonly samples: readonly string[] };
  readonly throughput: { readonly postsPerSecond: number; readonly deliveriesPerSecond: number };
  readonly latencyMs: { readonly ack: LatencySummary; readonly delivery: LatencySummary };
  readonly memory: {
    readonly samples: readonly MemorySample[];
    readonly start: MemorySample;
    readonly peak: { readonly rss: number; readonly heapUsed: number };
    readonly end: MemorySample;
    /** heapUsed after a full GC at the start, thirds and end of the posting phase (when gc() is available). */
    readonly afterGc: readonly MemorySample[];
    /** Peak heapUsed in the last third of the posting phase / peak in the middle third. */
    readonly lastToMiddleThirdPeakRatio: number;
    /** What the ratio is computed on: post-GC samples (every 10 s) when gc() is available, else raw samples. */
    readonly basis: 'after-gc' | 'raw';
    /** The ratio is at most 1.5. */
    readonly bounded: boolean;
    /** DynamoDB Local's JVM (a child process, not in the figures above) when the posting starts and after the drain, when it is ours and visible in /proc. */
    readonly dynamoDbLocalRss?: { readonly start: number; readonly end: number };
  };
  /** This process's event loop lag over the posting and the drain (clients, gateway and handlers share it). */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  /** Client connections of the run the gateway still held 30 s after the clients closed (0: the run stopped cleanly). */
  readonly connectionsLeft: number;
  /** Every check passed: no error, no loss, no duplicate, nothing unexpected, contiguous seqs. */
  readonly ok: boolean;
}

const MB = 2 ** 20;
const REQUEST_TIMEOUT_MS = 30_000;
/** Tries of one post after a 503 or 429 before it counts as an error. */
const MAX_POST_RETRIES = 5;
/** The event loop is sampled with a timer of this period; the lag reported is what came on top of it. */
const LOOP_SAMPLE_MS = 20;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Latencies in 0.1 ms buckets up to 60 s (compact: no sample is kept). */
class Histogram {
  private readonly counts = new Uint32Array(600_001);
  count = 0;
  max = 0;
  add(ms: number): void {
    const value = Math.max(0, ms);
    this.counts[Math.min(this.counts.length - 1, Math.round(value * 10))]!++;
    this.count++;
    if (value > this.max) this.max = value;
  }
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let bucket = 0; bucket < this.counts.length; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) return bucket / 10;
    }
    return this.max;
  }
  summary(): LatencySummary {
    return { count: this.count, p50: this.percentile(50), p99: this.percentile(99), max: this.max };
  }
}

/** A growable count per seq (saturating at 255). */
class SeqCounts {
  counts = new Uint8Array(64);
  add(seq: number): number {
    if (seq >= this.counts.length) {
      const grown = new Uint8Array(Math.max(seq + 1, this.counts.length * 2));
      grown.set(this.counts);
      this.counts = grown;
    }
    const now = Math.min(255, this.counts[seq]! + 1);
    this.counts[seq] = now;
    return now;
  }
  get(seq: number): number {
    return seq < this.counts.length ? this.counts[seq]! : 0;
  }
}

class Errors {
  count = 0;
  readonly byKind: Record<string, number> = {};
  readonly samples: string[] = [];
  add(kind: string, detail: string): void {
    this.count++;
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
    if (this.samples.length < 20) this.samples.push(`${kind}: ${detail}`);
  }
}

interface Room {
  roomId: string;
  readonly members: number[];
  /** posterOf[seq] = index of the connection whose post was answered with that seq, plus one (0: none). */
  posterOf: Int32Array;
  acknowledged: number;
  duplicateSeqs: number;
  /** Seqs of posts answered only after a 503/429 retry: their live fan-out may have been lost with the failed try. */
  readonly retriedSeqs: Set<number>;
}

interface Response {
  status: number;
  body?: Record<string, unknown>;
  error?: { code?: string; message?: string; retryAfterMs?: number };
}

/** One connection: requests by rid, `chat.message` counted per seq, nothing else kept. */
class LoadClient {
  private readonly waiting = new Map<string, { resolve: (frame: Response) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  private nextRid = 0;
  readonly seqs = new SeqCounts();
  lastSeq = 0;
  closing = false;
  closed = false;
  roomId = '';

  constructor(
    readonly index: number,
    readonly room: number,
    private readonly socket: WebSocket,
    private readonly onEvent: (client: LoadClient, frame: Record<string, unknown>) => void,
    private readonly errors: Errors,
  ) {
    socket.on('message', (data) => {
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(data.toString()) as Record<string, unknown>;
      } catch {
        this.errors.add('bad frame', `connection ${index}: ${data.toString().slice(0, 120)}`);
        return;
      }
      if (frame.type === 'response') {
        const pending = typeof frame.rid === 'string' ? this.waiting.get(frame.rid) : undefined;
        if (pending) pending.resolve(frame as unknown as Response);
        else this.errors.add('unmatched response', `connection ${index}: ${JSON.stringify(frame).slice(0, 200)}`);
      } else if (frame.type === 'event') this.onEvent(this, frame);
      else this.errors.add('unknown frame', `connection ${index}: ${JSON.stringify(frame).slice(0, 200)}`);
    });
    socket.on('error', (error) => this.errors.add('socket error', `connection ${index}: ${error.message}`));
    socket.on('close', (code, reason) => {
      this.closed = true;
      if (!this.closing) this.errors.add('unexpected close', `connection ${index}: ${code} ${reason.toString()}`);
      for (const pending of this.waiting.values()) pending.reject(new Error(`connection closed (${code})`));
    });
  }

  static open(url: string, index: number, room: number, onEvent: LoadClient['onEvent'], errors: Errors): Promise<LoadClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      const fail = (error: Error) => reject(new Error(`connection ${index}: ${error.message}`));
      socket.once('open', () => {
        socket.off('error', fail);
        resolve(new LoadClient(index, room, socket, onEvent, errors));
      });
      socket.once('unexpected-response', (_request, response) => reject(new Error(`connection ${index}: upgrade refused with HTTP ${response.statusCode}`)));
      socket.once('error', fail);
    });
  }

  request(action: string, args: Record<string, unknown>): Promise<Response> {
    const rid = `r${++this.nextRid}`;
    if (this.socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error(`connection ${this.index} not open`));
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(entry.timer);
        this.waiting.delete(rid);
      };
      const entry = {
        resolve: (frame: Response) => {
          settle();
          resolve(frame);
        },
        reject: (error: Error) => {
          settle();
          reject(error);
        },
        timer: setTimeout(() => entry.reject(new Error(`no answer to ${action} within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS),
      };
      this.waiting.set(rid, entry);
      this.socket.send(JSON.stringify({ action, rid, ...args }));
    });
  }

  close(): Promise<void> {
    this.closing = true;
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.terminate();
        resolve();
      }, 10_000);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.close(1000);
    });
  }
}

/** The soft limit of open files (Linux), or undefined where /proc is not there. */
export function openFilesSoftLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((row) => row.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/** Both ends of every connection live in this process, plus the SDK's sockets and DynamoDB Local's. */
export function fileDescriptorsNeeded(connections: number): number {
  return 2 * connections + 1024;
}

function gcFunction(expose: boolean): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  if (!expose) return undefined;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** RSS of a DynamoDB Local JVM started by this process (a direct child running DynamoDBLocal), in bytes. */
function dynamoDbLocalRss(): number | undefined {
  try {
    for (const task of readdirSync(`/proc/${process.pid}/task`)) {
      const children = readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      for (const pid of children) {
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('DynamoDBLocal')) continue;
        const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (rss) return Number(rss[1]) * 1024;
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += size) await Promise.all(items.slice(start, start + size).map(work));
}

/** Runs the load and returns what it saw; it throws only when the setup (connections, rooms, joins) fails. */
export async function runLoad(options: LoadOptions = {}): Promise<LoadReport> {
  const connections = options.connections ?? 1000;
  const roomCount = options.rooms ?? 50;
  const durationSeconds = options.durationSeconds ?? 180;
  const rate = options.postsPerSecond ?? 0.02;
  const drainTimeoutSeconds = options.drainTimeoutSeconds ?? 60;
  const textBytes = options.textBytes ?? 100;
  const setupConcurrency = options.setupConcurrency ?? 50;
  const log = options.log ?? (() => undefined);
  if (roomCount < 1 || connections < 2 * roomCount) throw new Error('load: at least two connections per room');
  if (!(rate > 0) || !(durationSeconds > 0)) throw new Error('load: the rate and the duration must be positive');
  const limit = openFilesSoftLimit();
  const needed = fileDescriptorsNeeded(connections);
  if (limit !== undefined && limit < needed) {
    throw new Error(
      `load: ${connections} connections need about ${needed} file descriptors in this process (both ends of each connection), ` +
        `but the soft limit is ${limit}: raise it (\`ulimit -n ${needed}\`) or use fewer connections (--connections ${Math.max(2 * roomCount, Math.floor((limit - 1024) / 2))})`,
    );
  }

  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const loadStart = loadavg();
  const gc = gcFunction(options.exposeGc ?? false);
  const samples: MemorySample[] = [];
  const afterGc: MemorySample[] = [];
  const sample = (into: MemorySample[]) => {
    const usage = process.memoryUsage();
    into.push({ t: Math.round(elapsed() * 10) / 10, rss: usage.rss, heapUsed: usage.heapUsed });
  };
  sample(samples);
  let dynamoStart: number | undefined;
  const sampler = setInterval(() => sample(samples), 1000);
  sampler.unref();

  const errors = new Errors();
  const ack = new Histogram();
  const delivery = new Histogram();
  const rooms: Room[] = Array.from({ length: roomCount }, () => ({ roomId: '', members: [], posterOf: new Int32Array(64), acknowledged: 0, duplicateSeqs: 0, retriedSeqs: new Set<number>() }));
  const roomIndex = new Map<string, number>();
  let received = 0;
  let unexpected = 0;
  let outOfOrder = 0;
  let lastDeliveryAt = 0;

  const onEvent = (client: LoadClient, frame: Record<string, unknown>) => {
    if (frame.event !== 'chat.message') return;
    const now = performance.now();
    const seq = frame.seq;
    if (frame.roomId !== client.roomId || typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1) {
      unexpected++;
      errors.add('unexpected event', `connection ${client.index}: ${JSON.stringify(frame).slice(0, 200)}`);
      return;
    }
    client.seqs.add(seq);
    received++;
    lastDeliveryAt = now;
    if (seq < client.lastSeq) outOfOrder++;
    else client.lastSeq = seq;
    const sentAt = /\bt=([\d.]+)/.exec(typeof frame.text === 'string' ? frame.text : '');
    if (sentAt) delivery.add(now - Number(sentAt[1]));
  };

  let ownCloud: LocalCloud | undefined;
  let exportDir: string | undefined;
  const clients: LoadClient[] = [];
  try {
    let cloud = options.cloud;
    if (!cloud) {
      exportDir = mkdtempSync(join(tmpdir(), 'uc-load-compliance-'));
      const base = options.cloudOptions ?? {};
      ownCloud = await startLocalCloud({
        port: 0,
        inMemory: true,
        ...base,
        env: { POWERTOOLS_LOG_LEVEL: 'ERROR', COMPLIANCE_EXPORT_DIR: exportDir, ...base.env },
      });
      cloud = ownCloud;
    }
    const secret = requireJwtSecret(cloud.config);
    const gatewayConnectionsBefore = cloud.gateway.connectionCount;
    const run = randomUUID().slice(0, 6);

    // Setup: connect everyone, create the rooms, every connection follows its room.
    log(`connecting ${connections} clients...`);
    const indices = Array.from({ length: connections }, (_, n) => n);
    const byIndex: LoadClient[] = new Array<LoadClient>(connections);
    await inBatches(indices, setupConcurrency, async (n) => {
      const token = await issueToken({ uri: `sip:load-${run}-${n}@contoso.com`, kind: 'enterprise' }, secret);
      byIndex[n] = await LoadClient.open(`${cloud.wsUrl}/?token=${token}`, n, n % roomCount, onEvent, errors);
    });
    clients.push(...byIndex);
    for (const client of clients) rooms[client.room]!.members.push(client.index);
    const ok = async (client: LoadClient, action: string, args: Record<string, unknown>) => {
      const response = await client.request(action, args);
      if (response.status !== 200) throw new Error(`setup ${action} by connection ${client.index}: ${response.status} ${JSON.stringify(response.error)}`);
      return response.body ?? {};
    };
    log(`creating ${roomCount} rooms...`);
    await inBatches(rooms.map((_, r) => r), setupConcurrency, async (r) => {
      const body = await ok(clients[r]!, 'room.create', { name: `load ${run} room ${r}`, privacy: 'open', clientId: `load-${run}-${r}` });
      rooms[r]!.roomId = body.roomId as string;
      roomIndex.set(rooms[r]!.roomId, r);
    });
    for (const client of clients) client.roomId = rooms[client.room]!.roomId;
    log(`joining (${connections / roomCount} followers a room)...`);
    await inBatches(clients, setupConcurrency, async (client) => {
      await ok(client, 'chat.join', { roomId: client.roomId });
    });
    if (errors.count > 0) throw new Error(`setup: ${errors.samples.join('; ')}`);
    const setupSeconds = elapsed();

    // Posting: each connection at its own steady rate, from a random phase, one post in flight at most.
    log(`posting for ${durationSeconds} s at ${rate}/s per connection (${(rate * connections).toFixed(1)} posts/s in all)...`);
    gc?.();
    if (gc) sample(afterGc);
    const postStart = performance.now();
    const postEnd = postStart + durationSeconds * 1000;
    const interval = 1000 / rate;
    let sent = 0;
    let acknowledged = 0;
    let retried = 0;
    const gcTimer = gc
      ? setInterval(() => {
          gc();
          sample(afterGc);
        }, 10_000)
      : undefined;
    gcTimer?.unref();
    const progress = setInterval(() => log(`  ${elapsed().toFixed(0)} s: ${acknowledged} posts answered, ${received} deliveries, ${errors.count} errors`), 15_000);
    progress.unref();
    const padding = 'x'.repeat(Math.max(0, textBytes - 40));
    const postingSamplesFrom = samples.length;
    dynamoStart = dynamoDbLocalRss();
    const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
    loopDelay.enable();
    await Promise.all(
      clients.map(async (client) => {
        const room = rooms[client.room]!;
        let next = postStart + Math.random() * interval;
        for (let n = 0; next < postEnd && !client.closed; n++) {
          await sleep(next - performance.now());
          next += interval;
          const sentAt = performance.now();
          sent++;
          try {
            const text = `c=${client.index} n=${n} t=${sentAt.toFixed(1)} ${padding}`;
            const args = { roomId: room.roomId, text, clientMsgId: `m-${client.index}-${n}` };
            let response = await client.request('chat.grpchat', args);
            let tries = 1;
            // SPEC §2/§6: a 503 or 429 is retried after retryAfterMs with the same clientMsgId, as every client does;
            // the post is created once whatever the number of tries (checked below by the seqs and deliveries).
            for (let retry = 0; (response.status === 503 || response.status === 429) && retry < MAX_POST_RETRIES && !client.closed; retry++) {
              retried++;
              await sleep(response.error?.retryAfterMs ?? 500);
              response = await client.request('chat.grpchat', args);
              tries++;
            }
            ack.add(performance.now() - sentAt);
            if (response.status !== 200) {
              errors.add(`chat.grpchat ${response.status} ${response.error?.code ?? ''}`.trim(), `connection ${client.index}: ${response.error?.message ?? ''}`);
              continue;
            }
            const seq = response.body?.seq;
            if (response.body?.roomId !== room.roomId || typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1) {
              errors.add('bad answer', `connection ${client.index}: ${JSON.stringify(response.body)}`);
              continue;
            }
            if (seq >= room.posterOf.length) {
              const grown = new Int32Array(Math.max(seq + 1, room.posterOf.length * 2));
              grown.set(room.posterOf);
              room.posterOf = grown;
            }
            if (room.posterOf[seq] !== 0) room.duplicateSeqs++;
            room.posterOf[seq] = client.index + 1;
            if (tries > 1) room.retriedSeqs.add(seq);
            room.acknowledged++;
            acknowledged++;
          } catch (error) {
            errors.add('exception', `connection ${client.index}: ${(error as Error).message}`);
          }
        }
      }),
    );
    const postingSeconds = (performance.now() - postStart) / 1000;
    const postingSamplesTo = samples.length;
    if (gcTimer) clearInterval(gcTimer);
    gc?.();
    if (gc) sample(afterGc);
    const connectionsHeld = clients.filter((client) => !client.closed).length;

    // Drain: every expected delivery, then a quiet second for late duplicates.
    const expected = rooms.reduce((sum, room) => sum + room.acknowledged * (room.members.length - 1), 0);
    log(`draining (${expected - received} deliveries outstanding)...`);
    const drainStart = performance.now();
    while (received < expected && performance.now() - drainStart < drainTimeoutSeconds * 1000) await sleep(50);
    await sleep(1000);
    await cloud.gateway.drain();
    const drainSeconds = (performance.now() - drainStart) / 1000;
    clearInterval(progress);
    loopDelay.disable();

    // Live delivery is at most once (docs/reliability.md): a post answered only after a retry may have lost its fan-out
    // with the failed try (the retry replays the stored answer and delivers nothing twice). Such a seq missing on a
    // connection is recovered from history, as the client library does on a gap: checked here with chat.bccontext.
    const inHistory = new Map<Room, Set<number>>();
    for (const room of rooms) {
      if (room.retriedSeqs.size === 0) continue;
      const reader = clients[room.members[0]!]!;
      const seen = new Set<number>();
      let before: string | undefined;
      for (let page = 0; page < 20; page++) {
        const answer = await reader.request('chat.bccontext', { roomId: room.roomId, limit: 100, ...(before ? { before } : {}) });
        const messages = (answer.body?.messages ?? []) as { seq: number }[];
        for (const message of messages) seen.add(message.seq);
        before = answer.body?.cursor as string | undefined;
        if (!before) break;
      }
      inHistory.set(room, seen);
    }
    // Checks, from the counts.
    let lost = 0;
    let recoveredFromHistory = 0;
    let duplicates = 0;
    let connectionsWithGaps = 0;
    let roomsNotContiguous = 0;
    let minSeqs = Number.POSITIVE_INFINITY;
    let maxSeqs = 0;
    for (const room of rooms) {
      let top = 0;
      for (let seq = room.posterOf.length - 1; seq > 0; seq--) {
        if (room.posterOf[seq] !== 0) {
          top = seq;
          break;
        }
      }
      let answered = 0;
      for (let seq = 1; seq <= top; seq++) if (room.posterOf[seq] !== 0) answered++;
      if (answered !== top || room.duplicateSeqs > 0 || top !== room.acknowledged) roomsNotContiguous++;
      minSeqs = Math.min(minSeqs, top);
      maxSeqs = Math.max(maxSeqs, top);
      for (const member of room.members) {
        const counts = clients[member]!.seqs;
        let gap = false;
        for (let seq = 1; seq <= top; seq++) {
          const poster = room.posterOf[seq]!;
          const want = poster === 0 || poster === member + 1 ? 0 : 1;
          const got = counts.get(seq);
          if (got < want && room.retriedSeqs.has(seq) && inHistory.get(room)?.has(seq)) {
            recoveredFromHistory += want - got;
          } else if (got < want) {
            lost += want - got;
            gap = true;
          } else if (got > want) {
            // An event for a seq nobody was answered, or for the poster's own post, is unexpected; more than one is a duplicate.
            if (want === 0) unexpected += got;
            else duplicates += got - want;
          }
        }
        for (let seq = top + 1; seq < counts.counts.length; seq++) unexpected += counts.get(seq);
        if (gap) connectionsWithGaps++;
      }
    }
    const deliveredInTime = lastDeliveryAt > postStart ? (lastDeliveryAt - postStart) / 1000 : postingSeconds;

    // Stop: close every client, wait for the `$disconnect`s, stop the cloud if it is ours.
    log('closing...');
    await Promise.all(clients.map((client) => client.close()));
    // The gateway sees each close after the client does: wait for it (and its `$disconnect`) to catch up.
    const closeDeadline = performance.now() + 30_000;
    while (cloud.gateway.connectionCount > gatewayConnectionsBefore && performance.now() < closeDeadline) await sleep(50);
    await cloud.gateway.drain();
    const connectionsLeft = cloud.gateway.connectionCount - gatewayConnectionsBefore;
    sample(samples);
    clearInterval(sampler);

    const postingSamples = samples.slice(postingSamplesFrom, postingSamplesTo);
    const useGc = afterGc.length >= 7;
    const basis = useGc ? afterGc : postingSamples;
    const third = Math.floor(basis.length / 3);
    const peak = (list: readonly MemorySample[]) => list.reduce((max, s) => Math.max(max, s.heapUsed), 0);
    const middle = peak(basis.slice(third, 2 * third));
    const last = peak(basis.slice(2 * third));
    const ratio = middle > 0 ? last / middle : Number.NaN;
    const dynamoEnd = dynamoDbLocalRss();
    const report: LoadReport = {
      connections,
      rooms: roomCount,
      durationSeconds,
      postsPerSecondPerConnection: rate,
      connectionsHeld,
      setupSeconds,
      postingSeconds,
      drainSeconds,
      totalSeconds: elapsed(),
      postsSent: sent,
      postsAcknowledged: acknowledged,
      postRetries: retried,
      deliveries: { expected, received, lost, recoveredFromHistory, duplicates, unexpected, outOfOrder, connectionsWithGaps },
      roomsNotContiguous,
      seqsPerRoom: { min: Number.isFinite(minSeqs) ? minSeqs : 0, max: maxSeqs },
      errors: { count: errors.count, byKind: errors.byKind, samples: errors.samples },
      throughput: { postsPerSecond: acknowledged / postingSeconds, deliveriesPerSecond: received / deliveredInTime },
      latencyMs: { ack: ack.summary(), delivery: delivery.summary() },
      memory: {
        samples,
        start: samples[0]!,
        peak: { rss: Math.max(...samples.map((s) => s.rss)), heapUsed: Math.max(...samples.map((s) => s.heapUsed)) },
        end: samples[samples.length - 1]!,
        afterGc,
        lastToMiddleThirdPeakRatio: ratio,
        basis: useGc ? 'after-gc' : 'raw',
        bounded: ratio <= 1.5,
        ...(dynamoStart !== undefined && dynamoEnd !== undefined ? { dynamoDbLocalRss: { start: dynamoStart, end: dynamoEnd } } : {}),
      },
      eventLoopDelayMs: {
        p50: Math.max(0, loopDelay.percentile(50) / 1e6 - LOOP_SAMPLE_MS),
        p99: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_SAMPLE_MS),
        max: Math.max(0, loopDelay.max / 1e6 - LOOP_SAMPLE_MS),
      },
      loadAverage: { start: loadStart, end: loadavg() },
      connectionsLeft,
      ok: errors.count === 0 && lost === 0 && duplicates === 0 && unexpected === 0 && roomsNotContiguous === 0 && acknowledged > 0 && connectionsHeld === connections && connectionsLeft === 0,
    };
    return report;
  } finally {
    clearInterval(sampler);
    await Promise.all(clients.map((client) => client.close()));
    await ownCloud?.stop();
    if (exportDir) rmSync(exportDir, { recursive: true, force: true });
  }
}

const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;

/** The report as the lines docs/reliability.md quotes. */
export function formatReport(report: LoadReport): string[] {
  const d = report.deliveries;
  const m = report.memory;
  const lines = [
    `connections held: ${report.connectionsHeld} of ${report.connections}, rooms: ${report.rooms} (${report.connections / report.rooms} followers each)`,
    `posting: ${report.postingSeconds.toFixed(0)} s at ${report.postsPerSecondPerConnection}/s per connection; setup ${report.setupSeconds.toFixed(1)} s, drain ${report.drainSeconds.toFixed(1)} s, total ${report.totalSeconds.toFixed(0)} s`,
    `posts: ${report.postsSent} sent, ${report.postsAcknowledged} acknowledged (${report.postRetries} retries after 503/429); seqs per room ${report.seqsPerRoom.min}..${report.seqsPerRoom.max}, rooms not contiguous: ${report.roomsNotContiguous}`,
    `deliveries: ${d.expected} expected, ${d.received} received; lost ${d.lost}, recovered from history ${d.recoveredFromHistory}, duplicates ${d.duplicates}, unexpected ${d.unexpected}, connections with gaps ${d.connectionsWithGaps}, out of order ${d.outOfOrder}`,
    `errors: ${report.errors.count}${report.errors.count ? ` ${JSON.stringify(report.errors.byKind)}` : ''}`,
    `throughput: ${report.throughput.postsPerSecond.toFixed(1)} posts/s, ${report.throughput.deliveriesPerSecond.toFixed(0)} deliveries/s`,
    `latency: ack p50 ${ms(report.latencyMs.ack.p50)}, p99 ${ms(report.latencyMs.ack.p99)}, max ${ms(report.latencyMs.ack.max)}; delivery p50 ${ms(report.latencyMs.delivery.p50)}, p99 ${ms(report.latencyMs.delivery.p99)}, max ${ms(report.latencyMs.delivery.max)}`,
    `memory (this process: clients, gateway, handlers): rss ${mb(m.start.rss)} → peak ${mb(m.peak.rss)} → end ${mb(m.end.rss)}; heapUsed ${mb(m.start.heapUsed)} → peak ${mb(m.peak.heapUsed)} → end ${mb(m.end.heapUsed)}`,
    `heap after GC: ${m.afterGc.length ? m.afterGc.map((s) => mb(s.heapUsed)).join(', ') : 'gc() not available'}`,
    `heap bound: peak in the last third / peak in the middle third of the posting = ${m.lastToMiddleThirdPeakRatio.toFixed(2)} (${m.basis} samples), ${m.bounded ? 'bounded (≤ 1.5)' : 'NOT bounded (> 1.5)'}`,
  ];
  if (m.dynamoDbLocalRss) lines.push(`DynamoDB Local (JVM, separate process): rss ${mb(m.dynamoDbLocalRss.start)} → ${mb(m.dynamoDbLocalRss.end)}`);
  const loop = report.eventLoopDelayMs;
  lines.push(
    `event loop lag (posting and drain): p50 ${ms(loop.p50)}, p99 ${ms(loop.p99)}, max ${ms(loop.max)}`,
    `load average: ${report.loadAverage.start.map((v) => v.toFixed(2)).join(' ')} at the start, ${report.loadAverage.end.map((v) => v.toFixed(2)).join(' ')} at the end`,
    `connections left at the gateway after closing: ${report.connectionsLeft}`,
    `result: ${report.ok && report.memory.bounded ? 'PASS' : 'FAIL'}`,
  );
  if (report.errors.samples.length) lines.push('first errors:', ...report.errors.samples.map((s) => `  ${s}`));
  return lines;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '1000' },
      rooms: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '180' },
      rate: { type: 'string', default: '0.02' },
      'drain-seconds': { type: 'string', default: '60' },
      'text-bytes': { type: 'string', default: '100' },
      json: { type: 'string' },
    },
  });
  const options: LoadOptions = {
    connections: Number(values.connections),
    rooms: Number(values.rooms),
    durationSeconds: Number(values.seconds),
    postsPerSecond: Number(values.rate),
    drainTimeoutSeconds: Number(values['drain-seconds']),
    textBytes: Number(values['text-bytes']),
    exposeGc: true,
    log: (line) => console.log(line),
  };
  console.log(`load: ${options.connections} connections, ${options.rooms} rooms, ${options.durationSeconds} s at ${options.postsPerSecond}/s per connection`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; open files soft limit ${openFilesSoftLimit() ?? 'unknown'}`);
  const report = await runLoad(options);
  console.log('');
  for (const line of formatReport(report)) console.log(line);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  return report.ok && report.memory.bounded ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
