import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import { loadConfig } from '../../shared/config';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { BrowserSession, see, signIn as signInAs } from '../support/web';

/**
 * IM and contacts every day (issue 23 items 1, 2, 4, 6, 10), in Chromium against a local cloud of its own: the phone
 * journey at 390×844 (start, send, received, Back), a reload in the middle of a conversation (the list, the
 * conversation and its history, page by page), a reconnect (the list and what came meanwhile, once), a conversation
 * whose record is gone (the next send still reaches them), a Message button on a contact, the peers' presence in
 * the header with the offline warning (and what it promises: the message waits for their sign-in), and a
 * conversation of three. `phone-im` is written to docs/screenshots with UPDATE_SCREENSHOTS=1.
 */

const ROOT = resolve(__dirname, '..', '..');
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : join(tmpdir(), 'uc-web-screenshots');
const PHONE = { width: 390, height: 844 };

const ALICE = 'sip:alice@contoso.com';
const BOB = 'sip:bob@contoso.com';
const CAROL = 'sip:carol@contoso.com';
const DAVE = 'sip:dave@contoso.com';
const ERIN = 'sip:erin@contoso.com';

let cloud: TestCloud;
let browser: BrowserSession;

jest.setTimeout(120_000);

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // History pages of 3 messages, so a few messages make the "Earlier messages" pages.
  cloud = await startTestCloud({ env: { CHAT_HISTORY_PAGE_SIZE: '3' } });
  browser = await BrowserSession.launch();
});

afterEach(async () => {
  expect(await browser.closeTabs()).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await cloud?.stop();
});

function imMessage(page: Page, text: string): Locator {
  return page.getByTestId('im-message').filter({ hasText: text });
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('im-text').fill(text);
  await page.getByTestId('im-send').click();
  await see(imMessage(page, text));
}

/** The element's box lies inside the viewport (a phone's composer must be reachable without scrolling the page). */
async function inViewport(locator: Locator, viewport: { width: number; height: number }): Promise<boolean> {
  const box = await locator.boundingBox();
  return box !== null && box.y >= 0 && box.y + box.height <= viewport.height && box.x >= 0 && box.x + box.width <= viewport.width;
}

test('phone (390×844): start an IM, send, the other side receives, Back; a reload shows the list, the conversation and its history page by page; a reconnect brings what came meanwhile once; a conversation whose record is gone still reaches them', async () => {
  const alice = await browser.newTab({ viewport: PHONE });
  const bob = await browser.newTab();
  await Promise.all([signInAs(alice, cloud, { uri: ALICE, name: 'Alice' }), signInAs(bob, cloud, { uri: BOB, name: 'Bob' })]);

  // Start: an address checked before sending, said in words next to the field.
  await alice.getByTestId('tab-im').click();
  await alice.getByTestId('im-start-uri').fill('bob');
  await alice.getByTestId('im-start-submit').click();
  expect(await alice.getByTestId('im-start-error').textContent()).toBe('“bob” is not an address: write it like bob@contoso.com.');
  await alice.getByTestId('im-start-uri').fill('bob@contoso.com');
  await alice.getByTestId('im-start-submit').click();
  const split = alice.locator('.split.im');
  await split.locator('xpath=self::*[@data-show="detail"]').waitFor();
  // Bob's presence in the header, live.
  await see(alice.locator(`[data-testid="im-peer"][data-uri="${BOB}"][data-availability="online"]`));
  expect(await inViewport(alice.getByTestId('im-text'), PHONE)).toBe(true);
  expect(await inViewport(alice.getByTestId('im-send'), PHONE)).toBe(true);
  await send(alice, 'Hi Bob, lunch today?');

  await bob.getByTestId('tab-im').click();
  await see(imMessage(bob, 'Hi Bob, lunch today?'));
  await send(bob, 'Sure, 12:30?');
  await see(imMessage(alice, 'Sure, 12:30?'));
  const conversationId = (await alice.getByTestId('im-view').getAttribute('data-conversation-id'))!;
  expect(conversationId).not.toBe('');
  await alice.screenshot({ path: join(SCREENSHOTS, 'phone-im.png') });

  // Back: the list, one pane at a time.
  await alice.getByTestId('im-back').click();
  await split.locator('xpath=self::*[@data-show="list"]').waitFor();
  const item = alice.locator(`[data-testid="im-conversation-item"][data-peers="${BOB}"]`);
  await see(item);

  // A reconnect: Bob writes while Alice's page is cut off; back, it shows once, counted in the list from the server.
  await cloud.cloud.gateway.outage(true);
  await alice.locator('[data-testid="conn-state"][data-state="reconnecting"]').waitFor();
  await cloud.cloud.gateway.outage(false);
  const bobPhone = await cloud.client(BOB);
  await bobPhone.sendIm({ conversationId, text: 'Or 13:00 if that is better' });
  // "Retry now" (the shell's), unless the backoff's own attempt got there first.
  const retry = alice.getByTestId('conn-retry');
  if (await retry.isVisible()) await retry.click({ timeout: 1000 }).catch(() => undefined);
  await alice.locator('[data-testid="conn-state"][data-state="open"]').waitFor();
  await see(item.locator('[data-testid="unread-badge"][data-unread="1"]'));
  await item.click();
  await see(imMessage(alice, 'Or 13:00 if that is better'));
  expect(await imMessage(alice, 'Or 13:00 if that is better').count()).toBe(1);
  await send(alice, '12:30 is fine');
  await bobPhone.sendIm({ conversationId, text: 'See you there' });
  await see(imMessage(alice, 'See you there'));

  // A reload in the middle of it: the list, the conversation open again, its latest page, then earlier ones.
  await alice.reload();
  await alice.locator('[data-testid="conn-state"][data-state="open"]').waitFor();
  await alice.getByTestId('tab-im').click();
  await see(alice.locator(`[data-testid="im-view"][data-conversation-id="${conversationId}"]`));
  await split.locator('xpath=self::*[@data-show="detail"]').waitFor();
  await see(imMessage(alice, 'See you there'));
  await see(imMessage(alice, 'Or 13:00 if that is better'));
  expect(await imMessage(alice, 'Hi Bob, lunch today?').count()).toBe(0);
  await alice.getByTestId('im-older').click();
  await see(imMessage(alice, 'Hi Bob, lunch today?'));
  expect(await alice.getByTestId('im-message').count()).toBe(5);
  await alice.getByTestId('im-older').waitFor({ state: 'detached' });
  await alice.getByTestId('im-back').click();
  await see(alice.locator(`[data-testid="im-conversation-item"][data-peers="${BOB}"]`));
  expect(await alice.getByTestId('im-conversation-item').count()).toBe(1);

  // The conversation's record disappears on the server: the next send starts a new one with Bob, no reload.
  await dynamoDocumentClient(loadConfig()).send(
    new DeleteCommand({ TableName: cloud.cloud.config.TABLE_NAME, Key: { PK: `CONV#${conversationId}`, SK: 'META' } }),
  );
  await alice.locator(`[data-testid="im-conversation-item"][data-peers="${BOB}"]`).click();
  await send(alice, 'Still on for lunch?');
  await see(imMessage(bob, 'Still on for lunch?'));
  await see(alice.getByTestId('im-notice').filter({ hasText: 'started a new one with the same people' }));
  expect(await alice.getByTestId('im-error').count()).toBe(0);
  expect(await alice.getByTestId('im-view').getAttribute('data-conversation-id')).not.toBe(conversationId);
  // Bob's view goes on in the same place.
  expect(await bob.getByTestId('im-conversation-item').count()).toBe(1);
  await send(bob, 'Yes!');
  await see(imMessage(alice, 'Yes!'));
});

