import { DependencyUnavailableError } from '../../../../shared/errors';
import { REFRESH_TIMER_RULE } from '../../../../shared/presence/service';
import type { ActiveSubscriptionView, SubscriptionView } from '../../../../shared/presence/views';
import { LIFETIME_SECONDS, presenceHarness, user, withoutBackoff } from './presence-harness';

/**
 * The subscription rules of SPEC §5 on memory ports: a subscriber sees every change or can tell it missed one,
 * timers are hints re-checked against the stored subscription, expiry is decided by the clock, quotas hold at the
 * cap, and a failed Scheduler call leaves nothing half made.
 */
withoutBackoff();

const alice = user('alice');
const bob = user('bob');
const LIFETIME_MS = LIFETIME_SECONDS * 1000;

function active(view: SubscriptionView): ActiveSubscriptionView {
  if (view.state === 'terminated') throw new Error(`expected an active subscription, got ${JSON.stringify(view)}`);
  return view;
}

async function twoUsers() {
  const h = presenceHarness();
  await h.connect(alice, 'a1');
  await h.connect(bob, 'b1');
  return h;
}

describe('publish racing subscribe: the subscriber sees the current version or is notified of it', () => {
  it('a publish before the index items are written is in the snapshot', async () => {
    const h = await twoUsers();
    h.store.beforeNext('createSubscription', () => h.service.publish(alice, 'a1', { source: 'user', availability: 'busy' }));
    const view = active(await h.service.subscribe(bob, 'b1', { targets: [alice.uri] }));
    expect(view.targets).toEqual([{ uri: alice.uri, presence: { availability: 'busy' }, version: 2 }]);
    expect(h.delivery.versionsSeen('b1', alice.uri)).toEqual([]);
  });

  it('a publish after the index items are written, before the snapshot, is notified (and in the snapshot)', async () => {
    const h = await twoUsers();
    h.store.beforeNext('readAggregates', () => h.service.publish(alice, 'a1', { source: 'user', availability: 'busy' }));
    const view = active(await h.service.subscribe(bob, 'b1', { targets: [alice.uri] }));
    expect(h.delivery.versionsSeen('b1', alice.uri)).toEqual([2]);
    expect(view.targets[0]?.version).toBe(2);
  });

  it('a target added to a subscription while its presence changes: the change is in the answer or notified', async () => {
    const h = await twoUsers();
    const carol = user('carol');
    await h.connect(carol, 'c1');
    const { subscriptionId } = await h.service.subscribe(bob, 'b1', { targets: [carol.uri] });
    h.store.beforeNext('getSubscription', () => h.service.publish(alice, 'a1', { source: 'user', availability: 'away' }));
    h.store.beforeNext('readAggregates', () => h.service.publish(alice, 'a1', { source: 'user', availability: 'busy' }));
    const view = active(await h.service.subscribe(bob, 'b1', { targets: [alice.uri], subscriptionId }));
    const seen = [view.targets.find((target) => target.uri === alice.uri)!.version, ...h.delivery.versionsSeen('b1', alice.uri)];
    expect(Math.max(...seen)).toBe((await h.store.readUser(alice.uri)).aggregate?.version);
  });

  it('adding targets that loses to a concurrent refresh decides again and adds them', async () => {
    const h = await twoUsers();
    const carol = user('carol');
    const { subscriptionId } = await h.service.subscribe(bob, 'b1', { targets: [carol.uri] });
    h.store.beforeNext('addTargets', () => h.service.refresh(bob, 'b1', subscriptionId));
    const view = active(await h.service.subscribe(bob, 'b1', { targets: [alice.uri], subscriptionId }));
    expect(view.targets.map((target) => target.uri)).toEqual([alice.uri]);
    expect((await h.stored(subscriptionId)).targets).toEqual([carol.uri, alice.uri]);
    expect(h.store.callsOf('addTargets')).toHaveLength(2);
  });
});

