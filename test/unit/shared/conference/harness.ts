import type { Identity } from '../../../../shared/auth/identity';
import { AUTOMATIC_RULES, type AutomaticRule, type Conference, type ConferenceDurations } from '../../../../shared/conference/conference';
import type { ConferenceEvents } from '../../../../shared/conference/events';
import { CONTENT_PURGE_RULE, ConferenceService, EXPIRY_RULE, type JoinResult, type ScheduleCommand } from '../../../../shared/conference/service';
import type { TimerFiring } from '../../../../shared/ports';
import { ManualClock, ManualTimers, MemoryCompliance, MemoryConferenceStore, MemoryConnections, RecordingDelivery, sequentialIds } from '../../../support/memory';
import { withoutBackoff } from '../../../support/no-backoff';

/**
 * The conference use cases on memory ports with a clock the test moves (no network, no sleep): each test drives
 * commands and timer firings, and interleaves them with the store's `beforeWrite` hook where a race is the point.
 */
export const MINUTE = 60_000;
export const DAY = 24 * 60 * MINUTE;
export const durations: ConferenceDurations = {
  emptyGraceMs: 20 * MINUTE,
  noEnterpriseMs: 90 * MINUTE,
  noJoinMs: DAY,
  expiryMs: 14 * DAY,
  contentGraceMs: 30 * MINUTE,
};
export const HOME = 'contoso.com';
/** Where join links point (WEB_APP_URL). */
export const WEB_APP_URL = 'https://uc.example.test';
export const T0 = Date.UTC(2026, 0, 5, 9);

export const user = (name: string, kind: Identity['kind'] = 'enterprise', domain = kind === 'enterprise' ? HOME : 'fabrikam.com'): Identity => ({
  uri: `sip:${name}@${domain}`,
  kind,
  name,
  device: 'desktop',
});
export const olga = user('olga');

const RULE_OF: Record<string, AutomaticRule> = Object.fromEntries(Object.entries(AUTOMATIC_RULES).map(([rule, name]) => [name, rule as AutomaticRule]));

export function conferenceHarness() {
  const clock = new ManualClock(T0);
  const timers = new ManualTimers();
  const compliance = new MemoryCompliance();
  const store = new MemoryConferenceStore(compliance.outbox);
  const delivery = new RecordingDelivery<ConferenceEvents>();
  const connections = new MemoryConnections();
  const service = new ConferenceService({ store, delivery, timers, compliance: compliance.port, connections, clock, durations, homeDomain: HOME, webAppUrl: WEB_APP_URL, newId: sequentialIds() });

  const h = {
    clock,
    timers,
    compliance,
    store,
    delivery,
    connections,
    service,

    async schedule(over: Partial<ScheduleCommand> = {}): Promise<string> {
      const command: ScheduleCommand = { subject: 'weekly', admission: 'anyone', autoPromote: 'organization', pstnLobbyBypass: true, invitees: [], presenters: [], static: false, ...over };
      return (await service.schedule(olga, command)).confId;
    },

    /** `conf.join` from a live connection (`c-{name}` unless given). */
    join(identity: Identity, confId: string, connectionId = `c-${identity.name}`): Promise<JoinResult> {
      connections.connect(connectionId, clock.now());
      return service.join(identity, connectionId, confId);
    },

    async joined(identity: Identity, confId: string, connectionId?: string): Promise<Extract<JoinResult, { state: 'joined' }>> {
      const result = await h.join(identity, confId, connectionId);
      if (result.state !== 'joined') throw new Error(`${identity.uri} waits in the lobby`);
      return result;
    },

    /** Hands one firing to the handler of its rule, as the timer function does. */
    fire(firing: TimerFiring): Promise<'acted' | 'rearmed' | 'ignored'> {
      if (firing.rule === CONTENT_PURGE_RULE) return service.onContentPurgeTimer(firing);
      if (firing.rule === EXPIRY_RULE) return service.onExpiryTimer(firing);
      const rule = RULE_OF[firing.rule];
      if (!rule) throw new Error(`no conference rule ${firing.rule}`);
      return service.onDeactivationTimer(rule, firing);
    },

    /** Fires, one by one in deadline order, what the Scheduler would have fired by now (of `rule`, or all). */
    async fireDue(rule?: string): Promise<Array<{ firing: TimerFiring; outcome: string }>> {
      const outcomes: Array<{ firing: TimerFiring; outcome: string }> = [];
      for (const firing of timers.takeDue(clock.now(), rule)) outcomes.push({ firing, outcome: await h.fire(firing) });
      return outcomes;
    },

    /** The armed deactivation timer of `rule` for the conference's current (or given) activation, latest version. */
    armed(rule: AutomaticRule, confId: string, activationInstance: string) {
      return timers.pending(AUTOMATIC_RULES[rule]).filter((timer) => timer.subject === `${confId}/${activationInstance}`).sort((a, b) => b.version - a.version)[0];
    },

    /** The stored conference, with its counters checked against its participant records. */
    async consistent(confId: string): Promise<Conference> {
      const conference = (await store.get(confId))!;
      const participants = conference.active ? await store.participants(confId, conference.active.activationInstance) : [];
      expect(conference.active?.participantCount ?? 0).toBe(participants.length);
      expect(conference.active?.enterpriseCount ?? 0).toBe(participants.filter((p) => p.kind === 'enterprise' && p.uri.endsWith(`@${HOME}`)).length);
      expect(conference.active?.hiddenCount ?? 0).toBe(participants.filter((p) => p.hidden).length);
      return conference;
    },

    /** Compliance events of the conference as the archive will hold them (queue and outbox, once per id). */
    archived(confId: string, type?: 'conf.join' | 'conf.leave') {
      return compliance.archived().filter((event) => event.target.id === confId && (type === undefined || event.type === type));
    },
  };
  return h;
}

export type ConferenceHarness = ReturnType<typeof conferenceHarness>;

/** Backoff between retries resolves at once (full jitter of 0 ms): retries interleave, nothing sleeps. */
export function noBackoff(): void {
  withoutBackoff();
  afterEach(() => {
    jest.restoreAllMocks();
  });
}
