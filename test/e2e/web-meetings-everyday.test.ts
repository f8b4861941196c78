import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { BrowserSession, see, signIn } from '../support/web';

/**
 * Meetings and guests every day (issue 23 items 1, 2, 5, 6, 7; docs/web.md "Meetings and guests"), in Chromium
 * against a local cloud of its own: the organizer copies the join link, a signed-out guest opens it on a phone
 * (390×844), signs in and waits in the lobby until admitted; the organizer reloads mid-meeting and is back in it, and
 * after the API restarts both join again; a guest leaves the lobby (the organizer's list empties), is told in words
 * when no presenter is in (the last one left, or the meeting ended and "Join again" opened an empty lobby), and a
 * wrong meeting id is said in words.
 */

const ROOT = resolve(__dirname, '..', '..');
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : join(tmpdir(), 'uc-web-screenshots');
const PHONE = { width: 390, height: 844 };
const OLIVIA = 'sip:olivia@contoso.com';
const GAIL = 'sip:gail@example.org';
const GUS = 'sip:gus@example.org';
const NO_PRESENTER = "No presenter is in the meeting right now. You'll be let in when one joins.";

let cloud: TestCloud;
let browser: BrowserSession;

jest.setTimeout(120_000);

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
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

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

function lobbyWait(page: Page, presenterPresent: 'yes' | 'no') {
  return page.locator(`[data-testid="meeting-lobby-wait"][data-presenter-present="${presenterPresent}"]`);
}

test('a guest joins from the copied link on a phone; the organizer reloads and is back in; leaving the lobby, no presenter in, and a wrong id, all in words', async () => {
  // The organizer schedules, copies the link (the clipboard holds it; "Copied" is said), and starts the meeting.
  const olivia = await browser.newTab({ permissions: ['clipboard-read', 'clipboard-write'] });
  await signIn(olivia, cloud, { uri: OLIVIA, name: 'Olivia' });
  await olivia.getByTestId('tab-meetings').click();
  await olivia.getByTestId('conf-subject').fill('Phone standup');
  await olivia.getByTestId('conf-admission').selectOption('organization');
  await olivia.getByTestId('conf-schedule').click();
  const scheduled = olivia.getByTestId('conf-scheduled-item').filter({ hasText: 'Phone standup' });
  await see(scheduled);
  const confId = (await scheduled.getAttribute('data-conf-id'))!;
  const joinUrl = (await scheduled.getByTestId('conf-scheduled-url').textContent())!.trim();
  expect(joinUrl).toBe(`${cloud.cloud.url}/join/${confId}`);
  // "Copied" shows for 4 s: waited for from before the click, so a slow machine cannot miss it.
  await Promise.all([see(scheduled.getByRole('status').filter({ hasText: 'Copied' })), scheduled.getByRole('button', { name: 'Copy link to Phone standup' }).click()]);
  expect(await olivia.evaluate<string>('navigator.clipboard.readText()')).toBe(joinUrl);
  await scheduled.getByTestId('conf-scheduled-join').click();
  await olivia.locator('[data-testid="meeting-view"][data-status="joined"]').waitFor();
  expect((await olivia.getByTestId('meeting-link-url').textContent())!.trim()).toBe(joinUrl);

  // A signed-out guest opens the link on a phone: sign in (anonymous), then straight to the lobby, told a presenter is in.
  const gail = await browser.newTab({ viewport: PHONE });
  await signIn(gail, cloud, { uri: GAIL, name: 'Gail (guest)', kind: 'anonymous', appUrl: joinUrl });
  await see(lobbyWait(gail, 'yes'));
  expect(await gail.getByTestId('tab-rooms').count()).toBe(0);
  expect(await gail.getByTestId('conf-join-input').isVisible()).toBe(false);
  await see(gail.getByTestId('meeting-lobby-cancel'));
  await shot(gail, 'phone-meeting-lobby');
  await olivia.locator(`[data-testid="lobby-entry"][data-uri="${GAIL}"]`).getByTestId('lobby-admit').click();
  await gail.locator('[data-testid="meeting-view"][data-status="joined"]').waitFor();
  await see(gail.locator(`[data-testid="roster-entry"][data-uri="${OLIVIA}"]`));
  // On the phone: the meeting's chat box is reachable (the meeting scrolls), Back shows the list and the way back in.
  const chatBox = gail.getByTestId('meeting-chat-text-input');
  await chatBox.scrollIntoViewIfNeeded();
  const box = (await chatBox.boundingBox())!;
  expect(box.y + box.height).toBeLessThanOrEqual(PHONE.height);
  expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
  await gail.getByTestId('meetings-back').click();
  await see(gail.getByTestId('conf-join-input'));
  await gail.getByTestId('meeting-current-open').click();
  await see(gail.getByTestId('meeting-subject').filter({ hasText: 'Phone standup' }));
  await shot(gail, 'phone-meeting');

  // The organizer reloads mid-meeting: back in it (this tab remembered it), and "My meetings" lists it (conf.list).
  await olivia.reload();
  await olivia.locator(`[data-testid="meeting-view"][data-conf-id="${confId}"][data-status="joined"]`).waitFor();
  await see(olivia.locator(`[data-testid="my-meeting"][data-conf-id="${confId}"]`));
  await see(olivia.locator(`[data-testid="roster-entry"][data-uri="${GAIL}"]`));

  // The WebSocket API restarts: both reconnect and join again (the organizer straight in, the guest through the lobby).
  await cloud.cloud.gateway.outage(true);
  await cloud.cloud.gateway.outage(false);
  const gailWaitingAgain = olivia.locator(`[data-testid="lobby-entry"][data-uri="${GAIL}"]`);
  await see(gailWaitingAgain);
  // Her page shows the wait again (the status stays 'joined' until then, so the waits below would prove nothing).
  await see(lobbyWait(gail, 'yes'));
  await olivia.locator(`[data-testid="meeting-view"][data-conf-id="${confId}"][data-status="joined"]`).waitFor();
  await gailWaitingAgain.getByTestId('lobby-admit').click();
  await gail.locator('[data-testid="meeting-view"][data-status="joined"]').waitFor();
  await see(olivia.locator(`[data-testid="roster-entry"][data-uri="${GAIL}"]`));

  // Another guest: a wrong id is said in words next to the field; then the lobby, and leaving it empties the organizer's list.
  const gus = await browser.newTab();
  await signIn(gus, cloud, { uri: GUS, name: 'Gus (guest)', kind: 'anonymous' });
  await gus.getByTestId('conf-join-input').fill('conf_doesnotexist');
  await gus.getByTestId('conf-join-submit').click();
  const error = gus.getByTestId('conf-join-error');
  await see(error);
  expect(await error.textContent()).toMatch(/meeting/i);
  expect(await error.textContent()).not.toMatch(/conf\.|conf_|404|NotFound/);
  expect(await gus.getByTestId('conf-join-input').getAttribute('aria-invalid')).toBe('true');
  await gus.getByTestId('conf-join-input').fill(joinUrl);
  await gus.getByTestId('conf-join-submit').click();
  await see(lobbyWait(gus, 'yes'));
  const gusWaiting = olivia.locator(`[data-testid="lobby-entry"][data-uri="${GUS}"]`);
  await see(gusWaiting);
  await gus.getByTestId('meeting-lobby-cancel').click();
  await see(gus.getByTestId('meeting-left').filter({ hasText: 'You left the lobby.' }));
  await gusWaiting.waitFor({ state: 'detached' });

  // Waiting again, the only presenter leaves (rather than ending): Gus is told in words; when she is back, that too.
  await gus.getByTestId('meeting-left-rejoin').click();
  await see(lobbyWait(gus, 'yes'));
  await see(gusWaiting);
  await olivia.getByTestId('meeting-leave').click();
  await see(lobbyWait(gus, 'no').filter({ hasText: NO_PRESENTER }));
  // Gus may hear it before her leave's answer reaches her page: her way back in is offered once she is out.
  await olivia.locator('[data-testid="meeting-view"][data-status="left"]').waitFor();
  await olivia.locator(`[data-testid="my-meeting"][data-conf-id="${confId}"]`).getByTestId('my-meeting-join').click();
  await olivia.locator('[data-testid="meeting-view"][data-status="joined"]').waitFor();
  await see(lobbyWait(gus, 'yes'));

  // She ends it: "Join again" lands in an empty lobby, and Gus is told no presenter is there.
  await olivia.getByTestId('meeting-end').click();
  await see(gus.locator('[data-testid="meeting-deactivated"][data-reason="ended"]'));
  await see(gail.locator('[data-testid="meeting-deactivated"][data-reason="ended"]'));
  await gus.getByTestId('meeting-rejoin').click();
  await see(lobbyWait(gus, 'no').filter({ hasText: NO_PRESENTER }));
});

