import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import { newId } from '../../shared/ids';
import { startTestCloud, type TestCloud } from '../support/cloud';
import type { TestClient } from '../support/client';
import { createRoom, ok, settled } from '../support/commands';
import { users } from '../support/users';
import { loadConfig } from '../../shared/config';

/**
 * Issue 16, items 1 and 17, through raw connections: live delivery goes only to users who may read the room
 * now (the rule of `chat.bccontext`); a change of privacy or membership removes the followers who lost access
 * and tells them (`chat.removed`); reserved characters in client ids and categories are refused, so the
 * idempotency keys of different commands never meet.
 */
let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud.stop();
});

const messages = (client: TestClient, text: string) => client.eventsNamed('chat.message').filter((event) => event.text === text);

/**
 * Alice posts; Carol, a member who follows, receives it live (so the fan-out is done), then the outsiders'
 * connections are settled and must hold nothing of it.
 */
async function postSeenOnlyByReaders(alice: TestClient, carol: TestClient, roomId: string, outsiders: TestClient[]): Promise<void> {
  const text = `after the change ${newId('t')}`;
  await ok(alice, 'chat.grpchat', { roomId, text });
  await carol.nextEvent('chat.message', (event) => event.text === text);
  await settled(...outsiders);
  for (const outsider of outsiders) expect(messages(outsider, text)).toEqual([]);
}

describe('live delivery only to readers (issue 16 item 1)', () => {
  test('an open room made secret: a follower who is not a member gets chat.removed (privacy) on every connection, and no later message, not even on a connection opened later', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const aliceClient = await cloud.connect(alice!);
    const carolClient = await cloud.connect(carol!);
    const bobDesk = await cloud.connect(bob!);
    const bobPhone = await cloud.connect(bob!, 'enterprise', 'mobile');
    const roomId = await createRoom(aliceClient, { members: [carol] });
    await ok(carolClient, 'chat.join', { roomId });
    await ok(bobDesk, 'chat.join', { roomId });

    await ok(aliceClient, 'room.update', { roomId, privacy: 'secret' });
    for (const connection of [bobDesk, bobPhone]) expect(await connection.nextEvent('chat.removed', (event) => event.roomId === roomId)).toMatchObject({ roomId, reason: 'privacy' });
    const bobLater = await cloud.connect(bob!, 'enterprise', 'web');

    await postSeenOnlyByReaders(aliceClient, carolClient, roomId, [bobDesk, bobPhone, bobLater]);
    expect(await bobDesk.request('chat.bccontext', { roomId })).toMatchObject({ status: 404 });
  });

  test('an open room made closed: the non-member follower is removed (privacy); members keep receiving', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const aliceClient = await cloud.connect(alice!);
    const carolClient = await cloud.connect(carol!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient, { members: [carol] });
    await ok(carolClient, 'chat.join', { roomId });
    await ok(bobClient, 'chat.join', { roomId });

    await ok(aliceClient, 'room.update', { roomId, privacy: 'closed' });
    expect(await bobClient.nextEvent('chat.removed', (event) => event.roomId === roomId)).toMatchObject({ roomId, reason: 'privacy' });
    await postSeenOnlyByReaders(aliceClient, carolClient, roomId, [bobClient]);
  });

  test('a member removed from a closed room by room.update gets chat.removed (membership) and no later message', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const aliceClient = await cloud.connect(alice!);
    const carolClient = await cloud.connect(carol!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient, { privacy: 'closed', members: [bob, carol] });
    await ok(carolClient, 'chat.join', { roomId });
    await ok(bobClient, 'chat.join', { roomId });

    await ok(aliceClient, 'room.update', { roomId, members: [carol] });
    expect(await bobClient.nextEvent('chat.removed', (event) => event.roomId === roomId)).toMatchObject({ roomId, reason: 'membership' });
    await postSeenOnlyByReaders(aliceClient, carolClient, roomId, [bobClient]);
    expect(await bobClient.request('chat.bccontext', { roomId })).toMatchObject({ status: 403 });
  });

  test('a manager demoted out of a secret room gets chat.removed (membership) and no later message', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const aliceClient = await cloud.connect(alice!);
    const carolClient = await cloud.connect(carol!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient, { privacy: 'secret', members: [carol], managers: [bob] });
    await ok(carolClient, 'chat.join', { roomId });
    await ok(bobClient, 'chat.join', { roomId });

    await ok(aliceClient, 'room.update', { roomId, managers: [alice], members: [alice, carol] });
    expect(await bobClient.nextEvent('chat.removed', (event) => event.roomId === roomId)).toMatchObject({ roomId, reason: 'membership' });
    await postSeenOnlyByReaders(aliceClient, carolClient, roomId, [bobClient]);
  });

  test('a follower item left behind (a removal that never ran) delivers nothing: the post checks who may read now', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const aliceClient = await cloud.connect(alice!);
    const carolClient = await cloud.connect(carol!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient, { privacy: 'secret', members: [carol] });
    await ok(carolClient, 'chat.join', { roomId });
    await followBehindTheServersBack(roomId, bob!);
    await postSeenOnlyByReaders(aliceClient, carolClient, roomId, [bobClient]);
  });

  test('a user may chat.part a room they follow even when they can no longer see it; a room they do not follow stays hidden (404)', async () => {
    const [alice, bob, dave] = users('alice', 'bob', 'dave');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const daveClient = await cloud.connect(dave!);
    const roomId = await createRoom(aliceClient, { privacy: 'secret' });
    await followBehindTheServersBack(roomId, bob!);

    expect(await bobClient.request('chat.part', { roomId })).toMatchObject({ status: 200, body: { followed: false } });
    expect(await daveClient.request('chat.part', { roomId })).toMatchObject({ status: 404 });
    // Parted: nothing left to part, and the room is hidden again.
    expect(await bobClient.request('chat.part', { roomId })).toMatchObject({ status: 404 });
  });

  test('the same rule for invitations, files and session.resume: a user removed before reading sees none of them', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient, { privacy: 'secret', members: [carol] });
    await ok(aliceClient, 'room.invite', { roomId, uris: [bob] });
    await ok(bobClient, 'chat.join', { roomId });
    const upload = await ok(aliceClient, 'chat.file.upload', { roomId, fileName: 'plan.txt', size: 4, contentType: 'text/plain' });
    await ok(aliceClient, 'chat.grpchat', { roomId, text: 'before the removal' });

    await ok(aliceClient, 'room.update', { roomId, members: [carol] });
    await bobClient.nextEvent('chat.removed', (event) => event.roomId === roomId);
    expect((await ok(bobClient, 'chat.getinv')).invitations).toEqual([]);
    expect(await bobClient.request('chat.file.download', { fileId: upload.fileId })).toMatchObject({ status: 404 });
    const resumed = await ok(bobClient, 'session.resume', { since: { [roomId]: 0 } });
    expect(JSON.stringify(resumed)).not.toContain(roomId);
  });

  test('room.delete tells the followers (chat.removed, deleted)', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient);
    await ok(bobClient, 'chat.join', { roomId });
    await ok(aliceClient, 'room.delete', { roomId });
    expect(await bobClient.nextEvent('chat.removed', (event) => event.roomId === roomId)).toMatchObject({ roomId, reason: 'deleted' });
  });
});

