import { randomUUID } from 'node:crypto';
import type { ComplianceEvent } from '../../../shared/compliance/event';
import type { ComplianceOutbox } from '../../../shared/compliance/ports';
import { activate, type Conference, deactivate, type LobbyEntry, type Participant, withFirstParticipant } from '../../../shared/conference/conference';
import type { ConferenceContent, ConferenceMessage, ConferenceStore } from '../../../shared/conference/ports';

/** A store under test and the outbox its transactions write to (the same table for the DynamoDB adapter). */
export interface ConferenceStoreFixture {
  readonly store: ConferenceStore;
  readonly outbox: Pick<ComplianceOutbox, 'due'>;
}

const T0 = 1_800_000_000_000;
const olga = 'sip:olga@contoso.com';

/**
 * The promises of `ConferenceStore` (shared/conference/ports.ts), run against the memory store
 * (test/unit/contracts/) and `DynamoConferenceStore` on DynamoDB Local (test/integration/contracts/).
 * Every test uses its own ids, so one store (one table) may serve them all.
 */
export function conferenceStoreContract(make: () => Promise<ConferenceStoreFixture>): void {
  describe('ConferenceStore contract', () => contract(make));
}

function contract(make: () => Promise<ConferenceStoreFixture>): void {
  let store: ConferenceStore;
  let outbox: ConferenceStoreFixture['outbox'];

  beforeEach(async () => {
    ({ store, outbox } = await make());
  });

  const id = (prefix: string) => `${prefix}_${randomUUID().slice(0, 12)}`;
  const scheduled = (over: Partial<Conference> = {}): Conference => ({
    confId: id('conf'),
    organizer: olga,
    subject: 'contract',
    admission: 'anyone',
    autoPromote: 'organization',
    pstnLobbyBypass: true,
    invitees: [],
    presenters: [],
    static: false,
    createdAt: T0,
    state: 'scheduled',
    stateVersion: 1,
    ...over,
  });
  const resultOf = (conference: Conference) => ({ confId: conference.confId, joinUrl: `https://meet.contoso.com/olga/${conference.confId}` });
  const person = (name: string, activationInstance: string, over: Partial<Participant> = {}): Participant => ({
    uri: `sip:${name}@contoso.com`,
    name,
    kind: 'enterprise',
    role: 'attendee',
    joinedAt: T0,
    activationInstance,
    connectionIds: [`c-${name}-${activationInstance}`],
    hidden: false,
    ...over,
  });
  const event = (type: 'conf.join' | 'conf.leave' | 'conf.message', confId: string, key: string): ComplianceEvent => ({
    eventId: `${type}:${confId}:${key}`,
    type,
    actor: { uri: olga, kind: 'enterprise', name: 'olga' },
    target: { kind: 'conference', id: confId, name: 'contract' },
    at: T0,
  });
  const outboxed = async (confId: string) =>
    (await outbox.due(Number.MAX_SAFE_INTEGER, 1000))
      .filter((item) => item.target.id === confId)
      .map((item) => item.eventId)
      .sort();

  /** A scheduled conference, stored. */
  async function stored(over: Partial<Conference> = {}): Promise<Conference> {
    const conference = scheduled(over);
    await store.schedule(conference, resultOf(conference));
    return conference;
  }

  /** A conference activated by `first` (an enterprise participant unless told otherwise): the stored conference and the participant. */
  async function active(first = 'alice', over: Partial<Participant> = {}): Promise<{ conference: Conference; participant: Participant }> {
    const conference = await stored();
    const activated = activate(conference, id('act'), T0);
    const participant = person(first, activated.active!.activationInstance, over);
    const next = withFirstParticipant(activated, participant.kind === 'enterprise', participant.hidden);
    expect(await store.activate(next, conference.stateVersion, participant, participant.connectionIds[0]!, event('conf.join', conference.confId, first))).toBe(true);
    return { conference: (await store.get(conference.confId))!, participant };
  }

  describe('reads of what is not there', () => {
    test('a missing conference, participant or lobby entry answers undefined; lists answer empty', async () => {
      const confId = id('conf');
      expect(await store.get(confId)).toBeUndefined();
      expect(await store.participant(confId, olga)).toBeUndefined();
      expect(await store.lobbyEntry(confId, olga)).toBeUndefined();
      expect(await store.participants(confId, 'act_none')).toEqual([]);
      expect(await store.lobby(confId)).toEqual([]);
      expect(await store.content(confId)).toEqual([]);
      expect(await store.conferencesOfConnection(id('conn'))).toEqual([]);
      expect(await store.scheduled(olga, id('client'))).toBeUndefined();
      expect(await store.staticSpace(`sip:${id('nobody')}@contoso.com`)).toBeUndefined();
    });
  });

  describe('schedule', () => {
    test('stores the conference as given and answers its result', async () => {
      const conference = scheduled({ expiresAt: T0 + 1000, invitees: ['sip:bob@contoso.com'] });
      expect(await store.schedule(conference, resultOf(conference))).toEqual(resultOf(conference));
      expect(await store.get(conference.confId)).toEqual(conference);
    });

    test('once per client id: a retry answers the first answer and creates nothing', async () => {
      const clientKey = id('client');
      const first = scheduled();
      const retry = scheduled();
      await store.schedule(first, resultOf(first), clientKey);
      expect(await store.schedule(retry, resultOf(retry), clientKey)).toEqual(resultOf(first));
      expect(await store.scheduled(olga, clientKey)).toEqual(resultOf(first));
      expect(await store.get(retry.confId)).toBeUndefined();
    });

    test('a static meeting space is created once; a second creation answers the existing space', async () => {
      const organizer = `sip:${id('owner')}@contoso.com`;
      const first = scheduled({ organizer, static: true });
      const second = scheduled({ organizer, static: true });
      await store.schedule(first, resultOf(first), undefined, {});
      expect(await store.schedule(second, resultOf(second), undefined, {})).toEqual(resultOf(first));
      expect(await store.staticSpace(organizer)).toEqual(resultOf(first));
      expect(await store.get(second.confId)).toBeUndefined();
    });

    test('a reset replaces the space it read; a reset of a space already replaced answers the current one', async () => {
      const organizer = `sip:${id('owner')}@contoso.com`;
      const first = scheduled({ organizer, static: true });
      const reset = scheduled({ organizer, static: true });
      const lateReset = scheduled({ organizer, static: true });
      await store.schedule(first, resultOf(first), undefined, {});
      expect(await store.schedule(reset, resultOf(reset), undefined, { replacing: first.confId })).toEqual(resultOf(reset));
      expect(await store.schedule(lateReset, resultOf(lateReset), undefined, { replacing: first.confId })).toEqual(resultOf(reset));
      expect(await store.staticSpace(organizer)).toEqual(resultOf(reset));
      expect(await store.get(lateReset.confId)).toBeUndefined();
    });

    test('conferencesOfOrganizer lists the conferences a user organizes', async () => {
      const organizer = `sip:${id('owner')}@contoso.com`;
      const mine = [await stored({ organizer }), await stored({ organizer })];
      await stored();
      expect((await store.conferencesOfOrganizer(organizer)).sort()).toEqual(mine.map((conference) => conference.confId).sort());
    });
  });

  describe('commit: conditional on the version read', () => {
    test('wins on the version stored, with its events in the outbox', async () => {
      const conference = await stored();
      const next = { ...conference, subject: 'renamed', stateVersion: 2 };
      expect(await store.commit(next, 1, [event('conf.leave', conference.confId, 'a')])).toBe(true);
      expect(await store.get(conference.confId)).toEqual(next);
      expect(await outboxed(conference.confId)).toEqual([`conf.leave:${conference.confId}:a`]);
    });

    test('loses on a stale version: nothing stored changes and no event is written', async () => {
      const conference = await stored();
      expect(await store.commit({ ...conference, stateVersion: 2 }, 1)).toBe(true);
      expect(await store.commit({ ...conference, subject: 'stale', stateVersion: 2 }, 1, [event('conf.leave', conference.confId, 'stale')])).toBe(false);
      expect((await store.get(conference.confId))!.subject).toBe('contract');
      expect(await outboxed(conference.confId)).toEqual([]);
    });

    test('two commits on the same version at once: never both (a transaction conflict may cancel both: each caller re-reads)', async () => {
      const conference = await stored();
      const outcomes = await Promise.all(['a', 'b'].map((subject) => store.commit({ ...conference, subject, stateVersion: 2 }, 1)));
      expect(outcomes.filter(Boolean).length).toBeLessThanOrEqual(1);
      expect((await store.get(conference.confId))!.subject).toBe(outcomes[0] ? 'a' : outcomes[1] ? 'b' : 'contract');
    });

    test("a deactivation's leave events all reach the outbox, beyond one transaction's size", async () => {
      const { conference } = await active();
      const leaves = Array.from({ length: 150 }, (_, n) => event('conf.leave', conference.confId, `p${String(n).padStart(3, '0')}`));
      expect(await store.commit(deactivate(conference, 'ended', T0 + 1), conference.stateVersion, leaves)).toBe(true);
      const written = (await outboxed(conference.confId)).filter((eventId) => eventId.startsWith('conf.leave'));
      expect(written).toEqual(leaves.map((leave) => leave.eventId).sort());
    });
  });

  describe('activate', () => {
    test('activates with the first participant in: counters, participant, link, lobby entry gone, join event', async () => {
      const conference = await stored();
      const entry: LobbyEntry = { uri: 'sip:alice@contoso.com', name: 'alice', kind: 'enterprise', connectionId: 'c-lobby', since: T0 };
      await store.putLobby(conference.confId, entry);
      const activated = activate(conference, id('act'), T0);
      const alice = person('alice', activated.active!.activationInstance);
      const next = withFirstParticipant(activated, true);
      expect(await store.activate(next, 1, alice, alice.connectionIds[0]!, event('conf.join', conference.confId, 'alice'))).toBe(true);
      expect(await store.get(conference.confId)).toEqual(next);
      expect(await store.participants(conference.confId, alice.activationInstance)).toEqual([alice]);
      expect(await store.conferencesOfConnection(alice.connectionIds[0]!)).toEqual([conference.confId]);
      expect(await store.lobbyEntry(conference.confId, entry.uri)).toBeUndefined();
      expect(await outboxed(conference.confId)).toEqual([`conf.join:${conference.confId}:alice`]);
    });

    test('two activations of the same read at once: never both; a loser writes nothing', async () => {
      const conference = await stored();
      const attempts = ['alice', 'bob'].map((name) => {
        const activated = activate(conference, id('act'), T0);
        const participant = person(name, activated.active!.activationInstance);
        return { next: withFirstParticipant(activated, true), participant, name };
      });
      const outcomes = await Promise.all(
        attempts.map(({ next, participant, name }) => store.activate(next, 1, participant, participant.connectionIds[0]!, event('conf.join', conference.confId, name))),
      );
      expect(outcomes.filter(Boolean).length).toBeLessThanOrEqual(1);
      const winner = attempts[outcomes.indexOf(true)];
      const loser = attempts[outcomes.indexOf(false)]!;
      expect((await store.get(conference.confId))!.active?.activationInstance).toBe(winner?.participant.activationInstance);
      expect(await store.participant(conference.confId, loser.participant.uri)).toBeUndefined();
      expect(await outboxed(conference.confId)).toEqual(winner ? [`conf.join:${conference.confId}:${winner.name}`] : []);
    });
  });

  describe('addParticipant and addConnection', () => {
    test('moves the counters and the version; removes the lobby entry; writes the join event', async () => {
      const { conference } = await active();
      const instance = conference.active!.activationInstance;
      const guest = person('guest', instance, { kind: 'federated', joinedAt: T0 + 5 });
      const bot = person('bot', instance, { kind: 'application', hidden: true, joinedAt: T0 + 6 });
      await store.putLobby(conference.confId, { uri: guest.uri, name: 'guest', kind: 'federated', connectionId: 'c-wait', since: T0 });
      expect(await store.addParticipant(conference.confId, guest, guest.connectionIds[0]!, false, event('conf.join', conference.confId, 'guest'))).toBe('added');
      expect(await store.addParticipant(conference.confId, bot, bot.connectionIds[0]!, false, event('conf.join', conference.confId, 'bot'))).toBe('added');
      const after = (await store.get(conference.confId))!;
      expect(after.stateVersion).toBe(conference.stateVersion + 2);
      expect(after.active).toMatchObject({ participantCount: 3, enterpriseCount: 1, hiddenCount: 1, lastJoinTime: T0 + 6 });
      expect(await store.lobbyEntry(conference.confId, guest.uri)).toBeUndefined();
      expect((await store.participants(conference.confId, instance)).map((p) => p.uri)).toEqual([person('alice', instance).uri, bot.uri, guest.uri].sort());
      expect(await outboxed(conference.confId)).toEqual([`conf.join:${conference.confId}:alice`, `conf.join:${conference.confId}:bot`, `conf.join:${conference.confId}:guest`]);
    });

    test('someone already in this activation is counted once: alreadyIn, nothing moves', async () => {
      const { conference, participant } = await active();
      const again = { ...participant, connectionIds: ['c-second'] };
      expect(await store.addParticipant(conference.confId, again, 'c-second', true, event('conf.join', conference.confId, 'again'))).toBe('alreadyIn');
      expect(await store.get(conference.confId)).toEqual(conference);
      expect(await outboxed(conference.confId)).toEqual([`conf.join:${conference.confId}:alice`]);
    });

    test('another activation, or none, answers notActive', async () => {
      const { conference } = await active();
      expect(await store.addParticipant(conference.confId, person('bob', 'act_other'), 'c-bob', true, event('conf.join', conference.confId, 'bob'))).toBe('notActive');
      const idle = await stored();
      expect(await store.addParticipant(idle.confId, person('bob', 'act_other'), 'c-bob', true, event('conf.join', idle.confId, 'bob'))).toBe('notActive');
      expect(await store.get(conference.confId)).toEqual(conference);
      expect(await store.participant(conference.confId, person('bob', 'x').uri)).toBeUndefined();
    });

    test('concurrent joins of different people: each added is counted once (no lost update); a loser (conflict) retries', async () => {
      const { conference } = await active();
      const instance = conference.active!.activationInstance;
      const people = Array.from({ length: 10 }, (_, n) => person(`p${n}`, instance, { kind: n % 2 ? 'enterprise' : 'anonymous' }));
      const join = (p: Participant) => store.addParticipant(conference.confId, p, p.connectionIds[0]!, p.kind === 'enterprise', event('conf.join', conference.confId, p.name));
      const outcomes = await Promise.all(people.map(join));
      // A transaction conflict on the conference item is a lost race ('notActive': re-read), never a half-applied join.
      expect(outcomes.every((outcome) => outcome === 'added' || outcome === 'notActive')).toBe(true);
      const added = outcomes.filter((outcome) => outcome === 'added').length;
      expect((await store.get(conference.confId))!.active!.participantCount).toBe(1 + added);
      expect((await store.participants(conference.confId, instance)).length).toBe(1 + added);
      for (const [index, outcome] of outcomes.entries()) if (outcome !== 'added') expect(await join(people[index]!)).toBe('added');
      const after = (await store.get(conference.confId))!;
      expect(after.active).toMatchObject({ participantCount: 11, enterpriseCount: 6 });
      expect(after.stateVersion).toBe(conference.stateVersion + 10);
    });

    test('a join bumps the version, so a lifecycle commit decided on the read before it loses', async () => {
      const { conference } = await active();
      const bob = person('bob', conference.active!.activationInstance);
      expect(await store.addParticipant(conference.confId, bob, 'c-bob', true, event('conf.join', conference.confId, 'bob'))).toBe('added');
      expect(await store.commit(deactivate(conference, 'empty', T0 + 1), conference.stateVersion)).toBe(false);
      expect((await store.get(conference.confId))!.state).toBe('active');
    });

    test('unlocked: a newcomer decided on an unlocked read loses to a lock committed since (notActive: read again)', async () => {
      const { conference } = await active();
      const locked = { ...conference, stateVersion: conference.stateVersion + 1, active: { ...conference.active!, locked: true } };
      expect(await store.commit(locked, conference.stateVersion)).toBe(true);
      const bob = person('bob', conference.active!.activationInstance);
      expect(await store.addParticipant(conference.confId, bob, 'c-bob', true, event('conf.join', conference.confId, 'bob'), { unlocked: true })).toBe('notActive');
      expect(await store.participant(conference.confId, bob.uri)).toBeUndefined();
      // Without the condition (the organizer, another device of someone in) the lock does not stop the write.
      expect(await store.addParticipant(conference.confId, bob, 'c-bob', true, event('conf.join', conference.confId, 'bob'))).toBe('added');
    });

    test('fromLobby: an admission from a wait that ended (denied) answers notWaiting and writes nothing', async () => {
      const { conference } = await active();
      const instance = conference.active!.activationInstance;
      const guest = person('guest', instance, { kind: 'federated' });
      const wait: LobbyEntry = { uri: guest.uri, name: 'guest', kind: 'federated', connectionId: guest.connectionIds[0]!, since: T0 + 1 };
      await store.putLobby(conference.confId, wait);
      expect(await store.deleteLobby(conference.confId, wait)).toBe(true);
      expect(await store.addParticipant(conference.confId, guest, guest.connectionIds[0]!, false, event('conf.join', conference.confId, 'guest'), { fromLobby: wait })).toBe('notWaiting');
      expect(await store.participant(conference.confId, guest.uri)).toBeUndefined();
      expect((await store.get(conference.confId))!.active!.participantCount).toBe(1);
      await store.putLobby(conference.confId, wait);
      expect(await store.addParticipant(conference.confId, guest, guest.connectionIds[0]!, false, event('conf.join', conference.confId, 'guest'), { fromLobby: wait })).toBe('added');
      expect(await store.lobbyEntry(conference.confId, guest.uri)).toBeUndefined();
    });

    test('fromLobby: an activation admitting from a wait that ended answers false', async () => {
      const conference = await stored();
      const activated = activate(conference, id('act'), T0);
      const guest = person('guest', activated.active!.activationInstance, { kind: 'federated' });
      const wait: LobbyEntry = { uri: guest.uri, name: 'guest', kind: 'federated', connectionId: guest.connectionIds[0]!, since: T0 };
      const next = withFirstParticipant(activated, false);
      expect(await store.activate(next, 1, guest, guest.connectionIds[0]!, event('conf.join', conference.confId, 'guest'), { fromLobby: wait })).toBe(false);
      expect((await store.get(conference.confId))!.state).toBe('scheduled');
    });

    test('addConnection adds an endpoint of the participant of this activation, and links it', async () => {
      const { conference, participant } = await active();
      expect(await store.addConnection(conference.confId, participant, 'c-mobile', event('conf.join', conference.confId, 'mobile'))).toBe(true);
      expect((await store.participant(conference.confId, participant.uri))!.connectionIds).toEqual([...participant.connectionIds, 'c-mobile']);
      expect(await store.conferencesOfConnection('c-mobile')).toEqual([conference.confId]);
      expect(await store.addConnection(conference.confId, { ...participant, activationInstance: 'act_other' }, 'c-tablet', event('conf.join', conference.confId, 'tablet'))).toBe(false);
      expect(await store.conferencesOfConnection('c-tablet')).toEqual([]);
    });
  });

  describe('removeParticipant and removeConnection', () => {
    test('moves the counters and the leave times; removes the participant and its links; writes the leave event', async () => {
      const { conference, participant } = await active();
      const instance = conference.active!.activationInstance;
      const guest = person('guest', instance, { kind: 'anonymous' });
      await store.addParticipant(conference.confId, guest, guest.connectionIds[0]!, false, event('conf.join', conference.confId, 'guest'));
      expect(await store.removeParticipant(conference.confId, guest, false, T0 + 10, event('conf.leave', conference.confId, 'guest'))).toBe(true);
      expect((await store.get(conference.confId))!.active).toMatchObject({ participantCount: 1, enterpriseCount: 1, lastLeaveTime: T0 + 10 });
      expect((await store.get(conference.confId))!.active!.lastEnterpriseLeaveTime).toBeUndefined();
      expect(await store.removeParticipant(conference.confId, participant, true, T0 + 20, event('conf.leave', conference.confId, 'alice'))).toBe(true);
      const after = (await store.get(conference.confId))!;
      expect(after.active).toMatchObject({ participantCount: 0, enterpriseCount: 0, lastLeaveTime: T0 + 20, lastEnterpriseLeaveTime: T0 + 20 });
      expect(after.stateVersion).toBe(conference.stateVersion + 3);
      expect(await store.participants(conference.confId, instance)).toEqual([]);
      expect(await store.conferencesOfConnection(participant.connectionIds[0]!)).toEqual([]);
      expect((await outboxed(conference.confId)).filter((eventId) => eventId.startsWith('conf.leave'))).toEqual([
        `conf.leave:${conference.confId}:alice`,
        `conf.leave:${conference.confId}:guest`,
      ]);
    });

    test('someone not in (a second leave) answers false: nothing moves, no event', async () => {
      const { conference, participant } = await active();
      expect(await store.removeParticipant(conference.confId, participant, true, T0 + 1, event('conf.leave', conference.confId, 'first'))).toBe(true);
      const after = await store.get(conference.confId);
      expect(await store.removeParticipant(conference.confId, participant, true, T0 + 2, event('conf.leave', conference.confId, 'second'))).toBe(false);
      expect(await store.get(conference.confId)).toEqual(after);
      expect(await outboxed(conference.confId)).not.toContain(`conf.leave:${conference.confId}:second`);
    });

    test('a leave of a deactivated activation answers false', async () => {
      const { conference, participant } = await active();
      expect(await store.commit(deactivate(conference, 'ended', T0 + 1), conference.stateVersion)).toBe(true);
      expect(await store.removeParticipant(conference.confId, participant, true, T0 + 2, event('conf.leave', conference.confId, 'late'))).toBe(false);
      expect((await store.get(conference.confId))!.state).toBe('deactivated');
    });

    test('a remove decided on the endpoints read loses to an endpoint added since (false; nothing moves)', async () => {
      const { conference, participant } = await active();
      await store.addConnection(conference.confId, participant, 'c-mobile', event('conf.join', conference.confId, 'mobile'));
      const before = await store.get(conference.confId);
      expect(await store.removeParticipant(conference.confId, participant, true, T0 + 1, event('conf.leave', conference.confId, 'stale'))).toBe(false);
      expect(await store.removeConnection(conference.confId, participant, participant.connectionIds[0]!)).toBe(false);
      expect(await store.get(conference.confId)).toEqual(before);
      expect((await store.participant(conference.confId, participant.uri))!.connectionIds).toEqual([...participant.connectionIds, 'c-mobile']);
    });

    test('a remove decided on a stay that has ended loses to the stay in now, even on the same endpoints (false; nothing moves)', async () => {
      const { conference, participant } = await active();
      const instance = conference.active!.activationInstance;
      const other = person('other', instance);
      await store.addParticipant(conference.confId, other, other.connectionIds[0]!, true, event('conf.join', conference.confId, 'other'));
      expect(await store.removeParticipant(conference.confId, participant, true, T0 + 1, event('conf.leave', conference.confId, 'first stay'))).toBe(true);
      const again = { ...participant, joinedAt: T0 + 2 };
      expect(await store.addParticipant(conference.confId, again, again.connectionIds[0]!, true, event('conf.join', conference.confId, 'second stay'))).toBe('added');
      const before = await store.get(conference.confId);
      expect(await store.removeParticipant(conference.confId, participant, true, T0 + 3, event('conf.leave', conference.confId, 'stale'))).toBe(false);
      expect(await store.get(conference.confId)).toEqual(before);
      expect(await store.participant(conference.confId, participant.uri)).toEqual(again);
      expect(await outboxed(conference.confId)).not.toContain(`conf.leave:${conference.confId}:stale`);
    });

    test('removeConnection drops one endpoint and its link; the participant stays in', async () => {
      const { conference, participant } = await active();
      await store.addConnection(conference.confId, participant, 'c-mobile', event('conf.join', conference.confId, 'mobile'));
      const both = (await store.participant(conference.confId, participant.uri))!;
      expect(await store.removeConnection(conference.confId, both, participant.connectionIds[0]!)).toBe(true);
      expect((await store.participant(conference.confId, participant.uri))!.connectionIds).toEqual(['c-mobile']);
      expect(await store.conferencesOfConnection(participant.connectionIds[0]!)).toEqual([]);
      expect((await store.get(conference.confId))!.active!.participantCount).toBe(1);
    });
  });

  describe('lobby', () => {
    test('a wait is stored, listed and linked to its connection; deleting it removes both', async () => {
      const conference = await stored();
      const entries: LobbyEntry[] = ['zed', 'amy'].map((name) => ({ uri: `sip:${name}@fabrikam.com`, name, kind: 'federated', connectionId: `c-${name}-${conference.confId}`, since: T0 }));
      for (const entry of entries) await store.putLobby(conference.confId, entry);
      expect(await store.lobby(conference.confId)).toEqual([entries[1], entries[0]]);
      expect(await store.lobbyEntry(conference.confId, entries[0]!.uri)).toEqual(entries[0]);
      expect(await store.conferencesOfConnection(entries[0]!.connectionId)).toEqual([conference.confId]);
      await store.deleteLobby(conference.confId, entries[0]!);
      expect(await store.lobby(conference.confId)).toEqual([entries[1]]);
      expect(await store.conferencesOfConnection(entries[0]!.connectionId)).toEqual([]);
    });

    test('deleting a wait that ended (admitted) answers false and keeps the participant and its link', async () => {
      const { conference } = await active();
      const guest = person('guest', conference.active!.activationInstance, { kind: 'federated' });
      const wait: LobbyEntry = { uri: guest.uri, name: 'guest', kind: 'federated', connectionId: guest.connectionIds[0]!, since: T0 };
      await store.putLobby(conference.confId, wait);
      expect(await store.addParticipant(conference.confId, guest, guest.connectionIds[0]!, false, event('conf.join', conference.confId, 'guest'), { fromLobby: wait })).toBe('added');
      expect(await store.deleteLobby(conference.confId, wait)).toBe(false);
      expect(await store.participant(conference.confId, guest.uri)).toBeDefined();
      expect(await store.conferencesOfConnection(guest.connectionIds[0]!)).toEqual([conference.confId]);
    });

    test('deleting an older wait of a user waiting anew answers false and keeps the new wait', async () => {
      const conference = await stored();
      const first: LobbyEntry = { uri: 'sip:guest@fabrikam.com', name: 'guest', kind: 'federated', connectionId: `c-1-${conference.confId}`, since: T0 };
      const again = { ...first, connectionId: `c-2-${conference.confId}`, since: T0 + 5 };
      await store.putLobby(conference.confId, first);
      await store.putLobby(conference.confId, again);
      expect(await store.deleteLobby(conference.confId, first)).toBe(false);
      expect(await store.lobbyEntry(conference.confId, first.uri)).toEqual(again);
      expect(await store.conferencesOfConnection(again.connectionId)).toEqual([conference.confId]);
    });
  });

  describe('participants', () => {
    test("lists only the given activation's participants, by URI (leftovers of an earlier one are not in it)", async () => {
      const { conference, participant } = await active('zoe');
      const instance = conference.active!.activationInstance;
      const amy = person('amy', instance);
      await store.addParticipant(conference.confId, amy, amy.connectionIds[0]!, true, event('conf.join', conference.confId, 'amy'));
      expect((await store.participants(conference.confId, instance)).map((p) => p.uri)).toEqual([amy.uri, participant.uri]);
      expect(await store.participants(conference.confId, 'act_earlier')).toEqual([]);
    });
  });

  describe('clearActivation', () => {
    test("removes the ended activation's participants, lobby entries and links", async () => {
      const { conference, participant } = await active();
      const entry: LobbyEntry = { uri: 'sip:guest@fabrikam.com', name: 'guest', kind: 'federated', connectionId: `c-guest-${conference.confId}`, since: T0 };
      await store.putLobby(conference.confId, entry);
      await store.commit(deactivate(conference, 'ended', T0 + 1), conference.stateVersion);
      await store.clearActivation(conference.confId, participant.activationInstance, [participant], [entry]);
      expect(await store.participant(conference.confId, participant.uri)).toBeUndefined();
      expect(await store.lobby(conference.confId)).toEqual([]);
      expect(await store.conferencesOfConnection(participant.connectionIds[0]!)).toEqual([]);
      expect(await store.conferencesOfConnection(entry.connectionId)).toEqual([]);
    });

    test('keeps the records of a rejoin (a newer activation) and of a newer lobby wait, even on the same connection', async () => {
      const { conference, participant } = await active();
      const entry: LobbyEntry = { uri: 'sip:guest@fabrikam.com', name: 'guest', kind: 'federated', connectionId: `c-guest-${conference.confId}`, since: T0 };
      await store.putLobby(conference.confId, entry);
      const ended = deactivate(conference, 'ended', T0 + 1);
      await store.commit(ended, conference.stateVersion);
      // The same user rejoins on the same connection (a new activation) and the guest waits again, before the clean-up.
      const reactivated = activate(ended, id('act'), T0 + 2);
      const rejoined = { ...participant, activationInstance: reactivated.active!.activationInstance, joinedAt: T0 + 2 };
      await store.activate(withFirstParticipant(reactivated, true), ended.stateVersion, rejoined, participant.connectionIds[0]!, event('conf.join', conference.confId, 'rejoin'));
      const waitsAgain = { ...entry, since: T0 + 3 };
      await store.putLobby(conference.confId, waitsAgain);
      await store.clearActivation(conference.confId, participant.activationInstance, [participant], [entry]);
      expect(await store.participant(conference.confId, participant.uri)).toEqual(rejoined);
      expect(await store.conferencesOfConnection(participant.connectionIds[0]!)).toEqual([conference.confId]);
      expect(await store.lobbyEntry(conference.confId, entry.uri)).toEqual(waitsAgain);
      expect(await store.conferencesOfConnection(entry.connectionId)).toEqual([conference.confId]);
    });
  });

  describe('setRole', () => {
    test("sets the role of the stay read; the rest of the participant's record is kept", async () => {
      const { conference, participant } = await active();
      expect(await store.setRole(conference.confId, participant, 'presenter')).toBe(true);
      expect(await store.participant(conference.confId, participant.uri)).toEqual({ ...participant, role: 'presenter' });
    });

    test('a participant who left answers false and is not written back', async () => {
      const { conference, participant } = await active();
      const other = person('other', conference.active!.activationInstance);
      await store.addParticipant(conference.confId, other, other.connectionIds[0]!, true, event('conf.join', conference.confId, 'other'));
      await store.removeParticipant(conference.confId, other, true, T0 + 1, event('conf.leave', conference.confId, 'other'));
      expect(await store.setRole(conference.confId, other, 'presenter')).toBe(false);
      expect(await store.participant(conference.confId, other.uri)).toBeUndefined();
      expect(await store.participant(conference.confId, participant.uri)).toEqual(participant);
    });

    test('another stay (rejoined since) or another activation answers false', async () => {
      const { conference, participant } = await active();
      expect(await store.setRole(conference.confId, { ...participant, joinedAt: T0 - 1 }, 'presenter')).toBe(false);
      expect(await store.setRole(conference.confId, { ...participant, activationInstance: 'act_other' }, 'presenter')).toBe(false);
      expect(await store.participant(conference.confId, participant.uri)).toEqual(participant);
    });
  });

  describe('meeting IM', () => {
    const message = (confId: string, activationInstance: string, n: number, over: Partial<ConferenceMessage> = {}): ConferenceMessage => ({
      confId,
      activationInstance,
      messageId: `cmsg_${n}`,
      from: { uri: 'sip:alice@contoso.com', name: 'alice' },
      text: `message ${n}`,
      ts: T0 + n,
      ...over,
    });
    const resultOf = (posted: ConferenceMessage) => ({ confId: posted.confId, activationInstance: posted.activationInstance, messageId: posted.messageId, ts: posted.ts });

    test("posts a message of the sender's stay with its compliance event; lists newest first with a cursor", async () => {
      const { conference, participant } = await active();
      const instance = conference.active!.activationInstance;
      for (let n = 1; n <= 5; n++) {
        const posted = message(conference.confId, instance, n);
        expect(await store.postMessage(posted, resultOf(posted), participant, event('conf.message', conference.confId, `m${n}`))).toEqual({ kind: 'posted' });
      }
      const first = await store.messages(conference.confId, instance, 2);
      expect(first.messages).toEqual([message(conference.confId, instance, 5), message(conference.confId, instance, 4)]);
      const second = await store.messages(conference.confId, instance, 2, first.cursor);
      expect(second.messages.map((posted) => posted.messageId)).toEqual(['cmsg_3', 'cmsg_2']);
      const last = await store.messages(conference.confId, instance, 2, second.cursor);
      expect(last).toEqual({ messages: [message(conference.confId, instance, 1)] });
      expect((await outboxed(conference.confId)).filter((eventId) => eventId.startsWith('conf.message'))).toHaveLength(5);
    });

    test('fit cuts the page and the cursor follows the cut', async () => {
      const { conference, participant } = await active();
      const instance = conference.active!.activationInstance;
      for (let n = 1; n <= 3; n++) {
        const posted = message(conference.confId, instance, n);
        await store.postMessage(posted, resultOf(posted), participant, event('conf.message', conference.confId, `m${n}`));
      }
      const page = await store.messages(conference.confId, instance, 10, undefined, () => 1);
      expect(page.messages.map((posted) => posted.messageId)).toEqual(['cmsg_3']);
      expect((await store.messages(conference.confId, instance, 10, page.cursor)).messages.map((posted) => posted.messageId)).toEqual(['cmsg_2', 'cmsg_1']);
    });

    test('once per client id: a second post with it answers the first answer and stores nothing', async () => {
      const { conference, participant } = await active();
      const instance = conference.active!.activationInstance;
      const clientMsgId = id('client');
      const first = message(conference.confId, instance, 1);
      const retry = message(conference.confId, instance, 2);
      expect(await store.postMessage(first, resultOf(first), participant, event('conf.message', conference.confId, 'first'), clientMsgId)).toEqual({ kind: 'posted' });
      expect(await store.postMessage(retry, resultOf(retry), participant, event('conf.message', conference.confId, 'retry'), clientMsgId)).toEqual({
        kind: 'replayed',
        result: resultOf(first),
      });
      expect(await store.replayMessage(participant.uri, clientMsgId)).toEqual(resultOf(first));
      expect(await store.replayMessage(participant.uri, id('client'))).toBeUndefined();
      expect((await store.messages(conference.confId, instance, 10)).messages).toEqual([first]);
      expect(await outboxed(conference.confId)).not.toContain(`conf.message:${conference.confId}:retry`);
    });

    test('a sender who left, or another stay of theirs, loses: nothing stored, no event', async () => {
      const { conference, participant } = await active();
      const instance = conference.active!.activationInstance;
      const stale = message(conference.confId, instance, 1);
      expect(await store.postMessage(stale, resultOf(stale), { ...participant, joinedAt: T0 - 1 }, event('conf.message', conference.confId, 'stale'))).toEqual({ kind: 'lost' });
      await store.removeParticipant(conference.confId, participant, true, T0 + 1, event('conf.leave', conference.confId, 'alice'));
      const late = message(conference.confId, instance, 2);
      expect(await store.postMessage(late, resultOf(late), participant, event('conf.message', conference.confId, 'late'))).toEqual({ kind: 'lost' });
      expect((await store.messages(conference.confId, instance, 10)).messages).toEqual([]);
      expect((await outboxed(conference.confId)).filter((eventId) => eventId.startsWith('conf.message'))).toEqual([]);
    });

    test("an activation's messages are its own; clearActivation deletes them, and a cursor from elsewhere answers 400", async () => {
      const { conference, participant } = await active();
      const instance = conference.active!.activationInstance;
      const posted = message(conference.confId, instance, 1);
      await store.postMessage(posted, resultOf(posted), participant, event('conf.message', conference.confId, 'm1'));
      expect(await store.messages(conference.confId, 'act_other', 10)).toEqual({ messages: [] });
      await store.clearActivation(conference.confId, instance, [participant], []);
      expect(await store.messages(conference.confId, instance, 10)).toEqual({ messages: [] });
      await expect(store.messages(conference.confId, instance, 10, Buffer.from('PART#x').toString('base64url'))).rejects.toMatchObject({ status: 400 });
    });
  });

  describe("the meeting index (conf.list)", () => {
    const someone = (name: string) => `sip:${name}-${randomUUID().slice(0, 8)}@contoso.com`;

    test("schedule writes the organizer's entry; indexInvitees each presenter's and invitee's, once, with their role", async () => {
      const organizer = someone('org');
      const presenter = someone('pres');
      const invitee = someone('inv');
      const conference = scheduled({ organizer, presenters: [presenter], invitees: [invitee, presenter] });
      await store.schedule(conference, resultOf(conference));
      expect(await store.meetingsOf(organizer, 10)).toEqual({ entries: [{ confId: conference.confId, role: 'organizer', scheduledAt: T0 }] });
      expect(await store.meetingsOf(invitee, 10)).toEqual({ entries: [] });
      await store.indexInvitees(conference);
      await store.indexInvitees(conference);
      expect(await store.meetingsOf(presenter, 10)).toEqual({ entries: [{ confId: conference.confId, role: 'presenter', scheduledAt: T0 }] });
      expect(await store.meetingsOf(invitee, 10)).toEqual({ entries: [{ confId: conference.confId, role: 'invitee', scheduledAt: T0 }] });
      expect(await store.meetingsOf(organizer, 10)).toEqual({ entries: [{ confId: conference.confId, role: 'organizer', scheduledAt: T0 }] });
    });

    test('meetingsOf: newest first, at most limit, `next` only when more follow, and `after` resumes past it', async () => {
      const organizer = someone('pager');
      const ids: string[] = [];
      for (let n = 0; n < 5; n++) {
        const conference = scheduled({ organizer, createdAt: T0 + n });
        await store.schedule(conference, resultOf(conference));
        ids.push(conference.confId);
      }
      const first = await store.meetingsOf(organizer, 2);
      expect(first.entries.map((entry) => entry.confId)).toEqual([ids[4], ids[3]]);
      expect(first.next).toBeDefined();
      const second = await store.meetingsOf(organizer, 3, first.next);
      expect(second.entries.map((entry) => entry.confId)).toEqual([ids[2], ids[1], ids[0]]);
      expect(second.next).toBeUndefined();
    });

    test('getMany reads many conferences at once; one that does not exist is absent', async () => {
      const one = await stored();
      const two = await stored();
      const read = await store.getMany([one.confId, two.confId, 'conf_missing']);
      expect([...read.keys()].sort()).toEqual([one.confId, two.confId].sort());
      expect(read.get(one.confId)).toEqual(one);
    });

    test('unindexMeetings removes those entries of that user only; removing again is a no-op', async () => {
      const organizer = someone('cleaner');
      const invitee = someone('kept');
      const conference = scheduled({ organizer, invitees: [invitee] });
      await store.schedule(conference, resultOf(conference));
      await store.indexInvitees(conference);
      const [entry] = (await store.meetingsOf(organizer, 10)).entries;
      await store.unindexMeetings(organizer, [entry!]);
      await store.unindexMeetings(organizer, [entry!]);
      expect(await store.meetingsOf(organizer, 10)).toEqual({ entries: [] });
      expect((await store.meetingsOf(invitee, 10)).entries).toHaveLength(1);
    });
  });

  describe('content', () => {
    const item = (contentId: string, addedAt: number): ConferenceContent => ({ contentId, title: contentId, kind: 'link', body: 'https://example.com', addedBy: olga, addedAt });

    test('lists in the order added (time, then id); a re-put of the same item is one item', async () => {
      const conference = await stored();
      await store.addContent(conference.confId, item('b', T0 + 2));
      await store.addContent(conference.confId, item('a', T0 + 2));
      await store.addContent(conference.confId, item('z', T0 + 1));
      await store.addContent(conference.confId, item('z', T0 + 1));
      expect((await store.content(conference.confId)).map((content) => content.contentId)).toEqual(['z', 'a', 'b']);
      expect((await store.content(conference.confId))[0]).toEqual(item('z', T0 + 1));
    });

    test("purgeContent deletes every item of that conference only; a second purge is a no-op", async () => {
      const conference = await stored();
      const other = await stored();
      for (let n = 0; n < 30; n++) await store.addContent(conference.confId, item(`c${n}`, T0 + n));
      await store.addContent(other.confId, item('kept', T0));
      await store.purgeContent(conference.confId);
      await store.purgeContent(conference.confId);
      expect(await store.content(conference.confId)).toEqual([]);
      expect(await store.content(other.confId)).toHaveLength(1);
    });
  });
}
