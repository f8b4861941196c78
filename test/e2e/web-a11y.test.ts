import type { Page } from 'playwright-core';
import { AUDIT_TAGS, auditPage, describeViolations, failingViolations, keyboardGaps } from '../support/axe';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { BrowserSession, see } from '../support/web';

/**
 * The accessibility audit of the web app (issue 23 item 8; docs/web.md, "Accessibility"): axe-core on every main view,
 * at desktop size and on a 390×844 phone, in Debian's Chromium against a local cloud of its own. No view may have a
 * serious or critical violation of WCAG 2.0/2.1 A and AA or of axe's best practices.
 */

const DESKTOP = { width: 1280, height: 760 };
const PHONE = { width: 390, height: 844 };
const ALICE = 'sip:alice@contoso.com';
const BOB = 'sip:bob@contoso.com';
const GUEST = 'sip:gina@example.org';

let cloud: TestCloud;
let browser: BrowserSession;

// 21 audits in one journey: generous, for a loaded two-core machine.
jest.setTimeout(300_000);

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

/** Every view's serious and critical violations, gathered so that one run lists them all. */
const failures: string[] = [];

/** Audits the page as it is at desktop size, then at phone size (the same state; one pane at a time there), and back. */
async function audit(page: Page, view: string, sizes: ReadonlyArray<'desktop' | 'phone'> = ['desktop', 'phone']): Promise<void> {
  for (const size of sizes) {
    const viewport = size === 'desktop' ? DESKTOP : PHONE;
    await page.setViewportSize(viewport);
    const started = Date.now();
    const violations = await auditPage(page);
    if (process.env.A11Y_VERBOSE === '1') console.info(`${view} (${size}): audited in ${Date.now() - started} ms`);
    const failing = failingViolations(violations);
    if (failing.length > 0) failures.push(`${view} (${size}):\n${describeViolations(failing)}`);
    const gaps = await keyboardGaps(page);
    if (gaps.length > 0) failures.push(`${view} (${size}), keyboard:\n${gaps.map((gap) => `  ${gap}`).join('\n')}`);
    if (process.env.A11Y_VERBOSE === '1' && violations.length > failing.length) {
      console.info(`${view} (${size}), minor and moderate:\n${describeViolations(violations.filter((violation) => !failing.includes(violation)))}`);
    }
  }
  await page.setViewportSize(DESKTOP);
}

/** A tab whose pages can take the injected audit script even under a Content-Security-Policy (the issuer's form has one). */
function newTab(): Promise<Page> {
  return browser.newTab({ viewport: DESKTOP, bypassCSP: true });
}

async function signIn(page: Page, uri: string, name: string, kind: string, audited: boolean): Promise<void> {
  await page.goto(cloud.cloud.url + '/');
  if (audited) await audit(page, 'the sign-in page');
  await page.getByTestId('signin-start').click();
  await page.waitForURL(`${cloud.cloud.oidc.issuer}/authorize?*`);
  if (audited) await audit(page, "the issuer's sign-in form");
  await page.getByTestId('signin-uri').fill(uri);
  await page.getByTestId('signin-name').fill(name);
  await page.getByTestId('signin-kind').selectOption(kind);
  await page.getByTestId('signin-submit').click();
  await page.locator('[data-testid="conn-state"][data-state="open"]').waitFor();
}

