import { domainOf, type Identity } from '../auth/identity';
import { BadRequestError, ForbiddenError } from '../errors';

/** SPEC §5's states, most available first: the order aggregation ranks them in. */
export const availabilities = ['online', 'busy', 'doNotDisturb', 'beRightBack', 'away', 'offline'] as const;
export type Availability = (typeof availabilities)[number];

/** What a subscriber sees of a user: the aggregate of all of the user's endpoints. */
export interface Presence {
  readonly availability: Availability;
  readonly activity?: string;
  readonly note?: string;
}

export const OFFLINE: Presence = { availability: 'offline' };

/** A state published on one endpoint, with when it was published. */
export interface PublishedState {
  readonly availability: Availability;
  readonly activity?: string;
  readonly at: number;
}

/**
 * One endpoint's (connection's) presence: its machine state, what the device reports on its own (online when it
 * connects, away when idle, busy in a call). What the person chose is not the endpoint's but the user's (`UserState`).
 */
export interface EndpointPresence {
  readonly connectionId: string;
  readonly device: Identity['device'];
  /** The connection's own deadline (API Gateway's 2-hour limit): past it, the endpoint no longer counts. */
  readonly expiresAt: number;
  readonly machine: PublishedState;
  /** When a refresh last confirmed the connection with the management API (GetConnection). */
  readonly checkedAt?: number;
}

/** An explicit state the user chose, until `expiresAt` (PRESENCE_STATE_SECONDS after it was chosen). */
export interface ExplicitState extends PublishedState {
  readonly expiresAt: number;
}

/** The user's note, until `expiresAt` (PRESENCE_STATE_SECONDS after it was written). */
export interface UserNote {
  readonly text: string;
  readonly at: number;
  readonly expiresAt: number;
}

/**
 * What belongs to the user rather than to one endpoint (SPEC §9): the explicit availability they chose and their
 * note. Lync's user state is likewise a category instance of the user, not endpoint-bounded, while its machine state
 * is published per endpoint; here both parts survive a reload, a reconnect and a new device until the user changes
 * them or they expire. Each part's expiry is checked by the code (`expiresAt`); TTL only cleans up.
 */
export interface UserState {
  readonly state?: ExplicitState;
  readonly note?: UserNote;
}

/** What a publication changes in the user's state: a value sets the part, `null` clears it, absent keeps it. */
export interface UserStateChange {
  readonly state?: ExplicitState | null;
  readonly note?: UserNote | null;
}

/** A user's aggregated presence and its version: +1 on every change, so a subscriber can order what it gets. */
export interface PresenceRecord {
  readonly presence: Presence;
  readonly version: number;
}

/** What a client publishes on its endpoint (`presence.publish`). */
export type Publication =
  | { readonly source: 'user' | 'machine'; readonly availability: Availability; readonly activity?: string; readonly note?: string }
  | { readonly source: 'user'; readonly reset: true; readonly note?: string };

/** How long an explicit state or note lives without being chosen again, by default (PRESENCE_STATE_SECONDS: 12 h). */
export const DEFAULT_PRESENCE_STATE_SECONDS = 12 * 3600;

const RANK: Readonly<Record<Availability, number>> = Object.fromEntries(availabilities.map((state, rank) => [state, rank])) as Record<Availability, number>;

/** Negative when `a` is more available than `b`. */
export function compareAvailability(a: Availability, b: Availability): number {
  return RANK[a] - RANK[b];
}

/** The endpoint as a just-connected device reports it: online. */
export function connectedEndpoint(connectionId: string, device: Identity['device'], expiresAt: number, now: number): EndpointPresence {
  return { connectionId, device, expiresAt, machine: { availability: 'online', at: now } };
}

/** The endpoint after a publication on it: a machine state replaces its machine state; anything else is the user's. */
export function applyMachineState(endpoint: EndpointPresence, publication: Publication, now: number): EndpointPresence {
  if ('reset' in publication || publication.source !== 'machine') return endpoint;
  const machine: PublishedState = {
    availability: publication.availability,
    ...(publication.activity !== undefined ? { activity: publication.activity } : {}),
    at: now,
  };
  return { ...endpoint, machine };
}

/**
 * What a publication changes in the user's own state: a user state (`source: user`) is chosen for
 * `lifetimeMs`, a reset clears it, a machine state leaves it alone; a note is set for `lifetimeMs`, `""` clears it.
 */
export function userStateChange(publication: Publication, now: number, lifetimeMs: number): UserStateChange {
  const expiresAt = now + lifetimeMs;
  let state: ExplicitState | null | undefined;
  if ('reset' in publication) state = null;
  else if (publication.source === 'user') {
    state = { availability: publication.availability, ...(publication.activity !== undefined ? { activity: publication.activity } : {}), at: now, expiresAt };
  }
  const note = publication.note === undefined ? undefined : publication.note === '' ? null : { text: publication.note, at: now, expiresAt };
  return { ...(state !== undefined ? { state } : {}), ...(note !== undefined ? { note } : {}) };
}

/** Whether a change changes anything (a machine publication without a note does not touch the user's state). */
export function changesUserState(change: UserStateChange): boolean {
  return change.state !== undefined || change.note !== undefined;
}

/** The user's state after a change (what a store applies: last write wins, part by part). */
export function applyUserStateChange(current: UserState | undefined, change: UserStateChange): UserState {
  const state = change.state === undefined ? current?.state : (change.state ?? undefined);
  const note = change.note === undefined ? current?.note : (change.note ?? undefined);
  return { ...(state ? { state } : {}), ...(note ? { note } : {}) };
}