describe('the refresh timer is a hint: it re-reads and acts only if due', () => {
  async function subscribed() {
    const h = await twoUsers();
    const { subscriptionId } = await h.service.subscribe(bob, 'b1', { targets: [alice.uri] });
    return { ...h, subscriptionId };
  }

  it('a due firing checks subscriber and targets, renews the subscription and arms the next version', async () => {
    const h = await subscribed();
    const [armed] = h.timers.pending(REFRESH_TIMER_RULE);
    expect(armed).toMatchObject({ subject: h.subscriptionId, version: 1, at: h.clock.now() + h.policy.checkIntervalMs });
    h.clock.set(armed!.at);
    expect(await h.fireDueTimers()).toEqual(['rearmed']);
    expect(await h.stored(h.subscriptionId)).toMatchObject({ state: 'subscribed', timerVersion: 2, expiresAt: h.clock.now() + LIFETIME_MS });
    expect(h.timers.pending(REFRESH_TIMER_RULE)).toEqual([expect.objectContaining({ version: 2, at: h.clock.now() + h.policy.checkIntervalMs })]);
  });

  it('a duplicate firing (Scheduler delivers at least once) is ignored and writes nothing', async () => {
    const h = await subscribed();
    h.clock.advance(h.policy.checkIntervalMs);
    const firing = { rule: REFRESH_TIMER_RULE, subject: h.subscriptionId, version: 1 };
    expect(await h.service.onRefreshTimer(firing)).toBe('rearmed');
    h.store.calls.length = 0;
    const arms = h.timers.history.length;
    expect(await h.service.onRefreshTimer(firing)).toBe('ignored');
    expect(h.store.callsOf('updateSubscription', 'deleteSubscription', 'removeWatches')).toEqual([]);
    expect(h.timers.history).toHaveLength(arms);
  });

  it('a stale firing (a version no longer armed) is ignored', async () => {
    const h = await subscribed();
    expect(await h.service.onRefreshTimer({ rule: REFRESH_TIMER_RULE, subject: h.subscriptionId, version: 7 })).toBe('ignored');
    expect(await h.stored(h.subscriptionId)).toMatchObject({ timerVersion: 1, rev: 1 });
  });

  it('a firing for a subscription that is gone is ignored', async () => {
    const h = await subscribed();
    await h.service.unsubscribe(bob, h.subscriptionId);
    expect(await h.service.onRefreshTimer({ rule: REFRESH_TIMER_RULE, subject: h.subscriptionId, version: 1 })).toBe('ignored');
  });

  it('a late firing (past the deadline) terminates the subscription as expired, announced, out of the index', async () => {
    const h = await subscribed();
    h.clock.advance(LIFETIME_MS + 5_000);
    expect(await h.service.onRefreshTimer({ rule: REFRESH_TIMER_RULE, subject: h.subscriptionId, version: 1 })).toBe('acted');
    expect(h.delivery.named('presence.subscriptionState').map((entry) => entry.payload)).toEqual([
      { subscriptionId: h.subscriptionId, state: 'terminated', reason: 'expired' },
    ]);
    // Told, so not kept for a resume; and fan-out never reads it again.
    expect(h.store.subscriptions.has(h.subscriptionId)).toBe(false);
    expect((await h.store.watchersPage(alice.uri)).subscriptionIds).toEqual([]);
  });

  it('a firing whose write loses to an unsubscribe re-reads and leaves the subscription ended', async () => {
    const h = await subscribed();
    h.clock.advance(h.policy.checkIntervalMs);
    h.store.beforeNext('updateSubscription', () => h.service.unsubscribe(bob, h.subscriptionId));
    expect(await h.service.onRefreshTimer({ rule: REFRESH_TIMER_RULE, subject: h.subscriptionId, version: 1 })).toBe('ignored');
    expect(h.store.subscriptions.has(h.subscriptionId)).toBe(false);
    expect((await h.store.watchersPage(alice.uri)).subscriptionIds).toEqual([]);
  });

  it('a Scheduler failure re-arming fails the firing (Scheduler retries it) and changes nothing', async () => {
    const h = await subscribed();
    h.clock.advance(h.policy.checkIntervalMs);
    h.timers.failNextArms = 1;
    await expect(h.service.onRefreshTimer({ rule: REFRESH_TIMER_RULE, subject: h.subscriptionId, version: 1 })).rejects.toMatchObject({ message: 'Scheduler is unavailable' });
    expect(await h.stored(h.subscriptionId)).toMatchObject({ timerVersion: 1, rev: 1 });
    expect(await h.service.onRefreshTimer({ rule: REFRESH_TIMER_RULE, subject: h.subscriptionId, version: 1 })).toBe('rearmed');
  });
});

