import type { PresenceAvailability } from '../../../../shared/chat/ports';
import { ForbiddenError, NotFoundError } from '../../../../shared/errors';
import type { Availability } from '../../../../shared/presence/presence';
import { callerOf, chatOnMemory, conn, user } from './chat-fixture';

/** `chat.occupants` and `chat.declineinv` (issue 22 item 6, SPEC §9) on memory ports. */
const alice = user('alice');
const bob = user('bob');
const carol = user('carol');
const eve = user('eve');

/** Presence as the aggregates say, recording the batches it was asked. */
function presenceOf(states: Record<string, Availability>) {
  const batches: string[][] = [];
  const port: PresenceAvailability = {
    availabilityOf: async (uris) => {
      batches.push([...uris]);
      return new Map(uris.filter((uri) => states[uri] !== undefined).map((uri) => [uri, states[uri]!]));
    },
  };
  return { port, batches, states };
}

describe('chat.occupants', () => {
  it('lists the followers connected now with their availability; followers offline (no connection, or appearing offline) are left out', async () => {
    const presence = presenceOf({ [alice.uri]: 'online', [bob.uri]: 'doNotDisturb', [carol.uri]: 'offline' });
    const chat = chatOnMemory(undefined, presence.port);
    const roomId = await chat.createRoom(alice);
    for (const who of [alice, bob, carol, eve]) await chat.service.join(callerOf(who), roomId);
    const answer = await chat.service.occupants(bob, roomId);
    expect(answer).toEqual({
      occupants: [
        { uri: alice.uri, availability: 'online' },
        { uri: bob.uri, availability: 'doNotDisturb' },
      ],
    });
  });

  it('only a caller who may read the room: 403 for a closed room to a non-member, 404 for a secret room', async () => {
    const chat = chatOnMemory(undefined, presenceOf({}).port);
    const closed = await chat.createRoom(alice, { privacy: 'closed' });
    const secret = await chat.createRoom(alice, { privacy: 'secret' });
    await expect(chat.service.occupants(eve, closed)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(chat.service.occupants(eve, secret)).rejects.toBeInstanceOf(NotFoundError);
    await expect(chat.service.occupants(eve, 'no-such-room')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a follower item left behind by someone who may no longer read the room is not an occupant', async () => {
    const chat = chatOnMemory(undefined, presenceOf({ [alice.uri]: 'online', [eve.uri]: 'online' }).port);
    const roomId = await chat.createRoom(alice, { privacy: 'closed' });
    await chat.service.join(callerOf(alice), roomId);
    chat.store.follows.get(roomId)?.set(eve.uri, 0);
    expect((await chat.service.occupants(alice, roomId)).occupants.map((occupant) => occupant.uri)).toEqual([alice.uri]);
  });

  it("an anonymous caller does not see the organization's users (presence's watch rule)", async () => {
    const guest = { uri: 'sip:guest@anonymous.invalid', kind: 'anonymous' as const, name: 'guest', device: 'web' as const };
    const partner = 'sip:pat@fabrikam.com';
    const chat = chatOnMemory(undefined, presenceOf({ [alice.uri]: 'online', [partner]: 'busy' }).port);
    const roomId = await chat.createRoom(alice);
    await chat.service.join(callerOf(alice), roomId);
    chat.store.follows.get(roomId)?.set(partner, 0);
    expect((await chat.service.occupants(guest, roomId)).occupants).toEqual([{ uri: partner, availability: 'busy' }]);
  });

  it('paged with a cursor: every connected follower once; presence read in batches of at most 100', async () => {
    const uris = Array.from({ length: 250 }, (_, index) => `sip:u${String(index).padStart(3, '0')}@contoso.com`);
    const presence = presenceOf(Object.fromEntries(uris.map((uri) => [uri, 'online' as const])));
    const chat = chatOnMemory(undefined, presence.port);
    const roomId = await chat.createRoom(alice);
    chat.store.follows.set(roomId, new Map(uris.map((uri) => [uri, 0])));
    const seen: string[] = [];
    let cursor: string | undefined;
    let calls = 0;
    do {
      const answer = await chat.service.occupants(bob, roomId, cursor);
      seen.push(...answer.occupants.map((occupant) => occupant.uri));
      cursor = answer.cursor;
      calls++;
    } while (cursor && calls < 10);
    expect(seen).toEqual(uris);
    expect(calls).toBe(3);
    expect(Math.max(...presence.batches.map((batch) => batch.length))).toBeLessThanOrEqual(100);
  });

  it('a call examines at most 1,000 followers: a large room with few connected answers with a cursor to go on', async () => {
    const uris = Array.from({ length: 1500 }, (_, index) => `sip:u${String(index).padStart(4, '0')}@contoso.com`);
    const chat = chatOnMemory(undefined, presenceOf({ [uris[1400]!]: 'away' }).port);
    const roomId = await chat.createRoom(alice);
    chat.store.follows.set(roomId, new Map(uris.map((uri) => [uri, 0])));
    const first = await chat.service.occupants(bob, roomId);
    expect(first.occupants).toEqual([]);
    expect(first.cursor).toBeDefined();
    expect(await chat.service.occupants(bob, roomId, first.cursor)).toEqual({ occupants: [{ uri: uris[1400], availability: 'away' }] });
  });
});

describe('chat.declineinv', () => {
  it('the invitation is gone from chat.getinv on every device, and stays gone', async () => {
    const chat = chatOnMemory();
    const roomId = await chat.createRoom(alice, { name: 'Planning', privacy: 'closed' });
    await chat.service.invite(alice, roomId, [bob.uri]);
    expect(chat.delivery.recipientsOf('chat.invitation')).toEqual([conn(bob)]);
    await expect(chat.service.declineInvitation(bob, roomId)).resolves.toEqual({ declined: true });
    expect((await chat.service.invitations(bob)).invitations).toEqual([]);
    expect((await chat.service.invitations(bob)).invitations).toEqual([]);
  });

  it('an invitation already shown by chat.getinv may be declined too', async () => {
    const chat = chatOnMemory();
    const roomId = await chat.createRoom(alice, { privacy: 'closed' });
    await chat.service.invite(alice, roomId, [bob.uri]);
    expect((await chat.service.invitations(bob)).invitations).toHaveLength(1);
    await expect(chat.service.declineInvitation(bob, roomId)).resolves.toEqual({ declined: true });
  });

  it('declining an invitation that does not exist is a 404, a second decline too', async () => {
    const chat = chatOnMemory();
    const roomId = await chat.createRoom(alice);
    await expect(chat.service.declineInvitation(bob, roomId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(chat.service.declineInvitation(bob, 'no-such-room')).rejects.toBeInstanceOf(NotFoundError);
    await chat.service.invite(alice, roomId, [bob.uri]);
    await chat.service.declineInvitation(bob, roomId);
    await expect(chat.service.declineInvitation(bob, roomId)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('declining gives back the membership the invitation gave: the closed room is no longer the invitee\'s, and a follower is removed from it', async () => {
    const chat = chatOnMemory();
    const roomId = await chat.createRoom(alice, { privacy: 'closed' });
    await chat.service.invite(alice, roomId, [bob.uri]);
    await chat.service.join(callerOf(bob), roomId);
    await chat.service.declineInvitation(bob, roomId);
    expect((await chat.stored(roomId)).members).not.toContain(bob.uri);
    expect(await chat.store.associations(bob.uri, 'member')).toEqual([]);
    expect(await chat.store.isFollowing(roomId, bob.uri)).toBe(false);
    expect(chat.delivery.named('chat.removed')).toEqual([{ connectionIds: [conn(bob)], payload: { roomId, reason: 'membership' } }]);
    await expect(chat.service.join(callerOf(bob), roomId)).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('re-inviting after a decline brings the invitation back', async () => {
    const chat = chatOnMemory();
    const roomId = await chat.createRoom(alice, { name: 'Again', privacy: 'closed' });
    await chat.service.invite(alice, roomId, [bob.uri]);
    await chat.service.declineInvitation(bob, roomId);
    chat.clock.advance(1000);
    expect(await chat.service.invite(alice, roomId, [bob.uri])).toEqual({ invited: [bob.uri] });
    expect((await chat.service.invitations(bob)).invitations.map((invitation) => invitation.roomName)).toEqual(['Again']);
  });

  it('a manager or presenter who declines keeps their role: only the invitation goes', async () => {
    const chat = chatOnMemory();
    const roomId = await chat.createRoom(alice, { privacy: 'closed' });
    await chat.service.invite(alice, roomId, [bob.uri]);
    await chat.service.updateRoom(alice, roomId, { presenters: [bob.uri] });
    await chat.service.declineInvitation(bob, roomId);
    const room = await chat.stored(roomId);
    expect(room.presenters).toContain(bob.uri);
    expect(room.members).toContain(bob.uri);
    expect((await chat.service.invitations(bob)).invitations).toEqual([]);
  });
});
