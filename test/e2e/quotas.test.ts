import { startTestCloud, type TestCloud } from '../support/cloud';
import type { ResponseFrame, TestClient } from '../support/client';

/**
 * Issue 17 item 5: followed rooms, rooms per user and files per room each have a cap (shared/config.ts, defaults in
 * docs/protocol.md) and a clear refusal: 403 `QuotaExceeded` naming the limit. Small caps here.
 */
let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud({ env: { MAX_FOLLOWED_ROOMS: '3', MAX_ROOMS_PER_USER: '4', MAX_FILES_PER_ROOM: '2' } });
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
