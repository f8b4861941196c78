import WebSocket from 'ws';
import {
  type ChatMessage,
  type ClientEvents,
  UcClient,
  type UcClientOptions,
  type WebSocketFactory,
  type WebSocketLike,
} from '../../client/src';
import type { LocalLambdaHost } from '../../infra/local/lambda-host';
import type { IdentityKind } from '../../shared/auth/identity';
import { UnavailableError } from '../../shared/errors';
import { errorResponse } from '../../shared/protocol/envelope';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { waitFor } from '../support/client';
import { users } from '../support/users';

/**
 * The client library (client/src) against the local cloud: what it promises a UI — nothing missed across a
 * dropped connection, a 503 retried with the same client id, a presence gap noticed and repaired.
 */
let cloud: TestCloud;
const clients: UcClient[] = [];

beforeAll(async () => {
  cloud = await startTestCloud({ env: { CHAT_HISTORY_PAGE_SIZE: '3' } });
});
afterAll(async () => {
  for (const client of clients) client.close();
  await cloud.stop();
});

/** The `ws` package's WebSocket, which has the browser's interface (Node 20 has no global one). */
const nodeWebSocket: WebSocketFactory = (url) => new WebSocket(url, { perMessageDeflate: false }) as unknown as WebSocketLike;

async function connect(uri: string, options: Partial<UcClientOptions> = {}, kind: IdentityKind = 'enterprise') {
  const client = new UcClient({
    url: cloud.cloud.wsUrl,
    token: () => cloud.token(uri, kind),
    webSocket: nodeWebSocket,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    gapFillDelayMs: 200,
    ...options,
  });
  clients.push(client);
  await client.connect();
  return client;
}

function collect<E extends keyof ClientEvents>(client: UcClient, event: E): Array<ClientEvents[E]> {
  const seen: Array<ClientEvents[E]> = [];
  client.on(event, (payload) => seen.push(payload));
  return seen;
}

test('reconnect and resume lose no message across a forced disconnect, and deliver none twice', async () => {
  const [alice, bob] = users('alice', 'bob');
  const sender = await connect(alice!);
  // Bob's socket is kept so the test can cut it, and his reconnects wait until the test lets them through.
  const bobSockets: WebSocket[] = [];
  let letBobBackIn: () => void = () => undefined;
  let bobMayReconnect: Promise<void> = Promise.resolve();
  const receiver = await connect(bob!, {
    webSocket: (url) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      bobSockets.push(socket);
      return socket as unknown as WebSocketLike;
    },
    token: async () => {
      await bobMayReconnect;
      return cloud.token(bob!);
    },
  });
  const received = collect(receiver, 'chat.message');
  const resumes = collect(receiver, 'resumed');

  const { roomId } = await sender.request('room.create', { name: 'resume room' });
  await receiver.request('chat.join', { roomId });
  for (let n = 1; n <= 3; n++) await sender.post(roomId, `before ${n}`);
  await waitFor('the first three messages', () => received.length === 3 || undefined);

  // The network goes: the socket dies without a close handshake, and the gateway sees the connection end.
  bobMayReconnect = new Promise((resolve) => (letBobBackIn = resolve));
  const connectionsBefore = cloud.cloud.gateway.connectionCount;
  bobSockets[0]!.terminate();
  await waitFor('the gateway to notice', () => cloud.cloud.gateway.connectionCount < connectionsBefore || undefined);
  expect(receiver.connectionState).toBe('reconnecting');
  // Five messages while Bob is away (more than one resume page of 3, so the rest comes from history).
  for (let n = 1; n <= 5; n++) await sender.post(roomId, `while away ${n}`);

  letBobBackIn();
  await waitFor('the reconnect and resume', () => resumes.find((resume) => resume.reconnect));
  for (let n = 1; n <= 2; n++) await sender.post(roomId, `after ${n}`);
  await waitFor('all ten messages', () => received.length >= 10 || undefined);

  const seqs = received.map((message) => message.seq);
  expect(new Set(seqs).size).toBe(seqs.length);
  expect([...seqs].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(received.map((message) => message.text).slice(3, 8)).toEqual([1, 2, 3, 4, 5].map((n) => `while away ${n}`));
  expect(bobSockets).toHaveLength(2);
  expect(receiver.lastSeqByRoom()[roomId]).toBe(10);
});

