import { type ArchivedEvent, type ArchivingCloud, bodyHas, readArchive, startArchivingCloud } from '../support/archive';
import type { TestClient } from '../support/client';
import { createRoom, ok, settled } from '../support/commands';
import { users } from '../support/users';
import { waitFor } from '../support/wait';

/**
 * Edit and retract (SPEC §9, issue 22 item 1) through the WebSocket API: rooms and IM, the refusals, the live
 * events (a room's through the fan-out tier: FANOUT_DIRECT_MAX 1), history, search and the compliance archive.
 * The rules one by one are in test/unit/shared/{chat,conversation}/service-revisions.test.ts.
 */
const EXPORT_SECONDS = 1;
let archiving: ArchivingCloud;

beforeAll(async () => {
  archiving = await startArchivingCloud('edit-retract', { exportSeconds: EXPORT_SECONDS, env: { FANOUT_DIRECT_MAX: '1' } });
});
afterAll(async () => {
  await archiving?.stop();
});

const connect = (uri: string) => archiving.cloud.connect(uri);
const status = async (client: TestClient, action: string, args: Record<string, unknown>) => {
  const response = await client.request(action, args);
  return response.status === 200 ? 200 : `${response.status} ${response.error?.code}${response.error?.field ? ` ${response.error.field}` : ''}`;
};

/** The archive once `wanted` holds (within a few export periods). */
const archived = (what: string, wanted: (events: ArchivedEvent[]) => boolean) =>
  waitFor(`${what} in the archive`, async () => {
    const events = await readArchive(archiving.exportDir);
    return wanted(events) ? events : undefined;
  }, 8 * EXPORT_SECONDS * 1000);

test('rooms: the author edits, a manager retracts; readers see it live, history keeps a tombstone, search follows, others are refused', async () => {
  const [aliceUri, bobUri, carolUri, malloryUri] = users('alice', 'bob', 'carol', 'mallory');
  const [alice, bob, carol, mallory] = await Promise.all([aliceUri!, bobUri!, carolUri!, malloryUri!].map(connect));
  const roomId = await createRoom(alice!, { privacy: 'closed', members: [bobUri, carolUri] });
  for (const client of [alice!, bob!, carol!]) await ok(client, 'chat.join', { roomId });
  const bobs = await ok(bob!, 'chat.grpchat', { roomId, text: 'the quick brown fox' });
  const carols = await ok(carol!, 'chat.grpchat', { roomId, text: 'carol was here' });

  // The author edits; every other reader hears it (through the fan-out tier: its shards on the fan-out queue), the
  // editing connection does not.
  const queued = (event: string) =>
    archiving.inject({ service: 'sqs', operation: 'SendMessageBatch', match: bodyHas(event, roomId), fault: { delayMs: 0, then: 'pass' }, times: Infinity });
  const editShards = queued('chat.edited');
  const edited = await ok(bob!, 'chat.edit', { roomId, messageId: bobs.messageId, text: 'the slow brown fox' });
  expect(edited).toMatchObject({ roomId, messageId: bobs.messageId, seq: 1, editedAt: expect.any(Number) });
  for (const reader of [alice!, carol!]) {
    expect(await reader.nextEvent('chat.edited', (frame) => frame.messageId === bobs.messageId)).toMatchObject({
      roomId,
      messageId: bobs.messageId,
      seq: 1,
      text: 'the slow brown fox',
      editedAt: edited.editedAt,
    });
  }
  expect(editShards.hits).toBeGreaterThanOrEqual(1);
  editShards.remove();

  // Refusals: someone else's message (a manager too), an outsider of the closed room, unknown, too long, empty.
  expect(await status(alice!, 'chat.edit', { roomId, messageId: bobs.messageId, text: 'mine' })).toBe('403 Forbidden');
  expect(await status(carol!, 'chat.retract', { roomId, messageId: bobs.messageId })).toBe('403 Forbidden');
  expect(await status(mallory!, 'chat.retract', { roomId, messageId: bobs.messageId })).toBe('403 Forbidden');
  expect(await status(bob!, 'chat.edit', { roomId, messageId: 'cmsg_unknown', text: 'x' })).toBe('404 NotFound');
  expect(await status(bob!, 'chat.edit', { roomId, messageId: bobs.messageId, text: 'x'.repeat(4_001) })).toBe('413 TooLarge');
  expect(await status(bob!, 'chat.edit', { roomId, messageId: bobs.messageId, text: '' })).toBe('400 BadRequest text');

  // A manager retracts Carol's message: readers hear who did (through the tier too); she may no longer edit it.
  const retractShards = queued('chat.retracted');
  expect(await ok(alice!, 'chat.retract', { roomId, messageId: carols.messageId })).toMatchObject({ seq: 2, by: aliceUri });
  for (const reader of [bob!, carol!]) {
    expect(await reader.nextEvent('chat.retracted')).toMatchObject({ roomId, messageId: carols.messageId, seq: 2, by: aliceUri });
  }
  expect(retractShards.hits).toBeGreaterThanOrEqual(1);
  retractShards.remove();
  expect(await status(carol!, 'chat.edit', { roomId, messageId: carols.messageId, text: 'back' })).toBe('410 Gone');

  // History: the latest text with editedAt, and a tombstone at seq 2 (no text); seq stays 1, 2.
  const { messages } = (await ok(carol!, 'chat.bccontext', { roomId })) as { messages: Record<string, unknown>[] };
  expect(messages.map((message) => [message.seq, message.text, message.editedAt ?? null, message.retracted ?? null])).toEqual([
    [2, '', null, true],
    [1, 'the slow brown fox', edited.editedAt, null],
  ]);
  // Search finds the edited text, not the words the edit took out, nor the retracted text.
  const found = async (query: string) => ((await ok(carol!, 'chat.search', { roomId, query })) as { messages: { seq: number }[] }).messages.map((m) => m.seq);
  expect(await found('slow')).toEqual([1]);
  expect(await found('quick')).toEqual([]);
  expect(await found('carol')).toEqual([]);

  // Bob loses access to the closed room: he may no longer edit his own message.
  await ok(alice!, 'room.update', { roomId, members: [carolUri] });
  expect(await status(bob!, 'chat.edit', { roomId, messageId: bobs.messageId, text: 'still mine?' })).toBe('403 Forbidden');
  await settled(bob!);
  expect(bob!.eventsNamed('chat.edited')).toEqual([]);

  // The archive keeps every version, with who and when.
  const events = await archived('the post, its edit and the retraction', (all) =>
    all.some((event) => event.type === 'chat.edit' && event.targetId === roomId) && all.some((event) => event.type === 'chat.retract' && event.targetId === roomId),
  );
  const ofRoom = events.filter((event) => event.targetId === roomId && ['chat.post', 'chat.edit', 'chat.retract'].includes(event.type));
  expect(ofRoom.map((event) => [event.type, event.actor, event.content]).sort()).toEqual(
    [
      ['chat.post', bobUri, 'the quick brown fox'],
      ['chat.post', carolUri, 'carol was here'],
      ['chat.edit', bobUri, 'the slow brown fox'],
      ['chat.retract', aliceUri, 'carol was here'],
    ].sort(),
  );

  // A retracted message's file is gone: a reader who kept its id is answered 410, and it cannot be posted again.
  const { fileId } = await ok(alice!, 'chat.file.upload', { roomId, fileName: 'leak.pdf', size: 4, contentType: 'application/pdf' });
  const withFile = await ok(alice!, 'chat.grpchat', { roomId, text: 'the numbers', fileId });
  expect(await status(carol!, 'chat.file.download', { fileId })).toBe(200);
  await ok(alice!, 'chat.retract', { roomId, messageId: withFile.messageId });
  expect(await status(carol!, 'chat.file.download', { fileId })).toBe('410 Gone');
  expect(await status(alice!, 'chat.grpchat', { roomId, text: 'again', fileId })).toBe('410 Gone');
  for (const client of [alice!, bob!, carol!, mallory!]) await client.close();
});