test('signing out forgets the meeting this tab was in: the next person signed in there is not taken into it', async () => {
  const page = await browser.newTab();
  await signIn(page, cloud, { uri: 'sip:oscar@contoso.com', name: 'Oscar' });
  await page.getByTestId('tab-meetings').click();
  await page.getByTestId('conf-subject').fill('Handover');
  await page.getByTestId('conf-schedule').click();
  const scheduled = page.getByTestId('conf-scheduled-item').filter({ hasText: 'Handover' });
  await see(scheduled);
  const confId = (await scheduled.getAttribute('data-conf-id'))!;
  await scheduled.getByTestId('conf-scheduled-join').click();
  await page.locator(`[data-testid="meeting-view"][data-conf-id="${confId}"][data-status="joined"]`).waitFor();
  const rememberedKeys = () => page.evaluate<string[]>("Object.keys(sessionStorage).filter((key) => key.startsWith('uc.meeting'))");
  // Written by an effect after the render the wait above saw.
  await page.waitForFunction("sessionStorage.getItem('uc.meeting.sip:oscar@contoso.com') !== null");
  expect(await rememberedKeys()).toEqual(['uc.meeting.sip:oscar@contoso.com']);

  await page.getByTestId('signout').click();
  await see(page.getByTestId('signin-start'));
  expect(await rememberedKeys()).toEqual([]);

  // Someone else of the same organization (who could join it straight in) signs in in the same tab: the join form, no meeting.
  await signIn(page, cloud, { uri: 'sip:pat@contoso.com', name: 'Pat' });
  await page.getByTestId('tab-meetings').click();
  await page.locator('[data-testid="my-meetings"][data-loaded="yes"]').waitFor();
  await see(page.getByTestId('conf-join-input'));
  expect(await page.getByTestId('meeting-view').count()).toBe(0);
});
