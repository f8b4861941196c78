import { startTestCloud, type TestCloud } from '../support/cloud';
import type { ResponseFrame, TestClient } from '../support/client';

/**
 * Rate limiting per connection and per user (SPEC §2: 429 with `retryAfterMs`), with tiny limits:
 * a connection holds 2 commands (0.5/s × 4 s of burst), a user 3 (0.75/s × 4 s). Slow refills keep the
 * test independent of how fast the machine sends.
 */
let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud({ env: { RATE_LIMIT_PER_CONNECTION: '0.5', RATE_LIMIT_PER_USER: '0.75', RATE_LIMIT_BURST_SECONDS: '4' } });
});
afterAll(async () => {
  await cloud.stop();
});

const waitMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long a bucket takes to refill one command: 1 / 0.5 per s for a connection, 1 / 0.75 per s for a user. */
const CONNECTION_REFILL_MS = 2_000;
const USER_REFILL_MS = 1_334;

/**
 * Runs a scenario that expects a bucket to stay empty (fresh users on each try, named by `attempt`). The server
 * charged its commands between the start and the end observed here, so when those are less than `refillMs`
 * apart nothing can have refilled and the scenario's 429s must hold; a try that took longer (a machine that
 * stalled for seconds) proves nothing either way and is run again, so a stall cannot fail the test.
 */
async function withoutRefill<T>(refillMs: number, scenario: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const startedAt = Date.now();
    const result = await scenario(attempt);
    if (Date.now() - startedAt < refillMs || attempt === 3) return result;
  }
}

/** What a well-behaved client does: on 429, wait `retryAfterMs` and send the same command again. */
async function requestAsClientsShould(client: TestClient, action: string, args: Record<string, unknown>): Promise<ResponseFrame> {
  for (;;) {
    const response = await client.request(action, args);
    if (response.status !== 429) return response;
    await waitMs(response.error!.retryAfterMs!);
  }
}

function expectTooMany(response: ResponseFrame): number {
  expect(response).toMatchObject({ status: 429, error: { code: 'TooManyRequests', retryAfterMs: expect.any(Number) } });
  const retryAfterMs = response.error!.retryAfterMs!;
  expect(retryAfterMs).toBeGreaterThan(0);
  expect(retryAfterMs).toBeLessThanOrEqual(2_000);
  return retryAfterMs;
}

test('a connection over its burst gets 429 with retryAfterMs; ping is exempt; after that wait the command runs', async () => {
  const { alice, admitted, third } = await withoutRefill(CONNECTION_REFILL_MS, async (attempt) => {
    const alice = await cloud.connect(`sip:alice${attempt}@contoso.com`);
    const admitted = [(await alice.request('chat.getserverinfo')).status, (await alice.request('chat.getserverinfo')).status];
    return { alice, admitted, third: await alice.request('chat.getserverinfo') };
  });
  expect(admitted).toEqual([200, 200]);
  const retryAfterMs = expectTooMany(third);
  // The keep-alive must never be refused, or a limited client would be dropped as idle.
  expect((await alice.request('ping')).status).toBe(200);
  expect(alice.isOpen).toBe(true);
  // The server said when: waiting that long is the protocol, not a guess.
  await waitMs(retryAfterMs);
  expect((await alice.request('chat.getserverinfo')).status).toBe(200);
});

test('a user is limited over all their connections', async () => {
  const { mobile, admitted, fourth, fifth } = await withoutRefill(USER_REFILL_MS, async (attempt) => {
    const desktop = await cloud.connect(`sip:bob${attempt}@contoso.com`, 'enterprise', 'desktop');
    const mobile = await cloud.connect(`sip:bob${attempt}@contoso.com`, 'enterprise', 'mobile');
    const admitted: number[] = [];
    admitted.push((await desktop.request('chat.getserverinfo')).status);
    admitted.push((await desktop.request('chat.getserverinfo')).status);
    admitted.push((await mobile.request('chat.getserverinfo')).status);
    return { mobile, admitted, fourth: await mobile.request('chat.getserverinfo'), fifth: await mobile.request('chat.getserverinfo') };
  });
  expect(admitted).toEqual([200, 200, 200]);
  // The mobile connection still has a token of its own, but the user has none.
  const retryAfterMs = expectTooMany(fourth);
  expect(fifth.error?.message).toContain('this user');
  // Another user is not affected.
  const carol = await cloud.connect('sip:carol@contoso.com');
  expect((await carol.request('chat.getserverinfo')).status).toBe(200);
  await waitMs(retryAfterMs);
  expect((await mobile.request('chat.getserverinfo')).status).toBe(200);
});

test('a refused command has no effect: a rate-limited post is not stored, its retry is stored once', async () => {
  const { dave, created, roomId, firstPost, secondPost } = await withoutRefill(CONNECTION_REFILL_MS, async (attempt) => {
    const dave = await cloud.connect(`sip:dave${attempt}@contoso.com`);
    const created = await dave.request('room.create', { name: 'limited', clientId: 'limited-room' });
    const roomId = created.body?.roomId;
    const firstPost = await dave.request('chat.grpchat', { roomId, text: 'first', clientMsgId: 'm1' });
    return { dave, created, roomId, firstPost, secondPost: await dave.request('chat.grpchat', { roomId, text: 'second', clientMsgId: 'm2' }) };
  });
  expect(created.status).toBe(200);
  expect(firstPost).toMatchObject({ status: 200 });
  const retryAfterMs = expectTooMany(secondPost);
  await waitMs(retryAfterMs);
  expect((await dave.request('chat.grpchat', { roomId, text: 'second', clientMsgId: 'm2' })).status).toBe(200);
  const history = await requestAsClientsShould(dave, 'chat.bccontext', { roomId });
  expect((history.body!.messages as { text: string }[]).map((message) => message.text)).toEqual(['second', 'first']);
});

test('a flood of malformed frames and unknown actions gets 429s: the limiter is charged before the 400 (issue 17 item 4)', async () => {
  const { mallory, statuses, notJson } = await withoutRefill(CONNECTION_REFILL_MS, async (attempt) => {
    const mallory = await cloud.connect(`sip:mallory${attempt}@contoso.com`);
    const statuses: number[] = [];
    for (let sent = 0; sent < 3; sent++) statuses.push((await mallory.sendRaw(JSON.stringify({ action: 'no.such.action', rid: `u${sent}` }), `u${sent}`)).status);
    // Not even JSON: no rid to echo, so the next frame is its answer.
    return { mallory, statuses, notJson: await mallory.sendAndNextFrame('not json at all') };
  });
  expect(statuses).toEqual([400, 400, 429]);
  expect(notJson).toMatchObject({ type: 'response', status: 429, error: { code: 'TooManyRequests' } });
  expect(mallory.isOpen).toBe(true);
  expect((await mallory.request('ping')).status).toBe(200);
});
