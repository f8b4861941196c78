import WebSocket from 'ws';
import type { WebSocketLike } from '../../client/src';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { users } from '../support/users';
import { waitFor } from '../support/wait';

/**
 * Issue 22 item 3 end to end, through the WebSocket API and the client library: `im.markread` (the marker roams,
 * never moves back, `im.read` to the other devices), `im.conversations` (latest activity first, `unread`),
 * `session.resume`'s `missedConversations`, and the reproduction of the issue: Bob's connection cut, Alice's IM in
 * the gap acknowledged to her, and Bob gets it back when his client reconnects (`imSince`), before "ended (idle)".
 */
let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud.stop();
});

test('an IM sent while the recipient’s connection was cut comes back with the reconnect (session.resume imSince), once', async () => {
  const [alice, bob] = users('alice', 'bob');
  const aliceClient = await cloud.client(alice!);
  // Bob's sockets are kept so the test can cut one, and his reconnect waits until the test lets him back in.
  const bobSockets: WebSocket[] = [];
  let letBobBackIn: () => void = () => undefined;
  let bobMayReconnect: Promise<void> = Promise.resolve();
  const bobClient = await cloud.client(bob!, 'enterprise', 'desktop', {
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
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

  const before = await aliceClient.request('im.send', { to: bob!, text: 'before the cut' });
  await bobClient.events.nextEvent('im.message', (m) => m.messageId === before.messageId);

  // The network goes: the socket dies without a close handshake, and the gateway sees the connection end.
  bobMayReconnect = new Promise((resolve) => (letBobBackIn = resolve));
  const connectionsBefore = cloud.cloud.gateway.connectionCount;
  bobSockets[0]!.terminate();
  await waitFor('the gateway to notice', () => cloud.cloud.gateway.connectionCount < connectionsBefore || undefined);
  const inGap = await aliceClient.request('im.send', { conversationId: before.conversationId, text: 'sent in the gap' });
  expect(inGap.newConversation).toBe(false);

  letBobBackIn();
  const resumed = await bobClient.events.nextEvent('resumed', (r) => r.reconnect);
  expect(resumed.imMessages?.map((m) => m.messageId)).toContain(inGap.messageId);
  const gapMessage = await bobClient.events.nextEvent('im.message', (m) => m.messageId === inGap.messageId);
  expect(gapMessage).toMatchObject({ conversationId: before.conversationId, text: 'sent in the gap', from: { uri: alice } });
  // The message before the cut came back in the resume too (at imSince) but is not emitted twice.
  expect(bobClient.events.eventsNamed('im.message').map((m) => m.messageId)).toEqual([before.messageId, inGap.messageId]);
  expect(bobClient.lastImTs).toBe(inGap.ts);
  expect(bobSockets).toHaveLength(2);
  // While it was cut, another connection of Bob's was open? No: none was, so the conversation is a missed one.
  expect(resumed.missedConversations).toEqual([expect.objectContaining({ conversationId: before.conversationId, unread: 2 })]);
});

test('im.conversations lists the caller’s conversations latest activity first with unread; im.markread roams to the other devices, never back', async () => {
  const [alice, bob, carol] = users('alice', 'bob', 'carol');
  const aliceClient = await cloud.client(alice!);
  const bobDesktop = await cloud.client(bob!);
  const bobPhone = await cloud.client(bob!, 'enterprise', 'mobile');
  const fromAlice = await aliceClient.request('im.send', { to: bob!, text: 'one' });
  const second = await aliceClient.request('im.send', { conversationId: fromAlice.conversationId, text: 'two' });
  const carolClient = await cloud.client(carol!);
  const fromCarol = await carolClient.request('im.send', { to: bob!, text: 'from carol' });

  const listed = await bobDesktop.imConversations({ limit: 1 });
  expect(listed.conversations).toEqual([
    {
      conversationId: fromCarol.conversationId,
      participants: [carol, bob],
      status: 'active',
      lastMessage: { messageId: fromCarol.messageId, from: { uri: carol, name: carol }, text: 'from carol', ts: fromCarol.ts },
      unread: 1,
    },
  ]);
  const rest = await bobDesktop.imConversations({ limit: 1, cursor: listed.cursor! });
  expect(rest.conversations).toEqual([expect.objectContaining({ conversationId: fromAlice.conversationId, unread: 2 })]);

  // The phone reads the newest of Alice's; the desktop hears of it; the desktop then marks the older one: nothing moves back.
  expect(await bobPhone.markImRead(fromAlice.conversationId, second.messageId)).toEqual({ conversationId: fromAlice.conversationId, messageId: second.messageId, unread: 0 });
  expect(await bobDesktop.events.nextEvent('im.read', (e) => e.conversationId === fromAlice.conversationId)).toEqual({
    conversationId: fromAlice.conversationId,
    messageId: second.messageId,
    unread: 0,
  });
  expect((await bobDesktop.markImRead(fromAlice.conversationId, fromAlice.messageId)).unread).toBe(0);
  expect((await bobDesktop.imConversations()).conversations.map((c) => [c.conversationId, c.unread])).toEqual([
    [fromCarol.conversationId, 1],
    [fromAlice.conversationId, 0],
  ]);
  await expect(carolClient.markImRead(fromAlice.conversationId, fromAlice.messageId)).rejects.toMatchObject({ status: 403 });
  await expect(bobDesktop.markImRead(fromAlice.conversationId, 'msg_nope')).rejects.toMatchObject({ status: 404 });
  await expect(bobDesktop.request('im.markread', { conversationId: fromAlice.conversationId } as never)).rejects.toMatchObject({ status: 400, field: 'messageId' });
});

test('missed conversations: an IM that reached none of the user’s connections is reported at sign-in until read', async () => {
  const [alice, dave] = users('alice', 'dave');
  const aliceClient = await cloud.client(alice!);
  const sent = await aliceClient.request('im.send', { to: dave!, text: 'are you there?' });

  const daveClient = await cloud.client(dave!);
  const signIn = daveClient.events.eventsNamed('resumed')[0]!;
  expect(signIn.missedConversations).toEqual([
    { conversationId: sent.conversationId, participants: [alice, dave], status: 'active', lastMessage: expect.objectContaining({ messageId: sent.messageId }), unread: 1 },
  ]);
  await daveClient.markImRead(sent.conversationId, sent.messageId);
  const again = await daveClient.request('session.resume', {});
  expect(again.missedConversations).toBeUndefined();
});

test('messages sent at once on one conversation all land, numbered without a gap, and unread counts each', async () => {
  const [alice, erin] = users('alice', 'erin');
  const aliceClient = await cloud.client(alice!);
  const erinClient = await cloud.client(erin!);
  const first = await aliceClient.request('im.send', { to: erin!, text: 'first' });
  // Five sends racing for the next numbers: each loser reads again and takes the next (the conversation's count decides).
  const racing = await Promise.all(Array.from({ length: 5 }, (_, i) => aliceClient.request('im.send', { conversationId: first.conversationId, text: `at once ${i}` })));
  expect(new Set(racing.map((sent) => sent.conversationId))).toEqual(new Set([first.conversationId]));
  const history = await erinClient.request('im.history', { conversationId: first.conversationId });
  expect(history.messages.map((m) => m.n).sort((a, b) => a! - b!)).toEqual([1, 2, 3, 4, 5, 6]);
  expect((await erinClient.imConversations()).conversations).toEqual([expect.objectContaining({ conversationId: first.conversationId, unread: 6 })]);
});
