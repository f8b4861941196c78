import { UnavailableError } from '../../../../shared/errors';
import { conferenceHarness, type ConferenceHarness, durations, MINUTE, noBackoff, olga, T0, user } from './harness';

/**
 * Joins, the lobby and leaves under races and partial failures (SPEC §4, docs/protocol.md "Conferences"), on memory
 * ports: every join lands once and the counters stay right; a lost conditional write is decided again on a fresh read.
 */
noBackoff();
let h: ConferenceHarness;
beforeEach(() => {
  h = conferenceHarness();
});

describe('a join storm on one conference', () => {
  test('every join lands, once, in one activation; the counters are right', async () => {
    const confId = await h.schedule();
    const people = Array.from({ length: 30 }, (_, n) => user(`p${n}`, n % 3 === 0 ? 'federated' : n % 5 === 0 ? 'anonymous' : 'enterprise'));
    const results = await Promise.all(people.map((person) => h.joined(person, confId)));
    const instances = new Set(results.map((result) => result.activationInstance));
    expect(instances.size).toBe(1);
    const conference = await h.consistent(confId);
    expect(conference.active).toMatchObject({ participantCount: 30, enterpriseCount: people.filter((p) => p.kind === 'enterprise').length });
    expect(h.archived(confId, 'conf.join').map((event) => event.actor.uri).sort()).toEqual(people.map((p) => p.uri).sort());
  });

  test('the activations that lost the race armed timers that are ignored when they fire', async () => {
    const confId = await h.schedule();
    await Promise.all(Array.from({ length: 8 }, (_, n) => h.joined(user(`p${n}`), confId)));
    const { active } = await h.consistent(confId);
    const inactivity = h.timers.pending('conference.inactivity');
    expect(inactivity.filter((timer) => timer.subject === `${confId}/${active!.activationInstance}`)).toHaveLength(1);
    h.clock.set(T0 + durations.noJoinMs);
    const outcomes = await h.fireDue('conference.inactivity');
    const stale = outcomes.filter(({ firing }) => firing.subject !== `${confId}/${active!.activationInstance}`);
    expect(stale.map(({ outcome }) => outcome)).toEqual(stale.map(() => 'ignored'));
  });

  test('a join whose write keeps losing is retried, then answers 503 (the conference kept changing)', async () => {
    const confId = await h.schedule();
    // Every activation attempt finds the conference changed by another writer just before its write.
    for (let n = 0; n < 12; n++) {
      h.store.beforeWrite('activate', async () => {
        const current = (await h.store.get(confId))!;
        await h.store.commit({ ...current, stateVersion: current.stateVersion + 1 }, current.stateVersion);
      });
    }
    await expect(h.join(user('alice'), confId)).rejects.toBeInstanceOf(UnavailableError);
    expect(h.store.writes.filter((write) => write === 'activate')).toHaveLength(12);
    expect((await h.store.get(confId))!.state).toBe('scheduled');
    expect(h.archived(confId)).toEqual([]);
  });

  test('a join that loses twice and then wins is one join', async () => {
    const confId = await h.schedule();
    for (let n = 0; n < 2; n++) {
      h.store.beforeWrite('activate', async () => {
        const current = (await h.store.get(confId))!;
        await h.store.commit({ ...current, stateVersion: current.stateVersion + 1 }, current.stateVersion);
      });
    }
    await h.joined(user('alice'), confId);
    expect((await h.consistent(confId)).active!.participantCount).toBe(1);
    expect(h.archived(confId, 'conf.join')).toHaveLength(1);
  });
});

