import { domainOf, type Identity, type IdentityKind } from '../auth/identity';

/**
 * A conference (SPEC §4) and the Focus's rules, as pure functions over state and time. The seeds behind
 * them: conference-activation-deactivation.txt (activation, the manual and automatic deactivations, the
 * 90-minute and 24-hour rules, expiry of 14 full days, the content grace period) and
 * trusted-participants-deactivation.txt (trusted participants are hidden and keep nothing alive).
 */
export type Admission = 'invited' | 'organization' | 'anyone';
export type AutoPromote = 'scheduledPresenters' | 'organization' | 'anyone';
export type Role = 'attendee' | 'presenter';
export type DeactivationReason = 'empty' | 'noEnterprise' | 'inactivity' | 'ended' | 'deleted' | 'organizerDeleted';

export interface ConferencePolicy {
  readonly admission: Admission;
  readonly autoPromote: AutoPromote;
  readonly pstnLobbyBypass: boolean;
}

/** The record of the active conference (the Focus's ActiveConference row). */
export interface ActiveConference extends ConferencePolicy {
  readonly activationInstance: string;
  readonly activatedAt: number;
  readonly locked: boolean;
  readonly lastJoinTime: number;
  /** When an enterprise participant last left; absent when none ever left. The 90-minute rule counts from it once none is in. */
  readonly lastEnterpriseLeaveTime?: number;
  /** When a participant last left. The empty rule counts from it once nobody is in. */
  readonly lastLeaveTime?: number;
  readonly participantCount: number;
  /** Enterprise participants in: federated, anonymous, PSTN and trusted ones do not count. */
  readonly enterpriseCount: number;
  /** Trusted (hidden) participants in, counted in `participantCount`; absent on records older than the counter. */
  readonly hiddenCount?: number;
}

/** The participants anyone may be told about: trusted participants are hidden from every count as from rosters. */
export function visibleParticipantCount(active: Pick<ActiveConference, 'participantCount' | 'hiddenCount'>): number {
  return Math.max(0, active.participantCount - Math.max(0, active.hiddenCount ?? 0));
}

/** Derived, not stored: joins and leaves only move the counters. */
export function isLargeMeeting(active: Pick<ActiveConference, 'participantCount'>): boolean {
  return active.participantCount > LARGE_MEETING_THRESHOLD;
}

export interface Conference extends ConferencePolicy {
  readonly confId: string;
  readonly organizer: string;
  readonly subject: string;
  readonly invitees: readonly string[];
  readonly presenters: readonly string[];
  /** A user's permanent meeting space: never expires. */
  readonly static: boolean;
  readonly expiresAt?: number;
  readonly createdAt: number;
  readonly state: 'scheduled' | 'active' | 'deactivated' | 'deleted';
  /** Incremented on every change; every write is conditional on the version it read. */
  readonly stateVersion: number;
  readonly active?: ActiveConference;
  readonly lastActivatedAt?: number;
  readonly lastDeactivatedAt?: number;
  readonly lastDeactivationReason?: DeactivationReason;
  /** Set when content was purged after the last deactivation. */
  readonly contentPurgedAt?: number;
}

export interface Participant {
  readonly uri: string;
  readonly name: string;
  readonly kind: IdentityKind;
  readonly role: Role;
  readonly joinedAt: number;
  readonly activationInstance: string;
  readonly connectionIds: readonly string[];
  /** Trusted (application) participants are hidden from every roster. */
  readonly hidden: boolean;
}

/** A participant as rosters show them (`conf.join`, `conf.get`, `conf.roster`). */
export interface RosterEntry {
  readonly uri: string;
  readonly name: string;
  readonly role: Role;
}

export interface LobbyEntry {
  readonly uri: string;
  readonly name: string;
  readonly kind: IdentityKind;
  readonly connectionId: string;
  readonly since: number;
}

export interface ConferenceDurations {
  readonly emptyGraceMs: number;
  readonly noEnterpriseMs: number;
  readonly noJoinMs: number;
  readonly expiryMs: number;
  readonly contentGraceMs: number;
}

/** More participants than this and the conference is a large meeting. */
export const LARGE_MEETING_THRESHOLD = 250;

export function isOrganization(identity: Pick<Identity, 'uri' | 'kind'>, homeDomain: string): boolean {
  return (identity.kind === 'enterprise' || identity.kind === 'admin') && domainOf(identity.uri) === homeDomain.toLowerCase();
}

/** Only authenticated users of the home organization keep a conference from the 90-minute rule. */
export function countsAsEnterprise(identity: Pick<Identity, 'uri' | 'kind'>, homeDomain: string): boolean {
  return isOrganization(identity, homeDomain);
}

/**
 * When a conference expires: CONFERENCE_EXPIRY_SECONDS (14 full days) after its last activation (or its
 * scheduling, if never activated), or `expiresAt`, whichever is later. Static meeting spaces never do.
 */
