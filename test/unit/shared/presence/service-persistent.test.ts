import { presenceHarness, user, withoutBackoff } from './presence-harness';

/**
 * SPEC §9, persistent presence, on memory ports: a user's explicit availability and note belong to the user, not to one
 * endpoint. They survive a reload, a reconnect and a new device until the user changes them or PRESENCE_STATE_SECONDS
 * passes; a new device's machine state does not override them; appearing offline hides the note from watchers. The
 * version rule (SPEC §5) and issue 21's O(1) writes per publish still hold.
 */
withoutBackoff();

const alice = user('alice');
const bob = user('bob');
const LIFETIME_MS = 60_000;

/** Alice on one desktop endpoint, Bob watching her. */
async function watched() {
  const h = presenceHarness({ stateLifetimeMs: LIFETIME_MS });
  await h.connect(alice, 'a1');
  await h.connect(bob, 'b1');
  const view = await h.service.subscribe(bob, 'b1', { targets: [alice.uri] });
  h.delivery.clear();
  h.store.calls.length = 0;
  /** What Bob was told of Alice, in order. */
  const seenByBob = () => h.delivery.named('presence.notify').filter((entry) => entry.connectionIds.includes('b1')).map((entry) => entry.payload.presence);
  return { ...h, subscriptionId: view.subscriptionId, seenByBob };
}

describe('persistent presence rule: the explicit state and note survive a reload, a reconnect and a new device', () => {
  it('a reload (the endpoint closes, a new one opens) shows the chosen state and note at once, never "online"', async () => {
    const h = await watched();
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'doNotDisturb', note: 'focus time' });
    await h.service.endpointGone(alice.uri, 'a1');
    h.clock.advance(500);
    const reloaded = await h.connect(alice, 'a1-reloaded');
    expect(reloaded.presence).toEqual({ availability: 'doNotDisturb', note: 'focus time' });
    // Bob saw the choice, then offline while no tab was open, then the choice again: never an "online" in between.
    expect(h.seenByBob()).toEqual([{ availability: 'doNotDisturb', note: 'focus time' }, { availability: 'offline' }, { availability: 'doNotDisturb', note: 'focus time' }]);
  });

  it("a second device sees the first device's choice (its own view of the user, and every watcher's)", async () => {
    const h = await watched();
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'busy', note: 'in a review' });
    await h.connect(alice, 'a2');
    const own = await h.service.subscribe(alice, 'a2', { targets: [alice.uri] });
    expect(own).toMatchObject({ targets: [{ uri: alice.uri, presence: { availability: 'busy', note: 'in a review' } }] });
    expect(h.seenByBob()).toEqual([{ availability: 'busy', note: 'in a review' }]);
  });

  it("a new device publishing only machine state ('online' from activity) does not override the user's choice", async () => {
    const h = await watched();
    const chosen = await h.service.publish(alice, 'a1', { source: 'user', availability: 'doNotDisturb' });
    await h.connect(alice, 'phone');
    const machine = await h.service.publish(alice, 'phone', { source: 'machine', availability: 'online', activity: 'active' });
    expect(machine).toEqual(chosen);
    expect(h.seenByBob()).toEqual([{ availability: 'doNotDisturb' }]);
  });

  it('a reset on any device hands every device back to the machine states', async () => {
    const h = await watched();
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'away' });
    await h.connect(alice, 'a2');
    expect((await h.service.publish(alice, 'a2', { source: 'user', reset: true })).presence).toEqual({ availability: 'online' });
  });
});

