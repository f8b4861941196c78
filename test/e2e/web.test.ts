import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Locator, Page } from 'playwright-core';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { BrowserSession, see, signIn as signInAs } from '../support/web';

/**
 * The browser app (web/) in Debian's Chromium, driven by playwright-core against a local cloud of its own:
 * what a person does in two tabs. Screenshots of each main view are taken (docs/screenshots/ with UPDATE_SCREENSHOTS=1).
 */

const ROOT = resolve(__dirname, '..', '..');
// The README's pictures are rewritten only when asked (`UPDATE_SCREENSHOTS=1 npx jest test/e2e/web.test.ts`), so a
// test run leaves the work tree clean; otherwise they are still taken, into a scratch folder.
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : join(tmpdir(), 'uc-web-screenshots');
const IDLE_SECONDS = 10;

const ALICE = 'sip:alice@contoso.com';
const BOB = 'sip:bob@contoso.com';
/** The app's room directory page (`ROOM_PAGE_SIZE` in web/src/use-rooms.ts). */
const ROOM_PAGE_SIZE = 20;

let cloud: TestCloud;
let browser: BrowserSession;

jest.setTimeout(180_000);

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  cloud = await startTestCloud({
    env: {
      CONVERSATION_IDLE_SECONDS: String(IDLE_SECONDS),
      CONFERENCE_NO_ENTERPRISE_SECONDS: '3',
      CHAT_HISTORY_PAGE_SIZE: '5',
    },
  });
  browser = await BrowserSession.launch();
});

afterEach(async () => {
  const errors = await browser.closeTabs();
  expect(errors).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await cloud?.stop();
});

/** A fresh browser context (its own storage: another person) with one tab. */
function newTab(): Promise<Page> {
  return browser.newTab({ acceptDownloads: true });
}

/** Signs in through the local OIDC issuer (test/support/web.ts), with a screenshot of its form when asked. */
async function signIn(page: Page, uri: string, name: string, kind: string, screenshot?: string, appUrl = cloud.cloud.url + '/'): Promise<void> {
  await signInAs(page, cloud, { uri, name, kind, appUrl, ...(screenshot ? { beforeSubmit: (form: Page) => shot(form, screenshot) } : {}) });
  expect(await page.getByTestId('me-uri').textContent()).toBe(uri);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

function roomMessage(page: Page, text: string): Locator {
  return page.getByTestId('room-message').filter({ hasText: text });
}

async function postInRoom(page: Page, text: string): Promise<void> {
  await page.getByTestId('room-post-text').fill(text);
  await page.getByTestId('room-post-submit').click();
  await see(roomMessage(page, text));
}

function contact(page: Page, uri: string, availability?: string): Locator {
  return page.locator(`[data-testid="contact"][data-uri="${uri}"]${availability ? `[data-availability="${availability}"]` : ''}`);
}

test('issue 19: the app signs in through the local OIDC issuer (code + PKCE) and connects with its RS256 ID token; a reload connects again, refreshing a token near its end', async () => {
  const page = await newTab();
  const sockets: string[] = [];
  page.on('websocket', (socket) => sockets.push(socket.url()));
  // The app on localhost, as the README says to open it: the issuer (127.0.0.1) is then another origin (CORS).
  const appUrl = `http://localhost:${cloud.cloud.port}/`;
  await signIn(page, 'sip:gina@example.org', 'Gina (guest)', 'anonymous', undefined, appUrl);
  expect(page.url()).toBe(appUrl);
  expect(await page.getByTestId('me-kind').textContent()).toBe('anonymous');
  expect(await page.getByTestId('me-name').textContent()).toBe('Gina (guest)');
  const first = new URL(sockets[0]!);
  expect(first.searchParams.get('device')).toBe('web');
  const token = first.searchParams.get('token')!;
  expect(decodeProtectedHeader(token).alg).toBe('RS256');
  expect(decodeJwt(token)).toMatchObject({ iss: cloud.cloud.oidc.issuer, sub: 'sip:gina@example.org' });

  // A reload reconnects with the tab's stored sign-in; its ID token about to expire, the refresh token gets a fresh one.
  await page.evaluate(() => {
    const storage = (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void } }).sessionStorage;
    const key = Object.keys(storage).find((name) => name.startsWith('oidc.user:'))!;
    const user = JSON.parse(storage.getItem(key)!) as { expires_at: number };
    storage.setItem(key, JSON.stringify({ ...user, expires_at: Math.floor(Date.now() / 1000) + 30 }));
  });
  await page.reload();
  await page.locator('[data-testid="conn-state"][data-state="open"]').waitFor();
  expect(await page.getByTestId('me-uri').textContent()).toBe('sip:gina@example.org');
  expect(sockets).toHaveLength(2);
  const refreshed = new URL(sockets[1]!).searchParams.get('token')!;
  expect(refreshed).not.toBe(token);
  expect(decodeJwt(refreshed)).toMatchObject({ iss: cloud.cloud.oidc.issuer, sub: 'sip:gina@example.org' });

  await page.getByTestId('signout').click();
  await see(page.getByTestId('signin-start'));
  await page.reload();
  await see(page.getByTestId('signin-start'));
});