export function expiryTime(conference: Conference, durations: Pick<ConferenceDurations, 'expiryMs'>): number {
  if (conference.static) return Number.POSITIVE_INFINITY;
  const fromActivation = (conference.lastActivatedAt ?? conference.createdAt) + durations.expiryMs;
  return Math.max(fromActivation, conference.expiresAt ?? 0);
}

/**
 * Deleted, or expired: expiry is not deactivation, so an active conference is never cut off by it;
 * it expires once deactivated and past its expiry time, and then answers 410 like a deleted one.
 */
export function isGone(conference: Conference, now: number, durations: Pick<ConferenceDurations, 'expiryMs'>): boolean {
  if (conference.state === 'deleted') return true;
  return conference.state !== 'active' && now >= expiryTime(conference, durations);
}

export type AdmissionDecision = { readonly kind: 'enter' } | { readonly kind: 'lobby' } | { readonly kind: 'refuse'; readonly why: string };

/**
 * The Focus's admission check: the lock first, then who enters directly and who waits in the lobby. A lock
 * keeps out new participants only: another device of someone already in (`alreadyIn`) enters.
 */
export function decideAdmission(conference: Conference, identity: Identity, homeDomain: string, alreadyIn = false): AdmissionDecision {
  const policy = conference.active ?? conference;
  const isOrganizer = identity.uri === conference.organizer;
  if (alreadyIn) return { kind: 'enter' };
  if (conference.active?.locked && !isOrganizer) return { kind: 'refuse', why: 'the conference is locked' };
  if (isOrganizer || identity.kind === 'application') return { kind: 'enter' };
  if (identity.kind === 'pstn' && policy.pstnLobbyBypass) return { kind: 'enter' };
  switch (policy.admission) {
    case 'anyone':
      return { kind: 'enter' };
    case 'organization':
      return isOrganization(identity, homeDomain) ? { kind: 'enter' } : { kind: 'lobby' };
    case 'invited':
      return conference.invitees.includes(identity.uri) || conference.presenters.includes(identity.uri) ? { kind: 'enter' } : { kind: 'lobby' };
  }
}

/** The role on entering: the organizer and scheduled presenters always present; others by `autoPromote`. */
export function roleFor(conference: Conference, identity: Identity, homeDomain: string): Role {
  if (identity.uri === conference.organizer || conference.presenters.includes(identity.uri)) return 'presenter';
  const policy = conference.active ?? conference;
  switch (policy.autoPromote) {
    case 'anyone':
      return identity.kind === 'application' ? 'attendee' : 'presenter';
    case 'organization':
      return isOrganization(identity, homeDomain) ? 'presenter' : 'attendee';
    case 'scheduledPresenters':
      return 'attendee';
  }
}

/**
 * What people waiting in the lobby are told after the participants changed (`conf.lobbyWait`'s `presenterPresent`):
 * only a presenter lets them in, so they hear when the last presenter has gone (none will, for now) and when one
 * comes; undefined when that did not change (nothing to say).
 */
export function lobbyPresenterNews(before: readonly Pick<Participant, 'role'>[], after: readonly Pick<Participant, 'role'>[]): boolean | undefined {
  const was = presenterIsIn(before);
  const is = presenterIsIn(after);
  return was === is ? undefined : is;
}

export function presenterIsIn(participants: readonly Pick<Participant, 'role'>[]): boolean {
  return participants.some((participant) => participant.role === 'presenter');
}

/** A first join activates (or reactivates) the conference with a new activation instance. */
export function activate(conference: Conference, activationInstance: string, now: number): Conference {
  return {
    ...conference,
    state: 'active',
    stateVersion: conference.stateVersion + 1,
    lastActivatedAt: now,
    active: {
      activationInstance,
      activatedAt: now,
      locked: false,
      admission: conference.admission,
      autoPromote: conference.autoPromote,
      pstnLobbyBypass: conference.pstnLobbyBypass,
      lastJoinTime: now,
      participantCount: 0,
      enterpriseCount: 0,
    },
  };
}

/** The activation with its first participant in. */
export function withFirstParticipant(conference: Conference, enterprise: boolean, hidden = false): Conference {
  const active = conference.active!;
  return { ...conference, active: { ...active, participantCount: 1, enterpriseCount: enterprise ? 1 : 0, hiddenCount: hidden ? 1 : 0 } };
}

export function deactivate(conference: Conference, reason: DeactivationReason, now: number): Conference {
  const { active: _active, ...rest } = conference;
  return {
    ...rest,
    state: reason === 'deleted' || reason === 'organizerDeleted' ? 'deleted' : 'deactivated',
    stateVersion: conference.stateVersion + 1,
    lastDeactivatedAt: now,
    lastDeactivationReason: reason,
  };
}

/** The automatic deactivation rules, each re-checked from the stored state when its timer fires. */
export const AUTOMATIC_RULES = {
  empty: 'conference.empty',
  noEnterprise: 'conference.noEnterprise',
  inactivity: 'conference.inactivity',
} as const;
export type AutomaticRule = keyof typeof AUTOMATIC_RULES;

