import { ConnectionLostError, type ClientEvents, type UcClient, UcError, type UcClientOptions } from '../../../client/src';
import { collectEvents, type FakeServer, scriptedClient, until } from './fake-socket';

function chatMessage(roomId: string, seq: number, text = `m${seq}`) {
  return { roomId, seq, messageId: `${roomId}-${seq}`, from: { uri: 'sip:bob@contoso.com', name: 'bob' }, text, ts: seq };
}

describe('UcClient (against a scripted socket)', () => {
  let server: FakeServer;
  let client: UcClient;

  function start(options: Partial<UcClientOptions> = {}) {
    ({ server, client } = scriptedClient(options));
    return client;
  }

  const collect = <E extends keyof ClientEvents>(event: E) => collectEvents(client, event);

  afterEach(() => client?.close());

  test('connects with the token in the query string and resumes the session', async () => {
    start({ token: async () => 'a token/with+chars' });
    const connected = client.connect();
    await until(() => server.sockets.length === 1, 'a socket');
    expect(server.current.url).toBe(`ws://uc.test/?token=${encodeURIComponent('a token/with+chars')}`);
    await server.acceptAndResume();
    await expect(connected).resolves.toEqual({ presence: { subscriptions: [] } });
    expect(client.connectionState).toBe('open');
  });

  test('each command gets its own rid and resolves with its answer, in whatever order answers come', async () => {
    start();
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    const first = client.request('conf.get', { confId: 'c1' });
    const second = client.request('conf.get', { confId: 'c2' });
    const frameOne = await server.frame('conf.get');
    const frameTwo = await server.frame('conf.get');
    expect(frameOne.rid).not.toBe(frameTwo.rid);
    server.current.answer(frameTwo, 200, { confId: 'c2' });
    server.current.answer(frameOne, 404, { code: 'NotFound', message: 'no conference c1' });
    await expect(second).resolves.toMatchObject({ confId: 'c2' });
    await expect(first).rejects.toMatchObject({ status: 404, code: 'NotFound' });
    await expect(first).rejects.toBeInstanceOf(UcError);
  });

  test('a 503 is retried once after retryAfterMs with the same clientMsgId', async () => {
    start();
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    const retries = collect('retry');
    const posted = client.post('room-1', 'hello');
    const attempt1 = await server.frame('chat.grpchat');
    expect(typeof attempt1.clientMsgId).toBe('string');
    const refusedAt = Date.now();
    server.current.answer(attempt1, 503, { code: 'Unavailable', message: 'throttled', retryAfterMs: 60 });
    const attempt2 = await server.frame('chat.grpchat');
    expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(55);
    expect(attempt2.clientMsgId).toBe(attempt1.clientMsgId);
    expect(attempt2.text).toBe('hello');
    server.current.answer(attempt2, 200, { roomId: 'room-1', messageId: 'm1', seq: 1, ts: 1 });
    await expect(posted).resolves.toMatchObject({ seq: 1 });
    expect(retries).toEqual([{ action: 'chat.grpchat', status: 503, retryAfterMs: 60, attempt: 1 }]);
  });

  test('a 429 is retried until maxRetries, then the error reaches the caller', async () => {
    start({ maxRetries: 2 });
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    const sent = client.request('im.send', { to: 'sip:bob@contoso.com', text: 'hi', clientMsgId: 'mine' });
    for (let attempt = 0; attempt < 3; attempt++) {
      const frame = await server.frame('im.send');
      expect(frame.clientMsgId).toBe('mine');
      server.current.answer(frame, 429, { code: 'TooManyRequests', message: 'slow down', retryAfterMs: 1 });
    }
    await expect(sent).rejects.toMatchObject({ status: 429, retryAfterMs: 1 });
  });

  test('a 4xx other than 429 is not retried', async () => {
    start();
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    const sent = client.request('im.send', { to: 'sip:bob@contoso.com', text: 'hi' });
    server.current.answer(await server.frame('im.send'), 403, { code: 'Forbidden', message: 'no' });
    await expect(sent).rejects.toMatchObject({ status: 403 });
    expect(server.current.sent.filter((frame) => frame.action === 'im.send')).toHaveLength(1);
  });

  test('reconnects after a drop and resumes with the last seq of every room; missed messages are delivered once, in order', async () => {
    start();
    const connected = client.connect();
    await server.acceptAndResume({ presence: { subscriptions: [] }, rooms: [{ roomId: 'r1', name: 'R1', lastSeq: 3, messages: [] }] });
    await connected;
    const messages = collect('chat.message');
    server.current.event('chat.message', chatMessage('r1', 4));
    server.current.event('chat.message', chatMessage('r1', 4)); // delivered twice: shown once
    server.current.drop();
    expect(client.connectionState).toBe('reconnecting');

    const second = await server.socketNumber(2);
    second.accept();
    const resume = await server.frame('session.resume', second);
    expect(resume.since).toEqual({ r1: 4 });
    second.answer(resume, 200, {
      presence: { subscriptions: [] },
      rooms: [{ roomId: 'r1', name: 'R1', lastSeq: 6, messages: [chatMessage('r1', 5), chatMessage('r1', 6)] }],
    });
    await until(() => messages.length === 3, 'the missed messages');
    expect(messages.map((message) => message.seq)).toEqual([4, 5, 6]);
    expect(client.connectionState).toBe('open');
  });

  test('a resume answered in pages (issue 17 item 2: one answer is one frame) follows its cursor until every room is in', async () => {
    start();
    const connected = client.connect();
    const first = await server.socketNumber(1);
    first.accept();
    const resume = await server.frame('session.resume', first);
    first.answer(resume, 200, { presence: { subscriptions: [] }, rooms: [{ roomId: 'r1', name: 'R1', lastSeq: 1, messages: [] }], cursor: 'c1' });
    const next = await server.frame('session.resume', first);
    expect(next.cursor).toBe('c1');
    first.answer(next, 200, { rooms: [{ roomId: 'r2', name: 'R2', lastSeq: 2, messages: [] }] });
    const answer = await connected;
    expect(answer.rooms?.map((room) => room.roomId)).toEqual(['r1', 'r2']);
    expect(answer.cursor).toBeUndefined();
    expect(client.lastSeqByRoom()).toEqual({ r1: 1, r2: 2 });
  });

  test('a resume that answers `more` reads the rest from history before going on', async () => {
    start();
    const connected = client.connect();
    await server.acceptAndResume({ presence: { subscriptions: [] }, rooms: [{ roomId: 'r1', name: 'R1', lastSeq: 2, messages: [] }] });
    await connected;
    const messages = collect('chat.message');
    server.current.drop();
    const second = await server.socketNumber(2);
    second.accept();
    second.answer(await server.frame('session.resume', second), 200, {
      presence: { subscriptions: [] },
      rooms: [{ roomId: 'r1', name: 'R1', lastSeq: 7, messages: [chatMessage('r1', 6), chatMessage('r1', 7)], more: true }],
    });
    // History pages, newest first, until it reaches what was seen.
    const page1 = await server.frame('chat.bccontext', second);
    second.answer(page1, 200, { messages: [7, 6, 5].map((seq) => chatMessage('r1', seq)), cursor: 'older' });
    const page2 = await server.frame('chat.bccontext', second);
    expect(page2.before).toBe('older');
    second.answer(page2, 200, { messages: [4, 3, 2].map((seq) => chatMessage('r1', seq)), cursor: 'oldest' });
    await until(() => messages.length === 5, 'every missed message');
    expect(messages.map((message) => message.seq)).toEqual([3, 4, 5, 6, 7]);
  });

  test('a command safe to re-send is re-sent after a reconnect; one that is not fails with ConnectionLostError', async () => {
    start();
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    const post = client.post('r1', 'kept', { clientMsgId: 'k1' });
    const leave = client.request('im.leave', { conversationId: 'c1' });
    await server.frame('chat.grpchat');
    await server.frame('im.leave');
    server.current.drop();
    await expect(leave).rejects.toBeInstanceOf(ConnectionLostError);
    const second = await server.socketNumber(2);
    second.accept();
    second.answer(await server.frame('session.resume', second), 200, { presence: { subscriptions: [] } });
    const again = await server.frame('chat.grpchat', second);
    expect(again.clientMsgId).toBe('k1');
    second.answer(again, 200, { roomId: 'r1', messageId: 'm', seq: 1, ts: 1 });
    await expect(post).resolves.toMatchObject({ seq: 1 });
  });

  test('reconnect attempts back off and the token is asked for again each time', async () => {
    let tokens = 0;
    start({ token: () => `t${++tokens}`, reconnect: { initialDelayMs: 10, maxDelayMs: 40 } });
    const states = collect('state');
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    server.current.drop();
    (await server.socketNumber(2)).refuse();
    (await server.socketNumber(3)).refuse();
    const fourth = await server.socketNumber(4);
    expect(fourth.url).toContain('token=t4');
    fourth.accept();
    fourth.answer(await server.frame('session.resume', fourth), 200, { presence: { subscriptions: [] } });
    await until(() => client.connectionState === 'open', 'open again');
    const attempts = states.filter((state) => state.state === 'reconnecting').map((state) => state.attempt);
    expect(attempts).toEqual([1, 1, 2, 2, 3, 3]);
  });

  test('reconnectNow() tries at once instead of waiting out the backoff, and does nothing while connected', async () => {
    start({ reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    expect(client.reconnectNow()).toBe(false);
    server.current.drop();
    expect(client.connectionState).toBe('reconnecting');
    expect(server.sockets).toHaveLength(1);

    expect(client.reconnectNow()).toBe(true);
    const second = await server.socketNumber(2);
    second.accept();
    second.answer(await server.frame('session.resume', second), 200, { presence: { subscriptions: [] } });
    await until(() => client.connectionState === 'open', 'open again');
    expect(server.sockets).toHaveLength(2);
  });

  test('after the reconnect attempts ran out (maxAttempts) reconnectNow() starts over; after close() it does not', async () => {
    start({ reconnect: { initialDelayMs: 5, maxDelayMs: 5, maxAttempts: 1 } });
    const errors = collect('error');
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    server.current.drop();
    (await server.socketNumber(2)).refuse();
    await until(() => client.connectionState === 'closed', 'given up');
    expect(errors.map((error) => error.message)).toContain('gave up reconnecting after 1 attempts');

    expect(client.reconnectNow()).toBe(true);
    const third = await server.socketNumber(3);
    third.accept();
    third.answer(await server.frame('session.resume', third), 200, { presence: { subscriptions: [] } });
    await until(() => client.connectionState === 'open', 'open again');

    client.close();
    expect(client.reconnectNow()).toBe(false);
    expect(server.sockets).toHaveLength(3);
  });

  test('a ping is sent when nothing else was sent for the interval', async () => {
    start({ pingIntervalMs: 80 });
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    const ping = await server.frame('ping');
    server.current.answer(ping, 200, { pong: true });
    expect(server.current.sent.filter((frame) => frame.action === 'ping')).toHaveLength(1);
  });

  test('a gap in a room that stays open is read from history; events that merely cross are not', async () => {
    start();
    const connected = client.connect();
    await server.acceptAndResume({ presence: { subscriptions: [] }, rooms: [{ roomId: 'r1', name: 'R1', lastSeq: 0, messages: [] }] });
    await connected;
    const messages = collect('chat.message');
    server.current.event('chat.message', chatMessage('r1', 2));
    server.current.event('chat.message', chatMessage('r1', 1)); // crossed: no history read
    server.current.event('chat.message', chatMessage('r1', 4)); // 3 lost
    const read = await server.frame('chat.bccontext');
    server.current.answer(read, 200, { messages: [4, 3, 2, 1].map((seq) => chatMessage('r1', seq)) });
    await until(() => messages.length === 4, 'the lost message');
    expect(messages.map((message) => message.seq)).toEqual([2, 1, 4, 3]);
    expect(server.current.sent.filter((frame) => frame.action === 'chat.bccontext')).toHaveLength(1);
    expect(client.lastSeqByRoom()).toEqual({ r1: 4 });
  });

  test("the client's own posts count as seen, so the next message is not a gap", async () => {
    start();
    const connected = client.connect();
    await server.acceptAndResume({ presence: { subscriptions: [] }, rooms: [{ roomId: 'r1', name: 'R1', lastSeq: 0, messages: [] }] });
    await connected;
    const post = client.post('r1', 'mine');
    server.current.answer(await server.frame('chat.grpchat'), 200, { roomId: 'r1', messageId: 'x', seq: 1, ts: 1 });
    await post;
    server.current.event('chat.message', chatMessage('r1', 2));
    await until(() => client.lastSeqByRoom().r1 === 2, 'seq 2 seen');
  });

  test('a presence gap is detected: the client says so and refreshes the subscription', async () => {
    start();
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    const gaps = collect('presence.gap');
    const changes = collect('presence');
    const subscribed = client.request('presence.subscribe', { targets: ['sip:bob@contoso.com'] });
    server.current.answer(await server.frame('presence.subscribe'), 200, {
      subscriptionId: 's1',
      state: 'subscribed',
      expiresAt: 1,
      targets: [{ uri: 'sip:bob@contoso.com', presence: { availability: 'online' }, version: 1 }],
    });
    await subscribed;
    server.current.event('presence.notify', { subscriptionId: 's1', uri: 'sip:bob@contoso.com', presence: { availability: 'busy' }, version: 2 });
    server.current.event('presence.notify', { subscriptionId: 's1', uri: 'sip:bob@contoso.com', presence: { availability: 'away' }, version: 4 });
    expect(gaps).toEqual([{ subscriptionId: 's1', uri: 'sip:bob@contoso.com', expected: 3, received: 4 }]);
    const refresh = await server.frame('presence.refresh');
    expect(refresh.subscriptionId).toBe('s1');
    server.current.answer(refresh, 200, {
      subscriptions: [{ subscriptionId: 's1', state: 'subscribed', expiresAt: 2, targets: [{ uri: 'sip:bob@contoso.com', presence: { availability: 'away' }, version: 4 }] }],
    });
    // A late notification older than what is held changes nothing, and is no gap.
    server.current.event('presence.notify', { subscriptionId: 's1', uri: 'sip:bob@contoso.com', presence: { availability: 'doNotDisturb' }, version: 3 });
    expect(client.presence.get('sip:bob@contoso.com')).toMatchObject({ presence: { availability: 'away' }, version: 4 });
    expect(changes.map((change) => change.presence.availability)).toEqual(['online', 'busy', 'away']);
  });

  test('a subscription that ends unexpectedly is subscribed again, with backoff while its replacements keep ending; one the owner ended is not', async () => {
    start({ resubscribe: { initialDelayMs: 40, maxDelayMs: 1000 } });
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    const resubscribed = collect('presence.resubscribed');
    const active = (subscriptionId: string, uri: string, version = 1) => ({
      subscriptionId,
      state: 'subscribed',
      expiresAt: 1,
      targets: [{ uri, presence: { availability: 'online' }, version }],
    });
    const first = client.request('presence.subscribe', { targets: ['sip:bob@contoso.com'] });
    server.current.answer(await server.frame('presence.subscribe'), 200, active('s1', 'sip:bob@contoso.com'));
    await first;
    // Targets added later are part of what is subscribed again.
    const added = client.request('presence.subscribe', { subscriptionId: 's1', targets: ['sip:carol@contoso.com'] });
    server.current.answer(await server.frame('presence.subscribe'), 200, active('s1', 'sip:carol@contoso.com'));
    await added;

    server.current.event('presence.subscriptionState', { subscriptionId: 's1', state: 'terminated', reason: 'targetGone' });
    const endedAt = Date.now();
    const again = await server.frame('presence.subscribe');
    const firstWait = Date.now() - endedAt;
    expect(again).toMatchObject({ targets: ['sip:bob@contoso.com', 'sip:carol@contoso.com'] });
    expect(again.subscriptionId).toBeUndefined();
    expect(again.clientId).toEqual(expect.any(String));
    server.current.answer(again, 200, active('s2', 'sip:bob@contoso.com', 2));
    await until(() => resubscribed.length === 1, 'presence.resubscribed');
    expect(resubscribed[0]).toEqual({ previousSubscriptionId: 's1', subscriptionId: 's2', reason: 'targetGone', targets: ['sip:bob@contoso.com', 'sip:carol@contoso.com'] });

    // The replacement ends at once too: the next wait is longer (40 ms doubled, with jitter: at least 40 ms).
    server.current.event('presence.subscriptionState', { subscriptionId: 's2', state: 'terminated', reason: 'targetGone' });
    const secondEndedAt = Date.now();
    const third = await server.frame('presence.subscribe');
    expect(Date.now() - secondEndedAt).toBeGreaterThanOrEqual(40);
    expect(firstWait).toBeGreaterThanOrEqual(20);
    server.current.answer(third, 200, active('s3', 'sip:bob@contoso.com', 3));
    await until(() => resubscribed.length === 2, 'the second presence.resubscribed');

    // Ended by its owner: nothing is subscribed again.
    const ended = client.request('presence.unsubscribe', { subscriptionId: 's3' });
    server.current.event('presence.subscriptionState', { subscriptionId: 's3', state: 'terminated', reason: 'unsubscribed' });
    server.current.answer(await server.frame('presence.unsubscribe'), 200, { subscriptionId: 's3', state: 'terminated', reason: 'unsubscribed', uris: ['sip:bob@contoso.com'] });
    await ended;
    // Nothing to wait for: the absence of a frame, over the longest backoff this client may choose (maxDelayMs:
    // its jittered wait never exceeds it). A timer armed now expires no earlier than any it armed before, and Node
    // runs due timers in order of expiry, so a stalled machine cannot let this wait end first.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(server.current.sent.filter((frame) => frame.action === 'presence.subscribe')).toHaveLength(4);
  });

  test('a subscription reported terminated by session.resume after a reconnect (subscriberGone) is subscribed again', async () => {
    start({ resubscribe: { initialDelayMs: 10, maxDelayMs: 100 } });
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    const first = client.request('presence.subscribe', { targets: ['sip:bob@contoso.com'] });
    server.current.answer(await server.frame('presence.subscribe'), 200, {
      subscriptionId: 's1',
      state: 'subscribed',
      expiresAt: 1,
      targets: [{ uri: 'sip:bob@contoso.com', presence: { availability: 'online' }, version: 1 }],
    });
    await first;
    server.current.drop();
    const second = await server.socketNumber(2);
    second.accept();
    second.answer(await server.frame('session.resume', second), 200, {
      presence: { subscriptions: [{ subscriptionId: 's1', state: 'terminated', reason: 'subscriberGone', uris: ['sip:bob@contoso.com'] }] },
    });
    expect(await server.frame('presence.subscribe', second)).toMatchObject({ targets: ['sip:bob@contoso.com'] });
  });

  test('close() rejects what is waiting and stops reconnecting', async () => {
    start();
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    const waiting = client.request('conf.get', { confId: 'c' });
    await server.frame('conf.get');
    client.close();
    await expect(waiting).rejects.toBeInstanceOf(ConnectionLostError);
    await expect(client.request('ping')).rejects.toBeInstanceOf(ConnectionLostError);
    expect(server.sockets).toHaveLength(1);
  });

  test('a first connection that fails rejects connect() and does not retry', async () => {
    start();
    const connected = client.connect();
    await until(() => server.sockets.length === 1, 'a socket');
    server.current.refuse();
    await expect(connected).rejects.toThrow(/connect/);
    expect(client.connectionState).toBe('idle');
  });
});
