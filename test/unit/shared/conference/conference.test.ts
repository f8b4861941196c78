import type { Identity } from '../../../../shared/auth/identity';
import {
  activate,
  type Conference,
  type ConferenceDurations,
  countsAsEnterprise,
  decideAdmission,
  decideContentPurge,
  decideDeactivationTimer,
  deactivate,
  expiryTime,
  isGone,
  lobbyPresenterNews,
  rearmVersion,
  roleFor,
  visibleParticipantCount,
  withFirstParticipant,
} from '../../../../shared/conference/conference';

const DAY = 86_400_000;
const durations: ConferenceDurations = {
  emptyGraceMs: 1_200_000,
  noEnterpriseMs: 5_400_000,
  noJoinMs: DAY,
  expiryMs: 14 * DAY,
  contentGraceMs: 15 * DAY,
};
const HOME = 'contoso.com';
const who = (name: string, kind: Identity['kind'] = 'enterprise', domain = HOME): Identity => ({ uri: `sip:${name}@${domain}`, kind, name, device: 'desktop' });
const organizer = who('olga');
const scheduled = (overrides: Partial<Conference> = {}): Conference => ({
  confId: 'c1',
  organizer: organizer.uri,
  subject: 's',
  admission: 'invited',
  autoPromote: 'scheduledPresenters',
  pstnLobbyBypass: false,
  invitees: ['sip:ivan@contoso.com'],
  presenters: ['sip:pat@contoso.com'],
  static: false,
  createdAt: 0,
  state: 'scheduled',
  stateVersion: 1,
  ...overrides,
});
const activeAt = (at: number, overrides: Partial<Conference> = {}) => activate(scheduled(overrides), 'A', at);

describe('admission (the Focus checks the admission type and the lock)', () => {
  test('invited: invitees, scheduled presenters and the organizer enter; others wait in the lobby', () => {
    const conference = scheduled();
    expect(decideAdmission(conference, who('ivan'), HOME).kind).toBe('enter');
    expect(decideAdmission(conference, who('pat'), HOME).kind).toBe('enter');
    expect(decideAdmission(conference, organizer, HOME).kind).toBe('enter');
    expect(decideAdmission(conference, who('zed'), HOME).kind).toBe('lobby');
  });

  test('organization: users of the home organization enter; federated users are not organization', () => {
    const conference = scheduled({ admission: 'organization' });
    expect(decideAdmission(conference, who('zed'), HOME).kind).toBe('enter');
    expect(decideAdmission(conference, who('fay', 'federated', 'fabrikam.com'), HOME).kind).toBe('lobby');
    expect(decideAdmission(conference, who('eve', 'enterprise', 'fabrikam.com'), HOME).kind).toBe('lobby');
  });

  test('anyone: everyone enters', () => {
    expect(decideAdmission(scheduled({ admission: 'anyone' }), who('guest', 'anonymous', 'guest'), HOME).kind).toBe('enter');
  });

  test('PSTN callers skip the lobby only with pstnLobbyBypass', () => {
    expect(decideAdmission(scheduled({ pstnLobbyBypass: true }), who('+1', 'pstn'), HOME).kind).toBe('enter');
    expect(decideAdmission(scheduled({ pstnLobbyBypass: false }), who('+1', 'pstn'), HOME).kind).toBe('lobby');
  });

  test('a locked conference admits no new participant but its organizer', () => {
    const base = activeAt(0, { admission: 'anyone' });
    const locked: Conference = { ...base, active: { ...base.active!, locked: true } };
    expect(decideAdmission(locked, who('ivan'), HOME)).toEqual({ kind: 'refuse', why: 'the conference is locked' });
    expect(decideAdmission(locked, organizer, HOME).kind).toBe('enter');
  });

  test("item 12: a locked conference lets in another device of someone already in (not a new participant)", () => {
    const base = activeAt(0, { admission: 'invited' });
    const locked: Conference = { ...base, active: { ...base.active!, locked: true } };
    expect(decideAdmission(locked, who('zed'), HOME, true).kind).toBe('enter');
  });
});

describe('item 12: trusted participants are hidden from the count', () => {
  test('the visible count leaves out hidden participants (a record older than the counter has none)', () => {
    expect(visibleParticipantCount({ participantCount: 3, hiddenCount: 1 })).toBe(2);
    expect(visibleParticipantCount({ participantCount: 3 })).toBe(3);
    expect(visibleParticipantCount(withFirstParticipant(activeAt(0), false, true).active!)).toBe(0);
  });
});

