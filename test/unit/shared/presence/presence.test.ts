import type { Identity } from '../../../../shared/auth/identity';
import { BadRequestError, ForbiddenError } from '../../../../shared/errors';
import {
  aggregatePresence,
  applyMachineState,
  applyUserStateChange,
  assertMayOpenSubscription,
  assertMayWatch,
  compareAvailability,
  connectedEndpoint,
  type EndpointPresence,
  MAX_TARGETS_PER_SUBSCRIPTION,
  mayWatch,
  type PresenceQuotas,
  samePresence,
  targetsAfterAdding,
  targetsToWatch,
  type Publication,
  type UserState,
  userStateChange,
} from '../../../../shared/presence/presence';

const NOW = 1_000_000;
const LIVE_UNTIL = NOW + 7_200_000;

function endpoint(connectionId: string, overrides: Partial<EndpointPresence> = {}): EndpointPresence {
  return { ...connectedEndpoint(connectionId, 'desktop', LIVE_UNTIL, NOW - 10_000), ...overrides };
}

function publishedOn(base: EndpointPresence, at: number, ...publications: Publication[]): EndpointPresence {
  return publications.reduce((current, publication) => applyMachineState(current, publication, at), base);
}

const LIFETIME_MS = 43_200_000;

/** The user's own state after these publications, each at its time. */
function userState(...publications: Array<[number, Publication]>): UserState {
  return publications.reduce<UserState>((current, [at, publication]) => applyUserStateChange(current, userStateChange(publication, at, LIFETIME_MS)), {});
}