test('two users chat in a room: history pages, live messages both ways, a file, message search, a secret room invitation, and directory pages', async () => {
  const alice = await newTab();
  const bob = await newTab();
  await signIn(alice, ALICE, 'Alice', 'enterprise', 'sign-in');
  await signIn(bob, BOB, 'Bob', 'enterprise');

  for (const name of ['Design system', 'Design review']) {
    await alice.getByTestId('room-create-name').fill(name);
    await alice.getByTestId('room-create-submit').click();
    await see(alice.locator('[data-testid="room-title"]', { hasText: name }));
  }
  for (let index = 1; index <= 6; index++) await postInRoom(alice, `update ${index}`);

  // Bob finds the room by searching, opens it, and sees the newest page (5) with older ones a click away.
  await bob.getByTestId('room-search').fill('desi');
  await bob.getByTestId('room-search-submit').click();
  await see(bob.getByTestId('room-result').filter({ hasText: 'Design review' }));
  await see(bob.getByTestId('room-result').filter({ hasText: 'Design system' }));
  await shot(bob, 'rooms');
  await bob.getByTestId('room-result').filter({ hasText: 'Design review' }).click();
  await bob.locator('[data-testid="room-messages"][data-loaded="yes"]').waitFor();
  await see(roomMessage(bob, 'update 6'));
  expect(await bob.getByTestId('room-message').count()).toBe(5);
  expect(await roomMessage(bob, 'update 1').count()).toBe(0);
  await bob.getByTestId('room-older').click();
  await see(roomMessage(bob, 'update 1'));
  expect(await bob.getByTestId('room-message').count()).toBe(6);
  await bob.getByTestId('room-older').waitFor({ state: 'detached' });
  await see(bob.getByTestId('my-room').filter({ hasText: 'Design review' }));

  // Live both ways.
  await postInRoom(bob, 'Looks good to me');
  await see(roomMessage(alice, 'Looks good to me'));
  await postInRoom(alice, 'Thanks Bob!');
  await see(roomMessage(bob, 'Thanks Bob!'));

  // A file: uploaded beside the WebSocket, posted with its fileId, downloaded by Bob through a fresh URL.
  const agenda = 'Agenda\n1. Colours\n2. Icons\n';
  await alice.getByTestId('room-attach').setInputFiles({ name: 'agenda.txt', mimeType: 'text/plain', buffer: Buffer.from(agenda) });
  await see(alice.getByTestId('room-attachment-pending'));
  await alice.getByTestId('room-post-text').fill('The agenda for Thursday');
  await alice.getByTestId('room-post-submit').click();
  const bobsFile = roomMessage(bob, 'The agenda for Thursday').getByTestId('file-link');
  await see(bobsFile);
  expect(await bobsFile.textContent()).toContain('agenda.txt');
  await shot(bob, 'room');
  const [download] = await Promise.all([bob.waitForEvent('download'), bobsFile.click()]);
  expect(download.suggestedFilename()).toBe('agenda.txt');
  expect(readFileSync(await download.path())).toEqual(Buffer.from(agenda));
  expect(await alice.getByTestId('room-post-error').count()).toBe(0);

  // Bob searches the room's messages: only the matches (newest first, instead of the history), then back to the room.
  await bob.getByTestId('room-message-search').fill('update');
  await bob.getByTestId('room-message-search-submit').click();
  await bob.locator('[data-testid="room-message-search-summary"][data-count="6"]').waitFor();
  const found = bob.getByTestId('room-message-search-results').getByTestId('message-text');
  expect(await found.allTextContents()).toEqual(['update 6', 'update 5', 'update 4', 'update 3', 'update 2', 'update 1']);
  await bob.getByTestId('room-messages').waitFor({ state: 'hidden' });
  await shot(bob, 'room-search');
  await bob.getByTestId('room-message-search').fill('bob THANKS');
  await bob.getByTestId('room-message-search-submit').click();
  await bob.locator('[data-testid="room-message-search-summary"][data-count="1"]').waitFor();
  expect(await found.allTextContents()).toEqual(['Thanks Bob!']);
  await bob.getByTestId('room-message-search-clear').click();
  await bob.getByTestId('room-message-search-results').waitFor({ state: 'detached' });
  await see(roomMessage(bob, 'Looks good to me'));
  expect(await bob.getByTestId('room-message-search').inputValue()).toBe('');

  // A secret room: Bob cannot find it. Alice, its manager, invites him; the invitation shows up live and he joins from it.
  await alice.getByTestId('room-create-name').fill('Leadership');
  await alice.getByTestId('room-create-privacy').selectOption('secret');
  await alice.getByTestId('room-create-submit').click();
  await see(alice.locator('[data-testid="room-title"]', { hasText: 'Leadership' }));
  await see(alice.getByTestId('room-invite-uris'));
  await bob.getByTestId('room-search').fill('lead');
  await bob.getByTestId('room-search-submit').click();
  await see(bob.locator('[data-testid="room-search-results"][data-query="lead"] [data-testid="room-search-empty"]'));
  expect(await bob.getByTestId('room-invitation').count()).toBe(0);
  await alice.getByTestId('room-invite-uris').fill('bob');
  await alice.getByTestId('room-invite-submit').click();
  await see(alice.getByTestId('room-invite-error').filter({ hasText: "isn't valid: write each one like alice@contoso.com" }));
  await alice.getByTestId('room-invite-uris').fill('bob@contoso.com');
  await alice.getByTestId('room-invite-submit').click();
  await see(alice.getByTestId('room-invite-result').filter({ hasText: 'Invited bob.' }));
  expect(await alice.getByTestId('room-invite-error').count()).toBe(0);
  const invitation = bob.locator('[data-testid="room-invitation"][data-name="Leadership"]');
  await see(invitation);
  expect(await invitation.textContent()).toContain('from Alice');
  await invitation.getByTestId('room-invitation-join').click();
  await see(bob.locator('[data-testid="room-title"]', { hasText: 'Leadership' }));
  await bob.locator('[data-testid="room-role"][data-role="member"]').waitFor();
  await invitation.waitFor({ state: 'detached' });
  await see(bob.getByTestId('my-room').filter({ hasText: 'Leadership' }));
  expect(await bob.getByTestId('room-invite-uris').count()).toBe(0);
  await postInRoom(bob, 'Count me in');
  await see(roomMessage(alice, 'Count me in'));

  // The directory pages: with more rooms than a page, "More rooms" appends the next one (the rooms are made by the client library: quicker).
  const api = await cloud.client(ALICE);
  for (let index = 1; index <= ROOM_PAGE_SIZE + 2; index++) await api.request('room.create', { name: `Team ${String(index).padStart(2, '0')}` });
  await api.disconnect();
  await bob.getByTestId('room-search').fill('team');
  await bob.getByTestId('room-search-submit').click();
  const teamRooms = bob.locator('[data-testid="room-search-results"][data-query="team"] [data-testid="room-result"]');
  await see(teamRooms.filter({ hasText: `Team ${ROOM_PAGE_SIZE}` }));
  expect(await teamRooms.count()).toBe(ROOM_PAGE_SIZE);
  await bob.getByTestId('room-search-more').click();
  await see(teamRooms.filter({ hasText: `Team ${ROOM_PAGE_SIZE + 2}` }));
  expect(await teamRooms.count()).toBe(ROOM_PAGE_SIZE + 2);
  expect(await teamRooms.first().getAttribute('data-name')).toBe('Team 01');
  await bob.getByTestId('room-search-more').waitFor({ state: 'detached' });
  expect(await bob.getByTestId('rooms-error').count()).toBe(0);
});

