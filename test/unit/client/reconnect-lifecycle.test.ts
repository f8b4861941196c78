import type { ClientEvents, UcClient, UcClientOptions } from '../../../client/src';
import { collectEvents, type FakeServer, scriptedClient, until } from './fake-socket';

/**
 * The reconnect attempt's life against a scripted socket: what `close()` and `reconnectNow()` do to an attempt
 * under way, the connect timeout, and what survives giving up (`maxAttempts`).
 */

/** A token function whose answers the test hands out one by one. */
class TokenGate {
  readonly waiting: Array<(token: string) => void> = [];
  asked = 0;
  readonly token = (): Promise<string> => {
    this.asked++;
    return new Promise<string>((resolve) => this.waiting.push(resolve));
  };

  /** Answers the oldest question still waiting. */
  answer(token = `t${this.asked}`): void {
    const next = this.waiting.shift();
    if (!next) throw new Error('nobody asked for a token');
    next(token);
  }
}

/** Lets timers and promise callbacks that are already due run (the fakes answer at once). */
function settle(ms = 30): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function subscription(subscriptionId: string, uri: string) {
  return { subscriptionId, state: 'subscribed', expiresAt: 1, targets: [{ uri, presence: { availability: 'online' }, version: 1 }] };
}

describe('UcClient reconnect attempts (against a scripted socket)', () => {
  let server: FakeServer;
  let client: UcClient;

  function start(options: Partial<UcClientOptions> = {}) {
    ({ server, client } = scriptedClient(options));
    return client;
  }

  const collect = <E extends keyof ClientEvents>(event: E) => collectEvents(client, event);

  async function connected(): Promise<void> {
    const connecting = client.connect();
    await server.acceptAndResume();
    await connecting;
  }

  afterEach(() => client?.close());

  test('close() while a reconnect waits for its token: no socket is opened afterwards and the client stays closed', async () => {
    const gate = new TokenGate();
    start({ token: gate.token });
    const connecting = client.connect();
    await until(() => gate.waiting.length === 1, 'the first token question');
    gate.answer();
    await server.acceptAndResume();
    await connecting;
    const states = collect('state');

    server.current.drop();
    await until(() => gate.waiting.length === 1, 'the reconnect asking for a token');
    client.close(); // signed out while the attempt is under way
    gate.answer();
    await settle();
    expect(server.sockets).toHaveLength(1);
    expect(client.connectionState).toBe('closed');
    expect(states.map((state) => state.state).filter((state) => state !== 'reconnecting')).toEqual(['closed']);
  });

  test('close() while a reconnect waits for the handshake: that socket is closed, and opening late changes nothing', async () => {
    start();
    await connected();
    server.current.drop();
    const second = await server.socketNumber(2);
    client.close();
    expect(second.readyState).toBe(3);
    second.accept(); // the server's side finished the handshake anyway
    await settle();
    expect(client.connectionState).toBe('closed');
    expect(second.sent).toHaveLength(0); // no session.resume went out on it
    expect(server.sockets).toHaveLength(2);
  });

  test('close() while connect() waits for its token: connect() rejects, no socket is opened, the state stays closed', async () => {
    const gate = new TokenGate();
    start({ token: gate.token });
    const connecting = client.connect();
    await until(() => gate.waiting.length === 1, 'the token question');
    client.close();
    gate.answer();
    await expect(connecting).rejects.toThrow(/closed/);
    await settle();
    expect(server.sockets).toHaveLength(0);
    expect(client.connectionState).toBe('closed');
  });

  test('a handshake that does not finish within connectTimeoutMs counts as a failed attempt: the socket is closed and the backoff goes on', async () => {
    start({ connectTimeoutMs: 50 });
    const errors = collect('error');
    const states = collect('state');
    await connected();
    server.current.drop();
    const second = await server.socketNumber(2); // never answered
    const third = await server.socketNumber(3);
    expect(second.readyState).toBe(3);
    expect(errors.map((error) => String((error.cause as Error | undefined)?.message))).toContainEqual(expect.stringMatching(/within 50 ms/));
    third.accept();
    third.answer(await server.frame('session.resume', third), 200, { presence: { subscriptions: [] } });
    await until(() => client.connectionState === 'open', 'open again');
    expect(states.filter((state) => state.state === 'reconnecting').map((state) => state.attempt)).toEqual([1, 1, 2, 2]);
  });

  test('a first connection whose handshake does not finish within connectTimeoutMs rejects connect()', async () => {
    start({ connectTimeoutMs: 50 });
    await expect(client.connect()).rejects.toThrow(/within 50 ms/);
    expect(server.current.readyState).toBe(3);
    expect(client.connectionState).toBe('idle');
  });

  test('reconnectNow() during a stuck handshake drops that attempt and starts a fresh one; the old socket opening late changes nothing', async () => {
    start({ reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    const errors = collect('error');
    await connected();
    server.current.drop();
    expect(client.reconnectNow()).toBe(true);
    const second = await server.socketNumber(2); // stuck

    expect(client.reconnectNow()).toBe(true);
    const third = await server.socketNumber(3);
    expect(second.readyState).toBe(3);
    second.accept();
    await settle();
    expect(second.sent).toHaveLength(0);
    expect(client.connectionState).toBe('reconnecting');
    expect(errors).toEqual([]); // dropping an attempt on purpose is no failure

    third.accept();
    third.answer(await server.frame('session.resume', third), 200, { presence: { subscriptions: [] } });
    await until(() => client.connectionState === 'open', 'open again');
    await settle();
    expect(server.sockets).toHaveLength(3); // the dropped attempt scheduled nothing
  });

  test('reconnectNow() while an attempt waits for its token starts a fresh one; the old token arriving late opens nothing', async () => {
    const gate = new TokenGate();
    start({ token: gate.token, reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    const connecting = client.connect();
    await until(() => gate.waiting.length === 1, 'the first token question');
    gate.answer();
    await server.acceptAndResume();
    await connecting;

    server.current.drop();
    expect(client.reconnectNow()).toBe(true);
    await until(() => gate.asked === 2, 'the attempt asking for a token');
    expect(client.reconnectNow()).toBe(true);
    await until(() => gate.asked === 3, 'the fresh attempt asking for a token');
    gate.answer('stale');
    await settle();
    expect(server.sockets).toHaveLength(1);
    gate.answer('fresh');
    const second = await server.socketNumber(2);
    expect(second.url).toContain('token=fresh');
    second.accept();
    second.answer(await server.frame('session.resume', second), 200, { presence: { subscriptions: [] } });
    await until(() => client.connectionState === 'open', 'open again');
  });

  test("a state listener that calls reconnectNow() on every 'reconnecting' does not stop the attempt it is told of", async () => {
    start({ reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    await connected();
    const answers: boolean[] = [];
    client.on('state', ({ state }) => {
      if (state === 'reconnecting') answers.push(client.reconnectNow());
    });
    server.current.drop();
    expect(answers).toEqual([false]); // the backoff is announced before its wait is set: nothing to cut short yet
    expect(client.reconnectNow()).toBe(true);
    const second = await server.socketNumber(2);
    expect(answers).toEqual([false, false]); // the attempt's own announcement: it goes on
    second.accept();
    second.answer(await server.frame('session.resume', second), 200, { presence: { subscriptions: [] } });
    await until(() => client.connectionState === 'open', 'open again');
    expect(server.sockets).toHaveLength(2);
  });

  test("a state listener that calls reconnectNow() as soon as the client gave up ('closed') starts over at once", async () => {
    start({ reconnect: { initialDelayMs: 5, maxDelayMs: 5, maxAttempts: 1 } });
    await connected();
    const answers: boolean[] = [];
    client.on('state', ({ state }) => {
      if (state === 'closed') answers.push(client.reconnectNow());
    });
    server.current.drop();
    (await server.socketNumber(2)).refuse();
    await until(() => answers.length === 1, 'closed');
    expect(answers).toEqual([true]);
    const third = await server.socketNumber(3);
    third.accept();
    third.answer(await server.frame('session.resume', third), 200, { presence: { subscriptions: [] } });
    await until(() => client.connectionState === 'open', 'open again');
  });

  test('a presence re-subscribe waiting when the client gives up is done once reconnectNow() has opened the connection again', async () => {
    // The wait before subscribing again is long: it is still running when the client gives up.
    start({ reconnect: { initialDelayMs: 5, maxDelayMs: 5, maxAttempts: 1 }, resubscribe: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    const resubscribed = collect('presence.resubscribed');
    await connected();
    const subscribed = client.request('presence.subscribe', { targets: ['sip:bob@contoso.com'] });
    server.current.answer(await server.frame('presence.subscribe'), 200, subscription('s1', 'sip:bob@contoso.com'));
    await subscribed;
    server.current.event('presence.subscriptionState', { subscriptionId: 's1', state: 'terminated', reason: 'targetGone' });

    server.current.drop();
    (await server.socketNumber(2)).refuse();
    await until(() => client.connectionState === 'closed', 'given up');

    expect(client.reconnectNow()).toBe(true);
    const third = await server.socketNumber(3);
    third.accept();
    third.answer(await server.frame('session.resume', third), 200, { presence: { subscriptions: [] } });
    const again = await server.frame('presence.subscribe', third);
    expect(again).toMatchObject({ targets: ['sip:bob@contoso.com'] });
    third.answer(again, 200, subscription('s2', 'sip:bob@contoso.com'));
    await until(() => resubscribed.length === 1, 'presence.resubscribed');
    expect(resubscribed[0]).toMatchObject({ previousSubscriptionId: 's1', subscriptionId: 's2', reason: 'targetGone' });
  });

  test('a presence re-subscribe cut off by giving up (its command failed with the connection) is done after reconnectNow()', async () => {
    // The re-subscribe comes quickly; the reconnect waits, so the command waits for the connection until the client gives up.
    start({ reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000, maxAttempts: 1 }, resubscribe: { initialDelayMs: 10, maxDelayMs: 20 } });
    await connected();
    const subscribed = client.request('presence.subscribe', { targets: ['sip:bob@contoso.com'] });
    server.current.answer(await server.frame('presence.subscribe'), 200, subscription('s1', 'sip:bob@contoso.com'));
    await subscribed;
    server.current.event('presence.subscriptionState', { subscriptionId: 's1', state: 'terminated', reason: 'expired' });
    server.current.drop();
    await settle(60); // the re-subscribe's wait is over: its command waits for the connection

    expect(client.reconnectNow()).toBe(true);
    (await server.socketNumber(2)).refuse();
    await until(() => client.connectionState === 'closed', 'given up');
    await settle(100); // longer than any re-subscribe wait: one that was going to be lost is lost by now

    expect(client.reconnectNow()).toBe(true);
    const third = await server.socketNumber(3);
    third.accept();
    third.answer(await server.frame('session.resume', third), 200, { presence: { subscriptions: [] } });
    expect(await server.frame('presence.subscribe', third)).toMatchObject({ targets: ['sip:bob@contoso.com'] });
  });

  test('after close() for good, a re-subscribe that was waiting is not done by a later connect()', async () => {
    start({ resubscribe: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    await connected();
    const subscribed = client.request('presence.subscribe', { targets: ['sip:bob@contoso.com'] });
    server.current.answer(await server.frame('presence.subscribe'), 200, subscription('s1', 'sip:bob@contoso.com'));
    await subscribed;
    server.current.event('presence.subscriptionState', { subscriptionId: 's1', state: 'terminated', reason: 'targetGone' });
    client.close();

    const again = client.connect();
    const second = await server.socketNumber(2);
    second.accept();
    second.answer(await server.frame('session.resume', second), 200, { presence: { subscriptions: [] } });
    await again;
    await settle();
    expect(second.sent.filter((frame) => frame.action === 'presence.subscribe')).toHaveLength(0);
  });
});