export type TimerDecision =
  | { readonly kind: 'ignore'; readonly why: string }
  | { readonly kind: 'deactivate'; readonly reason: DeactivationReason }
  | { readonly kind: 'rearm'; readonly at: number };

/** When the rule would deactivate this activation, or undefined when it cannot now (someone is in). */
export function ruleDeadline(rule: AutomaticRule, active: ActiveConference, durations: ConferenceDurations): number | undefined {
  switch (rule) {
    case 'empty':
      return active.participantCount === 0 ? (active.lastLeaveTime ?? active.activatedAt) + durations.emptyGraceMs : undefined;
    case 'noEnterprise':
      // Counted from the last enterprise leave, or from activation when no enterprise user ever joined.
      return active.enterpriseCount === 0 ? (active.lastEnterpriseLeaveTime ?? active.activatedAt) + durations.noEnterpriseMs : undefined;
    case 'inactivity':
      return active.lastJoinTime + durations.noJoinMs;
  }
}

const RULE_REASON: Record<AutomaticRule, DeactivationReason> = { empty: 'empty', noEnterprise: 'noEnterprise', inactivity: 'inactivity' };

/**
 * The version a timer re-armed by its own firing takes: never the firing's (a one-time schedule deletes itself
 * after completion, and an update of the firing schedule under the same name can be swallowed by that delete).
 */
export function rearmVersion(stateVersion: number, firedVersion: number): number {
  return Math.max(stateVersion, firedVersion + 1);
}

/** Why a participant left, as the `conf.leave` compliance event says: their own leave, their last connection, a presenter's `conf.eject`, or a deactivation. */
export type LeaveReason = 'left' | 'disconnected' | 'connectionLost' | 'ejected' | DeactivationReason;

/**
 * A deactivation timer fired for `activationInstance`: act only if that activation is still the active
 * one and the rule holds now; re-arm when it will hold later; otherwise ignore (stale or duplicate).
 */
export function decideDeactivationTimer(
  conference: Conference | undefined,
  rule: AutomaticRule,
  activationInstance: string,
  now: number,
  durations: ConferenceDurations,
): TimerDecision {
  const active = conference?.active;
  if (!conference || conference.state !== 'active' || !active) return { kind: 'ignore', why: 'not active' };
  if (active.activationInstance !== activationInstance) return { kind: 'ignore', why: 'an earlier activation' };
  const deadline = ruleDeadline(rule, active, durations);
  if (deadline === undefined) return { kind: 'ignore', why: 'the rule does not hold' };
  if (now < deadline) return { kind: 'rearm', at: deadline };
  // Several rules may hold when a late timer fires: the reason is the one that came due first, not the timer that won the race.
  const firstDue = (Object.keys(RULE_REASON) as AutomaticRule[])
    .map((candidate) => ({ candidate, due: ruleDeadline(candidate, active, durations) }))
    .filter((entry): entry is { candidate: AutomaticRule; due: number } => entry.due !== undefined && entry.due <= now)
    .reduce((first, entry) => (entry.due < first.due ? entry : first), { candidate: rule, due: deadline });
  return { kind: 'deactivate', reason: RULE_REASON[firstDue.candidate] };
}

/**
 * Content is purged CONTENT_GRACE_SECONDS after a deactivation; a reactivation inside that window keeps it
 * and the clock restarts at the next deactivation.
 */
export function decideContentPurge(conference: Conference | undefined, deactivatedAt: number, now: number, durations: ConferenceDurations): PurgeDecision {
  if (!conference || conference.state === 'active') return { kind: 'ignore', why: 'reactivated' };
  if (conference.lastDeactivatedAt !== deactivatedAt) return { kind: 'ignore', why: 'a later deactivation restarted the clock' };
  if (conference.contentPurgedAt !== undefined && conference.contentPurgedAt >= deactivatedAt) return { kind: 'ignore', why: 'already purged' };
  const at = deactivatedAt + durations.contentGraceMs;
  return now >= at ? { kind: 'purge' } : { kind: 'rearm', at };
}

/** Expiry deletes the conference and its content; the clock alone already makes it answer 410. */
export function decideExpiry(conference: Conference | undefined, now: number, durations: ConferenceDurations): PurgeDecision {
  if (!conference || conference.state === 'active' || conference.static) return { kind: 'ignore', why: 'active or static' };
  if (conference.state === 'deleted' && conference.contentPurgedAt !== undefined) return { kind: 'ignore', why: 'already deleted' };
  const at = expiryTime(conference, durations);
  return now >= at ? { kind: 'purge' } : { kind: 'rearm', at };
}

export type PurgeDecision = { readonly kind: 'ignore'; readonly why: string } | { readonly kind: 'purge' } | { readonly kind: 'rearm'; readonly at: number };
