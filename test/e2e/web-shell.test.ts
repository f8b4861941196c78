import type { Page } from 'playwright-core';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { BrowserSession, see, signIn } from '../support/web';

/**
 * The web app's shell (issue 23 items 1, 2, 3, 5, 8, 9), in Debian's Chromium against a local cloud of its own: the
 * compact header and one-row tabs on a 390×844 phone, a guest offered only Meetings, the tab strip by keyboard, the
 * own presence choice and note across a reload, a server outage with the page open (Reconnecting, Retry now,
 * Reconnected, no error bar, a grey own dot), and what makes a person notice (the Rooms dot, the page title's count,
 * a browser notification while the page is hidden). The rules themselves: test/unit/web/shell.test.ts.
 */

let cloud: TestCloud;
let browser: BrowserSession;

jest.setTimeout(120_000);

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

/** The page as the browser has it when the person switches to another tab or window (the test's Chromium stays "visible"). */
async function hidePage(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    document.dispatchEvent(new Event('visibilitychange'));
  })()`);
}

/** The pill's attempt number ("Reconnecting… (attempt 3)"). */
async function attempt(page: Page): Promise<number> {
  const text = (await page.getByTestId('conn-state').textContent()) ?? '';
  return Number(/attempt (\d+)/.exec(text)?.[1] ?? 0);
}

/** Records the page's notifications and permission requests (a wrapped `Notification`), before the app loads. */
async function recordNotifications(page: Page): Promise<void> {
  await page.addInitScript(`(() => {
    const Real = window.Notification;
    window.shown = [];
    window.permissionAsked = 0;
    class Recorded extends Real {
      constructor(title, options) {
        window.shown.push({ title, body: options && options.body });
        super(title, options);
      }
      static requestPermission() {
        window.permissionAsked++;
        return Real.requestPermission();
      }
    }
    window.Notification = Recorded;
  })()`);
}

function permissionAsked(page: Page): Promise<number> {
  return page.evaluate('window.permissionAsked') as Promise<number>;
}

function shown(page: Page): Promise<{ title: string; body?: string }[]> {
  return page.evaluate('window.shown') as Promise<{ title: string; body?: string }[]>;
}

test('one person, phone then desktop: compact header, one row of tabs, tabs by keyboard; presence and notifications kept across a reload; a server outage; the Rooms dot, the title count and notifications while hidden', async () => {
  const NORA = 'sip:nora@contoso.com';
  const BOB = 'sip:bob@contoso.com';
  const bobApi = await cloud.client(BOB);
  const noraApi = await cloud.client(NORA);
  const { roomId } = await bobApi.request('room.create', { name: 'Launch' });
  await noraApi.request('chat.join', { roomId });
  await noraApi.disconnect();

  const page = await browser.newTab({ viewport: { width: 390, height: 844 }, permissions: ['notifications'] });
  await recordNotifications(page);
  // The page's timers run on Playwright's clock (in real time until paused), so the outage can stop the backoff.
  await page.clock.install();
  await signIn(page, cloud, { uri: NORA, name: 'Nora' });

  // Phone: one header row (the user line, the note, notifications and sign out behind the menu button).
  const header = (await page.getByTestId('topbar').boundingBox())!;
  expect(header.height).toBeLessThan(120);
  expect(header.width).toBeLessThanOrEqual(390);
  expect(await page.getByTestId('me-uri').isVisible()).toBe(false);
  expect(await page.getByTestId('presence-note').isVisible()).toBe(false);
  await see(page.getByTestId('presence-select'));
  await page.getByTestId('header-menu').click();
  await see(page.getByTestId('me-uri'));
  await see(page.getByTestId('presence-note'));
  await page.getByTestId('header-menu').click();
  await page.getByTestId('me-uri').waitFor({ state: 'hidden' });
  // The tabs in one row, the view filling the rest of the screen.
  const tabs = await Promise.all(['rooms', 'contacts', 'im', 'meetings'].map(async (tab) => (await page.getByTestId(`tab-${tab}`).boundingBox())!));
  for (const box of tabs) {
    expect(box.y).toBe(tabs[0]!.y);
    expect(box.x + box.width).toBeLessThanOrEqual(390);
  }
  const content = (await page.locator('main.content').boundingBox())!;
  expect(content.y + content.height).toBeGreaterThanOrEqual(843);
  expect(content.height).toBeGreaterThan(844 - 200);

  // The tab strip is a tablist: arrows, Home and End move (and open), one tab in the Tab order, each controls its panel.
  await page.getByTestId('tab-rooms').focus();
  await page.keyboard.press('ArrowRight');
  await page.locator('[data-testid="tab-contacts"][aria-selected="true"]:focus').waitFor();
  await see(page.getByRole('tabpanel', { name: 'Contacts' }));
  await page.keyboard.press('End');
  await page.locator('[data-testid="tab-meetings"][aria-selected="true"]:focus').waitFor();
  await page.keyboard.press('ArrowRight');
  await page.locator('[data-testid="tab-rooms"][aria-selected="true"]:focus').waitFor();
  await page.keyboard.press('ArrowLeft');
  await page.locator('[data-testid="tab-meetings"][aria-selected="true"]:focus').waitFor();
  await page.keyboard.press('Home');
  await page.locator('[data-testid="tab-rooms"][aria-selected="true"]:focus').waitFor();
  expect(await page.locator('[role="tab"][tabindex="0"]').count()).toBe(1);
  const controls = await page.getByTestId('tab-im').getAttribute('aria-controls');
  expect(await page.locator(`#${controls}[role="tabpanel"][aria-labelledby="tab-im"]`).count()).toBe(1);

  // Desktop: a presence choice and a note; notifications turned on (asked then, never on load).
  await page.setViewportSize({ width: 1280, height: 760 });
  await page.getByTestId('presence-select').selectOption('busy');
  await page.locator('[data-testid="me-presence"][data-availability="busy"]').waitFor();
  await page.getByTestId('presence-note').fill('In the design review');
  await page.getByTestId('presence-note-save').click();
  // Saved: the server's answer carries the note (the reload below must not cut the publish off).
  await page.locator('[data-testid="me-presence"][data-note="In the design review"]').waitFor();
  expect(await permissionAsked(page)).toBe(0);
  await page.getByTestId('notifications-enable').click();
  await see(page.getByTestId('notifications-disable'));
  expect(await permissionAsked(page)).toBe(1);

  // A reload: the choice and the note come back from the server, not "Automatic"; notifications stay on, not asked again.
  await page.reload();
  await page.locator('[data-testid="conn-state"][data-state="open"]').waitFor();
  await page.locator('[data-testid="me-presence"][data-choice="busy"][data-availability="busy"]').waitFor();
  expect(await page.getByTestId('presence-select').inputValue()).toBe('busy');
  // The note comes from the server's snapshot (the choice above may come from this browser's memory first).
  await page.locator('[data-testid="me-presence"][data-note="In the design review"]').waitFor();
  await page.waitForFunction(`document.querySelector('[data-testid="presence-note"]')?.value === 'In the design review'`);
  await see(page.getByTestId('notifications-disable'));
  expect(await permissionAsked(page)).toBe(0);

  // The server goes away with the page open: Reconnecting with its attempt, a grey own dot, no error bar.
  await cloud.cloud.gateway.outage(true);
  try {
    await page.locator('[data-testid="conn-state"][data-state="reconnecting"]').waitFor();
    await see(page.getByTestId('conn-reconnecting'));
    await page.locator('[data-testid="me-presence"][data-availability="offline"]').waitFor();
    // With the page's timers stopped the backoff never fires: only Retry now can try again. Each try fails (the
    // server is still away) and counts the next attempt; the second is surely the button's (nothing else in flight).
    // The page's clock, not Node's: with another test file beside this one the two drift, and pausing in the past fails.
    await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1000);
    for (let click = 0; click < 2; click++) {
      const before = await attempt(page);
      await page.getByTestId('conn-retry').click();
      // A later attempt than before the click (a backoff timer due at the pause may have counted one as well).
      await page.waitForFunction(
        `Number(/attempt (\\d+)/.exec(document.querySelector('[data-testid="conn-state"]')?.textContent ?? '')?.[1] ?? 0) > ${before}`,
      );
    }
    expect(await page.getByTestId('client-error').count()).toBe(0);
  } finally {
    await cloud.cloud.gateway.outage(false);
  }

  // Back: Retry now reconnects (the backoff still stopped); "Reconnected", and nothing red left over.
  await page.getByTestId('conn-retry').click();
  await page.locator('[data-testid="conn-state"][data-state="open"]').waitFor();
  await see(page.getByRole('status').filter({ hasText: 'Reconnected' }));
  await page.clock.resume();
  expect(await page.getByTestId('client-error').count()).toBe(0);
  expect(await page.getByTestId('conn-reconnecting').count()).toBe(0);
  await page.locator('[data-testid="me-presence"][data-choice="busy"][data-availability="busy"]').waitFor();

  // Hidden (another tab in front): a mention in a followed room lights Rooms, counts in the title, and notifies; so does an IM.
  const bobAgain = await cloud.client(BOB); // the outage closed the first one too
  await page.getByTestId('tab-im').click();
  await hidePage(page);
  await bobAgain.request('chat.grpchat', { roomId, text: '@nora@contoso.com the launch is on', mentions: [NORA] });
  await see(page.getByTestId('tab-rooms-attention'));
  await page.waitForFunction("document.title === '(1) UC web'");
  await bobAgain.request('im.send', { to: NORA, text: 'Got a minute?' });
  await page.waitForFunction('window.shown.length >= 2');
  expect(await shown(page)).toEqual([
    { title: 'bob mentioned you in Launch', body: '@nora@contoso.com the launch is on' },
    { title: 'bob', body: 'Got a minute?' },
  ]);
  await page.waitForFunction("document.title === '(2) UC web'");
});

test('a guest is offered only Meetings: no Rooms, IM, Contacts or presence that would answer 403', async () => {
  const guest = await browser.newTab();
  await signIn(guest, cloud, { uri: 'sip:gina@example.org', name: 'Gina (guest)', kind: 'anonymous' });
  await see(guest.locator('[data-testid="tab-meetings"][aria-selected="true"]'));
  expect(await guest.getByRole('tab').count()).toBe(1);
  expect(await guest.getByTestId('presence-select').count()).toBe(0);
  expect(await guest.getByTestId('room-create-name').count()).toBe(0);
  expect(await guest.getByTestId('client-error').count()).toBe(0);
});