/**
 * SPEC §5 and §9's aggregation over a user's endpoints and the user's own state:
 * - no live connection → `offline`, without a note;
 * - an explicit user state that has not expired wins over every machine state, on every endpoint, a new device's
 *   included (`offline` chosen by the user is "appear offline"; a reset hands back to the machine states);
 * - otherwise the most available machine state wins, so one endpoint that went offline or idle does not
 *   hide another that is online;
 * - the note is the user's (unless expired), shown with any availability but `offline`: appearing offline hides it.
 */
export function aggregatePresence(endpoints: readonly EndpointPresence[], now: number, user?: UserState): Presence {
  const live = endpoints.filter((endpoint) => endpoint.expiresAt > now);
  if (live.length === 0) return OFFLINE;
  const explicit = user?.state && user.state.expiresAt > now ? user.state : undefined;
  const chosen = explicit ?? mostAvailableMachineState(live);
  const note = chosen.availability !== 'offline' && user?.note && user.note.expiresAt > now ? user.note.text : undefined;
  return {
    availability: chosen.availability,
    ...(chosen.activity ? { activity: chosen.activity } : {}),
    ...(note ? { note } : {}),
  };
}

function mostAvailableMachineState(live: readonly EndpointPresence[]): PublishedState {
  return live
    .map((endpoint) => endpoint.machine)
    .reduce((best, state) => {
      const order = compareAvailability(state.availability, best.availability);
      return order < 0 || (order === 0 && state.at > best.at) ? state : best;
    });
}

export function samePresence(a: Presence, b: Presence): boolean {
  return a.availability === b.availability && a.activity === b.activity && a.note === b.note;
}

/** Most targets one subscription may watch by default (each is one index item); PRESENCE_MAX_TARGETS_PER_SUBSCRIPTION. */
export const MAX_TARGETS_PER_SUBSCRIPTION = 200;

/**
 * What one user may hold (docs/protocol.md, "Presence quotas"): every subscription is a refresh timer and every
 * watched target an index item that each change of the target reads, so without a cap one user could make another's
 * every publish slow (2,000 subscriptions to one target took its publish from ~30 ms to ~6 s).
 */
export interface PresenceQuotas {
  /** PRESENCE_MAX_SUBSCRIPTIONS_PER_USER: live (not terminated, not expired) subscriptions of one user. */
  readonly maxSubscriptionsPerUser: number;
  /** PRESENCE_MAX_WATCHED_TARGETS_PER_USER: targets over all of the user's live subscriptions (a target in two counts twice). */
  readonly maxWatchedTargetsPerUser: number;
  /** PRESENCE_MAX_TARGETS_PER_SUBSCRIPTION. */
  readonly maxTargetsPerSubscription: number;
}

export const DEFAULT_PRESENCE_QUOTAS: PresenceQuotas = { maxSubscriptionsPerUser: 20, maxWatchedTargetsPerUser: 1000, maxTargetsPerSubscription: MAX_TARGETS_PER_SUBSCRIPTION };

/** What a user holds now: their live subscriptions and the targets those watch. */
export interface PresenceHoldings {
  readonly subscriptions: number;
  readonly watchedTargets: number;
}

/** A new subscription of `targets` targets fits the user's quotas (403 naming the limit otherwise). */
export function assertMayOpenSubscription(held: PresenceHoldings, targets: number, quotas: PresenceQuotas): void {
  if (held.subscriptions + 1 > quotas.maxSubscriptionsPerUser) {
    throw new ForbiddenError(
      `quota PRESENCE_MAX_SUBSCRIPTIONS_PER_USER: a user holds at most ${quotas.maxSubscriptionsPerUser} presence subscriptions; add targets to one (subscriptionId) or unsubscribe one`,
    );
  }
  assertMayWatch(held, targets, quotas);
}

/** `added` more watched targets fit the user's quota (403 naming the limit otherwise). */
export function assertMayWatch(held: PresenceHoldings, added: number, quotas: PresenceQuotas): void {
  if (added > 0 && held.watchedTargets + added > quotas.maxWatchedTargetsPerUser) {
    throw new ForbiddenError(
      `quota PRESENCE_MAX_WATCHED_TARGETS_PER_USER: a user watches at most ${quotas.maxWatchedTargetsPerUser} targets over all subscriptions (${held.watchedTargets} now, ${added} more asked)`,
    );
  }
}

/**
 * Who may see whose presence (docs/protocol.md): enterprise, federated, application and admin users may
 * watch anyone; anonymous guests and PSTN callers, who are not known to the organization, may not watch
 * its (home-domain, enterprise) users.
 */
export function mayWatch(watcher: Identity, targetUri: string, homeDomain: string): boolean {
  if (watcher.kind !== 'anonymous' && watcher.kind !== 'pstn') return true;
  return domainOf(targetUri) !== homeDomain.toLowerCase();
}

/** The targets to watch: lowercased, deduplicated, each one allowed for this watcher (403 naming the first refused). */
export function targetsToWatch(watcher: Identity, targets: readonly string[], homeDomain: string): string[] {
  const uris = [...new Set(targets.map((uri) => uri.toLowerCase()))];
  const refused = uris.find((uri) => !mayWatch(watcher, uri, homeDomain));
  if (refused) throw new ForbiddenError(`${watcher.kind} users may not watch the presence of ${refused}, a user of ${homeDomain}`);
  return uris;
}

/** A subscription grows by the targets it does not have yet, up to its limit (400 naming `targets` and the limit). */
export function targetsAfterAdding(existing: readonly string[], added: readonly string[], maxTargets = MAX_TARGETS_PER_SUBSCRIPTION): string[] {
  const all = [...new Set([...existing, ...added])];
  if (all.length > maxTargets) {
    throw new BadRequestError(`field 'targets': a subscription watches at most ${maxTargets} users (PRESENCE_MAX_TARGETS_PER_SUBSCRIPTION)`, 'targets');
  }
  return all;
}
