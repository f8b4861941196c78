import { ForbiddenError, QuotaExceededError, UnavailableError } from '../../../../shared/errors';
import { callerOf, chatOnMemory, conn, user } from './chat-fixture';
import { withoutBackoff } from '../../../support/no-backoff';

/**
 * Room management's race and failure rules (docs/protocol.md "Losing access", "Limits and quotas", `room.*`;
 * docs/architecture.md "Losing access") on memory ports.
 */
const alice = user('alice');
const bob = user('bob');
const carol = user('carol');
const dave = user('dave');

// retryOnConflict's jittered backoff waits nothing.
withoutBackoff();
afterEach(() => jest.restoreAllMocks());

describe('room.update: read, decide, write on the version read', () => {
  it('two updates racing: one wins, the other re-reads and re-decides on the winner (both changes kept)', async () => {
    const { service, store, createRoom, stored } = chatOnMemory();
    const roomId = await createRoom(alice);
    store.before('updateRoom', async () => {
      const room = await stored(roomId);
      await store.updateRoom(room, { ...room, description: 'concurrent', version: room.version + 1 });
    });
    const updated = await service.updateRoom(alice, roomId, { name: 'Renamed' });
    expect(updated).toMatchObject({ name: 'Renamed', description: 'concurrent', version: 3 });
    expect(await stored(roomId)).toMatchObject({ name: 'Renamed', description: 'concurrent', version: 3 });
    expect(store.callsOf('updateRoom')).toBe(3);
  });

  it('a manager removed by the update that won loses the race and gets 403 on the re-read', async () => {
    const { service, store, createRoom, stored } = chatOnMemory();
    const roomId = await createRoom(alice, { managers: [bob.uri] });
    store.before('updateRoom', async () => {
      const room = await stored(roomId);
      await store.updateRoom(room, { ...room, managers: [alice.uri], version: room.version + 1 });
    });
    await expect(service.updateRoom(bob, roomId, { name: 'Mine' })).rejects.toBeInstanceOf(ForbiddenError);
    expect((await stored(roomId)).name).toBe('Room');
  });

  it('the room kept changing: every conditional write lost answers 503 "the room kept changing; retry"', async () => {
    const { service, store, createRoom, stored } = chatOnMemory();
    const roomId = await createRoom(alice);
    for (let i = 0; i < 12; i++) {
      store.before('updateRoom', async () => {
        const room = await stored(roomId);
        await store.updateRoom(room, { ...room, version: room.version + 1 });
      });
    }
    await expect(service.updateRoom(alice, roomId, { name: 'Never' })).rejects.toThrow(new UnavailableError('the room kept changing; retry', 200));
    expect((await stored(roomId)).name).toBe('Room');
  });

  it('the association index follows the room that won (members added and removed)', async () => {
    const { service, store, createRoom } = chatOnMemory();
    const roomId = await createRoom(alice, { members: [bob.uri] });
    await service.updateRoom(alice, roomId, { members: [carol.uri] });
    expect(await store.associations(bob.uri, 'member')).toEqual([]);
    expect(await store.associations(carol.uri, 'member')).toEqual([roomId]);
  });
});

