import type { Page } from 'playwright-core';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { waitFor } from '../support/wait';
import { BrowserSession, see, signIn as signInAs, WAIT_MS } from '../support/web';

/**
 * The browser app (web/) following server changes: message limits from `chat.getserverinfo` enforced before sending,
 * and `chat.removed` closing a room the user may no longer read. Setup as in web.test.ts (Debian's Chromium, a local
 * cloud of its own).
 */

const ALICE = 'sip:alice@contoso.com';
const BOB = 'sip:bob@contoso.com';

let cloud: TestCloud;
let browser: BrowserSession;

jest.setTimeout(180_000);

beforeAll(async () => {
  cloud = await startTestCloud();
  browser = await BrowserSession.launch();
});

afterEach(async () => {
  expect(await browser.closeTabs()).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await cloud?.stop();
});

/** A fresh browser context (another person) with one tab; the actions of the frames it sends are kept in `sent`. */
async function newTab(): Promise<{ page: Page; sent: string[] }> {
  const page = await browser.newTab();
  const sent: string[] = [];
  page.on('websocket', (socket) =>
    socket.on('framesent', (frame) => {
      try {
        sent.push(String((JSON.parse(String(frame.payload)) as { action?: unknown }).action));
      } catch {
        sent.push('?');
      }
    }),
  );
  return { page, sent };
}

/** Signs in as a person does (test/support/web.ts), as an enterprise user. */
async function signIn(page: Page, uri: string, name: string): Promise<void> {
  await signInAs(page, cloud, { uri, name });
}

/** Waits (polling) until the check holds: for frames the page sends, which have no locator to wait on. */
async function until(check: () => boolean): Promise<void> {
  await waitFor(check.toString(), check, WAIT_MS, 50);
}

test('message limits: a room message or an IM over the server’s byte limit (chat.getserverinfo), or shared text over 4,000 characters, is refused in words before sending; nothing is sent', async () => {
  const { page: alice, sent } = await newTab();
  await signIn(alice, ALICE, 'Alice');
  // The app asks the server for its limits once connected.
  await until(() => sent.includes('chat.getserverinfo'));

  await alice.getByTestId('room-create-name').fill('Limits');
  await alice.getByTestId('room-create-submit').click();
  await alice.locator('[data-testid="room-messages"][data-loaded="yes"]').waitFor();

  // 2,050 characters of 2 bytes each: 4,100 bytes, over the 4,000-byte limit though under 4,000 characters.
  const long = 'é'.repeat(2050);
  await alice.getByTestId('room-post-text').fill(long);
  const roomNote = alice.getByTestId('room-post-limit');
  await see(roomNote);
  expect(await roomNote.textContent()).toBe('4,100 of 4,000 bytes: shorten the message');
  expect(await alice.getByTestId('room-post-text').inputValue()).toBe(long);
  await alice.getByTestId('room-post-text').press('Enter');
  await alice.getByTestId('room-post-submit').click({ force: true });
  // Within the limit again: the note goes, the message is sent.
  await alice.getByTestId('room-post-text').fill('é'.repeat(2000));
  await roomNote.waitFor({ state: 'detached' });
  await alice.getByTestId('room-post-submit').click();
  await see(alice.getByTestId('room-message'));
  expect(sent.filter((action) => action === 'chat.grpchat')).toHaveLength(1);
  expect(await alice.getByTestId('room-post-error').count()).toBe(0);

  // IM: the same limit, counted in bytes.
  await alice.getByTestId('tab-im').click();
  await alice.getByTestId('im-start-uri').fill(BOB);
  await alice.getByTestId('im-start-submit').click();
  await alice.getByTestId('im-text').fill('x'.repeat(4001));
  const imNote = alice.getByTestId('im-limit');
  await see(imNote);
  expect(await imNote.textContent()).toBe('4,001 of 4,000 bytes: shorten the message');
  await alice.getByTestId('im-text').press('Enter');
  await alice.getByTestId('im-send').click({ force: true });
  expect(await alice.getByTestId('im-error').count()).toBe(0);
  expect(sent.filter((action) => action === 'im.send')).toHaveLength(0);

  // Shared meeting text (conf.content.add): 4,000 characters.
  await alice.getByTestId('tab-meetings').click();
  await alice.getByTestId('conf-schedule').click();
  await alice.getByTestId('conf-scheduled-join').first().click();
  await alice.locator('[data-testid="meeting-view"][data-status="joined"]').waitFor();
  await alice.getByTestId('content-add-title').fill('Notes');
  await alice.getByTestId('content-add-kind').selectOption('document');
  await alice.getByTestId('content-add-body').fill('y'.repeat(4100));
  const contentNote = alice.getByTestId('content-add-limit');
  await see(contentNote);
  expect(await contentNote.textContent()).toBe('4,100 of 4,000 characters: shorten the text');
  await alice.getByTestId('content-add-submit').click({ force: true });
  expect(await alice.getByTestId('content-add-error').count()).toBe(0);
  expect(sent.filter((action) => action === 'conf.content.add')).toHaveLength(0);
});

test('chat.removed: a member removed from a closed room by a manager (room.update) sees it leave their rooms and close, with a notice in words', async () => {
  const manager = await cloud.client(ALICE);
  const { roomId } = await manager.request('room.create', { name: 'Board', privacy: 'closed' });
  const { page: bob } = await newTab();
  await signIn(bob, BOB, 'Bob');
  await manager.request('room.invite', { roomId, uris: [BOB] });
  const mine = bob.locator(`[data-testid="my-room"][data-room-id="${roomId}"]`);
  await see(mine);
  await mine.click();
  await bob.locator(`[data-testid="room-view"][data-room-id="${roomId}"] [data-testid="room-messages"][data-loaded="yes"]`).waitFor();

  await manager.request('room.update', { roomId, members: [ALICE] });
  const notice = bob.getByTestId('room-removed-notice');
  await see(notice);
  expect(await notice.textContent()).toContain('You no longer have access to Board');
  await mine.waitFor({ state: 'detached' });
  expect(await bob.getByTestId('room-view').count()).toBe(0);
  expect(await bob.getByTestId('room-error').count()).toBe(0);

  // A deleted room says so.
  const second = await manager.request('room.create', { name: 'Offsite', privacy: 'closed' });
  await manager.request('room.invite', { roomId: second.roomId, uris: [BOB] });
  const offsite = bob.locator(`[data-testid="my-room"][data-room-id="${second.roomId}"]`);
  await see(offsite);
  await offsite.click();
  await bob.locator(`[data-testid="room-view"][data-room-id="${second.roomId}"] [data-testid="room-messages"][data-loaded="yes"]`).waitFor();
  await manager.request('room.delete', { roomId: second.roomId });
  await see(bob.getByTestId('room-removed-notice').filter({ hasText: 'Offsite was deleted' }));
  await offsite.waitFor({ state: 'detached' });
  expect(await bob.getByTestId('room-view').count()).toBe(0);
});