describe('item 10: a timer re-armed by its own firing takes another version', () => {
  test('never the fired version, never below the stored one', () => {
    expect(rearmVersion(7, 7)).toBe(8);
    expect(rearmVersion(9, 7)).toBe(9);
    expect(rearmVersion(3, 7)).toBe(8);
  });
});

describe('the lobby hears when the last presenter goes and when one comes (conf.lobbyWait presenterPresent)', () => {
  const presenter = { role: 'presenter' as const };
  const attendee = { role: 'attendee' as const };
  test('the last presenter leaving (or demoted): false; a first presenter coming (or promoted): true', () => {
    expect(lobbyPresenterNews([presenter, attendee], [attendee])).toBe(false);
    expect(lobbyPresenterNews([attendee], [attendee, presenter])).toBe(true);
    expect(lobbyPresenterNews([], [presenter])).toBe(true);
  });
  test('nothing to say while a presenter stays in, or while none is in', () => {
    expect(lobbyPresenterNews([presenter, presenter], [presenter])).toBeUndefined();
    expect(lobbyPresenterNews([presenter], [presenter, presenter])).toBeUndefined();
    expect(lobbyPresenterNews([attendee, attendee], [attendee])).toBeUndefined();
  });
});

describe('roles follow autoPromote', () => {
  test('scheduledPresenters: only the organizer and scheduled presenters present', () => {
    expect(roleFor(scheduled(), who('pat'), HOME)).toBe('presenter');
    expect(roleFor(scheduled(), organizer, HOME)).toBe('presenter');
    expect(roleFor(scheduled(), who('ivan'), HOME)).toBe('attendee');
  });

  test('organization: organization users present, federated users attend', () => {
    const conference = scheduled({ autoPromote: 'organization' });
    expect(roleFor(conference, who('ivan'), HOME)).toBe('presenter');
    expect(roleFor(conference, who('fay', 'federated', 'fabrikam.com'), HOME)).toBe('attendee');
  });

  test('anyone: everyone presents but trusted applications', () => {
    const conference = scheduled({ autoPromote: 'anyone' });
    expect(roleFor(conference, who('guest', 'anonymous', 'guest'), HOME)).toBe('presenter');
    expect(roleFor(conference, who('bot', 'application'), HOME)).toBe('attendee');
  });
});

describe('who counts as an enterprise participant (the 90-minute rule)', () => {
  test('federated, anonymous, PSTN and trusted participants do not count', () => {
    expect(countsAsEnterprise(who('ivan'), HOME)).toBe(true);
    for (const kind of ['federated', 'anonymous', 'pstn', 'application'] as const) expect(countsAsEnterprise(who('x', kind), HOME)).toBe(false);
  });
});