test('contacts see each other’s presence change live', async () => {
  const alice = await newTab();
  const bob = await newTab();
  await signIn(alice, ALICE, 'Alice', 'enterprise');
  await signIn(bob, BOB, 'Bob', 'enterprise');
  for (const [page, other] of [
    [alice, BOB],
    [bob, ALICE],
  ] as const) {
    await page.getByTestId('tab-contacts').click();
    await page.getByTestId('contact-add-uri').fill(other);
    await page.getByTestId('contact-add-submit').click();
    await see(contact(page, other, 'online'));
  }

  await bob.getByTestId('presence-select').selectOption('busy');
  await see(contact(alice, BOB, 'busy'));
  expect(await contact(alice, BOB).getByTestId('contact-availability').textContent()).toBe('Busy');
  await bob.getByTestId('presence-note').fill('In the design review until 3');
  await bob.getByTestId('presence-note-save').click();
  await see(contact(alice, BOB).getByTestId('contact-note').filter({ hasText: 'In the design review until 3' }));

  await alice.getByTestId('presence-select').selectOption('away');
  await see(contact(bob, ALICE, 'away'));
  await alice.getByTestId('presence-select').selectOption('auto');
  await see(contact(bob, ALICE, 'online'));

  // Carol never signs in: offline.
  await alice.getByTestId('contact-add-uri').fill('carol@contoso.com');
  await alice.getByTestId('contact-add-submit').click();
  await see(contact(alice, 'sip:carol@contoso.com', 'offline'));
  await shot(alice, 'contacts');
});

