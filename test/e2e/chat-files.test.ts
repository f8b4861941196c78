import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { CommandArgs, Fetcher, UcClient } from '../../client/src';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import { newId } from '../../shared/ids';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { waitFor } from '../support/client';
import { users } from '../support/users';
import { loadConfig } from '../../shared/config';

/**
 * `chat.file.upload` / `chat.file.download` end to end, through the client library (client/src) as a UI would
 * use it: presigned URLs into the local cloud's S3, used with plain fetch.
 */
let cloud: TestCloud;
const MAX_FILE_BYTES = 1024;

beforeAll(async () => {
  cloud = await startTestCloud({ env: { CHAT_MAX_FILE_BYTES: String(MAX_FILE_BYTES) } });
});
afterAll(async () => {
  await cloud.stop();
});

/** A room with a fresh name (without a clientId the library adds one, so each call creates a room). */
async function createRoom(client: UcClient, args: Partial<CommandArgs<'room.create'>> = {}): Promise<string> {
  return (await client.request('room.create', { name: `files ${newId('n')}`, ...args })).roomId;
}

/** `fetch` as the library's upload uses it, where the PUT must be answered exactly 200. */
const fetchExpecting200: Fetcher = async (url, init) => {
  const put = await fetch(url, init as RequestInit);
  expect(put.status).toBe(200);
  return put;
};

/** The library's upload: `chat.file.upload`, then the bytes with PUT to the presigned URL. */
function upload(client: UcClient, roomId: string, bytes: Buffer, fileName = 'notes.txt', contentType = 'text/plain') {
  return client.uploadFile(roomId, { name: fileName, type: contentType, size: bytes.length, body: bytes }, fetchExpecting200);
}