describe('leave racing join', () => {
  test('the last participant leaves while someone joins: the empty timer the leave armed is ignored (someone is in)', async () => {
    const confId = await h.schedule();
    const { activationInstance } = await h.joined(user('alice'), confId);
    h.store.beforeWrite('removeParticipant', async () => {
      await h.joined(user('bob'), confId);
    });
    expect(await h.service.leave(user('alice'), confId)).toEqual({ left: true });
    const conference = await h.consistent(confId);
    expect(conference.active).toMatchObject({ activationInstance, participantCount: 1 });
    h.clock.advance(durations.emptyGraceMs);
    expect((await h.fireDue('conference.empty')).map(({ outcome }) => outcome)).toEqual(['ignored']);
    expect((await h.store.get(confId))!.state).toBe('active');
  });

  test('two leaves that each read the other still in: the read after the write arms the empty timer', async () => {
    const confId = await h.schedule();
    const { activationInstance } = await h.joined(user('alice'), confId);
    await h.joined(user('bob'), confId);
    h.store.beforeWrite('removeParticipant', async () => {
      await h.service.leave(user('bob'), confId);
    });
    await h.service.leave(user('alice'), confId);
    expect((await h.consistent(confId)).active!.participantCount).toBe(0);
    expect(h.armed('empty', confId, activationInstance)).toMatchObject({ at: T0 + durations.emptyGraceMs });
    h.clock.advance(durations.emptyGraceMs);
    expect((await h.fireDue('conference.empty')).map(({ outcome }) => outcome)).toContain('acted');
    expect(await h.store.get(confId)).toMatchObject({ state: 'deactivated', lastDeactivationReason: 'empty' });
  });

  test('a second device joining while the first one disconnects: the participant stays in on the second', async () => {
    const confId = await h.schedule();
    const alice = user('alice');
    await h.joined(alice, confId, 'c-desk');
    h.store.beforeWrite('removeParticipant', async () => {
      await h.joined({ ...alice, device: 'mobile' }, confId, 'c-phone');
    });
    await h.service.disconnected(alice, 'c-desk');
    // The remove was decided on a read with one device; the second came in between: only the first device goes.
    expect((await h.store.participant(confId, alice.uri))?.connectionIds).toEqual(['c-phone']);
    expect((await h.consistent(confId)).active!.participantCount).toBe(1);
    expect(await h.store.conferencesOfConnection('c-phone')).toEqual([confId]);
    expect(await h.store.conferencesOfConnection('c-desk')).toEqual([]);
    expect(h.archived(confId, 'conf.leave')).toEqual([]);
  });

  test('a device dropped while another device of the same user joins: neither endpoint is lost', async () => {
    const confId = await h.schedule();
    const alice = user('alice');
    await h.joined(alice, confId, 'c-desk');
    await h.joined({ ...alice, device: 'mobile' }, confId, 'c-phone');
    h.store.beforeWrite('removeConnection', async () => {
      await h.joined({ ...alice, device: 'web' }, confId, 'c-tablet');
    });
    await h.service.disconnected(alice, 'c-desk');
    expect((await h.store.participant(confId, alice.uri))?.connectionIds.slice().sort()).toEqual(['c-phone', 'c-tablet']);
  });
});

describe('$disconnect', () => {
  test('one device of two: the participant stays in; the last one: leaves with reason disconnected', async () => {
    const confId = await h.schedule();
    const alice = user('alice');
    await h.joined(alice, confId, 'c-desk');
    await h.joined({ ...alice, device: 'mobile' }, confId, 'c-phone');
    await h.service.disconnected(alice, 'c-desk');
    expect((await h.store.participant(confId, alice.uri))!.connectionIds).toEqual(['c-phone']);
    await h.service.disconnected(alice, 'c-phone');
    expect((await h.consistent(confId)).active!.participantCount).toBe(0);
    expect(h.archived(confId, 'conf.leave').map((event) => event.details?.reason)).toEqual(['disconnected']);
  });

  test('is best effort: a remove that keeps losing is left (no error); the ghost leaves when a rule timer fires', async () => {
    const confId = await h.schedule();
    const alice = user('alice');
    const { activationInstance } = await h.joined(alice, confId);
    await h.joined(user('guest', 'anonymous'), confId);
    h.store.loseNext('removeParticipant', 12);
    h.connections.open.delete('c-alice');
    await expect(h.service.disconnected(alice, 'c-alice')).resolves.toBeUndefined();
    expect(await h.store.participant(confId, alice.uri)).toBeDefined();
    h.clock.set(T0 + durations.noJoinMs / 2);
    await h.fire({ rule: 'conference.inactivity', subject: `${confId}/${activationInstance}`, version: 1 });
    expect(await h.store.participant(confId, alice.uri)).toBeUndefined();
    expect(h.archived(confId, 'conf.leave').map((event) => event.details?.reason)).toEqual(['connectionLost']);
  });
});