test('IM: a conversation opens on the other side, shows typing, ends when idle, and goes on in the same view', async () => {
  const alice = await newTab();
  const bob = await newTab();
  await signIn(alice, ALICE, 'Alice', 'enterprise');
  await signIn(bob, BOB, 'Bob', 'enterprise');

  await alice.getByTestId('tab-im').click();
  await alice.getByTestId('im-start-uri').fill(BOB);
  await alice.getByTestId('im-start-submit').click();
  await alice.getByTestId('im-text').fill('Hi Bob, got a minute?');
  await alice.getByTestId('im-send').click();
  await see(alice.getByTestId('im-message').filter({ hasText: 'Hi Bob, got a minute?' }));

  // Bob's IM tab lights up; the conversation is there when he opens it.
  await see(bob.getByTestId('tab-im-attention'));
  await bob.getByTestId('tab-im').click();
  await see(bob.getByTestId('im-message').filter({ hasText: 'Hi Bob, got a minute?' }));

  await bob.getByTestId('im-text').pressSequentially('Sure, what', { delay: 40 });
  await see(alice.getByTestId('im-typing').filter({ hasText: 'Bob is typing…' }));
  await shot(alice, 'im');
  await bob.getByTestId('im-text').fill('Sure, what is up?');
  await bob.getByTestId('im-send').click();
  await see(alice.getByTestId('im-message').filter({ hasText: 'Sure, what is up?' }));
  const firstId = await alice.getByTestId('im-view').getAttribute('data-conversation-id');
  expect(firstId).toBeTruthy();

  // Nobody writes for IDLE_SECONDS: the conversation ends for both, with the reason.
  const ended = (IDLE_SECONDS + 40) * 1000;
  await see(alice.locator('[data-testid="im-ended"][data-reason="idle"]'), ended);
  await see(bob.locator('[data-testid="im-ended"][data-reason="idle"]'), ended);
  expect(await alice.getByTestId('im-ended').textContent()).toContain('Conversation ended — no messages for a while');

  // Writing again goes on in the same view, under the new conversation the server opened.
  await alice.getByTestId('im-text').fill('Still there?');
  await alice.getByTestId('im-send').click();
  await see(bob.getByTestId('im-message').filter({ hasText: 'Still there?' }));
  await alice.locator('[data-testid="im-view"][data-ended="no"]').waitFor();
  const secondId = await alice.getByTestId('im-view').getAttribute('data-conversation-id');
  expect(secondId).toBeTruthy();
  expect(secondId).not.toBe(firstId);
  expect(await bob.getByTestId('im-conversation-item').count()).toBe(1);
  expect(await bob.getByTestId('im-view').getAttribute('data-conversation-id')).toBe(secondId);
  await shot(bob, 'im-ended');
});

