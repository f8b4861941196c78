/**
 * The auditorium fan-out of `npm run bench` (issue 21 item 2): one room followed by 1 to 5,000 connected
 * followers, every follower checked to get each message exactly once; a CPU profile of a 1,000-follower fan-out;
 * and the model of the fan-out tier on AWS. `npm run bench -- fanout` runs this section alone (stdout only).
 */
import { readdirSync } from 'node:fs';
import { Session } from 'node:inspector';
import { FANOUT_BATCH_SIZE, FANOUT_WORKER_CONCURRENCY } from '../infra/functions';
import { type LocalCloud, LOCAL_FANOUT_WORKER_CONCURRENCY } from '../infra/local/cloud';
import { issueToken } from '../shared/auth/tokens';
import { requireJwtSecret } from '../shared/config';
import { TestClient, waitFor } from '../test/support/client';

export type Out = (line?: string) => void;

export interface FanOutRow {
  readonly followers: number;
  readonly p50: number;
  readonly p99: number;
  /** The post's own answer (stored, and its delivery posted or queued). */
  readonly answerP50: number;
  /** This process's resident memory and open descriptors with every follower connected. */
  readonly connected: { readonly rssMiB: number; readonly fds: number };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const ms = (value: number) => `${value.toFixed(1)} ms`;

let userSeq = 0;
async function connect(cloud: LocalCloud, name: string): Promise<TestClient> {
  const token = await issueToken({ uri: `sip:${name}-${++userSeq}@contoso.com`, kind: 'enterprise' }, requireJwtSecret(cloud.config));
  return TestClient.connect(`${cloud.wsUrl}/?token=${token}`);
}
/** A command that must succeed; a 503 (DynamoDB Local overloaded while thousands join) is retried as a client would. */
async function ok(client: TestClient, action: string, args: Record<string, unknown>) {
  for (let attempt = 1; ; attempt++) {
    const response = await client.request(action, args, 60_000);
    if (response.status === 200) return response.body as Record<string, unknown>;
    const retryAfterMs = (response.error as { retryAfterMs?: number } | undefined)?.retryAfterMs;
    if (response.status !== 503 || attempt >= 10) throw new Error(`${action}: ${response.status} ${JSON.stringify(response.error)}`);
    await new Promise((resolve) => setTimeout(resolve, retryAfterMs ?? 500));
  }
}

/** Waits until nothing from an earlier phase (a `$disconnect`, a delivery) is still running. */
async function quiet(cloud: LocalCloud) {
  await cloud.gateway.drain();
  await new Promise((resolve) => setTimeout(resolve, 300));
  await cloud.gateway.drain();
}

/** An open room with `followers` followers, each a user of their own on one connection. */
export async function auditorium(cloud: LocalCloud, followers: number) {
  const poster = await connect(cloud, 'presenter');
  const { roomId } = (await ok(poster, 'room.create', { name: `auditorium ${followers} ${userSeq}`, privacy: 'open' })) as { roomId: string };
  await ok(poster, 'chat.join', { roomId });
  const clients: TestClient[] = [];
  for (let start = 0; start < followers; start += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, followers - start) }, async () => {
        const client = await connect(cloud, 'follower');
        await ok(client, 'chat.join', { roomId });
        clients.push(client);
      }),
    );
  }
  return { poster, roomId, clients };
}

/** Per client, how many copies of each message text it got (counted on the wire, before any de-duplication). */
function copies(client: TestClient, text: string): number {
  let n = 0;
  for (const event of client.events) if (event.event === 'chat.message' && event.text === text) n++;
  return n;
}

/** Time from `chat.grpchat` sent until every follower has the message; then every follower's copies are counted. */
export async function auditoriumFanOut(cloud: LocalCloud, followers: number, messages: number): Promise<FanOutRow> {
  const { poster, roomId, clients } = await auditorium(cloud, followers);
  await quiet(cloud);
  const latencies: number[] = [];
  const answers: number[] = [];
  const texts: string[] = [];
  for (let n = 0; n < messages; n++) {
    const text = `a${followers}-${n}`;
    texts.push(text);
    // Followers that have it already, so each poll looks only at the others.
    let waiting = clients;
    const started = performance.now();
    // With a client id, so a 503 retried (ok) is stored and delivered once.
    await ok(poster, 'chat.grpchat', { roomId, text, clientMsgId: text });
    answers.push(performance.now() - started);
    await waitFor(
      'all followers',
      () => {
        waiting = waiting.filter((client) => copies(client, text) === 0);
        return waiting.length === 0 ? true : undefined;
      },
      120_000,
      5,
    );
    latencies.push(performance.now() - started);
  }
  await quiet(cloud);
  const connected = resources();
  const wrong = clients.flatMap((client) => texts.map((text) => copies(client, text))).filter((count) => count !== 1).length;
  if (wrong > 0) throw new Error(`${followers} followers: ${wrong} (follower, message) pairs not delivered exactly once`);
  await Promise.all([poster, ...clients].map((client) => client.close()));
  await quiet(cloud);
  return { followers, p50: percentile(latencies, 50), p99: percentile(latencies, 99), answerP50: percentile(answers, 50), connected };
}