describe('a subscriber whose connection is gone', () => {
  it('the refresh finds it gone: terminating with backoff, then terminated subscriberGone, reported once on resume', async () => {
    const h = await twoUsers();
    const { subscriptionId } = await h.service.subscribe(bob, 'b1', { targets: [alice.uri] });
    h.vanish('b1');
    const outcomes: string[] = [];
    for (let firings = 0; firings < 10 && h.timers.pending(REFRESH_TIMER_RULE).length > 0; firings++) {
      h.clock.set(h.timers.pending(REFRESH_TIMER_RULE)[0]!.at);
      outcomes.push(...(await h.fireDueTimers()));
    }
    // 1 failed check, then maxRetries (3) failed retries: the last one terminates it.
    expect(outcomes).toEqual(['rearmed', 'rearmed', 'rearmed', 'acted']);
    expect(await h.stored(subscriptionId)).toMatchObject({ state: 'terminated', reason: 'subscriberGone' });
    expect((await h.stored(subscriptionId)).connectionId).toBeUndefined();
    // The owner comes back: told once, then forgotten.
    await h.connect(bob, 'b2');
    expect((await h.service.resume(bob, 'b2')).subscriptions).toEqual([{ subscriptionId, state: 'terminated', reason: 'subscriberGone', uris: [alice.uri] }]);
    expect((await h.service.resume(bob, 'b2')).subscriptions).toEqual([]);
  });

  it('the owner back within the retries resumes it: subscribed again on the new connection, with a snapshot', async () => {
    const h = await twoUsers();
    const { subscriptionId } = await h.service.subscribe(bob, 'b1', { targets: [alice.uri] });
    h.vanish('b1');
    h.clock.set(h.timers.pending(REFRESH_TIMER_RULE)[0]!.at);
    await h.fireDueTimers();
    expect(await h.stored(subscriptionId)).toMatchObject({ state: 'terminating', reason: 'subscriberGone', attempts: 1 });
    await h.connect(bob, 'b2');
    const [view] = (await h.service.resume(bob, 'b2')).subscriptions;
    expect(view).toMatchObject({ subscriptionId, state: 'subscribed', targets: [{ uri: alice.uri, version: 1 }] });
    expect(await h.stored(subscriptionId)).toMatchObject({ connectionId: 'b2', state: 'subscribed', attempts: 0 });
  });
});

describe('expiry is checked by code, not by TTL or the timer', () => {
  it('a subscription past its deadline whose timer was lost ends at the next publish of a target, once, announced', async () => {
    const h = await twoUsers();
    const { subscriptionId } = await h.service.subscribe(bob, 'b1', { targets: [alice.uri] });
    h.timers.armed.clear(); // Scheduler gave up on it
    h.clock.advance(LIFETIME_MS);
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'busy' });
    expect(h.delivery.versionsSeen('b1', alice.uri)).toEqual([]);
    expect(h.delivery.named('presence.subscriptionState').map((entry) => entry.payload)).toEqual([{ subscriptionId, state: 'terminated', reason: 'expired' }]);
    h.store.calls.length = 0;
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'away' });
    expect(h.store.callsOf('getSubscriptions', 'updateSubscription')).toEqual([]);
  });

  it('a refresh by its owner after the deadline reports it terminated (expired), not renewed', async () => {
    const h = await twoUsers();
    const { subscriptionId } = await h.service.subscribe(bob, 'b1', { targets: [alice.uri] });
    h.clock.advance(LIFETIME_MS);
    expect((await h.service.refresh(bob, 'b1', subscriptionId)).subscriptions).toEqual([{ subscriptionId, state: 'terminated', reason: 'expired', uris: [alice.uri] }]);
    expect(h.store.subscriptions.has(subscriptionId)).toBe(false);
  });

  it('adding targets to a subscription past its deadline is 410 (subscribe anew)', async () => {
    const h = await twoUsers();
    const { subscriptionId } = await h.service.subscribe(bob, 'b1', { targets: [alice.uri] });
    h.clock.advance(LIFETIME_MS + 1);
    await expect(h.service.subscribe(bob, 'b1', { targets: [user('carol').uri], subscriptionId })).rejects.toMatchObject({ status: 410 });
  });
});