describe('Losing access: a change of privacy or membership removes the followers who may no longer read the room', () => {
  it('a privacy change removes non-member followers: chat.removed (privacy), archived as a chat.part by the manager', async () => {
    const { service, store, compliance, delivery, createRoom } = chatOnMemory();
    const roomId = await createRoom(alice, { members: [bob.uri] });
    for (const who of [bob, carol]) await service.join(callerOf(who), roomId);
    delivery.clear();
    await service.updateRoom(alice, roomId, { privacy: 'closed' });
    expect(delivery.named('chat.removed')).toEqual([{ connectionIds: [conn(carol)], payload: { roomId, reason: 'privacy' } }]);
    expect(await store.followers(roomId)).toEqual([bob.uri]);
    const removal = compliance.sent().find((event) => event.type === 'chat.part' && event.details?.uri === carol.uri);
    expect(removal).toMatchObject({ eventId: `chat.part:${roomId}:${carol.uri}:removed:2`, actor: { uri: alice.uri }, details: { uri: carol.uri, reason: 'privacy' } });
    expect(compliance.outbox.items.size).toBe(0);
  });

  it('a member removed from a closed room: chat.removed (membership)', async () => {
    const { service, delivery, createRoom } = chatOnMemory();
    const roomId = await createRoom(alice, { privacy: 'closed', members: [bob.uri, carol.uri] });
    for (const who of [bob, carol]) await service.join(callerOf(who), roomId);
    delivery.clear();
    await service.updateRoom(alice, roomId, { members: [bob.uri] });
    expect(delivery.named('chat.removed')).toEqual([{ connectionIds: [conn(carol)], payload: { roomId, reason: 'membership' } }]);
  });

  it('a follower who parted between the update and the removal is not removed again (no chat.removed, no second chat.part)', async () => {
    const { service, store, compliance, delivery, createRoom } = chatOnMemory();
    const roomId = await createRoom(alice);
    await service.join(callerOf(carol), roomId);
    delivery.clear();
    store.before('unfollow', () => service.part(callerOf(carol), roomId));
    await service.updateRoom(alice, roomId, { privacy: 'closed' });
    expect(delivery.named('chat.removed')).toEqual([]);
    expect(compliance.archived().filter((event) => event.eventId.includes(':removed:'))).toEqual([]);
    expect(compliance.archived().filter((event) => event.type === 'chat.part')).toHaveLength(1);
  });

  it('a removal whose queue send fails still removes and tells the user; its event stays in the outbox for the sweep', async () => {
    const { service, compliance, delivery, createRoom } = chatOnMemory();
    const roomId = await createRoom(alice);
    await service.join(callerOf(carol), roomId);
    compliance.queue.failNextSends = 1;
    await service.updateRoom(alice, roomId, { privacy: 'closed' });
    expect(delivery.recipientsOf('chat.removed')).toEqual([conn(carol)]);
    expect([...compliance.outbox.items.keys()]).toEqual([`chat.part:${roomId}:${carol.uri}:removed:2`]);
  });

  it('room.delete tells every follower (chat.removed, deleted); the room then answers 404', async () => {
    const { service, delivery, createRoom } = chatOnMemory();
    const roomId = await createRoom(alice);
    for (const who of [bob, carol]) await service.join(callerOf(who), roomId);
    delivery.clear();
    await service.deleteRoom(alice, roomId);
    expect(delivery.named('chat.removed')).toEqual([{ connectionIds: [conn(bob), conn(carol)], payload: { roomId, reason: 'deleted' } }]);
    await expect(service.join(callerOf(bob), roomId)).rejects.toMatchObject({ status: 404 });
  });

  it('chat.getinv does not answer an invitation to a room the user may no longer read', async () => {
    const { service, createRoom } = chatOnMemory();
    const roomId = await createRoom(alice, { privacy: 'closed' });
    await service.invite(alice, roomId, [carol.uri]);
    await service.updateRoom(alice, roomId, { members: [] });
    expect(await service.invitations(carol)).toEqual({ invitations: [] });
  });
});

describe('room.create', () => {
  it('a create whose association items failed: the retry with the same clientId answers the same room and writes them', async () => {
    const { service, store } = chatOnMemory();
    const definition = { name: 'Room', description: '', category: 'general', privacy: 'open' as const, type: 'normal' as const, members: [], managers: [], presenters: [] };
    store.failNext('syncAssociations');
    await expect(service.createRoom(alice, definition, 'create-1')).rejects.toThrow();
    expect(await store.associations(alice.uri, 'manager')).toEqual([]);
    const { roomId } = await service.createRoom(alice, definition, 'create-1');
    expect(store.rooms.size).toBe(1);
    expect(await store.associations(alice.uri, 'manager')).toEqual([roomId]);
  });

  it('two creates racing with the same clientId make one room', async () => {
    const { service, store } = chatOnMemory();
    const definition = { name: 'Room', description: '', category: 'general', privacy: 'open' as const, type: 'normal' as const, members: [], managers: [], presenters: [] };
    const [first, second] = await Promise.all([service.createRoom(alice, definition, 'same'), service.createRoom(alice, definition, 'same')]);
    expect(second).toEqual(first);
    expect(store.rooms.size).toBe(1);
  });

  it('MAX_ROOMS_PER_USER: a user who manages that many rooms gets 403 QuotaExceeded', async () => {
    const { createRoom } = chatOnMemory({ maxFollowedRooms: 10, maxRoomsPerUser: 2, maxFilesPerRoom: 10, maxPendingInvitations: 10 });
    await createRoom(alice);
    await createRoom(alice);
    await expect(createRoom(alice)).rejects.toMatchObject({ code: 'QuotaExceeded', status: 403 });
  });
});

