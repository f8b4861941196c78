import { startTestCloud, type TestCloud } from '../support/cloud';
import { type EventFrame, type TestClient, waitFor } from '../support/client';
import { ok } from '../support/commands';
import { users } from '../support/users';

/**
 * Issue 22 item 4 through the WebSocket API (SPEC §9): a user's explicit availability and note are the user's, not
 * one endpoint's (they survive a reconnect and show on a second device; a new device's machine state does not
 * override them; they expire after PRESENCE_STATE_SECONDS; appearing offline hides the note), `conf.list` gives the
 * meetings a user organizes or is invited to and no one else's, and `joinUrl` opens the web app at WEB_APP_URL.
 * The rules in detail: test/unit/shared/presence/service-persistent.test.ts, test/unit/shared/conference/service-meeting-list.test.ts.
 */
let cloud: TestCloud;
const STATE_SECONDS = 6;

beforeAll(async () => {
  cloud = await startTestCloud({ env: { PRESENCE_STATE_SECONDS: String(STATE_SECONDS) } });
});

afterAll(async () => {
  await cloud?.stop();
});

type Shown = { availability: string; note?: string };

/** Bob watching `target`: what each notification showed, in order. */
async function watcher(uri: string, target: string) {
  const client = await cloud.connect(uri);
  const subscribed = await ok(client, 'presence.subscribe', { targets: [target] });
  const subscriptionId = String(subscribed.subscriptionId);
  const notified = (): Shown[] => client.eventsNamed('presence.notify').filter((event) => event.subscriptionId === subscriptionId && event.uri === target).map((event: EventFrame) => event.presence as Shown);
  const next = (availability: string, note?: string) =>
    client.nextEvent('presence.notify', (event) => event.subscriptionId === subscriptionId && (event.presence as Shown).availability === availability && (event.presence as Shown).note === note);
  return { client, subscriptionId, notified, next };
}

/** The target's presence as a fresh `presence.refresh` of the subscription finds it (its endpoints checked now). */
async function refreshed(client: TestClient, subscriptionId: string): Promise<Shown> {
  const answer = await ok(client, 'presence.refresh', { subscriptionId });
  const [view] = answer.subscriptions as Array<{ targets: Array<{ presence: Shown }> }>;
  return view!.targets[0]!.presence;
}

