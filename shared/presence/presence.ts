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

/** A state published on one endpoint, with when it was published (the latest user state wins). */
export interface PublishedState {
  readonly availability: Availability;
  readonly activity?: string;
  readonly at: number;
}

/**
 * One endpoint's (connection's) presence. The machine state is what the device reports on its own
 * (online when it connects, away when idle); the user state is what the person chose, and `reset`
 * means the person went back to the automatic (machine) state.
 */
export interface EndpointPresence {
  readonly connectionId: string;
  readonly device: Identity['device'];
  /** The connection's own deadline (API Gateway's 2-hour limit): past it, the endpoint no longer counts. */
  readonly expiresAt: number;
  readonly machine: PublishedState;
  readonly user?: PublishedState | { readonly reset: true; readonly at: number };
  readonly note?: { readonly text: string; readonly at: number };
  /** When a refresh last confirmed the connection with the management API (GetConnection). */
  readonly checkedAt?: number;
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

const RANK: Readonly<Record<Availability, number>> = Object.fromEntries(availabilities.map((state, rank) => [state, rank])) as Record<Availability, number>;

/** Negative when `a` is more available than `b`. */
export function compareAvailability(a: Availability, b: Availability): number {
  return RANK[a] - RANK[b];
}

/** The endpoint as a just-connected device reports it: online, no user state. */
export function connectedEndpoint(connectionId: string, device: Identity['device'], expiresAt: number, now: number): EndpointPresence {
  return { connectionId, device, expiresAt, machine: { availability: 'online', at: now } };
}

/** The endpoint after a publication on it. */
export function applyPublication(endpoint: EndpointPresence, publication: Publication, now: number): EndpointPresence {
  const note = publication.note !== undefined ? { note: { text: publication.note, at: now } } : {};
  if ('reset' in publication) return { ...endpoint, user: { reset: true, at: now }, ...note };
  const state: PublishedState = {
    availability: publication.availability,
    ...(publication.activity !== undefined ? { activity: publication.activity } : {}),
    at: now,
  };
  return publication.source === 'user' ? { ...endpoint, user: state, ...note } : { ...endpoint, machine: state, ...note };
}

/**
 * SPEC §5's aggregation over a user's endpoints:
 * - no live connection → `offline`;
 * - an explicit user state wins over machine state: the most recent one chosen on any live endpoint
 *   (a reset there hands back to the machine states; `offline` chosen by the user is "appear offline");
 * - otherwise the most available machine state wins, so one endpoint that went offline or idle does not
 *   hide another that is online.
 * The note is the user's, not a device's: the most recent one published on any live endpoint.
 */
export function aggregatePresence(endpoints: readonly EndpointPresence[], now: number): Presence {
  const live = endpoints.filter((endpoint) => endpoint.expiresAt > now);
  if (live.length === 0) return OFFLINE;
  const chosen = latestUserState(live) ?? mostAvailableMachineState(live);
  const note = latest(live.flatMap((endpoint) => (endpoint.note ? [endpoint.note] : [])));
  return {
    availability: chosen.availability,
    ...(chosen.activity ? { activity: chosen.activity } : {}),
    ...(note?.text ? { note: note.text } : {}),
  };
}

function latestUserState(live: readonly EndpointPresence[]): PublishedState | undefined {
  const latestChoice = latest(live.flatMap((endpoint) => (endpoint.user ? [endpoint.user] : [])));
  return latestChoice && 'availability' in latestChoice ? latestChoice : undefined;
}

function mostAvailableMachineState(live: readonly EndpointPresence[]): PublishedState {
  return live
    .map((endpoint) => endpoint.machine)
    .reduce((best, state) => {
      const order = compareAvailability(state.availability, best.availability);
      return order < 0 || (order === 0 && state.at > best.at) ? state : best;
    });
}

function latest<T extends { readonly at: number }>(items: readonly T[]): T | undefined {
  return items.reduce<T | undefined>((best, item) => (!best || item.at > best.at ? item : best), undefined);
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