describe('automatic deactivation rules', () => {
  const subject = (conference: Conference) => conference.active!.activationInstance;

  test('empty: 20 minutes after the last one left, not while anyone is in', () => {
    const conference = withFirstParticipant(activeAt(0), true);
    expect(decideDeactivationTimer(conference, 'empty', subject(conference), DAY, durations)).toEqual({ kind: 'ignore', why: 'the rule does not hold' });
    const empty: Conference = { ...conference, active: { ...conference.active!, participantCount: 0, enterpriseCount: 0, lastLeaveTime: 1000 } };
    expect(decideDeactivationTimer(empty, 'empty', subject(empty), 1000 + durations.emptyGraceMs - 1, durations)).toEqual({ kind: 'rearm', at: 1000 + durations.emptyGraceMs });
    expect(decideDeactivationTimer(empty, 'empty', subject(empty), 1000 + durations.emptyGraceMs, durations)).toEqual({ kind: 'deactivate', reason: 'empty' });
  });

  test('noEnterprise: 90 minutes after the last enterprise leave, or after activation when none ever joined', () => {
    const neverJoined = withFirstParticipant(activeAt(5000), false);
    expect(decideDeactivationTimer(neverJoined, 'noEnterprise', 'A', 5000 + durations.noEnterpriseMs, durations)).toEqual({ kind: 'deactivate', reason: 'noEnterprise' });
    const left: Conference = { ...neverJoined, active: { ...neverJoined.active!, lastEnterpriseLeaveTime: 9000 } };
    expect(decideDeactivationTimer(left, 'noEnterprise', 'A', 5000 + durations.noEnterpriseMs, durations)).toEqual({ kind: 'rearm', at: 9000 + durations.noEnterpriseMs });
    const enterpriseIn = withFirstParticipant(activeAt(5000), true);
    expect(decideDeactivationTimer(enterpriseIn, 'noEnterprise', 'A', 10 * DAY, durations).kind).toBe('ignore');
  });

  test('inactivity: 24 hours after the last join', () => {
    const conference = withFirstParticipant(activeAt(0), true);
    expect(decideDeactivationTimer(conference, 'inactivity', 'A', DAY, durations)).toEqual({ kind: 'deactivate', reason: 'inactivity' });
    const joinedLater: Conference = { ...conference, active: { ...conference.active!, lastJoinTime: 3600_000 } };
    expect(decideDeactivationTimer(joinedLater, 'inactivity', 'A', DAY, durations)).toEqual({ kind: 'rearm', at: 3600_000 + DAY });
  });

  test('the reason is the rule that came due first, whichever timer fires (a late empty timer is still "empty")', () => {
    // Empty and no enterprise user since 1000: empty is due at 1000 + 20 min, noEnterprise at 1000 + 90 min.
    const conference = withFirstParticipant(activeAt(0), true);
    const empty: Conference = { ...conference, active: { ...conference.active!, participantCount: 0, enterpriseCount: 0, lastLeaveTime: 1000, lastEnterpriseLeaveTime: 1000 } };
    const late = 1000 + durations.noEnterpriseMs + 5000;
    expect(decideDeactivationTimer(empty, 'noEnterprise', subject(empty), late, durations)).toEqual({ kind: 'deactivate', reason: 'empty' });
    expect(decideDeactivationTimer(empty, 'empty', subject(empty), late, durations)).toEqual({ kind: 'deactivate', reason: 'empty' });
    // Guests still in: only noEnterprise holds, and it is the reason.
    const guestsIn: Conference = { ...empty, active: { ...empty.active!, participantCount: 2 } };
    expect(decideDeactivationTimer(guestsIn, 'noEnterprise', subject(guestsIn), late, durations)).toEqual({ kind: 'deactivate', reason: 'noEnterprise' });
  });

  test('a timer of an earlier activation, or on a deactivated conference, is ignored', () => {
    const conference = withFirstParticipant(activeAt(0), false);
    expect(decideDeactivationTimer(conference, 'noEnterprise', 'OLD', 10 * DAY, durations)).toEqual({ kind: 'ignore', why: 'an earlier activation' });
    expect(decideDeactivationTimer(deactivate(conference, 'ended', 1), 'noEnterprise', 'A', 10 * DAY, durations).kind).toBe('ignore');
  });
});

describe('expiry is not deactivation', () => {
  test('14 full days after the last activation, or expiresAt, whichever is later', () => {
    const conference = deactivate(activeAt(1000), 'ended', 2000);
    expect(expiryTime(conference, durations)).toBe(1000 + 14 * DAY);
    expect(isGone(conference, 1000 + 14 * DAY - 1, durations)).toBe(false);
    expect(isGone(conference, 1000 + 14 * DAY, durations)).toBe(true);
    expect(expiryTime({ ...conference, expiresAt: 30 * DAY }, durations)).toBe(30 * DAY);
    expect(expiryTime({ ...conference, expiresAt: 1 }, durations)).toBe(1000 + 14 * DAY);
  });

  test('an active conference is never expired; a static meeting space never expires', () => {
    expect(isGone(activeAt(0), 100 * DAY, durations)).toBe(false);
    expect(isGone(deactivate(activeAt(0, { static: true }), 'ended', 1), 1000 * DAY, durations)).toBe(false);
  });

  test('a deleted conference is gone', () => {
    expect(isGone(deactivate(activeAt(0), 'deleted', 1), 2, durations)).toBe(true);
  });
});

describe('content grace period', () => {
  test('content is purged CONTENT_GRACE_SECONDS after the deactivation', () => {
    const conference = deactivate(activeAt(0), 'ended', 1000);
    expect(decideContentPurge(conference, 1000, 1000 + durations.contentGraceMs, durations)).toEqual({ kind: 'purge' });
    expect(decideContentPurge(conference, 1000, 1000, durations)).toEqual({ kind: 'rearm', at: 1000 + durations.contentGraceMs });
  });

  test('a reactivation within the window keeps it; the clock restarts at the next deactivation', () => {
    const reactivated = activate(deactivate(activeAt(0), 'ended', 1000), 'B', 2000);
    expect(decideContentPurge(reactivated, 1000, 100 * DAY, durations).kind).toBe('ignore');
    const again = deactivate(reactivated, 'ended', 3000);
    expect(decideContentPurge(again, 1000, 100 * DAY, durations).kind).toBe('ignore');
    expect(decideContentPurge(again, 3000, 3000 + durations.contentGraceMs, durations)).toEqual({ kind: 'purge' });
  });
});