test('meeting: lobby admit and deny, shared content, lock, and the guest sees it deactivated (noEnterprise) after the organizer leaves', async () => {
  const alice = await newTab();
  const guest = await newTab();
  const other = await newTab();
  await signIn(alice, ALICE, 'Alice', 'enterprise');
  await signIn(guest, 'sip:gina@example.org', 'Gina (guest)', 'anonymous');
  await signIn(other, 'sip:gus@example.org', 'Gus (guest)', 'anonymous');

  await alice.getByTestId('tab-meetings').click();
  await alice.getByTestId('conf-subject').fill('Quarterly review');
  await alice.getByTestId('conf-admission').selectOption('organization');
  await alice.getByTestId('conf-schedule').click();
  const scheduled = alice.getByTestId('conf-scheduled-item').first();
  await see(scheduled);
  const joinUrl = (await scheduled.getByTestId('conf-scheduled-url').textContent())!.trim();
  // The join link opens the web app this cloud serves (WEB_APP_URL), on the meeting's page (SPEC §9).
  expect(joinUrl.startsWith(`${cloud.cloud.url}/join/`)).toBe(true);
  await scheduled.getByTestId('conf-scheduled-join').click();
  await alice.locator('[data-testid="meeting-view"][data-status="joined"]').waitFor();
  expect(await alice.getByTestId('meeting-role').textContent()).toBe('presenter');
  await see(alice.locator(`[data-testid="roster-entry"][data-uri="${ALICE}"]`));

  // A guest opens the link itself (SPEC §9: it takes the visitor straight to the meeting): the lobby, then Alice admits her.
  await guest.goto(joinUrl);
  await see(guest.getByTestId('meeting-lobby-wait'));
  expect(new URL(guest.url()).pathname).toBe('/');
  await see(alice.getByTestId('tab-meetings')); // still on the meetings tab
  await see(alice.locator('[data-testid="lobby-entry"][data-uri="sip:gina@example.org"]'));
  await alice.locator('[data-testid="lobby-entry"][data-uri="sip:gina@example.org"]').getByTestId('lobby-admit').click();
  await guest.locator('[data-testid="meeting-view"][data-status="joined"]').waitFor();
  await see(guest.locator(`[data-testid="roster-entry"][data-uri="${ALICE}"]`));
  await see(alice.locator('[data-testid="roster-entry"][data-uri="sip:gina@example.org"]'));

  // Shared content: Alice (a presenter) shares a link and a document; the guest (an attendee: no share form) sees them after
  // a Refresh, as there is no content event. A link other than http(s) (here added by the organizer's client library) is text.
  await guest.locator('[data-testid="content-list"][data-loaded="yes"]').waitFor();
  await see(guest.getByTestId('content-empty'));
  expect(await guest.getByTestId('content-add').count()).toBe(0);
  await alice.getByTestId('content-add-title').fill('Q3 slides');
  await alice.getByTestId('content-add-body').fill('https://example.com/q3/slides?view=1');
  await alice.getByTestId('content-add-submit').click();
  await see(alice.getByTestId('content-link').filter({ hasText: 'Q3 slides' }));
  await alice.getByTestId('content-add-title').fill('Launch');
  await alice.getByTestId('content-add-body').fill('javascript:alert(1)');
  await alice.getByTestId('content-add-submit').click();
  await see(alice.getByTestId('content-add-error').filter({ hasText: 'http' }));
  const agendaText = '1. Numbers\n2. <b>Hiring</b> & plans\n3. Questions';
  await alice.getByTestId('content-add-title').fill('Agenda');
  await alice.getByTestId('content-add-kind').selectOption('document');
  await alice.getByTestId('content-add-body').fill(agendaText);
  await alice.getByTestId('content-add-submit').click();
  await see(alice.getByTestId('content-document'));
  expect(await alice.getByTestId('content-add-error').count()).toBe(0);
  const confId = (await alice.getByTestId('meeting-view').getAttribute('data-conf-id'))!;
  const organizer = await cloud.client(ALICE);
  await organizer.request('conf.content.add', { confId, title: 'Not a web link', kind: 'link', body: 'javascript:alert(document.cookie)' });
  await organizer.disconnect();
  await guest.getByTestId('content-refresh').click();
  const slides = guest.getByTestId('content-link').filter({ hasText: 'Q3 slides' });
  await see(slides);
  expect(await slides.getAttribute('href')).toBe('https://example.com/q3/slides?view=1');
  expect(await slides.getAttribute('rel')).toBe('noopener noreferrer');
  expect(await slides.getAttribute('target')).toBe('_blank');
  await see(guest.getByTestId('content-item').filter({ hasText: 'Not a web link' }));
  const notLink = guest.getByTestId('content-item').filter({ hasText: 'Not a web link' });
  expect(await notLink.getByTestId('content-link').count()).toBe(0);
  expect(await notLink.locator('a').count()).toBe(0);
  expect(await notLink.locator('[data-testid="content-url"][data-safe="no"]').count()).toBe(1);
  const agendaDocument = guest.getByTestId('content-document');
  expect(await agendaDocument.textContent()).toBe(agendaText);
  expect(await agendaDocument.locator('b').count()).toBe(0);
  expect(await guest.getByTestId('content-item').count()).toBe(3);
  await shot(guest, 'meeting-content');

  // Another guest waits; Alice (with both in view) denies him.
  await other.getByTestId('tab-meetings').click();
  await other.getByTestId('conf-join-input').fill(joinUrl);
  await other.getByTestId('conf-join-submit').click();
  await see(other.getByTestId('meeting-lobby-wait'));
  await see(alice.locator('[data-testid="lobby-entry"][data-uri="sip:gus@example.org"]'));
  await shot(alice, 'meeting');
  await alice.locator('[data-testid="lobby-entry"][data-uri="sip:gus@example.org"]').getByTestId('lobby-deny').click();
  await see(other.getByTestId('meeting-denied'));

  // Locked: nobody new gets in (403), shown inline in words.
  await alice.getByTestId('meeting-lock').click();
  await see(alice.getByTestId('meeting-locked'));
  expect(await alice.getByTestId('meeting-lock').textContent()).toBe('Unlock');
  await other.getByTestId('conf-join-submit').click();
  await see(other.getByTestId('conf-join-error').filter({ hasText: 'The meeting is locked: nobody new can join' }));

  // The organizer leaves: with no enterprise participant left, the meeting is deactivated for the guest.
  await alice.getByTestId('meeting-leave').click();
  await see(alice.getByTestId('meeting-left'));
  const banner = guest.locator('[data-testid="meeting-deactivated"][data-reason="noEnterprise"]');
  await see(banner);
  expect(await banner.textContent()).toMatch(/^Meeting ended: no one from the organization was left in the meeting\.$/);
  await shot(guest, 'meeting-deactivated');
});