describe('compliance send failing for a join or a leave', () => {
  test('the command succeeds (no 503); the event stays in the outbox for the sweep', async () => {
    const confId = await h.schedule();
    h.compliance.queue.failNextSends = 1;
    await expect(h.join(user('alice'), confId)).resolves.toMatchObject({ state: 'joined' });
    h.compliance.queue.failNextSends = 1;
    await expect(h.service.leave(user('alice'), confId)).resolves.toEqual({ left: true });
    const waiting = [...h.compliance.outbox.items.values()].map((item) => item.event.type);
    expect(waiting.sort()).toEqual(['conf.join', 'conf.leave']);
    expect(h.compliance.sent()).toEqual([]);
  });

  test('a confirmed send clears the outbox item', async () => {
    const confId = await h.schedule();
    await h.joined(user('alice'), confId);
    expect(h.compliance.sent().map((event) => event.type)).toEqual(['conf.join']);
    expect(h.compliance.outbox.items.size).toBe(0);
  });
});

describe('the lobby', () => {
  async function withWaitingGuest() {
    const confId = await h.schedule({ admission: 'invited' });
    await h.joined(olga, confId);
    const guest = user('guest', 'federated');
    expect(await h.join(guest, confId)).toEqual({ state: 'lobby', confId });
    return { confId, guest };
  }

  test('a waiting user is announced to the presenters; admit enters them with conf.admitted', async () => {
    const { confId, guest } = await withWaitingGuest();
    expect(h.delivery.named('conf.lobby').map((entry) => entry.connectionIds)).toEqual([['c-olga']]);
    await expect(h.service.admit(olga, confId, guest.uri)).resolves.toEqual({ admitted: guest.uri });
    expect(h.delivery.recipientsOf('conf.admitted')).toEqual(['c-guest']);
    expect((await h.consistent(confId)).active!.participantCount).toBe(2);
    expect(await h.store.lobby(confId)).toEqual([]);
  });

  test('deny racing admit (deny second): the guest is in; deny answers 404 and sends no conf.denied; the link stays', async () => {
    const { confId, guest } = await withWaitingGuest();
    h.store.beforeWrite('deleteLobby', async () => {
      await h.service.admit(olga, confId, guest.uri);
    });
    await expect(h.service.deny(olga, confId, guest.uri)).rejects.toMatchObject({ status: 404 });
    expect(h.delivery.recipientsOf('conf.denied')).toEqual([]);
    expect(await h.store.participant(confId, guest.uri)).toBeDefined();
    // $disconnect finds the conference through the link: the admitted guest's link must survive the late deny.
    expect(await h.store.conferencesOfConnection('c-guest')).toEqual([confId]);
  });

  test('admit racing deny (admit second): the guest stays out; admit answers 404', async () => {
    const { confId, guest } = await withWaitingGuest();
    h.store.beforeWrite('addParticipant', async () => {
      await h.service.deny(olga, confId, guest.uri);
    });
    await expect(h.service.admit(olga, confId, guest.uri)).rejects.toMatchObject({ status: 404 });
    expect(h.delivery.recipientsOf('conf.denied')).toEqual(['c-guest']);
    expect(h.delivery.recipientsOf('conf.admitted')).toEqual([]);
    expect(await h.store.participant(confId, guest.uri)).toBeUndefined();
    expect((await h.consistent(confId)).active!.participantCount).toBe(1);
  });

  test('a waiting user who disconnects leaves the lobby; the presenters are told (conf.lobbyLeft)', async () => {
    const { confId, guest } = await withWaitingGuest();
    await h.service.disconnected(guest, 'c-guest');
    expect(await h.store.lobby(confId)).toEqual([]);
    expect(h.delivery.named('conf.lobbyLeft')).toEqual([{ connectionIds: ['c-olga'], payload: { confId, uri: guest.uri, reason: 'left' } }]);
    // Its connection is gone: nobody to tell that the wait ended.
    expect(h.delivery.named('conf.waitEnded')).toEqual([]);
  });

  test('conf.leave from the lobby ends the wait (left: true); the presenters are told; admitting then answers 404', async () => {
    const { confId, guest } = await withWaitingGuest();
    await expect(h.service.leave(guest, confId)).resolves.toEqual({ left: true });
    expect(await h.store.lobby(confId)).toEqual([]);
    expect(h.delivery.named('conf.lobbyLeft')).toEqual([{ connectionIds: ['c-olga'], payload: { confId, uri: guest.uri, reason: 'left' } }]);
    await expect(h.service.admit(olga, confId, guest.uri)).rejects.toMatchObject({ status: 404 });
    expect(await h.service.leave(guest, confId)).toEqual({ left: false });
  });

  test('a waiting user is told whether a presenter is in (conf.lobbyWait), again when the last one leaves and when one comes', async () => {
    const bob = user('bob');
    const confId = await h.schedule({ admission: 'invited', invitees: [bob.uri] });
    await h.joined(olga, confId);
    await h.join(user('guest', 'federated'), confId);
    const told = () => h.delivery.named('conf.lobbyWait').map((entry) => [entry.connectionIds, entry.payload.presenterPresent]);
    expect(told()).toEqual([[['c-guest'], true]]);
    await h.joined(bob, confId);
    await h.service.setRole(olga, confId, bob.uri, 'attendee');
    expect(told()).toHaveLength(1);
    await h.service.leave(olga, confId);
    expect(told()).toEqual([
      [['c-guest'], true],
      [['c-guest'], false],
    ]);
    await h.joined(olga, confId);
    expect(told().at(-1)).toEqual([['c-guest'], true]);
  });

  test('conf.leave ends the wait whichever connection sent it: the waiting connection is told (conf.waitEnded)', async () => {
    const { confId, guest } = await withWaitingGuest();
    // conf.leave names the user, not the connection: another tab's leave ends the wait of the tab that waits.
    await expect(h.service.leave(guest, confId)).resolves.toEqual({ left: true });
    expect(h.delivery.named('conf.waitEnded')).toEqual([{ connectionIds: ['c-guest'], payload: { confId, reason: 'left' } }]);
    expect(h.delivery.recipientsOf('conf.denied')).toEqual([]);
  });

  /** Two presenters in (olga and bob) and a guest waiting on `c-guest`. */
  async function withTwoPresentersAndAGuest(autoPromote: 'organization' | 'anyone' = 'organization') {
    const bob = user('bob');
    const confId = await h.schedule({ admission: 'invited', invitees: [bob.uri], autoPromote });
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    const guest = user('guest', 'federated');
    expect(await h.join(guest, confId)).toEqual({ state: 'lobby', confId });
    return { confId, guest, bob };
  }

  test("an admit takes the guest off every presenter's lobby list (conf.lobbyLeft, reason admitted); the other presenter's admit then answers 404", async () => {
    const { confId, guest, bob } = await withTwoPresentersAndAGuest();
    await h.service.admit(olga, confId, guest.uri);
    expect(h.delivery.named('conf.lobbyLeft')).toEqual([{ connectionIds: ['c-bob', 'c-olga'], payload: { confId, uri: guest.uri, reason: 'admitted' } }]);
    await expect(h.service.admit(bob, confId, guest.uri)).rejects.toMatchObject({ status: 404 });
  });

  test('a guest admitted as a presenter is not told about their own wait', async () => {
    const { confId, guest } = await withTwoPresentersAndAGuest('anyone');
    expect((await h.service.admit(olga, confId, guest.uri)).admitted).toBe(guest.uri);
    expect((await h.store.participant(confId, guest.uri))!.role).toBe('presenter');
    expect(h.delivery.named('conf.lobbyLeft')).toEqual([{ connectionIds: ['c-bob', 'c-olga'], payload: { confId, uri: guest.uri, reason: 'admitted' } }]);
  });

  test("a deny takes the guest off every presenter's lobby list (conf.lobbyLeft, reason denied); the other presenter's deny then answers 404", async () => {
    const { confId, guest, bob } = await withTwoPresentersAndAGuest();
    await h.service.deny(olga, confId, guest.uri);
    expect(h.delivery.recipientsOf('conf.denied')).toEqual(['c-guest']);
    expect(h.delivery.named('conf.lobbyLeft')).toEqual([{ connectionIds: ['c-bob', 'c-olga'], payload: { confId, uri: guest.uri, reason: 'denied' } }]);
    await expect(h.service.deny(bob, confId, guest.uri)).rejects.toMatchObject({ status: 404 });
    expect(h.delivery.named('conf.lobbyLeft')).toHaveLength(1);
  });

  test("the first presenter's join is news to the lobby even when the read after it misses that join (a stale list)", async () => {
    const confId = await h.schedule({ admission: 'invited' });
    await h.join(user('guest', 'federated'), confId);
    // An eventually consistent read that has not seen the caller's own write yet.
    const read = h.store.participants.bind(h.store);
    jest.spyOn(h.store, 'participants').mockImplementation(async (id, instance) => (await read(id, instance)).filter((participant) => participant.uri !== olga.uri));
    const joined = await h.joined(olga, confId);
    expect(h.delivery.named('conf.lobbyWait').map((entry) => [entry.connectionIds, entry.payload.presenterPresent])).toEqual([
      [['c-guest'], false],
      [['c-guest'], true],
    ]);
    // The joiner's own roster has them in, whatever the read missed.
    expect(joined.roster.map((entry) => entry.uri)).toEqual([olga.uri]);
  });

  test("the last presenter's leave is news to the lobby even when the read after it still shows them (a stale list)", async () => {
    const bob = user('bob');
    const confId = await h.schedule({ admission: 'invited', invitees: [bob.uri], autoPromote: 'scheduledPresenters' });
    const { activationInstance } = await h.joined(olga, confId);
    await h.joined(bob, confId);
    await h.join(user('guest', 'federated'), confId);
    // An eventually consistent read that has not seen the caller's own leave yet.
    const stale = await h.store.participants(confId, activationInstance);
    expect(stale.map((participant) => [participant.uri, participant.role])).toEqual([
      [bob.uri, 'attendee'],
      [olga.uri, 'presenter'],
    ]);
    jest.spyOn(h.store, 'participants').mockResolvedValue(stale);
    await expect(h.service.leave(olga, confId)).resolves.toEqual({ left: true });
    expect(h.delivery.named('conf.lobbyWait').map((entry) => [entry.connectionIds, entry.payload.presenterPresent])).toEqual([
      [['c-guest'], true],
      [['c-guest'], false],
    ]);
  });

  test('a guest who waits for a meeting no presenter is in is told so at once', async () => {
    const confId = await h.schedule({ admission: 'invited' });
    await h.join(user('guest', 'anonymous'), confId);
    expect(h.delivery.named('conf.lobbyWait').map((entry) => entry.payload)).toEqual([{ confId, presenterPresent: false }]);
  });
});

