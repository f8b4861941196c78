import { startTestCloud, type TestCloud } from '../support/cloud';
import type { ResponseFrame, TestClient } from '../support/client';

/** SPEC §6 overload: over the configured in-flight limit the server answers 503 with retryAfterMs; the client retries with the same clientMsgId. */
let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud({ env: { MAX_IN_FLIGHT_COMMANDS: '2' } });
});
afterAll(async () => {
  await cloud.stop();
});

/** A client that honours 503: waits retryAfterMs and sends the same command again. */
async function postWithRetry(client: TestClient, args: Record<string, unknown>, deferred: ResponseFrame[]): Promise<ResponseFrame> {
  for (;;) {
    const response = await client.request('chat.grpchat', args);
    if (response.status !== 503) return response;
    deferred.push(response);
    await new Promise((resolve) => setTimeout(resolve, response.error!.retryAfterMs));
  }
}

test('over the in-flight limit posts get 503 with retryAfterMs, and retries with the same clientMsgId store each once, gap-free', async () => {
  const owner = await cloud.connect('sip:owner@contoso.com');
  const { roomId } = (await owner.request('room.create', { name: 'busy room' })).body as { roomId: string };
  await owner.request('chat.join', { roomId });
  const posters = await Promise.all(Array.from({ length: 10 }, (_, n) => cloud.connect(`sip:poster${n}@contoso.com`)));
  // One at a time: only the burst below should meet the limit.
  for (const poster of posters) expect((await poster.request('chat.join', { roomId })).status).toBe(200);
  const deferred: ResponseFrame[] = [];
  const answers = await Promise.all(
    posters.flatMap((poster, p) => [0, 1].map((n) => postWithRetry(poster, { roomId, text: `post ${p}-${n}`, clientMsgId: `c-${p}-${n}` }, deferred))),
  );
  expect(answers.every((answer) => answer.status === 200)).toBe(true);
  expect(deferred.length).toBeGreaterThan(0);
  for (const response of deferred) expect(response.error).toMatchObject({ code: 'Unavailable', retryAfterMs: expect.any(Number) });
  const seqs = answers.map((answer) => (answer.body as { seq: number }).seq).sort((a, b) => a - b);
  expect(seqs).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));
  const history = await owner.request('chat.bccontext', { roomId, limit: 50 });
  const texts = (history.body as { messages: { text: string }[] }).messages.map((message) => message.text);
  expect(texts).toHaveLength(20);
  expect(new Set(texts).size).toBe(20);
});
