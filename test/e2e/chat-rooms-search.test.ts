import { startTestCloud, type TestCloud } from '../support/cloud';
import type { TestClient } from '../support/client';
import { createRoom, ok } from '../support/commands';
import { userBatch, users } from '../support/users';
import { waitFor } from '../support/wait';

/**
 * Issue 22 item 6 through the WebSocket API: `chat.search` with several words, `chat.chansrch` by any word of a
 * room's name or description, `chat.occupants`, `chat.declineinv`, with their refusals. The rules themselves are on
 * memory ports (test/unit/shared/chat/service-search.test.ts, service-room-search.test.ts,
 * service-occupants-invitations.test.ts); this shows them on the local cloud's real store and presence.
 */
let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud.stop();
});

const roomNames = async (client: TestClient, query: string) => ((await ok(client, 'chat.chansrch', { query })).rooms as { name: string }[]).map((room) => room.name).sort();

test('chat.search with several words finds the messages holding all of them: "number 7" is message 7 only; a query of one-letter words is a 400', async () => {
  const [alice] = users('alice');
  const aliceClient = await cloud.connect(alice!);
  const roomId = await createRoom(aliceClient);
  for (let n = 1; n <= 10; n++) await ok(aliceClient, 'chat.grpchat', { roomId, text: `number ${n}` });
  const texts = async (query: string) => ((await ok(aliceClient, 'chat.search', { roomId, query })).messages as { text: string }[]).map((message) => message.text);
  expect(await texts('number 7')).toEqual(['number 7']);
  expect(await texts('NUMBER 10')).toEqual(['number 10']);
  expect(await texts('number')).toHaveLength(10);
  expect(await aliceClient.request('chat.search', { roomId, query: '7' })).toMatchObject({ status: 400, error: { field: 'query' } });
});

test('chat.chansrch finds a room by any word of its name or description by prefix, in any case; a secret room only for its members; a rename moves the words', async () => {
  const [alice, bob, carol] = users('alice', 'bob', 'carol');
  // Words unique to this run of the file, so other tests' rooms never match.
  const tag = `k${userBatch()}${Date.now().toString(36)}`;
  const [aliceClient, bobClient, carolClient] = await Promise.all([cloud.connect(alice!), cloud.connect(bob!), cloud.connect(carol!)]);
  const roomId = await createRoom(aliceClient, { name: `Quarterly ${tag}sales review`, description: `Budget ${tag}forecast` });
  await createRoom(aliceClient, { name: `Board ${tag}secrets`, description: `${tag}forecast drafts`, privacy: 'secret', members: [carol] });
  expect(await roomNames(bobClient, `${tag}SAL`)).toEqual([`Quarterly ${tag}sales review`]);
  expect(await roomNames(bobClient, `${tag}forecast`)).toEqual([`Quarterly ${tag}sales review`]);
  expect(await roomNames(carolClient, `${tag}fore`)).toEqual([`Board ${tag}secrets`, `Quarterly ${tag}sales review`]);
  await ok(aliceClient, 'room.update', { roomId, name: `Yearly ${tag}plans`, description: 'nothing else' });
  expect(await roomNames(bobClient, `${tag}sales`)).toEqual([]);
  expect(await roomNames(bobClient, `${tag}plan`)).toEqual([`Yearly ${tag}plans`]);
});

test('chat.occupants: the followers connected now with their availability; one who left is gone; a non-member of a closed room is refused (403), of a secret room told nothing (404)', async () => {
  const [alice, bob, carol, eve] = users('alice', 'bob', 'carol', 'eve');
  const [aliceClient, bobClient, carolClient, eveClient] = await Promise.all([cloud.connect(alice!), cloud.connect(bob!), cloud.connect(carol!), cloud.connect(eve!)]);
  const roomId = await createRoom(aliceClient, { privacy: 'closed', members: [bob, carol] });
  const secretId = await createRoom(aliceClient, { privacy: 'secret' });
  for (const client of [aliceClient, bobClient, carolClient]) await ok(client, 'chat.join', { roomId });
  await ok(bobClient, 'presence.publish', { availability: 'busy' });
  const occupants = async () => (await ok(aliceClient, 'chat.occupants', { roomId })).occupants as { uri: string; availability: string }[];
  expect(await occupants()).toEqual(
    expect.arrayContaining([
      { uri: alice, availability: 'online' },
      { uri: bob, availability: 'busy' },
      { uri: carol, availability: 'online' },
    ]),
  );
  await carolClient.close();
  // $disconnect recomputes Carol's presence after the socket closes: wait for it, never sleep.
  await waitFor('carol to leave the occupants', async () => (await occupants()).every((occupant) => occupant.uri !== carol) || undefined);
  expect((await occupants()).map((occupant) => occupant.uri).sort()).toEqual([alice, bob].sort());
  expect(await eveClient.request('chat.occupants', { roomId })).toMatchObject({ status: 403 });
  expect(await eveClient.request('chat.occupants', { roomId: secretId })).toMatchObject({ status: 404 });
});

test('chat.declineinv: the invitation is gone from chat.getinv on every device and stays gone; declining one that does not exist is a 404; re-inviting brings it back', async () => {
  const [alice, bob] = users('alice', 'bob');
  const aliceClient = await cloud.connect(alice!);
  const bobDesk = await cloud.connect(bob!);
  const bobPhone = await cloud.connect(bob!, 'enterprise', 'mobile');
  const roomId = await createRoom(aliceClient, { privacy: 'closed' });
  await ok(aliceClient, 'room.invite', { roomId, uris: [bob] });
  await bobDesk.nextEvent('chat.invitation', (event) => event.roomId === roomId);
  expect(await ok(bobPhone, 'chat.declineinv', { roomId })).toEqual({ declined: true });
  expect(await ok(bobDesk, 'chat.getinv')).toEqual({ invitations: [] });
  expect(await bobDesk.request('chat.declineinv', { roomId })).toMatchObject({ status: 404 });
  expect(await bobDesk.request('chat.declineinv', { roomId: 'room_that_never_was' })).toMatchObject({ status: 404 });
  // The membership the invitation gave is given back: the closed room is not Bob's to join now.
  expect(await bobDesk.request('chat.join', { roomId })).toMatchObject({ status: 403 });
  expect(await ok(aliceClient, 'room.invite', { roomId, uris: [bob] })).toEqual({ invited: [bob] });
  expect(((await ok(bobDesk, 'chat.getinv')).invitations as { roomId: string }[]).map((invitation) => invitation.roomId)).toEqual([roomId]);
});