test('a Message button on a contact opens an IM with them; their presence in the header, a warning for someone offline (the message waits for their sign-in); three people in one conversation', async () => {
  const bob = await browser.newTab();
  const [carolApi, erinApi] = await Promise.all([cloud.client(CAROL), cloud.client(ERIN), signInAs(bob, cloud, { uri: BOB, name: 'Bob' })]);

  // A contact: the address checked before subscribing, in words next to the field.
  await bob.getByTestId('tab-contacts').click();
  await bob.getByTestId('contact-add-uri').fill('dave at contoso');
  await bob.getByTestId('contact-add-submit').click();
  expect(await bob.getByTestId('contacts-invalid').textContent()).toBe("“dave at contoso” is not an address: write it like bob@contoso.com.");
  await bob.getByTestId('contact-add-uri').fill('dave@contoso.com');
  await bob.getByTestId('contact-add-submit').click();
  const dave = bob.locator(`[data-testid="contact"][data-uri="${DAVE}"][data-availability="offline"]`);
  await see(dave);
  await dave.getByRole('button', { name: 'Send an instant message to dave' }).click();

  // The IM tab, on a conversation with Dave: offline in the header, and what that means for the message.
  await see(bob.locator('[data-testid="im-view"] [data-testid="im-title"]', { hasText: 'dave' }));
  await see(bob.locator(`[data-testid="im-peer"][data-uri="${DAVE}"][data-availability="offline"]`));
  const warning = bob.getByTestId('im-offline-warning');
  await see(warning);
  expect(await warning.textContent()).toContain('dave appears offline: if signed out, they will find your message');
  await send(bob, 'Call me when you are back');
  // The promise kept: at his sign-in the conversation is there, unread.
  const daveApi = await cloud.client(DAVE);
  const { missedConversations } = await daveApi.events.nextEvent('resumed');
  expect(missedConversations?.find((summary) => summary.participants.includes(BOB))?.unread).toBe(1);
  // He is online now: the warning goes.
  await see(bob.locator(`[data-testid="im-peer"][data-uri="${DAVE}"][data-availability="online"]`));
  await warning.waitFor({ state: 'detached' });

  // Three people: two addresses in the field.
  await bob.getByTestId('im-start-uri').fill('carol@contoso.com, erin@contoso.com');
  await bob.getByTestId('im-start-submit').click();
  await see(bob.locator(`[data-testid="im-peer"][data-uri="${CAROL}"]`));
  await see(bob.locator(`[data-testid="im-peer"][data-uri="${ERIN}"][data-availability="online"]`));
  await send(bob, 'Design review at 3, all of us?');
  for (const other of [carolApi, erinApi]) {
    const received = await other.events.nextEvent('im.message', (event) => event.text === 'Design review at 3, all of us?');
    expect([...(received.participants ?? [])].sort()).toEqual([BOB, CAROL, ERIN]);
  }
  const { conversationId } = await carolApi.events.nextEvent('im.message', (event) => event.text === 'Design review at 3, all of us?');
  await carolApi.sendIm({ conversationId, text: 'Count me in' });
  await see(imMessage(bob, 'Count me in'));
  expect(await bob.locator(`[data-testid="im-conversation-item"][data-peers="${CAROL} ${ERIN}"], [data-testid="im-conversation-item"][data-peers="${ERIN} ${CAROL}"]`).count()).toBe(1);
});