describe('quotas at the cap', () => {
  const quotas = { maxSubscriptionsPerUser: 2, maxWatchedTargetsPerUser: 3, maxTargetsPerSubscription: 2 };
  const targets = (...names: string[]) => names.map((name) => user(name).uri);

  it('the subscription at the cap is accepted, the next one is 403 naming PRESENCE_MAX_SUBSCRIPTIONS_PER_USER', async () => {
    const h = presenceHarness({ quotas });
    await h.connect(bob, 'b1');
    await h.service.subscribe(bob, 'b1', { targets: targets('t1') });
    await h.service.subscribe(bob, 'b1', { targets: targets('t2') });
    await expect(h.service.subscribe(bob, 'b1', { targets: targets('t3') })).rejects.toMatchObject({ status: 403, message: expect.stringContaining('PRESENCE_MAX_SUBSCRIPTIONS_PER_USER') });
    expect(h.store.subscriptions.size).toBe(2);
    expect(h.timers.pending(REFRESH_TIMER_RULE)).toHaveLength(2);
  });

  it('an expired or terminated subscription does not count toward the cap', async () => {
    const h = presenceHarness({ quotas });
    await h.connect(bob, 'b1');
    await h.service.subscribe(bob, 'b1', { targets: targets('t1') });
    const second = await h.service.subscribe(bob, 'b1', { targets: targets('t2') });
    await h.service.unsubscribe(bob, second.subscriptionId);
    h.clock.advance(LIFETIME_MS);
    await h.service.subscribe(bob, 'b1', { targets: targets('t3') });
    await h.service.subscribe(bob, 'b1', { targets: targets('t4') });
  });

  it('watched targets at the cap are accepted, one more is 403 naming PRESENCE_MAX_WATCHED_TARGETS_PER_USER, and nothing is added', async () => {
    const h = presenceHarness({ quotas });
    await h.connect(bob, 'b1');
    const first = await h.service.subscribe(bob, 'b1', { targets: targets('t1', 't2') });
    const second = await h.service.subscribe(bob, 'b1', { targets: targets('t3') });
    await expect(h.service.subscribe(bob, 'b1', { targets: targets('t4'), subscriptionId: second.subscriptionId })).rejects.toMatchObject({
      status: 403,
      message: expect.stringContaining('PRESENCE_MAX_WATCHED_TARGETS_PER_USER'),
    });
    expect((await h.stored(second.subscriptionId)).targets).toEqual(targets('t3'));
    expect((await h.store.watchersPage(user('t4').uri)).subscriptionIds).toEqual([]);
    // Targets it already watches add nothing and are allowed at the cap.
    await h.service.subscribe(bob, 'b1', { targets: targets('t1'), subscriptionId: first.subscriptionId });
  });

  it('a subscription grows to PRESENCE_MAX_TARGETS_PER_SUBSCRIPTION and no further (400 naming targets)', async () => {
    const h = presenceHarness({ quotas });
    await h.connect(bob, 'b1');
    await expect(h.service.subscribe(bob, 'b1', { targets: targets('t1', 't2', 't3') })).rejects.toMatchObject({ status: 400 });
    expect(h.store.subscriptions.size).toBe(0);
  });
});

describe('a Scheduler arm failing in subscribe', () => {
  it('is 503 with nothing stored; the retry with the same clientId creates it, and a second retry reuses it', async () => {
    const h = await twoUsers();
    jest.spyOn(h.timers, 'arm').mockRejectedValueOnce(new DependencyUnavailableError('scheduler'));
    const command = { targets: [alice.uri], clientId: 'client-1' };
    await expect(h.service.subscribe(bob, 'b1', command)).rejects.toMatchObject({ status: 503 });
    expect(h.store.subscriptions.size).toBe(0);
    expect((await h.store.watchersPage(alice.uri)).subscriptionIds).toEqual([]);
    const created = active(await h.service.subscribe(bob, 'b1', command));
    const again = active(await h.service.subscribe(bob, 'b1', command));
    expect(again.subscriptionId).toBe(created.subscriptionId);
    expect(h.store.subscriptions.size).toBe(1);
    expect(h.timers.pending(REFRESH_TIMER_RULE).map((timer) => timer.subject)).toEqual([created.subscriptionId]);
  });

  it('a retry racing the first try (same clientId) answers the one subscription the first made', async () => {
    const h = await twoUsers();
    const command = { targets: [alice.uri], clientId: 'client-2' };
    let retried: SubscriptionView | undefined;
    h.store.beforeNext('createSubscription', async () => {
      retried = await h.service.subscribe(bob, 'b1', command);
    });
    const first = await h.service.subscribe(bob, 'b1', command);
    expect(retried?.subscriptionId).toBe(first.subscriptionId);
    expect(h.store.subscriptions.size).toBe(1);
  });
});

describe('unsubscribe', () => {
  it('racing a refresh by the owner: decides again, ends it, deletes it and cancels its timer', async () => {
    const h = await twoUsers();
    const { subscriptionId } = await h.service.subscribe(bob, 'b1', { targets: [alice.uri] });
    h.store.beforeNext('updateSubscription', () => h.service.refresh(bob, 'b1', subscriptionId));
    expect(await h.service.unsubscribe(bob, subscriptionId)).toEqual({ subscriptionId, state: 'terminated', reason: 'unsubscribed', uris: [alice.uri] });
    expect(h.store.subscriptions.has(subscriptionId)).toBe(false);
    expect(h.timers.cancelled).toEqual([{ rule: REFRESH_TIMER_RULE, subject: subscriptionId, version: 1 }]);
  });

  it('only the owner may end a subscription (403)', async () => {
    const h = await twoUsers();
    const { subscriptionId } = await h.service.subscribe(bob, 'b1', { targets: [alice.uri] });
    await expect(h.service.unsubscribe(alice, subscriptionId)).rejects.toMatchObject({ status: 403 });
  });
});
