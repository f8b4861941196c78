import { ForbiddenError, NotFoundError } from '../../../../shared/errors';
import type { ChatCaller } from '../../../../shared/chat/service';
import { callerOf, chatOnMemory, conn, user } from './chat-fixture';

/**
 * SPEC §9 unread and mentions in rooms (docs/protocol.md "Unread and mentions"; docs/architecture.md "Unread and
 * mentions"): a read marker per user and room that roams across devices and never moves back, counts computed from
 * the room's seq and the marker (never from history), and mentions delivered only to those who may read the room.
 */
const alice = user('alice');
const bob = user('bob');
const carol = user('carol');
const mallory = user('mallory');

/** Bob's second device: its own connection id, while RecordingDelivery gives every user the one `conn:{uri}`. */
const bobsPhone = (): ChatCaller => ({ ...callerOf(bob), connectionId: 'phone:bob' });

async function roomBobFollows(definition: Parameters<ReturnType<typeof chatOnMemory>['createRoom']>[1] = {}) {
  const chat = chatOnMemory();
  const roomId = await chat.createRoom(alice, { members: [bob.uri], ...definition });
  for (const who of [alice, bob]) await chat.service.join(callerOf(who), roomId);
  const post = async (text: string, mentions?: string[]) => chat.service.post(callerOf(alice), { roomId, text, ...(mentions ? { mentions } : {}) });
  chat.delivery.clear();
  return { ...chat, roomId, post };
}

