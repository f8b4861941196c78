import { startTestCloud, type TestCloud } from '../support/cloud';
import type { TestClient } from '../support/client';
import { createRoom, ok, settled } from '../support/commands';
import { users } from '../support/users';

/**
 * SPEC §9 unread and mentions, end to end through the WebSocket API on the local cloud (issue 22 item 2): a read
 * marker that roams across two devices of one user, counts on followed rooms, `chat.mention` only to those who may
 * read the room, `im.mention` to mentioned participants. The rules one by one are in
 * test/unit/shared/chat/service-unread-mentions.test.ts and test/unit/shared/conversation/service-mentions.test.ts.
 */
let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud.stop();
});

interface Counts {
  readSeq: number;
  unread: number;
  mentions: number;
}

const countsOf = (body: Record<string, unknown>) => ({ readSeq: body.readSeq, unread: body.unread, mentions: body.mentions });

async function associationCounts(client: TestClient, roomId: string): Promise<Counts> {
  const { rooms } = (await ok(client, 'chat.getassociations', { role: 'member' })) as { rooms: Array<Counts & { roomId: string }> };
  const room = rooms.find((entry) => entry.roomId === roomId);
  if (!room) throw new Error(`room ${roomId} not among the associations`);
  return countsOf(room as unknown as Record<string, unknown>) as Counts;
}

test('two devices of one user: counts and mentions, markread on one moves the other (chat.read), never back, unread never negative', async () => {
  const [aliceUri, bobUri, malloryUri] = users('alice', 'bob', 'mallory');
  const [alice, desktop, phone, mallory] = await Promise.all([cloud.connect(aliceUri!), cloud.connect(bobUri!), cloud.connect(bobUri!, 'enterprise', 'mobile'), cloud.connect(malloryUri!)]);
  const roomId = await createRoom(alice, { name: 'Unread', privacy: 'closed', members: [bobUri] });
  expect(countsOf(await ok(desktop, 'chat.join', { roomId }))).toEqual({ readSeq: 0, unread: 0, mentions: 0 });

  await ok(alice, 'chat.grpchat', { roomId, text: 'one' });
  const mentioned = await ok(alice, 'chat.grpchat', { roomId, text: 'two, @bob and @mallory', mentions: [bobUri, malloryUri] });
  await ok(alice, 'chat.grpchat', { roomId, text: 'three' });

  // The mention reaches every connection of Bob, and never Mallory, who may not read the closed room.
  for (const device of [desktop, phone]) {
    expect(await device.nextEvent('chat.mention')).toMatchObject({ roomId, roomName: 'Unread', seq: mentioned.seq, messageId: mentioned.messageId, from: { uri: aliceUri } });
  }
  await settled(mallory);
  expect(mallory.eventsNamed('chat.mention')).toEqual([]);
  expect(await associationCounts(phone, roomId)).toEqual({ readSeq: 0, unread: 3, mentions: 1 });

  // The desktop reads up to 2: the phone is told, with the counts; the desktop has its answer only.
  expect(await ok(desktop, 'chat.markread', { roomId, seq: 2 })).toEqual({ roomId, readSeq: 2, unread: 1, mentions: 0 });
  expect(await phone.nextEvent('chat.read')).toMatchObject({ roomId, readSeq: 2, unread: 1, mentions: 0 });
  expect(await associationCounts(phone, roomId)).toEqual({ readSeq: 2, unread: 1, mentions: 0 });

  // The phone's stale mark does not move the marker back (no chat.read); a mark past the latest seq stops at it.
  expect(await ok(phone, 'chat.markread', { roomId, seq: 1 })).toEqual({ roomId, readSeq: 2, unread: 1, mentions: 0 });
  expect(await ok(phone, 'chat.markread', { roomId, seq: 1_000 })).toEqual({ roomId, readSeq: 3, unread: 0, mentions: 0 });
  expect(await desktop.nextEvent('chat.read')).toMatchObject({ readSeq: 3, unread: 0 });
  await settled(desktop, phone);
  expect(desktop.eventsNamed('chat.read')).toHaveLength(1);
  expect(phone.eventsNamed('chat.read')).toHaveLength(1);

  // A later post is unread on every device; session.resume reports it too.
  await ok(alice, 'chat.grpchat', { roomId, text: 'four' });
  const { rooms } = (await ok(desktop, 'session.resume', { since: {} })) as { rooms: Array<Counts & { roomId: string }> };
  expect(rooms.find((room) => room.roomId === roomId)).toMatchObject({ readSeq: 3, unread: 1, mentions: 0 });

  // Who may not read the room may not mark it.
  expect((await mallory.request('chat.markread', { roomId, seq: 1 })).status).toBe(403);
  expect((await desktop.request('chat.markread', { roomId, seq: -1 })).error).toMatchObject({ code: 'BadRequest', message: expect.stringContaining('seq') });
});

test('im.send {mentions}: im.mention on every connection of the mentioned participant, no one else', async () => {
  const [aliceUri, bobUri, carolUri] = users('alice', 'bob', 'carol');
  const [alice, desktop, phone, carol] = await Promise.all([cloud.connect(aliceUri!), cloud.connect(bobUri!), cloud.connect(bobUri!, 'enterprise', 'mobile'), cloud.connect(carolUri!)]);
  const sent = await ok(alice, 'im.send', { to: [bobUri, carolUri], text: 'bob, a word?', mentions: [bobUri] });
  for (const device of [desktop, phone]) {
    expect(await device.nextEvent('im.mention')).toMatchObject({ conversationId: sent.conversationId, messageId: sent.messageId, text: 'bob, a word?', from: { uri: aliceUri } });
  }
  await carol.nextEvent('im.message');
  await settled(carol, alice);
  expect(carol.eventsNamed('im.mention')).toEqual([]);
  expect(alice.eventsNamed('im.mention')).toEqual([]);
});