describe('persistent presence rule: PRESENCE_STATE_SECONDS after it was chosen, the explicit state and note expire', () => {
  it('a reconnect after the lifetime shows the machine state; a watcher’s refresh shows it even without a reconnect', async () => {
    const h = await watched();
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'doNotDisturb', note: 'focus time' });
    h.clock.advance(LIFETIME_MS - 1);
    await h.connect(alice, 'a2');
    expect((await h.store.readUser(alice.uri)).aggregate?.presence).toEqual({ availability: 'doNotDisturb', note: 'focus time' });
    h.clock.advance(1);
    // No publish, no reconnect: Bob's refresh (as the server's scheduled one does) finds the choice expired.
    const refreshed = await h.service.refresh(bob, 'b1', h.subscriptionId);
    expect(refreshed.subscriptions[0]).toMatchObject({ targets: [{ uri: alice.uri, presence: { availability: 'online' }, version: 3 }] });
    expect(h.seenByBob()).toEqual([{ availability: 'doNotDisturb', note: 'focus time' }, { availability: 'online' }]);
    await h.service.endpointGone(alice.uri, 'a1');
    expect((await h.connect(alice, 'a3')).presence).toEqual({ availability: 'online' });
  });

  it('choosing again restarts the lifetime', async () => {
    const h = await watched();
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'busy' });
    h.clock.advance(LIFETIME_MS - 10);
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'busy' });
    h.clock.advance(LIFETIME_MS - 10);
    expect((await h.connect(alice, 'a2')).presence).toEqual({ availability: 'busy' });
  });
});

describe('persistent presence rule: appearing offline hides the note from watchers', () => {
  it('watchers see "offline" without the note; coming back shows the note again', async () => {
    const h = await watched();
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'online', note: 'in Berlin' });
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'offline' });
    const snapshot = await h.service.subscribe(user('carol'), 'c1', { targets: [alice.uri] });
    expect(snapshot).toMatchObject({ targets: [{ presence: { availability: 'offline' } }] });
    expect(JSON.stringify(snapshot)).not.toContain('in Berlin');
    await h.service.publish(alice, 'a1', { source: 'user', reset: true });
    expect(h.seenByBob()).toEqual([{ availability: 'online', note: 'in Berlin' }, { availability: 'offline' }, { availability: 'online', note: 'in Berlin' }]);
  });
});

describe('persistent presence keeps the version rule and O(1) writes per publish (issue 21)', () => {
  it("a user state is one write of the user's state and one of the aggregate, whatever the number of watchers", async () => {
    const h = await watched();
    for (let index = 0; index < 20; index++) {
      const watcher = user(`watcher${index}`);
      await h.connect(watcher, `w${index}`);
      await h.service.subscribe(watcher, `w${index}`, { targets: [alice.uri] });
    }
    h.store.calls.length = 0;
    const writes = ['putEndpoint', 'updateUserState', 'saveAggregate', 'updateSubscription', 'createSubscription', 'addTargets', 'removeWatches', 'removeWatchesOf'] as const;
    const answer = await h.service.publish(alice, 'a1', { source: 'user', availability: 'busy', note: 'in a call' });
    expect(h.store.callsOf(...writes)).toEqual(['updateUserState', 'saveAggregate']);
    expect(answer.version).toBe(2);
    h.store.calls.length = 0;
    await h.connect(alice, 'phone');
    await h.service.publish(alice, 'phone', { source: 'machine', availability: 'away', note: 'on the road' });
    expect(h.store.callsOf(...writes)).toEqual(['putEndpoint', 'putEndpoint', 'updateUserState', 'saveAggregate']);
    expect(h.delivery.versionsSeen('b1', alice.uri)).toEqual([2, 3]);
  });

  it('a machine state under an explicit one changes nothing: no version, no notification, no write of the user state', async () => {
    const h = await watched();
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'doNotDisturb' });
    h.store.calls.length = 0;
    const answer = await h.service.publish(alice, 'a1', { source: 'machine', availability: 'away' });
    expect(answer.version).toBe(2);
    expect(h.store.callsOf('putEndpoint', 'updateUserState', 'saveAggregate')).toEqual(['putEndpoint']);
    expect(h.delivery.versionsSeen('b1', alice.uri)).toEqual([2]);
  });
});