test(`every main view, desktop and phone: no serious or critical axe-core violation (${AUDIT_TAGS.join(', ')})`, async () => {
  const bob = await cloud.client(BOB);
  const alice = await newTab();
  // The audit finds what it should (so that a clean result means something): a nameless button, a file input Tab cannot
  // reach, a mouse-only action.
  await alice.setContent('<!doctype html><html lang="en"><title>Bad</title><main><h1>Bad</h1><button></button><label>Attach <input type="file" style="display:none"></label><p style="cursor:pointer">Dismiss</p></main></html>');
  expect(failingViolations(await auditPage(alice)).map((violation) => violation.id)).toEqual(['button-name']);
  expect(await keyboardGaps(alice)).toEqual([expect.stringContaining('cannot be reached with Tab'), expect.stringContaining('p has a pointer cursor')]);

  await signIn(alice, ALICE, 'Alice', 'enterprise', true);

  // Rooms, the list: an invitation waiting, my rooms, search, new room.
  const { roomId } = await bob.request('room.create', { name: 'Launch', privacy: 'closed' });
  await bob.request('room.invite', { roomId, uris: [ALICE] });
  const invitation = alice.locator(`[data-testid="room-invitation"][data-room-id="${roomId}"]`);
  await see(invitation);
  await audit(alice, 'Rooms (list, an invitation)');
  // The phone's compact header: its menu (account, presence note, notifications) open.
  await alice.setViewportSize(PHONE);
  await alice.getByTestId('header-menu').click();
  await see(alice.getByTestId('presence-note'));
  await audit(alice, 'the header menu on a phone', ['phone']);
  await alice.setViewportSize(PHONE);
  await alice.getByTestId('header-menu').click();
  await alice.getByTestId('presence-note').waitFor({ state: 'hidden' });
  await alice.setViewportSize(DESKTOP);

  // Rooms, an open room with messages and a message's menu open.
  await invitation.getByTestId('room-invitation-join').click();
  await alice.locator(`[data-testid="room-view"][data-room-id="${roomId}"] [data-testid="room-messages"][data-loaded="yes"]`).waitFor();
  await bob.post(roomId, 'Release notes are in, @alice@contoso.com', { mentions: [ALICE] });
  await alice.getByTestId('room-post-text').fill('Ship on Friday');
  await alice.getByTestId('room-post-submit').click();
  const mine = alice.getByTestId('room-message').filter({ hasText: 'Ship on Friday' });
  await see(mine);
  await see(alice.getByTestId('room-message').filter({ hasText: 'Release notes are in' }));
  await mine.getByTestId('message-menu').click();
  await see(alice.getByRole('menuitem', { name: 'Edit' }));
  // Audited once what loads after the room (its occupants) is in: not while the DOM changes under axe.
  await alice.locator('[data-testid="room-occupants"][data-loaded="yes"]').waitFor();
  await audit(alice, 'Rooms (an open room, a message menu open)');
  await alice.keyboard.press('Escape');
  await alice.getByTestId('room-leave').click();
  await see(alice.getByTestId('room-confirm'));
  await audit(alice, 'Rooms (leaving asked first)');
  await alice.getByTestId('room-confirm-cancel').click();

  // Contacts, with a contact.
  await alice.getByTestId('tab-contacts').click();
  await alice.getByTestId('contact-add-uri').fill(BOB);
  await alice.getByTestId('contact-add-submit').click();
  await see(alice.locator(`[data-testid="contact"][data-uri="${BOB}"]`));
  await audit(alice, 'Contacts (a contact)');

  // IM, an open conversation.
  await bob.sendIm({ to: ALICE, text: 'Are you joining the review?' });
  await alice.getByTestId('tab-im').click();
  await alice.locator(`[data-testid="im-conversation-item"][data-peers="${BOB}"]`).click();
  await see(alice.getByTestId('im-message').filter({ hasText: 'Are you joining the review?' }));
  await alice.locator('[data-testid="im-messages"][data-history="loaded"]').waitFor();
  await audit(alice, 'IM (an open conversation)');

  // Meetings: My meetings, then in the meeting as presenter (roster, lobby, chat); a guest in the lobby.
  await alice.getByTestId('tab-meetings').click();
  await alice.getByTestId('conf-subject').fill('Weekly sync');
  await alice.getByTestId('conf-schedule').click();
  const listed = alice.locator('[data-testid="my-meeting"]', { hasText: 'Weekly sync' });
  await see(listed);
  const confId = (await listed.getAttribute('data-conf-id'))!;
  await audit(alice, 'Meetings (My meetings)');

  await listed.getByTestId('my-meeting-join').click();
  await alice.locator('[data-testid="meeting-view"][data-status="joined"]').waitFor();
  const guest = await newTab();
  await signIn(guest, GUEST, 'Gina (guest)', 'anonymous', false);
  await guest.goto(`${cloud.cloud.url}/join/${confId}`);
  await see(guest.getByTestId('meeting-lobby-wait'));
  await audit(guest, 'Meetings (a guest in the lobby)');

  await see(alice.locator(`[data-testid="lobby-entry"][data-uri="${GUEST}"]`));
  await alice.getByTestId('meeting-chat-text-input').fill('Agenda first');
  await alice.getByTestId('meeting-chat-send').click();
  await see(alice.getByTestId('meeting-chat-message').filter({ hasText: 'Agenda first' }));
  await alice.locator('[data-testid="content-list"][data-loaded="yes"]').waitFor();
  await audit(alice, 'Meetings (in a meeting as presenter: roster, lobby, chat)');

  if (failures.length > 0) throw new Error(`accessibility audit: serious or critical violations\n\n${failures.join('\n\n')}`);
});
