import { DependencyUnavailableError, UnavailableError } from '../../../../shared/errors';
import { callerOf, chatOnMemory, conn, user } from './chat-fixture';
import { withoutBackoff } from '../../../support/no-backoff';

/**
 * `chat.grpchat`'s race and failure rules (docs/protocol.md "seq", "Retries", "Compliance"; docs/architecture.md
 * "seq without gaps or duplicates", "Retries", "All or nothing", "Fan-out: readers only") on memory ports.
 */
const alice = user('alice');
const bob = user('bob');
const carol = user('carol');

// retryOnConflict's jittered backoff waits nothing.
withoutBackoff();
afterEach(() => jest.restoreAllMocks());

async function roomWithFollowers(definition: Parameters<ReturnType<typeof chatOnMemory>['createRoom']>[1] = {}) {
  const chat = chatOnMemory();
  const roomId = await chat.createRoom(alice, { members: [bob.uri], ...definition });
  for (const who of [alice, bob]) await chat.service.join(callerOf(who), roomId);
  chat.delivery.clear();
  return { ...chat, roomId };
}

const postEvents = (compliance: ReturnType<typeof chatOnMemory>['compliance']) => compliance.archived().filter((event) => event.type === 'chat.post');

describe('chat.grpchat: seq, retries and all or nothing', () => {
  it('a retry with the same clientMsgId answers what the first answered, and the message is stored, archived and delivered once', async () => {
    const { service, store, compliance, delivery, roomId } = await roomWithFollowers();
    const first = await service.post(callerOf(alice), { roomId, text: 'hello', clientMsgId: 'c1' });
    const again = await service.post(callerOf(alice), { roomId, text: 'hello', clientMsgId: 'c1' });
    expect(again).toEqual(first);
    expect(store.messages.get(roomId)?.size).toBe(1);
    expect(compliance.sent().filter((event) => event.type === 'chat.post').map((event) => event.eventId)).toEqual([`chat.post:${roomId}:1`, `chat.post:${roomId}:1`]);
    expect(compliance.archived().filter((event) => event.type === 'chat.post')).toHaveLength(1);
    expect(delivery.recipientsOf('chat.message')).toEqual([conn(bob)]);
  });

  it('a retry while the first attempt still holds the reservation answers 503 "being posted"', async () => {
    const { service, store, clock, roomId } = await roomWithFollowers();
    await store.reservePost({ roomId, senderUri: alice.uri, clientMsgId: 'c1' }, clock.now(), clock.now() - 30_000);
    await expect(service.post(callerOf(alice), { roomId, text: 'hello', clientMsgId: 'c1' })).rejects.toThrow(
      new UnavailableError('this message is being posted; retry with the same clientMsgId', 200),
    );
    expect(store.callsOf('takeSeq')).toBe(0);
  });

  it('a reservation taken by a concurrent retry between the read and the reserve: re-read, then 503 "being posted"', async () => {
    const { service, store, clock, roomId } = await roomWithFollowers();
    store.before('reservePost', () => store.reservePost({ roomId, senderUri: alice.uri, clientMsgId: 'c1' }, clock.now(), clock.now() - 30_000));
    await expect(service.post(callerOf(alice), { roomId, text: 'hello', clientMsgId: 'c1' })).rejects.toThrow('this message is being posted');
    expect(store.callsOf('getPost')).toBe(2);
    expect(store.messages.get(roomId)).toBeUndefined();
  });

  it('a reservation older than 30 s (a post that died) is taken over by the retry', async () => {
    const { service, store, clock, delivery, roomId } = await roomWithFollowers();
    await store.reservePost({ roomId, senderUri: alice.uri, clientMsgId: 'c1' }, clock.now(), clock.now() - 30_000);
    clock.advance(30_001);
    expect(await service.post(callerOf(alice), { roomId, text: 'hello', clientMsgId: 'c1' })).toMatchObject({ seq: 1 });
    expect(delivery.recipientsOf('chat.message')).toEqual([conn(bob)]);
  });

  it('a post whose transaction fails after the seq is taken: 503, and the retry posts under the same seq (no hole), stored once, archived once, delivered once', async () => {
    const { service, store, compliance, delivery, roomId } = await roomWithFollowers();
    // The transaction and its one resend both fail: nothing of the message is written.
    store.failNext('commitMessage', 2);
    await expect(service.post(callerOf(alice), { roomId, text: 'hello', clientMsgId: 'c1' })).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(store.messages.get(roomId)).toBeUndefined();
    expect(await store.getPost({ roomId, senderUri: alice.uri, clientMsgId: 'c1' })).toEqual({ status: 'pending', reservedAt: 0, seq: 1 });
    expect(delivery.sent).toEqual([]);

    // The retry comes at once (the reservation was released), and a later post takes the next seq.
    const retried = await service.post(callerOf(alice), { roomId, text: 'hello', clientMsgId: 'c1' });
    expect(retried.seq).toBe(1);
    expect((await service.post(callerOf(alice), { roomId, text: 'next', clientMsgId: 'c2' })).seq).toBe(2);
    expect([...(store.messages.get(roomId)?.keys() ?? [])]).toEqual([1, 2]);
    expect(postEvents(compliance).map((event) => event.eventId)).toEqual([`chat.post:${roomId}:1`, `chat.post:${roomId}:2`]);
    expect(delivery.named('chat.message').map((entry) => entry.payload.seq)).toEqual([1, 2]);
  });

  it('a commit whose answer was lost is sent once more: it meets its own message and the post goes on, delivered once', async () => {
    const { service, store, compliance, delivery, roomId } = await roomWithFollowers();
    store.loseNextAnswer('commitMessage');
    const result = await service.post(callerOf(alice), { roomId, text: 'hello', clientMsgId: 'c1' });
    expect(result.seq).toBe(1);
    expect(store.callsOf('commitMessage')).toBe(2);
    expect(delivery.named('chat.message').map((entry) => entry.payload.messageId)).toEqual([result.messageId]);
    expect(compliance.archived().filter((event) => event.type === 'chat.post')).toHaveLength(1);
    expect(compliance.outbox.items.size).toBe(0);
  });

  it('the same for a post without clientMsgId: its resend meets the message it wrote, and it is delivered', async () => {
    const { service, store, delivery, roomId } = await roomWithFollowers();
    store.loseNextAnswer('commitMessage');
    const result = await service.post(callerOf(alice), { roomId, text: 'hello' });
    expect(delivery.named('chat.message').map((entry) => entry.payload.messageId)).toEqual([result.messageId]);
  });

  it('a failure taking the seq writes nothing and frees the client id: the retry goes at once', async () => {
    const { service, store, roomId } = await roomWithFollowers();
    store.failNext('takeSeq');
    await expect(service.post(callerOf(alice), { roomId, text: 'hello', clientMsgId: 'c1' })).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect((await service.post(callerOf(alice), { roomId, text: 'hello', clientMsgId: 'c1' })).seq).toBe(1);
  });

  it('a post without clientMsgId that fails after the counter leaves its seq empty; the next post takes the next seq', async () => {
    const { service, store, roomId } = await roomWithFollowers();
    store.failNext('commitMessage', 2);
    await expect(service.post(callerOf(alice), { roomId, text: 'lost' })).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect((await service.post(callerOf(alice), { roomId, text: 'next' })).seq).toBe(2);
    expect([...(store.messages.get(roomId)?.keys() ?? [])]).toEqual([2]);
  });

  it('concurrent posts never share a seq', async () => {
    const { service, roomId } = await roomWithFollowers();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => service.post(callerOf(i % 2 ? alice : bob), { roomId, text: `m${i}`, clientMsgId: `c${i}` })));
    expect(results.map((result) => result.seq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('chat.grpchat: compliance', () => {
  it('a post whose queue send fails answers 503 (stored, delivered, its outbox item kept); the retry archives it once and clears the outbox item', async () => {
    const { service, store, compliance, delivery, roomId } = await roomWithFollowers();
    compliance.queue.failNextSends = 1;
    await expect(service.post(callerOf(alice), { roomId, text: 'hello', clientMsgId: 'c1' })).rejects.toThrow(
      'the message is stored but not yet archived; retry with the same clientMsgId',
    );
    expect(store.messages.get(roomId)?.size).toBe(1);
    expect([...compliance.outbox.items.keys()]).toEqual([`chat.post:${roomId}:1`]);
    expect(delivery.recipientsOf('chat.message')).toEqual([conn(bob)]);

    const retried = await service.post(callerOf(alice), { roomId, text: 'hello', clientMsgId: 'c1' });
    expect(retried.seq).toBe(1);
    expect(compliance.sent().filter((event) => event.type === 'chat.post').map((event) => event.eventId)).toEqual([`chat.post:${roomId}:1`]);
    expect(compliance.outbox.items.size).toBe(0);
    expect(delivery.recipientsOf('chat.message')).toEqual([conn(bob)]);
  });

  it('a post without clientMsgId whose send fails answers 503 and leaves its event in the outbox, for the sweep', async () => {
    const { service, compliance, roomId } = await roomWithFollowers();
    compliance.queue.failNextSends = 1;
    await expect(service.post(callerOf(alice), { roomId, text: 'hello' })).rejects.toBeInstanceOf(UnavailableError);
    expect(compliance.archived().map((event) => event.eventId)).toContain(`chat.post:${roomId}:1`);
  });
});

describe('chat.grpchat: fan-out to readers only', () => {
  it('goes to every follower who may read the room, except the posting connection', async () => {
    const { service, delivery, roomId } = await roomWithFollowers();
    await service.post(callerOf(alice), { roomId, text: 'hello' });
    expect(delivery.recipientsOf('chat.message')).toEqual([conn(bob)]);
  });

  it('a follower who loses read access between the followers read and the fan-out is not delivered the message', async () => {
    const { service, store, delivery, roomId, stored } = await roomWithFollowers({ privacy: 'closed', members: [bob.uri, carol.uri] });
    await service.join(callerOf(carol), roomId);
    delivery.clear();
    // After the fan-out's followers read, before its room read: a room.update removes carol (its removal not run yet).
    store.before('followers', () => {
      store.before('getRoom', async () => {
        const room = await stored(roomId);
        await store.updateRoom(room, { ...room, members: room.members.filter((uri) => uri !== carol.uri), version: room.version + 1 });
      });
    });
    await service.post(callerOf(alice), { roomId, text: 'after the removal' });
    expect(delivery.recipientsOf('chat.message')).toEqual([conn(bob)]);
  });

  it('a follower item left behind (a join racing a room.update) carries nothing, and the user may still part it', async () => {
    const { service, store, delivery, roomId, stored } = await roomWithFollowers();
    await service.join(callerOf(carol), roomId);
    const room = await stored(roomId);
    // The room made closed by a write whose removal never ran: carol still has her follower item.
    await store.updateRoom(room, { ...room, privacy: 'closed', version: room.version + 1 });
    delivery.clear();
    await service.post(callerOf(alice), { roomId, text: 'members only' });
    expect(delivery.recipientsOf('chat.message')).toEqual([conn(bob)]);
    expect(await service.part(callerOf(carol), roomId)).toEqual({ followed: false });
    expect(await store.isFollowing(roomId, carol.uri)).toBe(false);
  });

  it('in an auditorium only presenters post (403 to a member)', async () => {
    const { service, roomId } = await roomWithFollowers({ type: 'auditorium' });
    await expect(service.post(callerOf(bob), { roomId, text: 'hello' })).rejects.toMatchObject({ status: 403 });
  });
});
