import { startTestCloud, type TestCloud } from '../support/cloud';
import type { ResponseFrame, TestClient } from '../support/client';

/**
 * Issue 17 item 5: followed rooms, rooms per user, files per room and unseen invitations each have a cap (shared/config.ts, defaults in
 * docs/protocol.md) and a clear refusal: 403 `QuotaExceeded` naming the limit. Small caps here.
 */
let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud({ env: { MAX_FOLLOWED_ROOMS: '3', MAX_ROOMS_PER_USER: '4', MAX_FILES_PER_ROOM: '2', MAX_PENDING_INVITATIONS: '2' } });
});
afterAll(async () => {
  await cloud.stop();
});

function expectQuota(response: ResponseFrame, limit: string, value: number): void {
  expect(response).toMatchObject({ status: 403, error: { code: 'QuotaExceeded' } });
  expect(response.error!.message).toContain(limit);
  expect(response.error!.message).toContain(String(value));
}

async function createRoom(client: TestClient, name: string): Promise<string> {
  const response = await client.request('room.create', { name });
  expect(response.status).toBe(200);
  return response.body!.roomId as string;
}

test('MAX_FOLLOWED_ROOMS: a join past the cap is refused naming it; a room already followed joins again; after a part there is room', async () => {
  const owner = await cloud.connect('sip:owner@contoso.com');
  const rooms = [];
  for (let n = 0; n < 4; n++) rooms.push(await createRoom(owner, `followed ${n}`));
  const dave = await cloud.connect('sip:dave@contoso.com');
  for (const roomId of rooms.slice(0, 3)) expect((await dave.request('chat.join', { roomId })).status).toBe(200);
  expectQuota(await dave.request('chat.join', { roomId: rooms[3] }), 'MAX_FOLLOWED_ROOMS', 3);
  const bjoin = await dave.request('chat.bjoin', { roomIds: [rooms[3]] });
  expect((bjoin.body!.rooms as { status: number; error?: { code: string } }[])[0]).toMatchObject({ status: 403, error: { code: 'QuotaExceeded' } });
  expect((await dave.request('chat.join', { roomId: rooms[0] })).status).toBe(200);
  expect((await dave.request('chat.part', { roomId: rooms[0] })).status).toBe(200);
  expect((await dave.request('chat.join', { roomId: rooms[3] })).status).toBe(200);
});

test('MAX_ROOMS_PER_USER: creating a room past the rooms the user manages is refused naming it', async () => {
  const erin = await cloud.connect('sip:erin@contoso.com');
  for (let n = 0; n < 4; n++) await createRoom(erin, `erin ${n}`);
  expectQuota(await erin.request('room.create', { name: 'one too many' }), 'MAX_ROOMS_PER_USER', 4);
});

test('MAX_FILES_PER_ROOM: an upload past the cap is refused naming it', async () => {
  const frank = await cloud.connect('sip:frank@contoso.com');
  const roomId = await createRoom(frank, 'files');
  for (let n = 0; n < 2; n++) expect((await frank.request('chat.file.upload', { roomId, fileName: `f${n}.txt`, size: 3, contentType: 'text/plain' })).status).toBe(200);
  expectQuota(await frank.request('chat.file.upload', { roomId, fileName: 'f3.txt', size: 3, contentType: 'text/plain' }), 'MAX_FILES_PER_ROOM', 2);
});

test('MAX_PENDING_INVITATIONS: an invitee holding that many unseen invitations is refused, alone (403) or among others (`refused`); once shown by chat.getinv there is room', async () => {
  const host = await cloud.connect('sip:host@contoso.com');
  const rooms: string[] = [];
  for (let n = 0; n < 4; n++) rooms.push(await createRoom(host, `invites ${n}`));
  const gina = await cloud.connect('sip:gina@contoso.com');
  const hank = await cloud.connect('sip:hank@contoso.com');
  for (const roomId of rooms.slice(0, 2)) expect((await host.request('room.invite', { roomId, uris: ['sip:gina@contoso.com'] })).body).toEqual({ invited: ['sip:gina@contoso.com'] });

  // Alone: 403 naming the limit, and gina is not made a member.
  expectQuota(await host.request('room.invite', { roomId: rooms[2], uris: ['sip:Gina@contoso.com'] }), 'MAX_PENDING_INVITATIONS', 2);
  const memberOf = async (client: TestClient) => ((await client.request('chat.getassociations', { role: 'member' })).body!.rooms as { roomId: string }[]).map((room) => room.roomId);
  expect(await memberOf(gina)).toEqual(expect.not.arrayContaining([rooms[2]]));

  // With someone else: hank is invited (and told), gina is listed as refused and not made a member.
  const both = await host.request('room.invite', { roomId: rooms[2], uris: ['sip:gina@contoso.com', 'sip:hank@contoso.com'] });
  expect(both).toMatchObject({ status: 200, body: { invited: ['sip:hank@contoso.com'], refused: [{ uri: 'sip:gina@contoso.com', reason: 'MAX_PENDING_INVITATIONS' }] } });
  await hank.nextEvent('chat.invitation', (event) => event.roomId === rooms[2]);
  expect(await memberOf(hank)).toContain(rooms[2]);
  expect(await memberOf(gina)).toEqual(expect.not.arrayContaining([rooms[2]]));
  expect(gina.eventsNamed('chat.invitation').map((event) => event.roomId)).toEqual(rooms.slice(0, 2));

  // An unseen invitation to the same room already held is no new one: removed from the members, gina is invited again.
  expect((await host.request('room.update', { roomId: rooms[0], members: ['sip:host@contoso.com'] })).status).toBe(200);
  expect((await host.request('room.invite', { roomId: rooms[0], uris: ['sip:gina@contoso.com'] })).body).toEqual({ invited: ['sip:gina@contoso.com'] });

  // Shown by chat.getinv, they no longer count: the next invitation is stored and told.
  expect((await gina.request('chat.getinv', {})).body!.invitations).toHaveLength(3);
  expect((await host.request('room.invite', { roomId: rooms[3], uris: ['sip:gina@contoso.com'] })).body).toEqual({ invited: ['sip:gina@contoso.com'] });
  await gina.nextEvent('chat.invitation', (event) => event.roomId === rooms[3]);
  expect(((await gina.request('chat.getinv', {})).body!.invitations as { roomId: string }[]).map((invitation) => invitation.roomId)).toEqual([rooms[3]]);
});