describe('persistent presence (SPEC §9)', () => {
  test('the explicit state and note survive a reconnect and show on a second device; a new device’s machine state does not override them', async () => {
    const [alice, bob] = users('alice', 'bob');
    const desktop = await cloud.connect(alice!);
    const bobView = await watcher(bob!, alice!);
    expect(await ok(desktop, 'presence.publish', { availability: 'doNotDisturb', note: 'focus time' })).toMatchObject({ presence: { availability: 'doNotDisturb', note: 'focus time' } });

    // A reload: the tab's connection closes (offline: no connection left), a new one opens and shows the choice at once.
    await desktop.close();
    await bobView.next('offline');
    const reloaded = await cloud.connect(alice!);
    await waitFor('the choice again after the offline', () => bobView.notified().length >= 3 && bobView.notified());
    expect(bobView.notified()).toEqual([
      { availability: 'doNotDisturb', note: 'focus time' },
      { availability: 'offline' },
      { availability: 'doNotDisturb', note: 'focus time' },
    ]);

    // A second device: its machine state (online from activity) does not override the choice, and it sees the choice.
    const phone = await cloud.connect(alice!, 'enterprise', 'mobile');
    expect(await ok(phone, 'presence.publish', { source: 'machine', availability: 'online', activity: 'active' })).toMatchObject({ presence: { availability: 'doNotDisturb', note: 'focus time' } });
    const own = await ok(phone, 'presence.subscribe', { targets: [alice] });
    expect(own.targets).toEqual([expect.objectContaining({ uri: alice, presence: { availability: 'doNotDisturb', note: 'focus time' } })]);
    expect(await refreshed(bobView.client, bobView.subscriptionId)).toEqual({ availability: 'doNotDisturb', note: 'focus time' });
    expect(bobView.notified().map((shown) => shown.availability)).not.toContain('online');
    await reloaded.close();
    await phone.close();
  });

  test('PRESENCE_STATE_SECONDS after it was chosen, the explicit state and note expire: a watcher’s refresh and a reconnect show the machine state', async () => {
    const [alice, bob] = users('alice', 'bob');
    const bobView = await watcher(bob!, alice!);
    const desktop = await cloud.connect(alice!);
    const chosenAt = Date.now();
    await ok(desktop, 'presence.publish', { availability: 'busy', note: 'in a review' });
    expect(await refreshed(bobView.client, bobView.subscriptionId)).toEqual({ availability: 'busy', note: 'in a review' });
    // Nothing happens on Alice's side: Bob's refresh (as the server's scheduled one does) finds the choice expired.
    const expired = await waitFor('the choice to expire', async () => {
      const shown = await refreshed(bobView.client, bobView.subscriptionId);
      return shown.availability === 'online' && shown;
    }, STATE_SECONDS * 1000 + 10_000, 250);
    expect(Date.now() - chosenAt).toBeGreaterThanOrEqual(STATE_SECONDS * 1000);
    expect(expired).toEqual({ availability: 'online' });
    const laptop = await cloud.connect(alice!, 'enterprise', 'desktop');
    expect((await ok(laptop, 'presence.subscribe', { targets: [alice] })).targets).toEqual([expect.objectContaining({ presence: { availability: 'online' } })]);
  }, 30_000);

  test('appearing offline hides the note from watchers; coming back shows it again', async () => {
    const [alice, bob] = users('alice', 'bob');
    const desktop = await cloud.connect(alice!);
    const bobView = await watcher(bob!, alice!);
    await ok(desktop, 'presence.publish', { availability: 'online', note: 'in Berlin' });
    await ok(desktop, 'presence.publish', { availability: 'offline' });
    await bobView.next('offline');
    expect(await refreshed(bobView.client, bobView.subscriptionId)).toEqual({ availability: 'offline' });
    await ok(desktop, 'presence.publish', { reset: true });
    await bobView.next('online', 'in Berlin');
    expect(bobView.notified()).toEqual([{ availability: 'online', note: 'in Berlin' }, { availability: 'offline' }, { availability: 'online', note: 'in Berlin' }]);
  });
});

describe('conf.list and join links (SPEC §9)', () => {
  test('the organizer and an invitee find the meeting, page by page; someone else does not; joinUrl opens the web app at WEB_APP_URL', async () => {
    const [olga, bob, carol] = users('olga', 'bob', 'carol');
    const [organizer, invitee, outsider] = await Promise.all([cloud.connect(olga!), cloud.connect(bob!), cloud.connect(carol!)]);
    const review = await ok(organizer, 'conf.schedule', { subject: 'design review', invitees: [bob] });
    const standup = await ok(organizer, 'conf.schedule', { subject: 'standup' });
    const webAppUrl = cloud.cloud.config.WEB_APP_URL ?? process.env.WEB_APP_URL;
    expect(webAppUrl).toBe(cloud.cloud.url);
    expect(review.joinUrl).toBe(`${cloud.cloud.url}/join/${review.confId}`);

    // The organizer, after a reload: newest first, one a page.
    const first = await ok(organizer, 'conf.list', { limit: 1 });
    expect(first.meetings).toEqual([expect.objectContaining({ confId: standup.confId, subject: 'standup', role: 'organizer', state: 'scheduled', joinUrl: standup.joinUrl })]);
    const second = await ok(organizer, 'conf.list', { limit: 1, cursor: first.cursor });
    expect(second.meetings).toEqual([expect.objectContaining({ confId: review.confId, subject: 'design review', role: 'organizer' })]);
    expect(second.cursor).toBeUndefined();

    expect((await ok(invitee, 'conf.list', {})).meetings).toEqual([
      expect.objectContaining({ confId: review.confId, subject: 'design review', organizer: olga, role: 'invitee', state: 'scheduled', joinUrl: `${cloud.cloud.url}/join/${review.confId}` }),
    ]);
    expect(await ok(outsider, 'conf.list', {})).toEqual({ meetings: [] });

    // It shows the meeting's state: active once someone is in.
    await ok(organizer, 'conf.join', { confId: review.confId });
    expect((await ok(invitee, 'conf.list', {})).meetings).toEqual([expect.objectContaining({ confId: review.confId, state: 'active', participantCount: 1 })]);
    expect((await invitee.request('conf.list', { limit: 0 })).status).toBe(400);
  });
});