test('IM: the author edits and retracts; the participants see it live and in the history; others are refused', async () => {
  const [aliceUri, bobUri, malloryUri] = users('alice', 'bob', 'mallory');
  const [alice, bob, mallory] = await Promise.all([aliceUri!, bobUri!, malloryUri!].map(connect));
  const sent = await ok(alice!, 'im.send', { to: bobUri, text: 'see you at nine' });
  const conversationId = sent.conversationId as string;
  await bob!.nextEvent('im.message', (frame) => frame.messageId === sent.messageId);

  const edited = await ok(alice!, 'im.edit', { conversationId, messageId: sent.messageId, text: 'see you at ten' });
  expect(await bob!.nextEvent('im.edited')).toMatchObject({ conversationId, messageId: sent.messageId, text: 'see you at ten', editedAt: edited.editedAt });
  expect(await status(bob!, 'im.edit', { conversationId, messageId: sent.messageId, text: 'no' })).toBe('403 Forbidden');
  expect(await status(bob!, 'im.retract', { conversationId, messageId: sent.messageId })).toBe('403 Forbidden');
  expect(await status(mallory!, 'im.edit', { conversationId, messageId: sent.messageId, text: 'no' })).toBe('403 Forbidden');
  expect(await status(alice!, 'im.edit', { conversationId, messageId: 'msg_unknown', text: 'x' })).toBe('404 NotFound');
  expect(await status(alice!, 'im.edit', { conversationId, messageId: sent.messageId, text: 'x'.repeat(4_001) })).toBe('413 TooLarge');

  const history = async () => ((await ok(bob!, 'im.history', { conversationId })) as { messages: Record<string, unknown>[] }).messages;
  expect((await history()).map((message) => [message.text, message.editedAt])).toEqual([['see you at ten', edited.editedAt]]);

  expect(await ok(alice!, 'im.retract', { conversationId, messageId: sent.messageId })).toMatchObject({ conversationId, messageId: sent.messageId });
  expect(await bob!.nextEvent('im.retracted')).toMatchObject({ conversationId, messageId: sent.messageId, by: aliceUri });
  expect(await status(alice!, 'im.edit', { conversationId, messageId: sent.messageId, text: 'again' })).toBe('410 Gone');
  expect(await history()).toEqual([expect.objectContaining({ messageId: sent.messageId, text: '', retracted: true })]);

  const events = await archived('the IM, its edit and its retraction', (all) => all.some((event) => event.type === 'im.retract' && event.targetId === conversationId));
  expect(
    events
      .filter((event) => event.targetId === conversationId)
      .map((event) => [event.type, event.actor, event.content])
      .sort(),
  ).toEqual(
    [
      ['im.message', aliceUri, 'see you at nine'],
      ['im.edit', aliceUri, 'see you at ten'],
      ['im.retract', aliceUri, 'see you at ten'],
    ].sort(),
  );
  for (const client of [alice!, bob!, mallory!]) await client.close();
});