test('a 503 is retried once, after retryAfterMs, with the same clientMsgId: stored and delivered once', async () => {
  const [alice, bob] = users('alice', 'bob');
  const sender = await connect(alice!);
  const follower = await connect(bob!);
  const { roomId } = await sender.request('room.create', { name: 'retry room' });
  await follower.request('chat.join', { roomId });
  const delivered = collect(follower, 'chat.message');
  const retries = collect(sender, 'retry');

  // The chat function answers the first post as an overloaded one does (503 + retryAfterMs), then runs.
  const postsSeen: Array<{ clientMsgId?: string; answeredAt: number }> = [];
  let realChat: Parameters<LocalLambdaHost['register']>[1] | undefined;
  cloud.cloud.lambdas.wrap('chat', (real) => {
    realChat = real;
    return async (event, context) => {
      const frame = JSON.parse(String((event as { body?: string }).body)) as { action: string; rid?: string; clientMsgId?: string };
      if (frame.action !== 'chat.grpchat') return real(event, context);
      postsSeen.push({ clientMsgId: frame.clientMsgId, answeredAt: Date.now() });
      if (postsSeen.length > 1) return real(event, context);
      const refusal = errorResponse(frame.rid, new UnavailableError('the service is busy; retry with the same client id', 150), 'test');
      return { statusCode: 200, body: JSON.stringify(refusal) };
    };
  });
  try {
    const posted = await sender.post(roomId, 'exactly once');
    expect(postsSeen).toHaveLength(2);
    expect(postsSeen[0]!.clientMsgId).toEqual(expect.any(String));
    expect(postsSeen[1]!.clientMsgId).toBe(postsSeen[0]!.clientMsgId);
    expect(postsSeen[1]!.answeredAt - postsSeen[0]!.answeredAt).toBeGreaterThanOrEqual(140);
    expect(retries).toEqual([{ action: 'chat.grpchat', status: 503, retryAfterMs: 150, attempt: 1 }]);

    await waitFor('the delivery', () => delivered.find((message) => message.messageId === posted.messageId));
    const history = await follower.request('chat.bccontext', { roomId });
    expect(history.messages.filter((message: ChatMessage) => message.text === 'exactly once')).toHaveLength(1);
    // One more post shows nothing else was delivered in between.
    await sender.post(roomId, 'next');
    await waitFor('the next delivery', () => delivered.find((message) => message.text === 'next'));
    expect(delivered.filter((message) => message.text === 'exactly once')).toHaveLength(1);
  } finally {
    if (realChat) cloud.cloud.lambdas.register('chat', realChat);
  }
});

/** A socket that loses the server frames `drop` picks, as a lossy path to the client would. */
function lossySocket(drop: (frame: Record<string, unknown>) => boolean): WebSocketFactory {
  return (url) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const lossy: WebSocketLike = {
      get readyState() {
        return socket.readyState;
      },
      send: (data) => socket.send(data),
      close: (code, reason) => socket.close(code, reason),
      onopen: null,
      onmessage: null,
      onclose: null,
      onerror: null,
    };
    socket.on('open', () => lossy.onopen?.({}));
    socket.on('error', (error) => lossy.onerror?.(error));
    socket.on('close', (code, reason) => lossy.onclose?.({ code, reason: reason.toString() }));
    socket.on('message', (data) => {
      const text = data.toString();
      if (!drop(JSON.parse(text) as Record<string, unknown>)) lossy.onmessage?.({ data: text });
    });
    return lossy;
  };
}

test('gap detection by version (SPEC §5): a lost notification shows as the target’s version jumping, the library refreshes the subscription and holds the newest presence', async () => {
  const [alice, bob] = users('alice', 'bob');
  const watched = await connect(alice!);
  let dropped = 0;
  const watcher = await connect(bob!, {
    // The first notification about Alice is lost on the way.
    webSocket: lossySocket((frame) => frame.event === 'presence.notify' && dropped++ === 0),
  });
  const gaps = collect(watcher, 'presence.gap');
  const requests = jest.spyOn(watcher, 'request');
  const subscription = await watcher.request('presence.subscribe', { targets: [alice!] });
  if (subscription.state === 'terminated') throw new Error(`a new subscription answered terminated: ${JSON.stringify(subscription)}`);
  // Alice is online since she connected: version 1.
  expect(subscription.targets).toEqual([{ uri: alice, presence: { availability: 'online' }, version: 1 }]);

  await watched.request('presence.publish', { availability: 'busy' }); // version 2: lost
  await watched.request('presence.publish', { availability: 'away', note: 'lunch' }); // version 3: a jump from 1
  await waitFor('the gap', () => gaps[0]);
  expect(gaps).toEqual([{ subscriptionId: subscription.subscriptionId, uri: alice, expected: 2, received: 3 }]);
  // The library refreshes that subscription by itself, and the answer's snapshot is applied.
  await waitFor('the refresh', () => requests.mock.calls.find(([action, args]) => action === 'presence.refresh' && (args as { subscriptionId?: string }).subscriptionId === subscription.subscriptionId));
  const refreshed = requests.mock.results[requests.mock.calls.findIndex(([action]) => action === 'presence.refresh')]!.value as Promise<unknown>;
  expect(await refreshed).toMatchObject({ subscriptions: [{ subscriptionId: subscription.subscriptionId, targets: [{ uri: alice, version: 3 }] }] });
  expect(watcher.presence.get(alice!)).toMatchObject({ presence: { availability: 'away', note: 'lunch' }, version: 3 });

  // The next change follows on with no gap.
  const published = await watched.request('presence.publish', { availability: 'online' });
  await waitFor('the next notification', () => (watcher.presence.get(alice!)?.version === published.version ? true : undefined));
  expect(watcher.presence.get(alice!)?.presence.availability).toBe('online');
  expect(gaps).toHaveLength(1);
  expect(dropped).toBeGreaterThanOrEqual(1);
});

test('commands are typed end to end: a refusal carries status, code and the failing field', async () => {
  const [carol] = users('carol');
  const client = await connect(carol!, {}, 'anonymous');
  await expect(client.request('im.send', { to: 'sip:dave@contoso.com', text: 'hi' })).rejects.toMatchObject({ status: 403, code: 'Forbidden' });
  await expect(client.request('chat.grpchat', { roomId: 'r', text: '' })).rejects.toMatchObject({ status: 400, field: 'text' });
});