/** Which path a fan-out to `connections` takes, its shards and the sequential post rounds of its slowest shard. */
export function fanOutShape(cloud: LocalCloud, connections: number) {
  const { FANOUT_DIRECT_MAX: directMax, FANOUT_SHARD_SIZE: shardSize, FANOUT_CONCURRENCY: concurrency } = cloud.config;
  if (connections <= directMax) return { path: 'direct', shards: 0, rounds: Math.ceil(connections / concurrency) };
  // A worker posts each shard of its batch with all its connections at once (fanout-worker.ts).
  const shards = Math.ceil(connections / shardSize);
  return { path: 'fan-out tier', shards, rounds: Math.ceil(shardSize / Math.max(concurrency, shardSize)) };
}

/** Resident memory and open file descriptors of this process (everything but DynamoDB Local runs in it). */
function resources() {
  let fds = Number.NaN;
  try {
    fds = readdirSync('/proc/self/fd').length;
  } catch {
    // Not Linux.
  }
  return { rssMiB: process.memoryUsage().rss / 2 ** 20, fds };
}

interface ProfileNode {
  id: number;
  callFrame: { url: string; functionName: string };
  hitCount?: number;
  children?: number[];
}

/** Where a sampled frame's time goes: the first frame, from itself up its stack, that belongs to a known part. */
const CATEGORIES: ReadonlyArray<readonly [string, RegExp, 'aws' | 'local' | 'both']> = [
  ['app code (shared/, functions/)', /\/(shared|functions)\//, 'aws'],
  ['AWS SDK (build, sign, send, parse)', /node_modules\/(@aws-sdk|@smithy|@aws-crypto|@aws-lambda-powertools)\//, 'aws'],
  ['local emulation (gateway, edge, SigV4 check, SQS, Lambda host)', /\/infra\/local\//, 'local'],
  ['bench clients (5,000 sockets in this process)', /\/(test\/support|bench)\//, 'local'],
  ['WebSocket frames (ws: gateway and clients)', /node_modules\/ws\//, 'local'],
  ['other libraries', /node_modules\//, 'both'],
];

function categorise(profile: { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] }) {
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const categoryOf = new Map<number, string>();
  const resolve = (id: number): string => {
    const known = categoryOf.get(id);
    if (known) return known;
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    let category: string;
    if (name === '(garbage collector)') category = 'garbage collection';
    else if (name === '(idle)') category = 'idle (waiting on DynamoDB Local, timers)';
    else if (name === '(program)') category = 'Node core, native (program)';
    else {
      const match = CATEGORIES.find(([, pattern]) => pattern.test(node.callFrame.url));
      const up = parent.get(id);
      category = match ? match[0] : up !== undefined ? resolve(up) : 'Node core (HTTP, sockets, crypto, timers)';
    }
    categoryOf.set(id, category);
    return category;
  };
  const totals = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  samples.forEach((id, index) => {
    const category = resolve(id);
    totals.set(category, (totals.get(category) ?? 0) + (deltas[index] ?? 0) / 1000);
  });
  return totals;
}

/** A CPU profile of this process while `run` runs, as milliseconds per category. */
async function profiled(run: () => Promise<void>): Promise<Map<string, number>> {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) => session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as T))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  try {
    await run();
  } finally {
    const { profile } = await post<{ profile: { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] } }>('Profiler.stop');
    session.disconnect();
    // eslint-disable-next-line no-unsafe-finally
    return categorise(profile);
  }
}

/** The fan-out tier on AWS, from its settings and stated latencies (docs/performance.md, "Model"). */
export function awsModel(followers: number, settings: { shardSize: number; batchSize: number; workers: number; postMs: number }) {
  const { shardSize, batchSize, workers, postMs } = settings;
  // Stated latencies (warm functions, same region): a DynamoDB read ~5 ms, an SQS send or a poller pick-up ~20 ms,
  // a warm invocation's own overhead ~10 ms; follower items ~100 bytes, so 10,000 per 1 MB query page.
  const queryPages = Math.ceil(followers / 10_000);
  const batchGets = Math.ceil(followers / 100);
  const readsMs = queryPages * 10 + Math.ceil(batchGets / 8) * 5;
  const shards = Math.ceil(followers / shardSize);
  const invocations = Math.ceil(shards / batchSize);
  const waves = Math.ceil(invocations / workers);
  // A batch's shards post at once: batchSize × shardSize posts within the client's 256 sockets is one round.
  const roundsPerInvocation = Math.ceil((batchSize * shardSize) / 256);
  const enqueueMs = 20;
  const pickupMs = 20;
  const deliverMs = waves * (10 + roundsPerInvocation * postMs);
  return { shards, invocations, waves, readsMs, answerMs: readsMs + enqueueMs, lastMs: readsMs + enqueueMs + pickupMs + deliverMs };
}

/** The CPU profile of a 1,000-follower room's fan-out, as the doc's lines (also on stderr at once). */
async function profileSection(cloud: LocalCloud): Promise<string[]> {
  const lines: string[] = [];
  const out = (line = '') => {
    lines.push(line);
    console.error(line);
  };
  out('### Where a 1,000-follower fan-out spends its time here');
  out();
  const { poster, roomId, clients } = await auditorium(cloud, 1000);
  await quiet(cloud);
  let wall = 0;
  const profile = await profiled(async () => {
    const started = performance.now();
    for (let n = 0; n < 5; n++) {
      const text = `profile-${n}`;
      await ok(poster, 'chat.grpchat', { roomId, text, clientMsgId: text });
      let waiting = clients;
      await waitFor('all followers', () => ((waiting = waiting.filter((c) => copies(c, text) === 0)).length === 0 ? true : undefined), 120_000, 5);
    }
    wall = performance.now() - started;
  });
  await Promise.all([poster, ...clients].map((client) => client.close()));
  const busy = [...profile.entries()].filter(([category]) => !category.startsWith('idle')).reduce((sum, [, value]) => sum + value, 0);
  out(`CPU samples of this process over 5 posts (${ms(wall / 5)} wall each; DynamoDB Local is a separate process and shows as idle here).`);
  out('"On AWS" says whether the cost exists in a deployment (in the chat function or the fan-out worker) or is the local');
  out("emulation's and the bench's own (on AWS, API Gateway and the clients' devices do that work).");
  out();
  out('| where | CPU per post | share of busy CPU | on AWS |');
  out('|---|---|---|---|');
  const onAws = new Map(CATEGORIES.map(([name, , where]) => [name, where === 'aws' ? 'yes' : where === 'local' ? 'no' : 'partly']));
  for (const [category, total] of [...profile.entries()].sort((a, b) => b[1] - a[1])) {
    const share = category.startsWith('idle') ? '' : `${((100 * total) / busy).toFixed(0)} %`;
    out(`| ${category} | ${ms(total / 5)} | ${share} | ${onAws.get(category) ?? (category.startsWith('idle') ? '' : 'partly')} |`);
  }
  out();
  return lines;
}

/** The section of docs/performance.md; returns the rows for the targets. */
export async function fanOutSection(cloud: LocalCloud, out: Out, sizes: readonly number[] = [1, 100, 1000, 5000]): Promise<Record<number, FanOutRow>> {
  const { FANOUT_DIRECT_MAX, FANOUT_SHARD_SIZE, FANOUT_CONCURRENCY } = cloud.config;
  out('## Auditorium fan-out: one room, up to 5,000 connected followers (issue 21)');
  out();
  out(`Settings: FANOUT_DIRECT_MAX ${FANOUT_DIRECT_MAX} connections (up to it the chat function posts itself, ${FANOUT_CONCURRENCY} at once),`);
  out(`FANOUT_SHARD_SIZE ${FANOUT_SHARD_SIZE}, worker batches of ${FANOUT_BATCH_SIZE} shards, ${FANOUT_WORKER_CONCURRENCY} batches at once on AWS (the event source's`);
  out(`maximum concurrency), ${LOCAL_FANOUT_WORKER_CONCURRENCY} here (Lambda's first five; every invocation shares this process). Latency: \`chat.grpchat\``);
  out('sent until every follower has the message; every follower is then checked to hold each message exactly once (on the wire).');
  out();
  out('| followers | path | shards | post rounds of the slowest shard | answer p50 | p50 | p99 | p50 / p50(1) |');
  out('|---|---|---|---|---|---|---|---|');
  const rows: Record<number, FanOutRow> = {};
  let profileLines: string[] = [];
  let peak = resources();
  for (const followers of sizes) {
    await quiet(cloud);
    const messages = followers >= 5000 ? 8 : followers >= 1000 ? 12 : 20;
    const row = await auditoriumFanOut(cloud, followers, messages);
    rows[followers] = row;
    if (row.connected.rssMiB > peak.rssMiB) peak = row.connected;
    const shape = fanOutShape(cloud, followers);
    const ratio = rows[1] ? `${(row.p50 / rows[1].p50).toFixed(1)}×` : 'n/a';
    out(`| ${followers} | ${shape.path} | ${shape.shards} | ${shape.rounds} | ${ms(row.answerP50)} | ${ms(row.p50)} | ${ms(row.p99)} | ${ratio} |`);
    if (followers === 1000 && process.env.BENCH_FANOUT_PROFILE !== '0') profileLines = await profileSection(cloud);
  }
  out();
  const check = (met: boolean) => (met ? 'met' : '**not met**');
  if (rows[1] && rows[1000]) {
    const r = rows[1000].p50 / rows[1].p50;
    out(`Target: 1,000-follower p50 ≤ 8× the 1-follower p50: ${r.toFixed(1)}×, ${check(r <= 8)}.`);
  }
  if (rows[1000] && rows[5000]) {
    const r = rows[5000].p50 / rows[1000].p50;
    out(`Target: 5,000-follower p50 ≤ 2.5× the 1,000-follower p50: ${r.toFixed(1)}×, ${check(r <= 2.5)}.`);
  }
  out();
  out(`With the largest room connected (its WebSocket clients and their gateway sockets all live in this one process):`);
  out(`${peak.rssMiB.toFixed(0)} MiB resident, ${peak.fds} open file descriptors (2 per follower, plus pooled HTTP sockets; the soft limit must allow it: \`ulimit -n\`).`);
  out();

  for (const line of profileLines) out(line);

  out('### Model: the fan-out tier on AWS');
  out();
  const settings = { shardSize: FANOUT_SHARD_SIZE, batchSize: FANOUT_BATCH_SIZE, workers: FANOUT_WORKER_CONCURRENCY, postMs: 20 };
  out(`Stated: \`postToConnection\` ${settings.postMs} ms (the issue's 10–30 ms), a DynamoDB request 5 ms, an SQS send and a poller`);
  out('pick-up 20 ms each, 10 ms of a warm invocation\'s own overhead; followers read in 1 MB query pages (~10,000 a page)');
  out(`and their endpoints in BatchGetItem of 100 users, 8 at once. Shards of ${FANOUT_SHARD_SIZE}, ${FANOUT_BATCH_SIZE} per invocation posted at once`);
  out(`(${FANOUT_BATCH_SIZE * FANOUT_SHARD_SIZE} posts within the SDK's 256 sockets: one round), ${FANOUT_WORKER_CONCURRENCY} invocations at once. Assumes the event source's`);
  out('pollers already scaled out (steady traffic); from idle Lambda adds SQS concurrency gradually, which adds seconds once.');
  out();
  out('| followers | shards | invocations | waves | store reads | post answered | last follower |');
  out('|---|---|---|---|---|---|---|');
  for (const followers of [1000, 10_000, 100_000]) {
    const model = awsModel(followers, settings);
    out(`| ${followers.toLocaleString('en-US')} | ${model.shards} | ${model.invocations} | ${model.waves} | ${ms(model.readsMs)} | ${ms(model.answerMs)} | ${ms(model.lastMs)} |`);
  }
  out();
  out('Time grows with waves = ⌈followers / (shard size × batch × concurrency)⌉ = one per 10,000 followers here; a');
  out('room of 100,000 is ~10 waves, and the post is answered after the reads and the queueing, far from API Gateway\'s');
  out('29 s. Raising the worker\'s concurrency (reserved concurrency, `FANOUT_WORKER_CONCURRENCY`) divides the waves.');
  out();
  return rows;
}