const alice: Identity = { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice', device: 'desktop' };
const HOME = 'contoso.com';

describe('aggregation rule: a user with no connection is offline', () => {
  test('no endpoints at all', () => {
    expect(aggregatePresence([], NOW)).toEqual({ availability: 'offline' });
  });

  test('endpoints past their connection deadline do not count', () => {
    expect(aggregatePresence([endpoint('c1', { expiresAt: NOW })], NOW)).toEqual({ availability: 'offline' });
  });

  test('a just-connected endpoint is online (its machine state)', () => {
    expect(aggregatePresence([endpoint('c1')], NOW)).toEqual({ availability: 'online' });
  });
});

describe('aggregation rule: the most available state wins over offline', () => {
  test('one endpoint offline, another online: online', () => {
    const desktop = publishedOn(endpoint('c1'), NOW - 5, { source: 'machine', availability: 'offline' });
    expect(aggregatePresence([desktop, endpoint('c2')], NOW).availability).toBe('online');
  });

  test('idle desktop (away) and mobile in a call (busy): busy, the more available', () => {
    const desktop = publishedOn(endpoint('c1'), NOW - 2, { source: 'machine', availability: 'away' });
    const mobile = publishedOn(endpoint('c2'), NOW - 1, { source: 'machine', availability: 'busy', activity: 'inACall' });
    expect(aggregatePresence([desktop, mobile], NOW)).toEqual({ availability: 'busy', activity: 'inACall' });
  });

  test('every endpoint offline: offline', () => {
    const one = publishedOn(endpoint('c1'), NOW - 2, { source: 'machine', availability: 'offline' });
    const two = publishedOn(endpoint('c2'), NOW - 1, { source: 'machine', availability: 'offline' });
    expect(aggregatePresence([one, two], NOW).availability).toBe('offline');
  });

  test('states rank online, busy, doNotDisturb, beRightBack, away, offline', () => {
    const ranked = (['away', 'online', 'offline', 'beRightBack', 'busy', 'doNotDisturb'] as const).slice().sort(compareAvailability);
    expect(ranked).toEqual(['online', 'busy', 'doNotDisturb', 'beRightBack', 'away', 'offline']);
  });
});

describe('aggregation rule: an explicit user state wins over machine state', () => {
  test('a user-chosen away beats another endpoint that is online by itself', () => {
    const chosen = userState([NOW - 1, { source: 'user', availability: 'away' }]);
    expect(aggregatePresence([endpoint('c1'), endpoint('c2')], NOW, chosen).availability).toBe('away');
  });

  test('the most recent user state wins, whichever endpoint chose it', () => {
    const chosen = userState([NOW - 20, { source: 'user', availability: 'doNotDisturb' }], [NOW - 10, { source: 'user', availability: 'beRightBack' }]);
    expect(aggregatePresence([endpoint('c1'), endpoint('c2')], NOW, chosen).availability).toBe('beRightBack');
  });

  test('a user-chosen offline is "appear offline"', () => {
    const chosen = userState([NOW - 1, { source: 'user', availability: 'offline' }]);
    expect(aggregatePresence([endpoint('c1'), endpoint('c2')], NOW, chosen).availability).toBe('offline');
  });

  test('a reset hands back to the machine states', () => {
    const reset = userState([NOW - 20, { source: 'user', availability: 'busy' }], [NOW - 10, { source: 'user', reset: true }]);
    const mobile = publishedOn(endpoint('c2'), NOW - 15, { source: 'machine', availability: 'away' });
    expect(aggregatePresence([endpoint('c1'), mobile], NOW, reset).availability).toBe('online');
  });

  test('a later machine state does not override the user state', () => {
    const chosen = userState([NOW - 20, { source: 'user', availability: 'busy' }]);
    const idle = publishedOn(endpoint('c1'), NOW - 10, { source: 'machine', availability: 'away' });
    expect(aggregatePresence([idle], NOW, chosen).availability).toBe('busy');
  });

  test('a machine publication leaves the user state alone (it changes only its endpoint)', () => {
    expect(userStateChange({ source: 'machine', availability: 'online' }, NOW, LIFETIME_MS)).toEqual({});
    const published = publishedOn(endpoint('c1'), NOW, { source: 'user', availability: 'busy' });
    expect(published).toEqual(endpoint('c1'));
  });
});

describe("persistent presence rule (SPEC §9): the explicit state and note are the user's, not one endpoint's", () => {
  const chosen = userState([NOW - 100, { source: 'user', availability: 'doNotDisturb', note: 'focus time' }]);

  test('they survive the endpoint that chose them: a new endpoint (a reload, a reconnect) shows them at once', () => {
    const reloaded = endpoint('after-reload', { machine: { availability: 'online', at: NOW } });
    expect(aggregatePresence([reloaded], NOW, chosen)).toEqual({ availability: 'doNotDisturb', note: 'focus time' });
  });

  test("a new device's machine state (online from activity) does not override the user's choice", () => {
    const phone = publishedOn(endpoint('phone', { device: 'mobile' }), NOW, { source: 'machine', availability: 'online', activity: 'active' });
    expect(aggregatePresence([endpoint('desktop'), phone], NOW, chosen)).toEqual({ availability: 'doNotDisturb', note: 'focus time' });
  });

  test('with no live connection the user is offline, without the note, whatever they chose', () => {
    expect(aggregatePresence([], NOW, chosen)).toEqual({ availability: 'offline' });
    expect(aggregatePresence([endpoint('closed', { expiresAt: NOW - 1 })], NOW, chosen)).toEqual({ availability: 'offline' });
  });

  test('PRESENCE_STATE_SECONDS after it was chosen, the explicit state expires and the machine states count again', () => {
    const expiresAt = NOW - 100 + LIFETIME_MS;
    const live = endpoint('c1', { expiresAt: expiresAt + 7_200_000 });
    expect(aggregatePresence([live], expiresAt - 1, chosen).availability).toBe('doNotDisturb');
    expect(aggregatePresence([live], expiresAt, chosen)).toEqual({ availability: 'online' });
  });

  test('choosing again (or writing the note again) restarts its lifetime', () => {
    const again = userState([NOW - 100, { source: 'user', availability: 'busy', note: 'a' }], [NOW + 1000, { source: 'user', availability: 'busy' }]);
    const later = NOW + LIFETIME_MS;
    expect(aggregatePresence([endpoint('c1', { expiresAt: later + 1 })], later, again)).toEqual({ availability: 'busy' });
  });

  test('appearing offline hides the note from watchers', () => {
    const hidden = userState([NOW - 10, { source: 'user', availability: 'offline', note: 'in Berlin' }]);
    expect(aggregatePresence([endpoint('c1')], NOW, hidden)).toEqual({ availability: 'offline' });
    const shownAgain = applyUserStateChange(hidden, userStateChange({ source: 'user', reset: true }, NOW - 5, LIFETIME_MS));
    expect(aggregatePresence([endpoint('c1')], NOW, shownAgain)).toEqual({ availability: 'online', note: 'in Berlin' });
  });
});

describe('aggregation rule: the note is the user’s, the latest published on any endpoint', () => {
  test('the most recent note wins; an empty note clears it', () => {
    const latest = userState([NOW - 20, { source: 'user', availability: 'online', note: 'in Berlin' }], [NOW - 10, { source: 'machine', availability: 'online', note: 'at lunch' }]);
    expect(aggregatePresence([endpoint('c1'), endpoint('c2')], NOW, latest).note).toBe('at lunch');
    const cleared = applyUserStateChange(latest, userStateChange({ source: 'machine', availability: 'online', note: '' }, NOW - 5, LIFETIME_MS));
    expect(aggregatePresence([endpoint('c1'), endpoint('c2')], NOW, cleared).note).toBeUndefined();
  });

  test('presence is compared field by field', () => {
    expect(samePresence({ availability: 'busy', note: 'x' }, { availability: 'busy', note: 'x' })).toBe(true);
    expect(samePresence({ availability: 'busy' }, { availability: 'busy', activity: 'inACall' })).toBe(false);
  });
});

describe('who may see whose presence', () => {
  test('anonymous guests and PSTN callers may not watch enterprise (home-domain) users', () => {
    for (const kind of ['anonymous', 'pstn'] as const) {
      expect(mayWatch({ ...alice, kind }, 'sip:bob@contoso.com', HOME)).toBe(false);
      expect(mayWatch({ ...alice, kind }, 'sip:BOB@Contoso.COM', HOME)).toBe(false);
    }
  });

  test('they may watch users outside the home domain', () => {
    expect(mayWatch({ ...alice, kind: 'anonymous' }, 'sip:partner@fabrikam.com', HOME)).toBe(true);
  });

  test('enterprise, federated, application and admin users may watch anyone', () => {
    for (const kind of ['enterprise', 'federated', 'application', 'admin'] as const) {
      expect(mayWatch({ ...alice, kind }, 'sip:bob@contoso.com', HOME)).toBe(true);
    }
  });

  test('a refused target refuses the whole request, naming it', () => {
    expect(() => targetsToWatch({ ...alice, kind: 'anonymous' }, ['sip:x@fabrikam.com', 'sip:bob@contoso.com'], HOME)).toThrow(
      new ForbiddenError('anonymous users may not watch the presence of sip:bob@contoso.com, a user of contoso.com'),
    );
  });

  test('targets are lowercased and deduplicated', () => {
    expect(targetsToWatch(alice, ['sip:Bob@contoso.com', 'sip:bob@contoso.com', 'sip:carol@contoso.com'], HOME)).toEqual([
      'sip:bob@contoso.com',
      'sip:carol@contoso.com',
    ]);
  });
});

describe('subscription size rule', () => {
  test('adding keeps each target once', () => {
    expect(targetsAfterAdding(['sip:a@x.com'], ['sip:a@x.com', 'sip:b@x.com'])).toEqual(['sip:a@x.com', 'sip:b@x.com']);
  });

  test(`a subscription watches at most ${MAX_TARGETS_PER_SUBSCRIPTION} users`, () => {
    const full = Array.from({ length: MAX_TARGETS_PER_SUBSCRIPTION }, (_, n) => `sip:u${n}@x.com`);
    expect(() => targetsAfterAdding(full, ['sip:one-more@x.com'])).toThrow(BadRequestError);
    expect(targetsAfterAdding(full, [full[0]!])).toHaveLength(MAX_TARGETS_PER_SUBSCRIPTION);
  });
});

describe('presence quotas (issue 17)', () => {
  const quotas: PresenceQuotas = { maxSubscriptionsPerUser: 2, maxWatchedTargetsPerUser: 10, maxTargetsPerSubscription: 5 };

  test('PRESENCE_MAX_TARGETS_PER_SUBSCRIPTION is the configured size, named in the 400', () => {
    expect(() => targetsAfterAdding(['sip:a@x.com'], ['sip:b@x.com', 'sip:c@x.com'], 2)).toThrow(/at most 2 users \(PRESENCE_MAX_TARGETS_PER_SUBSCRIPTION\)/);
    expect(targetsAfterAdding(['sip:a@x.com'], ['sip:b@x.com'], 2)).toHaveLength(2);
  });

  test('PRESENCE_MAX_SUBSCRIPTIONS_PER_USER: one more than the quota is 403 naming it', () => {
    expect(() => assertMayOpenSubscription({ subscriptions: 1, watchedTargets: 1 }, 1, quotas)).not.toThrow();
    expect(() => assertMayOpenSubscription({ subscriptions: 2, watchedTargets: 2 }, 1, quotas)).toThrow(ForbiddenError);
    expect(() => assertMayOpenSubscription({ subscriptions: 2, watchedTargets: 2 }, 1, quotas)).toThrow(/PRESENCE_MAX_SUBSCRIPTIONS_PER_USER: a user holds at most 2/);
  });

  test('PRESENCE_MAX_WATCHED_TARGETS_PER_USER: targets over all subscriptions, a new one or added, past the quota are 403 naming it', () => {
    expect(() => assertMayOpenSubscription({ subscriptions: 1, watchedTargets: 6 }, 5, quotas)).toThrow(/PRESENCE_MAX_WATCHED_TARGETS_PER_USER: a user watches at most 10/);
    expect(() => assertMayWatch({ subscriptions: 2, watchedTargets: 10 }, 1, quotas)).toThrow(ForbiddenError);
    expect(() => assertMayWatch({ subscriptions: 2, watchedTargets: 9 }, 1, quotas)).not.toThrow();
    // Nothing new to watch (targets already in the subscription) never trips it, even at the quota.
    expect(() => assertMayWatch({ subscriptions: 2, watchedTargets: 12 }, 0, quotas)).not.toThrow();
  });
});