describe('files', () => {
  test('upload through the URL, post with the fileId, another member downloads the same bytes', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.client(alice!);
    const bobClient = await cloud.client(bob!);
    const roomId = await createRoom(aliceClient, { privacy: 'closed', members: [bob!] });
    await bobClient.request('chat.join', { roomId });
    const bytes = Buffer.from('quarterly numbers: 42 ✓\n', 'utf8');

    const before = Date.now();
    const uploaded = await upload(aliceClient, roomId, bytes, 'Q3 notes é.txt');
    expect(uploaded.fileId).toMatch(/^file_/);
    expect(uploaded.expiresAt).toBeGreaterThan(before);
    expect(new URL(uploaded.uploadUrl).searchParams.get('X-Amz-Signature')).toBeTruthy();

    const sent = await aliceClient.request('chat.grpchat', { roomId, text: 'see attached', fileId: uploaded.fileId });
    const file = { fileId: uploaded.fileId, name: 'Q3 notes é.txt', size: bytes.length, contentType: 'text/plain' };
    expect(await bobClient.events.nextEvent('chat.message', (e) => e.seq === sent.seq)).toMatchObject({ text: 'see attached', fileId: uploaded.fileId, file });
    expect((await bobClient.request('chat.bccontext', { roomId })).messages).toEqual([expect.objectContaining({ seq: sent.seq, file })]);

    const download = await bobClient.request('chat.file.download', { fileId: uploaded.fileId });
    expect(download).toMatchObject({ fileId: uploaded.fileId, fileName: 'Q3 notes é.txt', size: bytes.length, contentType: 'text/plain', expiresAt: expect.any(Number) });
    const got = await fetch(download.downloadUrl);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(bytes);
    expect(got.headers.get('content-type')).toBe('text/plain');
    expect(got.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent('Q3 notes é.txt')}`);
  });

  test('a non-member may neither download nor upload in a closed room (403); in a secret room the file does not exist (404)', async () => {
    const [alice, eve] = users('alice', 'eve');
    const aliceClient = await cloud.client(alice!);
    const eveClient = await cloud.client(eve!);
    const closed = await createRoom(aliceClient, { privacy: 'closed' });
    const secret = await createRoom(aliceClient, { privacy: 'secret' });
    const closedFile = await upload(aliceClient, closed, Buffer.from('closed'));
    const secretFile = await upload(aliceClient, secret, Buffer.from('secret'));

    await expect(eveClient.request('chat.file.download', { fileId: closedFile.fileId })).rejects.toMatchObject({ status: 403, code: 'Forbidden' });
    await expect(eveClient.request('chat.file.upload', { roomId: closed, fileName: 'x.txt', size: 1, contentType: 'text/plain' })).rejects.toMatchObject({ status: 403 });
    await expect(eveClient.request('chat.file.download', { fileId: secretFile.fileId })).rejects.toMatchObject({
      status: 404,
      code: 'NotFound',
      serverMessage: `no file ${secretFile.fileId}`,
    });
    await expect(eveClient.request('chat.file.upload', { roomId: secret, fileName: 'x.txt', size: 1, contentType: 'text/plain' })).rejects.toMatchObject({ status: 404 });
    await expect(eveClient.request('chat.file.download', { fileId: 'file_unknown' })).rejects.toMatchObject({ status: 404 });
  });

  test('anyone may download from an open room; in an auditorium only presenters upload', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const aliceClient = await cloud.client(alice!);
    const open = await createRoom(aliceClient);
    const shared = await upload(aliceClient, open, Buffer.from('for everyone'));
    const visitor = await (await cloud.client(carol!)).request('chat.file.download', { fileId: shared.fileId });
    expect(await (await fetch(visitor.downloadUrl)).text()).toBe('for everyone');

    const auditorium = await createRoom(aliceClient, { type: 'auditorium', presenters: [bob!] });
    await expect(aliceClient.request('chat.file.upload', { roomId: auditorium, fileName: 'slides.pdf', size: 10, contentType: 'application/pdf' })).rejects.toMatchObject({
      status: 403,
    });
    await upload(await cloud.client(bob!), auditorium, Buffer.from('%PDF-1.7'), 'slides.pdf', 'application/pdf');
  });

  test('a size over CHAT_MAX_FILE_BYTES is 413; the URL admits only the declared size', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.client(alice!);
    const roomId = await createRoom(aliceClient);
    await expect(
      aliceClient.request('chat.file.upload', { roomId, fileName: 'big.bin', size: MAX_FILE_BYTES + 1, contentType: 'application/octet-stream' }),
    ).rejects.toMatchObject({ status: 413, code: 'TooLarge' });
    // A path is a string the types allow; the server refuses it as a file name.
    await expect(aliceClient.request('chat.file.upload', { roomId, fileName: '../etc/passwd', size: 1 })).rejects.toMatchObject({ status: 400, field: 'fileName' });

    const declared = await aliceClient.request('chat.file.upload', { roomId, fileName: 'small.bin', size: 4, contentType: 'application/octet-stream' });
    // The length is signed into the URL: more bytes than declared are refused, as by S3.
    const larger = await fetch(declared.uploadUrl, { method: 'PUT', body: Buffer.alloc(MAX_FILE_BYTES * 2), headers: { 'content-type': 'application/octet-stream' } });
    expect(larger.status).toBe(403);
  });

  test('a post refuses a fileId of another room (400) or an unknown one (404)', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.client(alice!);
    const first = await createRoom(aliceClient);
    const second = await createRoom(aliceClient);
    const elsewhere = await upload(aliceClient, first, Buffer.from('first room only'));
    await expect(aliceClient.request('chat.grpchat', { roomId: second, text: 'borrowed', fileId: elsewhere.fileId })).rejects.toMatchObject({
      status: 400,
      code: 'BadRequest',
      field: 'fileId',
    });
    await expect(aliceClient.request('chat.grpchat', { roomId: second, text: 'made up', fileId: 'file_nope' })).rejects.toMatchObject({ status: 404 });
    expect((await aliceClient.request('chat.bccontext', { roomId: second })).messages).toEqual([]);
  });

  test('upload and download are compliance events', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.client(alice!);
    const roomId = await createRoom(aliceClient, { members: [bob!] });
    const uploaded = await upload(aliceClient, roomId, Buffer.from('archived'));
    await (await cloud.client(bob!)).request('chat.file.download', { fileId: uploaded.fileId });
    const events = await waitFor('the upload and the download in the compliance store', async () => {
      const stored = await archivedEvents(roomId);
      return stored.length >= 2 ? stored : undefined;
    });
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'chat.file.upload', actor: expect.objectContaining({ uri: alice }), details: expect.objectContaining({ fileId: uploaded.fileId, size: 8 }) }),
        expect.objectContaining({ type: 'chat.file.download', actor: expect.objectContaining({ uri: bob }), details: expect.objectContaining({ fileId: uploaded.fileId }) }),
      ]),
    );
  });
});

/** The room's events in the compliance store, pending export (its 8 shards). */
async function archivedEvents(roomId: string): Promise<Array<{ type: string; target: { id: string } }>> {
  const shards = await Promise.all(
    Array.from({ length: 8 }, (_, shard) =>
      dynamoDocumentClient(loadConfig()).send(new QueryCommand({ TableName: cloud.cloud.config.TABLE_NAME, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': `CPEND#${shard}` } })),
    ),
  );
  return shards
    .flatMap((page) => page.Items ?? [])
    .map((item) => item.event as { type: string; target: { id: string } })
    .filter((event) => event.target.id === roomId);
}
