import { type ClientEvents, UcClient } from '../../../client/src';
import { FakeServer, until } from './fake-socket';

/** The client library resumes IM on every reconnect (issue 22 item 3): `imSince`, `imCursor`, de-duplicated by id. */

function im(messageId: string, ts: number, conversationId = 'conv_1') {
  return { conversationId, messageId, from: { uri: 'sip:alice@contoso.com', name: 'alice' }, text: messageId, contentType: 'text/plain', ts };
}

describe('UcClient IM resume (against a scripted socket)', () => {
  let server: FakeServer;
  let client: UcClient;

  function start() {
    server = new FakeServer();
    client = new UcClient({ url: 'ws://uc.test', token: 't', webSocket: server.factory, reconnect: { initialDelayMs: 5, maxDelayMs: 20 }, imClockSkewMs: 1000 });
    return client;
  }
  function collect<E extends keyof ClientEvents>(event: E): Array<ClientEvents[E]> {
    const seen: Array<ClientEvents[E]> = [];
    client.on(event, (payload) => seen.push(payload));
    return seen;
  }
  afterEach(() => client?.close());

  test('every reconnect resumes with imSince, the ts of the newest IM seen; the messages it brings come as im.message once, following imCursor', async () => {
    start();
    const connected = client.connect();
    const first = await server.acceptAndResume();
    expect(first.imSince).toBeUndefined(); // the first sign-in: missedConversations tell what was missed
    await connected;
    const messages = collect('im.message');
    server.current.event('im.message', { ...im('m1', 100), newConversation: true });
    const sending = client.request('im.send', { conversationId: 'conv_1', text: 'mine' });
    server.current.answer(await server.frame('im.send'), 200, { conversationId: 'conv_1', messageId: 'm2', newConversation: false, ts: 150 });
    await sending;
    expect(client.lastImTs).toBe(150);
    server.current.drop();

    const second = await server.socketNumber(2);
    second.accept();
    const resume = await server.frame('session.resume', second);
    expect(resume.imSince).toBe(150);
    second.answer(resume, 200, { presence: { subscriptions: [] }, imMessages: [im('m2', 150), im('m3', 160)], imCursor: 'next' });
    const more = await server.frame('session.resume', second);
    expect(more).toMatchObject({ imSince: 150, imCursor: 'next' });
    second.answer(more, 200, { imMessages: [im('m4', 170, 'conv_2')] });
    await until(() => messages.length === 3, 'the resumed messages');
    expect(messages.map((m) => m.messageId)).toEqual(['m1', 'm3', 'm4']);
    expect(messages[1]).toMatchObject({ newConversation: false, text: 'm3' });
    expect(client.lastImTs).toBe(170);
  });

  test('a reconnect before any IM was seen resumes IM from when the client first connected, less imClockSkewMs', async () => {
    start();
    const before = Date.now();
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    server.current.drop();
    const second = await server.socketNumber(2);
    second.accept();
    const resume = await server.frame('session.resume', second);
    expect(resume.imSince).toBeGreaterThanOrEqual(before - 1000);
    expect(resume.imSince).toBeLessThanOrEqual(Date.now() - 1000);
    second.answer(resume, 200, { presence: { subscriptions: [] } });
  });

  test('an imCursor beside no messages (the first one did not fit the first answer) is followed until none comes', async () => {
    start();
    const connected = client.connect();
    await server.acceptAndResume();
    await connected;
    const messages = collect('im.message');
    server.current.event('im.message', { ...im('m1', 100), newConversation: true });
    server.current.drop();

    const second = await server.socketNumber(2);
    second.accept();
    const resume = await server.frame('session.resume', second);
    second.answer(resume, 200, { presence: { subscriptions: [] }, imMessages: [], imCursor: 'at-m2' });
    const more = await server.frame('session.resume', second);
    expect(more).toMatchObject({ imSince: 100, imCursor: 'at-m2' });
    second.answer(more, 200, { imMessages: [im('m2', 110)], imCursor: 'after-m2' });
    const last = await server.frame('session.resume', second);
    expect(last).toMatchObject({ imCursor: 'after-m2' });
    second.answer(last, 200, { imMessages: [] });
    await until(() => messages.length === 2, 'the resumed message');
    expect(messages.map((m) => m.messageId)).toEqual(['m1', 'm2']);
  });
});
