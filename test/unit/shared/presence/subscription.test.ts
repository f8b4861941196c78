import { ForbiddenError } from '../../../../shared/errors';
import {
  afterRefresh,
  assertOwner,
  decideResume,
  expiryReason,
  firstCheckAt,
  hasExpired,
  planRefreshTimer,
  renewed,
  retryDelay,
  type Subscription,
  subscriptionPolicy,
} from '../../../../shared/presence/subscription';

const policy = subscriptionPolicy(3600);
const NOW = 10_000_000;

function subscription(overrides: Partial<Subscription> = {}): Subscription {
  return {
    subscriptionId: 's1',
    ownerUri: 'sip:alice@contoso.com',
    connectionId: 'conn-1',
    targets: ['sip:bob@contoso.com'],
    state: 'subscribed',
    expiresAt: NOW + 3_000_000,
    createdAt: NOW - 2_600_000,
    timerVersion: 3,
    attempts: 0,
    rev: 7,
    ...overrides,
  };
}

describe('subscription lifetime rule: it expires after PRESENCE_SUBSCRIPTION_SECONDS unless refreshed', () => {
  test('the server checks it twice per lifetime, the first time half-way', () => {
    expect(policy.checkIntervalMs).toBe(1_800_000);
    expect(firstCheckAt(NOW, policy)).toBe(NOW + 1_800_000);
  });

  test('past its deadline it has expired, even if its timer has not fired yet', () => {
    expect(hasExpired(subscription({ expiresAt: NOW }), NOW)).toBe(true);
    expect(hasExpired(subscription({ expiresAt: NOW + 1 }), NOW)).toBe(false);
  });

  test('the timer firing at the deadline terminates it as expired', () => {
    expect(planRefreshTimer(subscription({ expiresAt: NOW }), 3, NOW)).toEqual({ kind: 'terminate', reason: 'expired' });
  });

  test('a subscription that was terminating ends with the failure being retried, not "expired"', () => {
    const failing = subscription({ state: 'terminating', reason: 'subscriberGone', attempts: 1, expiresAt: NOW });
    expect(expiryReason(failing)).toBe('subscriberGone');
    expect(planRefreshTimer(failing, 3, NOW)).toEqual({ kind: 'terminate', reason: 'subscriberGone' });
  });

  test('a refresh by the owner gives a new lifetime', () => {
    expect(renewed(subscription(), NOW, policy)).toEqual({ expiresAt: NOW + 3_600_000, state: 'subscribed', attempts: 0 });
  });

  test('timers fire to the second, so short test lifetimes still check at least a second apart', () => {
    expect(subscriptionPolicy(2)).toEqual({ lifetimeMs: 2000, checkIntervalMs: 1000, retryBaseMs: 1000, maxRetries: 3 });
  });
});

describe('refresh timer rule: stale and moot firings change nothing', () => {
  test('a firing of another version is stale', () => {
    expect(planRefreshTimer(subscription(), 2, NOW)).toEqual({ kind: 'ignore', why: 'staleTimer' });
  });

  test('a firing on a terminated subscription is ignored', () => {
    expect(planRefreshTimer(subscription({ state: 'terminated', reason: 'unsubscribed' }), 3, NOW)).toEqual({ kind: 'ignore', why: 'terminated' });
  });

  test('the armed version, before the deadline, checks the subscription', () => {
    expect(planRefreshTimer(subscription(), 3, NOW)).toEqual({ kind: 'check' });
  });
});