describe('chat.markread: the marker', () => {
  it('moves the marker forward and answers readSeq, unread and mentions from the room seq', async () => {
    const { service, roomId, post } = await roomBobFollows();
    for (const text of ['one', 'two', 'three']) await post(text);
    expect(await service.markRead(callerOf(bob), roomId, 2)).toEqual({ roomId, readSeq: 2, unread: 1, mentions: 0 });
  });

  it('never moves back: a stale mark from another device answers the stored marker and sends no chat.read', async () => {
    const { service, delivery, roomId, post } = await roomBobFollows();
    for (const text of ['one', 'two', 'three']) await post(text);
    await service.markRead(callerOf(bob), roomId, 3);
    delivery.clear();
    expect(await service.markRead(bobsPhone(), roomId, 1)).toEqual({ roomId, readSeq: 3, unread: 0, mentions: 0 });
    expect(delivery.named('chat.read')).toEqual([]);
  });

  it('is capped at the room latest seq, so a later post counts as unread (unread never negative)', async () => {
    const { service, roomId, post } = await roomBobFollows();
    await post('one');
    expect(await service.markRead(callerOf(bob), roomId, 99)).toEqual({ roomId, readSeq: 1, unread: 0, mentions: 0 });
    await post('two');
    const { rooms } = await service.resume(callerOf(bob));
    expect(rooms[0]).toMatchObject({ readSeq: 1, unread: 1, mentions: 0 });
  });

  it('sends chat.read with the counts to the caller other connections, not to the calling one', async () => {
    const { service, delivery, roomId, post } = await roomBobFollows();
    await post('one');
    await post('two');
    await service.markRead(bobsPhone(), roomId, 1);
    expect(delivery.named('chat.read')).toEqual([{ connectionIds: [conn(bob)], payload: { roomId, readSeq: 1, unread: 1, mentions: 0 } }]);
  });

  it('two devices marking at once: the further marker wins whichever write lands last, and counts never go negative', async () => {
    const { service, store, roomId, post } = await roomBobFollows();
    for (const text of ['one', 'two', 'three', 'four']) await post(text);
    // The desktop's mark to 4 lands between the phone's room read and its write to 2.
    store.before('markRead', () => service.markRead(callerOf(bob), roomId, 4));
    expect(await service.markRead(bobsPhone(), roomId, 2)).toEqual({ roomId, readSeq: 4, unread: 0, mentions: 0 });
    expect((await store.readMarkers(bob.uri, [roomId])).get(roomId)?.readSeq).toBe(4);
  });

  it('needs the right to read the room: 403 for a closed room non-member, 404 for a secret one', async () => {
    const chat = chatOnMemory();
    const closed = await chat.createRoom(alice, { privacy: 'closed' });
    const secret = await chat.createRoom(alice, { privacy: 'secret' });
    await expect(chat.service.markRead(callerOf(mallory), closed, 0)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(chat.service.markRead(callerOf(mallory), secret, 0)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('counts on followed rooms: chat.join, chat.bjoin, chat.getassociations, session.resume', () => {
  it('a first join starts reading at the room latest message; a join again keeps the marker', async () => {
    const chat = chatOnMemory();
    const roomId = await chat.createRoom(alice, { members: [bob.uri] });
    for (const text of ['one', 'two']) await chat.service.post(callerOf(alice), { roomId, text });
    expect(await chat.service.join(callerOf(bob), roomId)).toMatchObject({ followed: true, readSeq: 2, unread: 0, mentions: 0 });
    await chat.service.post(callerOf(alice), { roomId, text: 'three' });
    expect(await chat.service.join(callerOf(bob), roomId)).toMatchObject({ readSeq: 2, unread: 1, mentions: 0 });
    expect((await chat.service.joinMany(callerOf(bob), [roomId])).rooms[0]).toMatchObject({ status: 200, readSeq: 2, unread: 1 });
  });

  it('chat.getassociations reports unread and mentions on the rooms the caller follows only', async () => {
    const { service, createRoom, roomId, post } = await roomBobFollows();
    const notFollowed = await createRoom(alice, { name: 'Other', members: [bob.uri] });
    await post('hey bob', [bob.uri]);
    await post('again');
    const { rooms } = await service.associations(bob, 'member');
    expect(rooms.find((room) => room.roomId === roomId)).toMatchObject({ readSeq: 0, unread: 2, mentions: 1 });
    const other = rooms.find((room) => room.roomId === notFollowed);
    expect(other).toBeDefined();
    expect(other).not.toHaveProperty('unread');
  });

  it('session.resume reports the counts of every followed room, with or without since', async () => {
    const { service, roomId, post } = await roomBobFollows();
    await post('one', [bob.uri]);
    await post('two');
    await service.markRead(callerOf(bob), roomId, 1);
    expect((await service.resume(callerOf(bob))).rooms).toEqual([expect.objectContaining({ roomId, lastSeq: 2, readSeq: 1, unread: 1, mentions: 0, messages: [] })]);
    expect((await service.resume(callerOf(bob), { [roomId]: 1 })).rooms[0]).toMatchObject({ unread: 1, messages: [expect.objectContaining({ seq: 2 })] });
  });

  it('counting reads no history: one batch read of markers, no message query', async () => {
    const { service, store, post } = await roomBobFollows();
    for (const text of ['one', 'two', 'three']) await post(text);
    store.calls.length = 0;
    await service.resume(callerOf(bob));
    await service.associations(bob, 'member');
    expect(store.calls.filter((call) => call === 'readMarkers')).toHaveLength(2);
    expect(store.calls.filter((call) => call === 'history' || call === 'messagesAfter' || call === 'messagesAt')).toEqual([]);
  });
});

describe('chat.grpchat {mentions}', () => {
  it('a mentioned follower gets chat.mention on every connection and one more mention per post', async () => {
    const { service, delivery, roomId, post } = await roomBobFollows();
    const { seq, messageId } = await post('hey @bob', [bob.uri]);
    expect(delivery.named('chat.mention')).toEqual([
      { connectionIds: [conn(bob)], payload: expect.objectContaining({ roomId, roomName: 'Room', seq, messageId, text: 'hey @bob', from: { uri: alice.uri, name: 'alice' } }) },
    ]);
    await post('and again @bob', [bob.uri]);
    expect(await service.join(callerOf(bob), roomId)).toMatchObject({ unread: 2, mentions: 2 });
  });

  it('the stored and delivered message carries its mentions, lower-cased and distinct', async () => {
    const { service, delivery, roomId, post } = await roomBobFollows();
    await post('hey', [bob.uri, bob.uri.toUpperCase()]);
    expect(delivery.named('chat.message')[0]?.payload.mentions).toEqual([bob.uri]);
    expect((await service.history(callerOf(bob), roomId, 10)).messages[0]?.mentions).toEqual([bob.uri]);
  });

  it('a mention of someone who may not read the room is neither delivered nor counted', async () => {
    const { delivery, store, roomId, post } = await roomBobFollows({ privacy: 'closed' });
    await post('hey mallory', [mallory.uri]);
    expect(delivery.named('chat.mention')).toEqual([]);
    expect(store.calls).not.toContain('recordMention');
    expect((await store.readMarkers(mallory.uri, [roomId])).size).toBe(0);
  });

  it('a mentioned reader who does not follow the room gets chat.mention but no counter write; the author mentioning themselves gets nothing', async () => {
    const { delivery, store, post } = await roomBobFollows();
    store.calls.length = 0;
    await post('hey carol', [carol.uri, alice.uri]);
    expect(delivery.recipientsOf('chat.mention')).toEqual([conn(carol)]);
    expect(store.calls).not.toContain('recordMention');
  });

  it('a post writes nothing per follower: one counter write per mentioned follower', async () => {
    const chat = chatOnMemory();
    const roomId = await chat.createRoom(alice);
    const followers = Array.from({ length: 30 }, (_, index) => user(`f${index}`));
    for (const follower of followers) await chat.service.join(callerOf(follower), roomId);
    chat.store.calls.length = 0;
    await chat.service.post(callerOf(alice), { roomId, text: 'hi all', mentions: [followers[0]!.uri, followers[1]!.uri] });
    expect(chat.store.calls.filter((call) => call === 'recordMention')).toHaveLength(2);
    expect(chat.store.calls.filter((call) => call === 'markRead' || call === 'startReading')).toEqual([]);
  });

  it('a retried post (same clientMsgId) counts its mention once', async () => {
    const { service, roomId } = await roomBobFollows();
    const command = { roomId, text: 'hey bob', clientMsgId: 'c1', mentions: [bob.uri] };
    await service.post(callerOf(alice), command);
    await service.post(callerOf(alice), command);
    expect(await service.join(callerOf(bob), roomId)).toMatchObject({ unread: 1, mentions: 1 });
  });

  it('a mark past a mention reduces the count on every device, prunes the passed seqs, and never goes negative', async () => {
    const { service, store, delivery, roomId, post } = await roomBobFollows();
    await post('one @bob', [bob.uri]);
    await post('two');
    await post('three @bob', [bob.uri]);
    expect(await service.markRead(bobsPhone(), roomId, 2)).toEqual({ roomId, readSeq: 2, unread: 1, mentions: 1 });
    expect(delivery.named('chat.read').at(-1)?.payload).toEqual({ roomId, readSeq: 2, unread: 1, mentions: 1 });
    expect((await store.readMarkers(bob.uri, [roomId])).get(roomId)?.mentionSeqs).toEqual([3]);
    // The desktop's stale mark changes nothing; a mark past the last mention leaves none.
    expect(await service.markRead(callerOf(bob), roomId, 1)).toEqual({ roomId, readSeq: 2, unread: 1, mentions: 1 });
    expect(await service.markRead(callerOf(bob), roomId, 3)).toEqual({ roomId, readSeq: 3, unread: 0, mentions: 0 });
    expect(await service.markRead(bobsPhone(), roomId, 3)).toEqual({ roomId, readSeq: 3, unread: 0, mentions: 0 });
  });

  it('a failed prune of passed mentions does not fail the mark, and the counts stay right (they skip passed seqs)', async () => {
    const { service, store, roomId, post } = await roomBobFollows();
    await post('one @bob', [bob.uri]);
    await post('two @bob', [bob.uri]);
    store.failNext('pruneMentions');
    expect(await service.markRead(callerOf(bob), roomId, 1)).toEqual({ roomId, readSeq: 1, unread: 1, mentions: 1 });
    expect((await store.readMarkers(bob.uri, [roomId])).get(roomId)?.mentionSeqs).toEqual([1, 2]);
    expect(await service.join(callerOf(bob), roomId)).toMatchObject({ unread: 1, mentions: 1 });
  });

  it('a mention recorded after a mark went past it (a post committed late) is never counted', async () => {
    const { service, store, roomId, post } = await roomBobFollows();
    await post('one');
    await post('two');
    await service.markRead(callerOf(bob), roomId, 2);
    await store.recordMention(roomId, bob.uri, 1, 1000);
    expect(await service.join(callerOf(bob), roomId)).toMatchObject({ readSeq: 2, unread: 0, mentions: 0 });
  });
});
