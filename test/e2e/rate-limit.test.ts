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
  const alice = await cloud.connect('sip:alice@contoso.com');
  expect((await alice.request('chat.getserverinfo')).status).toBe(200);
  expect((await alice.request('chat.getserverinfo')).status).toBe(200);
  const retryAfterMs = expectTooMany(await alice.request('chat.getserverinfo'));
  // The keep-alive must never be refused, or a limited client would be dropped as idle.
  expect((await alice.request('ping')).status).toBe(200);
  expect(alice.isOpen).toBe(true);
  // The server said when: waiting that long is the protocol, not a guess.
  await waitMs(retryAfterMs);
  expect((await alice.request('chat.getserverinfo')).status).toBe(200);
});

test('a user is limited over all their connections', async () => {
  const desktop = await cloud.connect('sip:bob@contoso.com', 'enterprise', 'desktop');
  const mobile = await cloud.connect('sip:bob@contoso.com', 'enterprise', 'mobile');
  expect((await desktop.request('chat.getserverinfo')).status).toBe(200);
  expect((await desktop.request('chat.getserverinfo')).status).toBe(200);
  expect((await mobile.request('chat.getserverinfo')).status).toBe(200);
  // The mobile connection still has a token of its own, but the user has none.
  const retryAfterMs = expectTooMany(await mobile.request('chat.getserverinfo'));
  expect((await mobile.request('chat.getserverinfo')).error?.message).toContain('this user');
  // Another user is not affected.
  const carol = await cloud.connect('sip:carol@contoso.com');
  expect((await carol.request('chat.getserverinfo')).status).toBe(200);
  await waitMs(retryAfterMs);
  expect((await mobile.request('chat.getserverinfo')).status).toBe(200);
});

test('a refused command has no effect: a rate-limited post is not stored, its retry is stored once', async () => {
  const dave = await cloud.connect('sip:dave@contoso.com');
  const created = await dave.request('room.create', { name: 'limited', clientId: 'limited-room' });
  expect(created.status).toBe(200);
  const roomId = created.body!.roomId;
  expect((await dave.request('chat.grpchat', { roomId, text: 'first', clientMsgId: 'm1' })).status).toBe(200);
  const retryAfterMs = expectTooMany(await dave.request('chat.grpchat', { roomId, text: 'second', clientMsgId: 'm2' }));
  await waitMs(retryAfterMs);
  expect((await dave.request('chat.grpchat', { roomId, text: 'second', clientMsgId: 'm2' })).status).toBe(200);
  const history = await requestAsClientsShould(dave, 'chat.bccontext', { roomId });
  expect((history.body!.messages as { text: string }[]).map((message) => message.text)).toEqual(['second', 'first']);
});

test('a flood of malformed frames and unknown actions gets 429s: the limiter is charged before the 400 (issue 17 item 4)', async () => {
  const mallory = await cloud.connect('sip:mallory@contoso.com');
  const statuses: number[] = [];
  for (let sent = 0; sent < 3; sent++) statuses.push((await mallory.sendRaw(JSON.stringify({ action: 'no.such.action', rid: `u${sent}` }), `u${sent}`)).status);
  expect(statuses).toEqual([400, 400, 429]);
  // Not even JSON: no rid to echo, so the next frame is its answer.
  expect(await mallory.sendAndNextFrame('not json at all')).toMatchObject({ type: 'response', status: 429, error: { code: 'TooManyRequests' } });
  expect(mallory.isOpen).toBe(true);
  expect((await mallory.request('ping')).status).toBe(200);
});