/** The state a removal that never ran leaves: a follower item of a user who may not read the room. */
async function followBehindTheServersBack(roomId: string, uri: string): Promise<void> {
  await dynamoDocumentClient(loadConfig()).send(
    new PutCommand({
      TableName: cloud.cloud.config.TABLE_NAME,
      Item: { PK: `ROOM#${roomId}`, SK: `FOLLOWER#${uri}`, GSI1PK: `FOLLOWS#${uri}`, GSI1SK: `ROOM#${roomId}`, roomId, uri, followedAt: Date.now() },
    }),
  );
}

describe('reserved characters and idempotency keys (issue 16 item 17)', () => {
  test('room.create in category "*" (the all-categories directory) is a 400 naming the field, not a 500', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.connect(alice!);
    for (const category of ['*', 'a#b']) {
      expect(await aliceClient.request('room.create', { name: `star ${newId('n')}`, category })).toMatchObject({ status: 400, error: { code: 'BadRequest', field: 'category' } });
    }
    expect(await aliceClient.request('admin.category.put', { category: '*', creators: ['*'] })).toMatchObject({ status: 400 });
  });

  test('a client id holding "#" is refused, so an im.send can never replay a chat post (keys of different commands never meet)', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const roomId = await createRoom(aliceClient);
    const post = await ok(aliceClient, 'chat.grpchat', { roomId, text: 'in the room', clientMsgId: 'c1' });
    expect(post).toMatchObject({ seq: 1 });

    const im = await aliceClient.request('im.send', { to: bob, text: 'a private word', clientMsgId: `chat.grpchat#${roomId}#c1` });
    expect(im).toMatchObject({ status: 400, error: { code: 'BadRequest', field: 'clientMsgId' } });
    for (const [action, args] of [
      ['chat.grpchat', { roomId, text: 'x', clientMsgId: 'a#b' }],
      ['room.create', { name: 'x', clientId: 'a#b' }],
      ['conf.schedule', { subject: 'x', clientId: 'a#b' }],
      ['presence.subscribe', { targets: [bob], clientId: 'a#b' }],
    ] as const) {
      expect(await aliceClient.request(action, args)).toMatchObject({ status: 400 });
    }
    // The same client id on two commands: each its own answer.
    const sent = await ok(aliceClient, 'im.send', { to: bob, text: 'same id, other command', clientMsgId: 'c1' });
    expect(sent).toMatchObject({ newConversation: true, conversationId: expect.any(String) });
  });
});