describe('room.invite and MAX_PENDING_INVITATIONS', () => {
  const quotas = { maxFollowedRooms: 10, maxRoomsPerUser: 10, maxFilesPerRoom: 10, maxPendingInvitations: 2 };

  it('an invitee holding that many unseen invitations is refused (neither invited nor made a member); the others are invited', async () => {
    const { service, store, delivery, createRoom, stored } = chatOnMemory(quotas);
    for (let i = 0; i < 2; i++) await service.invite(alice, await createRoom(alice, { privacy: 'closed' }), [carol.uri]);
    const roomId = await createRoom(alice, { privacy: 'closed' });
    delivery.clear();
    expect(await service.invite(alice, roomId, [carol.uri, dave.uri])).toEqual({ invited: [dave.uri], refused: [{ uri: carol.uri, reason: 'MAX_PENDING_INVITATIONS' }] });
    expect((await stored(roomId)).members).not.toContain(carol.uri);
    expect(delivery.recipientsOf('chat.invitation')).toEqual([conn(dave)]);
    expect(await store.countUnseenInvitations(carol.uri, 10)).toBe(2);
  });

  it('every new invitee refused: 403 QuotaExceeded, nothing written; chat.getinv frees them', async () => {
    const { service, createRoom, stored } = chatOnMemory(quotas);
    for (let i = 0; i < 2; i++) await service.invite(alice, await createRoom(alice, { privacy: 'closed' }), [carol.uri]);
    const roomId = await createRoom(alice, { privacy: 'closed' });
    await expect(service.invite(alice, roomId, [carol.uri])).rejects.toBeInstanceOf(QuotaExceededError);
    expect((await stored(roomId)).version).toBe(1);
    await service.invitations(carol);
    expect(await service.invite(alice, roomId, [carol.uri])).toEqual({ invited: [carol.uri] });
  });

  it('an unseen invitation to the same room already held is no new one: at the cap, invited again', async () => {
    const { service, createRoom } = chatOnMemory(quotas);
    const first = await createRoom(alice, { privacy: 'closed' });
    await service.invite(alice, first, [carol.uri]);
    await service.invite(alice, await createRoom(alice, { privacy: 'closed' }), [carol.uri]);
    await service.updateRoom(alice, first, { members: [] });
    expect(await service.invite(alice, first, [carol.uri])).toEqual({ invited: [carol.uri] });
  });

  it('an invite racing a room.update re-decides on the new room, counting each invitee once', async () => {
    const { service, store, createRoom, stored } = chatOnMemory(quotas);
    const roomId = await createRoom(alice, { privacy: 'closed' });
    store.before('updateRoom', async () => {
      const room = await stored(roomId);
      // The update that wins makes dave a member already: he is not invited again.
      await store.updateRoom(room, { ...room, members: [...room.members, dave.uri], version: room.version + 1 });
    });
    expect(await service.invite(alice, roomId, [carol.uri, dave.uri])).toEqual({ invited: [carol.uri] });
    expect(store.callsOf('countUnseenInvitations')).toBe(2);
    expect((await stored(roomId)).members).toEqual(expect.arrayContaining([carol.uri, dave.uri]));
  });
});

describe('chat.join, chat.part and MAX_FOLLOWED_ROOMS', () => {
  const quotas = { maxFollowedRooms: 2, maxRoomsPerUser: 10, maxFilesPerRoom: 10, maxPendingInvitations: 10 };

  it('a room not followed yet needs a free slot (403 QuotaExceeded); a room already followed joins again at the cap', async () => {
    const { service, createRoom } = chatOnMemory(quotas);
    const rooms = [await createRoom(alice), await createRoom(alice), await createRoom(alice)];
    await service.join(callerOf(bob), rooms[0]!);
    await service.join(callerOf(bob), rooms[1]!);
    await expect(service.join(callerOf(bob), rooms[2]!)).rejects.toMatchObject({ code: 'QuotaExceeded' });
    expect(await service.join(callerOf(bob), rooms[0]!)).toMatchObject({ followed: true });
    await service.part(callerOf(bob), rooms[1]!);
    expect(await service.join(callerOf(bob), rooms[2]!)).toMatchObject({ followed: true });
  });

  it('two joins racing at the cap may both pass: one room over, at most one per racing join', async () => {
    const { service, store, createRoom } = chatOnMemory(quotas);
    const rooms = [await createRoom(alice), await createRoom(alice), await createRoom(alice)];
    await service.join(callerOf(bob), rooms[0]!);
    await Promise.all([service.join(callerOf(bob), rooms[1]!), service.join(callerOf(bob), rooms[2]!)]);
    expect(await store.countFollowed(bob.uri, 10)).toBe(3);
  });

  it('a join whose queue send fails answers 200; its event stays in the outbox for the sweep', async () => {
    const { service, compliance, createRoom } = chatOnMemory();
    const roomId = await createRoom(alice);
    compliance.queue.failNextSends = 1;
    expect(await service.join(callerOf(bob, 'req-1'), roomId)).toMatchObject({ followed: true });
    expect([...compliance.outbox.items.keys()]).toEqual([`chat.join:${roomId}:${bob.uri}:req-1`]);
  });

  it('a part redelivered (same request id) is one chat.part; a part of a room not followed archives nothing', async () => {
    const { service, compliance, createRoom } = chatOnMemory();
    const roomId = await createRoom(alice);
    await service.join(callerOf(bob), roomId);
    await service.part(callerOf(bob, 'req-part'), roomId);
    await service.part(callerOf(bob, 'req-part'), roomId);
    await service.part(callerOf(bob, 'req-other'), roomId);
    expect(compliance.archived().filter((event) => event.type === 'chat.part').map((event) => event.eventId)).toEqual([`chat.part:${roomId}:${bob.uri}:req-part`]);
  });

  it('chat.bjoin answers each room on its own', async () => {
    const { service, createRoom } = chatOnMemory();
    const open = await createRoom(alice);
    const closed = await createRoom(alice, { privacy: 'closed' });
    const { rooms } = await service.joinMany(callerOf(bob), [open, closed, 'room_missing']);
    expect(rooms.map((room) => [room.roomId, room.status])).toEqual([
      [open, 200],
      [closed, 403],
      ['room_missing', 404],
    ]);
  });
});
