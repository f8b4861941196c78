import { startTestCloud, type TestCloud } from '../support/cloud';
import { waitFor } from '../support/client';

/** Presigned file URLs expire: FILE_URL_SECONDS=1 in this file (a cloud of its own, since the setting is per process). */
let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud({ env: { FILE_URL_SECONDS: '1' } });
});
afterAll(async () => {
  await cloud.stop();
});

test('an expired upload or download URL is refused with 403 AccessDenied', async () => {
  const alice = await cloud.connect('sip:alice@contoso.com');
  const created = await alice.request('room.create', { name: 'expiry' });
  const roomId = String(created.body!.roomId);
  const upload = (await alice.request('chat.file.upload', { roomId, fileName: 'late.txt', size: 4, contentType: 'text/plain' })).body!;
  const download = (await alice.request('chat.file.download', { fileId: upload.fileId })).body!;
  const expiresAt = Math.max(Number(upload.expiresAt), Number(download.expiresAt));
  expect(expiresAt - Date.now()).toBeLessThanOrEqual(1000);

  // Expiry is a moment, not an event: wait until the clock passes it.
  await waitFor('the URLs to expire', () => Date.now() > expiresAt, 5000);

  const put = await fetch(String(upload.uploadUrl), { method: 'PUT', body: 'late', headers: { 'content-type': 'text/plain' } });
  expect(put.status).toBe(403);
  expect(await put.text()).toContain('<Code>AccessDenied</Code>');
  const get = await fetch(String(download.downloadUrl));
  expect(get.status).toBe(403);
  expect(await get.text()).toMatch(/<Code>AccessDenied<\/Code><Message>Request has expired<\/Message>/);
});