describe('lock racing join', () => {
  test('a lock committed between a join read and its write keeps the newcomer out (403)', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    h.store.beforeWrite('addParticipant', async () => {
      await h.service.update(olga, confId, { locked: true });
    });
    await expect(h.join(user('carol'), confId)).rejects.toMatchObject({ status: 403 });
    expect(await h.store.participant(confId, user('carol').uri)).toBeUndefined();
    expect((await h.consistent(confId)).active).toMatchObject({ locked: true, participantCount: 1 });
  });

  test("a participant's second device enters a locked meeting; a newcomer does not", async () => {
    const confId = await h.schedule();
    const bob = user('bob');
    await h.joined(olga, confId);
    await h.joined(bob, confId, 'c-bob-desk');
    await h.service.update(olga, confId, { locked: true });
    await expect(h.join({ ...bob, device: 'mobile' }, confId, 'c-bob-phone')).resolves.toMatchObject({ state: 'joined' });
    await expect(h.join(user('carol'), confId)).rejects.toMatchObject({ status: 403 });
    expect((await h.consistent(confId)).active!.participantCount).toBe(2);
  });

  test('an update that keeps losing its write answers 503; one that loses twice then wins is applied once', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    h.store.loseNext('commit', 12);
    await expect(h.service.update(olga, confId, { locked: true })).rejects.toMatchObject({ status: 503 });
    expect((await h.store.get(confId))!.active!.locked).toBe(false);
    h.store.loseNext('commit', 2);
    await expect(h.service.update(olga, confId, { locked: true })).resolves.toMatchObject({ locked: true });
    expect(h.delivery.named('conf.updated')).toHaveLength(1);
  });
});

test('a participant who left answers left: false on a second leave, and the rule timers stay armed', async () => {
  const confId = await h.schedule();
  const { activationInstance } = await h.joined(user('alice'), confId);
  h.clock.advance(MINUTE);
  await h.service.leave(user('alice'), confId);
  expect(await h.service.leave(user('alice'), confId)).toEqual({ left: false });
  expect(h.armed('empty', confId, activationInstance)).toMatchObject({ at: T0 + MINUTE + durations.emptyGraceMs });
});