describe('refresh failure rule: subscribed → terminating (retries with backoff) → terminated', () => {
  test('server refresh rule (SPEC §5): a healthy check keeps it subscribed, renews its lifetime and schedules the next check an interval later', () => {
    // Its deadline was near: the server's own refresh renews it, so a connected subscriber never sees it expire.
    expect(afterRefresh(subscription({ expiresAt: NOW + 5_000 }), { ok: true }, NOW, policy)).toEqual({
      state: 'subscribed',
      attempts: 0,
      expiresAt: NOW + policy.lifetimeMs,
      nextCheckAt: NOW + policy.checkIntervalMs,
      announce: false,
    });
  });

  test('a failing check renews nothing, and its retry is never after the deadline: the expiry is the last firing', () => {
    const outcome = afterRefresh(subscription({ expiresAt: NOW + 5_000 }), { ok: false, reason: 'targetGone' }, NOW, policy);
    expect(outcome).toMatchObject({ state: 'terminating', nextCheckAt: NOW + 5_000 });
    expect(outcome).not.toHaveProperty('expiresAt');
  });

  test('a first failure moves it to terminating with the reason, announced, and retries after the base delay', () => {
    expect(afterRefresh(subscription(), { ok: false, reason: 'targetGone' }, NOW, policy)).toEqual({
      state: 'terminating',
      reason: 'targetGone',
      attempts: 1,
      nextCheckAt: NOW + policy.retryBaseMs,
      announce: true,
    });
  });

  test('each further failure doubles the delay, and is not announced again', () => {
    const failing = subscription({ state: 'terminating', reason: 'targetGone', attempts: 1 });
    expect(afterRefresh(failing, { ok: false, reason: 'targetGone' }, NOW, policy)).toEqual({
      state: 'terminating',
      reason: 'targetGone',
      attempts: 2,
      nextCheckAt: NOW + 2 * policy.retryBaseMs,
      announce: false,
    });
  });

  test('backoff doubles up to the check interval', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelay(attempt, policy))).toEqual([225_000, 450_000, 900_000, 1_800_000, 1_800_000]);
  });

  test('after three failed retries it is terminated with the reason', () => {
    const failing = subscription({ state: 'terminating', reason: 'subscriberGone', attempts: 3 });
    expect(afterRefresh(failing, { ok: false, reason: 'subscriberGone' }, NOW, policy)).toEqual({ state: 'terminated', reason: 'subscriberGone' });
  });

  test('a successful retry brings it back to subscribed, announced', () => {
    const failing = subscription({ state: 'terminating', reason: 'targetGone', attempts: 2 });
    expect(afterRefresh(failing, { ok: true }, NOW, policy)).toMatchObject({ state: 'subscribed', attempts: 0, announce: true });
  });

  test('a different failure while terminating is announced with its reason', () => {
    const failing = subscription({ state: 'terminating', reason: 'targetGone', attempts: 1 });
    expect(afterRefresh(failing, { ok: false, reason: 'subscriberGone' }, NOW, policy)).toMatchObject({ reason: 'subscriberGone', announce: true });
  });
});

describe('resume rule: a user’s subscriptions come back on their new connection', () => {
  test('a detached subscription is re-attached', () => {
    expect(decideResume(subscription({ connectionId: undefined }), 'conn-2', NOW, false)).toBe('reattach');
  });

  test('one attached to a connection that is gone is re-attached', () => {
    expect(decideResume(subscription(), 'conn-2', NOW, false)).toBe('reattach');
  });

  test('one held by another live connection of the user stays there', () => {
    expect(decideResume(subscription(), 'conn-2', NOW, true)).toBe('skip');
  });

  test('one already on this connection is kept', () => {
    expect(decideResume(subscription({ connectionId: 'conn-2' }), 'conn-2', NOW, false)).toBe('keep');
  });

  test('one terminated while the user was away is reported', () => {
    expect(decideResume(subscription({ state: 'terminated', reason: 'expired' }), 'conn-2', NOW, false)).toBe('report');
  });

  test('one past its deadline whose timer has not fired yet is expired now', () => {
    expect(decideResume(subscription({ connectionId: undefined, expiresAt: NOW }), 'conn-2', NOW, false)).toBe('expire');
  });

  test('a subscription terminating only because its subscriber was gone recovers when the subscriber is back', () => {
    const away = subscription({ connectionId: undefined, state: 'terminating', reason: 'subscriberGone', attempts: 2 });
    expect(renewed(away, NOW, policy)).toEqual({ expiresAt: NOW + policy.lifetimeMs, state: 'subscribed', attempts: 0 });
  });

  test('a subscription terminating because a target is unreachable stays terminating', () => {
    const failing = subscription({ state: 'terminating', reason: 'targetGone', attempts: 1 });
    expect(renewed(failing, NOW, policy)).toEqual({ expiresAt: NOW + policy.lifetimeMs, state: 'terminating', attempts: 1, reason: 'targetGone' });
  });
});

describe('ownership rule', () => {
  test('only the owner uses a subscription', () => {
    expect(() => assertOwner(subscription(), 'sip:mallory@contoso.com')).toThrow(ForbiddenError);
    expect(() => assertOwner(subscription(), 'sip:alice@contoso.com')).not.toThrow();
  });
});
