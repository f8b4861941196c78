import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { waitFor } from '../support/wait';
import { BrowserSession, see, signIn as signInAs, WAIT_MS } from '../support/web';

/**
 * The browser app (web/) for issue 22 item 7 (SPEC §9), in Debian's Chromium against a local cloud of its own:
 * edit and retract from a message's menu (rooms and IM) seen live by the other side, unread badges and a mention
 * highlight, read markers moved by looking, declining an invitation, a room's occupants, missed conversations at
 * sign-in, meeting chat beside the roster, promote/demote and eject, live content, and "My meetings". Screenshots
 * for the README as web.test.ts takes them (docs/screenshots/ with UPDATE_SCREENSHOTS=1).
 */

const ROOT = resolve(__dirname, '..', '..');
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : join(tmpdir(), 'uc-web-screenshots');

let cloud: TestCloud;
let browser: BrowserSession;

jest.setTimeout(180_000);

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

async function signIn(page: Page, uri: string, name: string): Promise<void> {
  await signInAs(page, cloud, { uri, name });
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

function myRoom(page: Page, roomId: string): Locator {
  return page.locator(`[data-testid="my-room"][data-room-id="${roomId}"]`);
}

test('rooms: decline an invitation; edit from the keyboard menu and retract, live on the other side; unread and mention badges cleared by looking (on every device); occupants', async () => {
  const ALICE = 'sip:alice@contoso.com';
  const BOB = 'sip:bob@contoso.com';
  const bobApi = await cloud.client(BOB);
  const declined = await bobApi.request('room.create', { name: 'Not for me', privacy: 'closed' });
  const { roomId } = await bobApi.request('room.create', { name: 'Launch', privacy: 'closed' });
  const alice = await browser.newTab();
  const bob = await browser.newTab();
  await signIn(alice, ALICE, 'Alice');
  await signIn(bob, BOB, 'Bob');

  // Decline: the invitation goes (chat.declineinv), nothing joined.
  await bobApi.request('room.invite', { roomId: declined.roomId, uris: [ALICE] });
  const invitation = alice.locator(`[data-testid="room-invitation"][data-room-id="${declined.roomId}"]`);
  await see(invitation);
  await invitation.getByRole('button', { name: 'Decline the invitation to Not for me' }).click();
  await invitation.waitFor({ state: 'detached' });
  expect(await alice.getByTestId('room-invitation-error').count()).toBe(0);

  await bobApi.request('room.invite', { roomId, uris: [ALICE] });
  await alice.locator(`[data-testid="room-invitation"][data-room-id="${roomId}"]`).getByTestId('room-invitation-join').click();
  await alice.locator(`[data-testid="room-view"][data-room-id="${roomId}"] [data-testid="room-messages"][data-loaded="yes"]`).waitFor();
  await myRoom(bob, roomId).click();
  await bob.locator('[data-testid="room-messages"][data-loaded="yes"]').waitFor();

  // Edit, from the keyboard: the menu button, Enter opens it on "Edit", Enter chooses it.
  await postInRoom(alice, 'Ship on Friday');
  await see(roomMessage(bob, 'Ship on Friday'));
  const menu = roomMessage(alice, 'Ship on Friday').getByRole('button', { name: /^Actions for your message/ });
  await menu.focus();
  await alice.keyboard.press('Enter');
  await see(alice.getByRole('menuitem', { name: 'Edit' }));
  expect(await alice.evaluate<string | undefined>('document.activeElement?.textContent?.trim()')).toBe('Edit');
  await alice.keyboard.press('Enter');
  await alice.getByTestId('message-edit-text').fill('Ship on Monday');
  await alice.getByTestId('message-edit-text').press('Enter');
  const edited = roomMessage(bob, 'Ship on Monday');
  await see(edited.getByTestId('message-edited'));
  expect(await roomMessage(bob, 'Ship on Friday').count()).toBe(0);
  // On someone else's message a manager (Bob made the room) may only retract; Escape closes the menu on its button.
  await edited.getByTestId('message-menu').click();
  await see(bob.getByRole('menuitem', { name: 'Retract' }));
  expect(await bob.getByRole('menuitem', { name: 'Edit' }).count()).toBe(0);
  await bob.keyboard.press('Escape');
  await bob.getByRole('menu').waitFor({ state: 'detached' });
  expect(await bob.evaluate<string | null | undefined>("document.activeElement?.getAttribute('data-testid')")).toBe('message-menu');

  // Retract: a tombstone at its place on both sides.
  await postInRoom(bob, 'Wrong room, sorry');
  await see(roomMessage(alice, 'Wrong room, sorry'));
  const bobMessage = roomMessage(bob, 'Wrong room, sorry');
  const seq = await bobMessage.getAttribute('data-seq');
  await bobMessage.getByTestId('message-menu').click();
  await bob.getByRole('menuitem', { name: 'Retract' }).click();
  await see(alice.locator(`[data-testid="room-message"][data-seq="${seq}"][data-retracted="yes"]`).getByTestId('message-retracted'));
  await see(bob.locator(`[data-testid="room-message"][data-seq="${seq}"]`).getByTestId('message-retracted'));
  expect(await roomMessage(alice, 'Wrong room, sorry').count()).toBe(0);
  await shot(alice, 'room-edited-retracted');

  // Unread and mentions: Alice is in another room; Bob writes twice, once naming her.
  await alice.getByTestId('room-create-name').fill('Notes');
  await alice.getByTestId('room-create-submit').click();
  await alice.locator('[data-testid="room-view"] [data-testid="room-title"]', { hasText: 'Notes' }).waitFor();
  await bobApi.post(roomId, 'Release notes are in');
  await bobApi.post(roomId, '@alice@contoso.com can you check them?', { mentions: [ALICE] });
  const badge = myRoom(alice, roomId).locator('[data-testid="unread-badge"][data-unread="2"][data-mentions="1"]');
  await see(badge);
  expect(await badge.getAttribute('aria-label')).toBe('2 unread, 1 mentioning you');
  await shot(alice, 'rooms-unread');

  // Opening the room reads it (chat.markread): the badge goes, the marker is the server's (another device sees 0).
  await myRoom(alice, roomId).click();
  await see(alice.locator('[data-testid="room-message"].mentions-me', { hasText: 'can you check them?' }));
  await myRoom(alice, roomId).getByTestId('unread-badge').waitFor({ state: 'detached' });
  const aliceApi = await cloud.client(ALICE);
  await waitFor(
    'Alice’s read marker on the server',
    async () => {
      const { rooms } = await aliceApi.request('chat.getassociations', {});
      const room = rooms.find((held) => held.roomId === roomId);
      return room?.unread === 0 && room.mentions === 0 ? room : undefined;
    },
    WAIT_MS,
    100,
  );

  // Who is here now (chat.occupants): both followers, connected.
  const occupants = alice.locator(`[data-testid="room-view"][data-room-id="${roomId}"] [data-testid="room-occupants"]`);
  await occupants.getByTestId('room-occupants-refresh').click();
  await see(occupants.locator(`[data-testid="room-occupant"][data-uri="${BOB}"]`));
  await see(occupants.locator(`[data-testid="room-occupant"][data-uri="${ALICE}"]`));
});

test('IM: a conversation missed while signed out is listed at sign-in with its unread count; opening it reads it; edits and retractions go both ways live', async () => {
  const CAROL = 'sip:carol@contoso.com';
  const DAVE = 'sip:dave@contoso.com';
  const dave = await cloud.client(DAVE);
  const sent = await dave.sendIm({ to: CAROL, text: 'Are you joining the review?' });
  await dave.sendIm({ conversationId: sent.conversationId, text: 'It starts at 3' });

  const carol = await browser.newTab();
  await signIn(carol, CAROL, 'Carol');
  await carol.getByTestId('tab-im').click();
  const item = carol.locator(`[data-testid="im-conversation-item"][data-peers="${DAVE}"]`);
  await see(item.locator('[data-testid="unread-badge"][data-unread="2"]'));
  expect(await item.getAttribute('data-missed')).toBe('yes');
  await see(carol.getByTestId('im-missed-notice'));

  // Opened: its history, and read on the server (the other side's count is its own).
  await item.click();
  await see(carol.getByTestId('im-message').filter({ hasText: 'It starts at 3' }));
  await see(carol.getByTestId('im-message').filter({ hasText: 'Are you joining the review?' }));
  await item.getByTestId('unread-badge').waitFor({ state: 'detached' });
  const carolApi = await cloud.client(CAROL);
  await waitFor(
    'Carol’s IM read marker',
    async () => {
      const { conversations } = await carolApi.imConversations();
      return conversations.find((held) => held.conversationId === sent.conversationId)?.unread === 0 || undefined;
    },
    WAIT_MS,
    100,
  );

  // Dave edits and retracts: live in Carol's view.
  await dave.editIm(sent.conversationId, sent.messageId, 'Are you joining the design review?');
  const editedLine = carol.getByTestId('im-message').filter({ hasText: 'Are you joining the design review?' });
  await see(editedLine.getByTestId('message-edited'));
  const second = (await dave.request('im.history', { conversationId: sent.conversationId })).messages.find((message) => message.text === 'It starts at 3')!;
  await dave.retractIm(sent.conversationId, second.messageId);
  await see(carol.locator(`[data-testid="im-message"][data-message-id="${second.messageId}"]`).getByTestId('message-retracted'));

  // Carol edits her reply from its menu: Dave gets im.edited.
  await carol.getByTestId('im-text').fill('Yes, see you tmorrow');
  await carol.getByTestId('im-send').click();
  const reply = carol.getByTestId('im-message').filter({ hasText: 'see you tmorrow' });
  await see(reply);
  await reply.getByRole('button', { name: /^Actions for your message/ }).click();
  await carol.getByRole('menuitem', { name: 'Edit' }).click();
  await carol.getByTestId('message-edit-text').fill('Yes, see you tomorrow');
  await carol.getByTestId('message-edit-save').click();
  await see(carol.getByTestId('im-message').filter({ hasText: 'Yes, see you tomorrow' }).getByTestId('message-edited'));
  await dave.events.nextEvent('im.edited', (event) => event.text === 'Yes, see you tomorrow');
  // Someone else's message has no menu.
  expect(await editedLine.getByTestId('message-menu').count()).toBe(0);
});

test('meeting: back in from My meetings, chat beside the roster, demote and promote, live content, and an ejected participant told so', async () => {
  const ERIN = 'sip:erin@contoso.com';
  const FRANK = 'sip:frank@contoso.com';
  const erin = await browser.newTab();
  const frank = await browser.newTab();
  await signIn(erin, ERIN, 'Erin');
  await signIn(frank, FRANK, 'Frank');

  // Scheduled, then back in from "My meetings" (conf.list), as after a reload.
  await erin.getByTestId('tab-meetings').click();
  await erin.getByTestId('conf-subject').fill('Weekly sync');
  await erin.getByTestId('conf-schedule').click();
  const listed = erin.locator('[data-testid="my-meeting"]', { hasText: 'Weekly sync' });
  await see(listed);
  const confId = (await listed.getAttribute('data-conf-id'))!;
  await erin.reload();
  await erin.locator('[data-testid="conn-state"][data-state="open"]').waitFor();
  await erin.getByTestId('tab-meetings').click();
  await erin.locator(`[data-testid="my-meeting"][data-conf-id="${confId}"]`).getByTestId('my-meeting-join').click();
  await erin.locator('[data-testid="meeting-view"][data-status="joined"]').waitFor();

  await frank.getByTestId('tab-meetings').click();
  await frank.getByTestId('conf-join-input').fill(confId);
  await frank.getByTestId('conf-join-submit').click();
  await frank.locator('[data-testid="meeting-view"][data-status="joined"]').waitFor();
  const frankInErinsRoster = erin.locator(`[data-testid="roster-entry"][data-uri="${FRANK}"]`);
  await see(frankInErinsRoster);

  // Demote, then promote (conf.role): the roster says so on both sides, and Frank's own controls follow.
  await see(frank.getByTestId('meeting-lock'));
  await frankInErinsRoster.getByRole('button', { name: 'Make Frank an attendee' }).click();
  await see(frank.locator(`[data-testid="roster-entry"][data-uri="${FRANK}"][data-role="attendee"]`));
  await frank.getByTestId('meeting-lock').waitFor({ state: 'detached' });
  expect(await frank.getByTestId('roster-eject').count()).toBe(0);
  await erin.locator(`[data-testid="roster-entry"][data-uri="${FRANK}"][data-role="attendee"]`).getByRole('button', { name: 'Make Frank a presenter' }).click();
  await see(frank.locator(`[data-testid="roster-entry"][data-uri="${FRANK}"][data-role="presenter"]`));
  await see(frank.getByTestId('meeting-lock'));

  // Meeting chat, both ways.
  await frank.getByTestId('meeting-chat-text-input').fill('Can everyone see the agenda?');
  await frank.getByTestId('meeting-chat-send').click();
  await see(erin.getByTestId('meeting-chat-message').filter({ hasText: 'Can everyone see the agenda?' }));
  await erin.getByTestId('meeting-chat-text-input').fill('Yes, sharing it now');
  await erin.getByTestId('meeting-chat-send').click();
  await see(frank.getByTestId('meeting-chat-message').filter({ hasText: 'Yes, sharing it now' }));

  // Content shared by Erin reaches Frank without a Refresh (event conf.content).
  await erin.getByTestId('content-add-title').fill('Agenda');
  await erin.getByTestId('content-add-body').fill('https://example.com/agenda');
  await erin.getByTestId('content-add-submit').click();
  await see(frank.getByTestId('content-item').filter({ hasText: 'Agenda' }));
  await see(erin.getByTestId('content-item').filter({ hasText: 'Agenda' }));
  await see(erin.locator(`[data-testid="my-meeting"][data-conf-id="${confId}"][data-state="active"]`));
  await shot(erin, 'meeting-chat');

  // Eject: Frank is told he was removed; Erin's roster no longer has him.
  await erin.locator(`[data-testid="roster-entry"][data-uri="${FRANK}"]`).getByRole('button', { name: 'Remove Frank from the meeting' }).click();
  await see(frank.getByTestId('meeting-ejected'));
  expect(await frank.getByTestId('meeting-ejected').textContent()).toContain('erin removed you from this meeting.');
  await frankInErinsRoster.waitFor({ state: 'detached' });
  expect(await erin.getByTestId('meeting-error').count()).toBe(0);
});
