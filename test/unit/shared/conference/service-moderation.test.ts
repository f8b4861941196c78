import { conferenceHarness, type ConferenceHarness, HOME, MINUTE, noBackoff, olga, user } from './harness';

/**
 * A presenter's controls (SPEC §9 `conf.eject`, `conf.role`) under the Focus's rules, on memory ports: only presenters,
 * never the organizer by someone else, trusted participants untouched; every write conditional on the stay read.
 */
noBackoff();
let h: ConferenceHarness;
beforeEach(() => {
  h = conferenceHarness();
});

const bob = user('bob');
const carol = user('carol');
const guest = user('guest', 'federated');
const bot = user('bot', 'application', HOME);

describe('conf.eject', () => {
  test('a presenter ejects a participant: conf.ejected to each of their connections, conf.roster left to the others', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    const { activationInstance } = await h.joined(bob, confId);
    await h.joined(bob, confId, 'c-bob-phone');
    await h.joined(carol, confId);
    h.delivery.clear();
    await expect(h.service.eject(olga, confId, bob.uri)).resolves.toEqual({ ejected: bob.uri });
    expect(h.delivery.named('conf.ejected')).toEqual([{ connectionIds: ['c-bob', 'c-bob-phone'], payload: { confId, activationInstance, by: olga.uri } }]);
    expect(h.delivery.named('conf.roster')).toEqual([
      { connectionIds: ['c-carol', 'c-olga'], payload: { confId, change: 'left', participant: { uri: bob.uri, name: 'bob', role: 'presenter' } } },
    ]);
    expect((await h.consistent(confId)).active!.participantCount).toBe(2);
    expect(await h.store.participant(confId, bob.uri)).toBeUndefined();
  });

  test('the ejection is archived as a conf.leave with reason ejected and who ejected', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    await h.service.eject(olga, confId, bob.uri);
    const leaves = h.archived(confId, 'conf.leave');
    expect(leaves).toHaveLength(1);
    expect(leaves[0]).toMatchObject({ actor: { uri: bob.uri }, details: { reason: 'ejected', by: olga.uri } });
  });

  test('an ejected participant coming back goes through admission again: the lobby when the policy puts them there', async () => {
    const confId = await h.schedule({ admission: 'organization' });
    await h.joined(olga, confId);
    expect(await h.join(guest, confId)).toEqual({ state: 'lobby', confId });
    await h.service.admit(olga, confId, guest.uri);
    await h.service.eject(olga, confId, guest.uri);
    expect(await h.join(guest, confId)).toEqual({ state: 'lobby', confId });
    // An enterprise user under the same policy enters directly again.
    await h.joined(bob, confId);
    await h.service.eject(olga, confId, bob.uri);
    await expect(h.join(bob, confId)).resolves.toMatchObject({ state: 'joined' });
  });

  test('an ejected participant cannot come back into a locked meeting', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    await h.service.update(olga, confId, { locked: true });
    await h.service.eject(olga, confId, bob.uri);
    await expect(h.join(bob, confId)).rejects.toMatchObject({ status: 403 });
  });

  test('an attendee cannot eject (403): nothing changes', async () => {
    const confId = await h.schedule({ autoPromote: 'scheduledPresenters' });
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    await h.joined(carol, confId);
    await expect(h.service.eject(bob, confId, carol.uri)).rejects.toMatchObject({ status: 403 });
    expect(await h.store.participant(confId, carol.uri)).toBeDefined();
  });

  test('nobody but the organizer ejects the organizer (403); presenters may eject each other', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    await h.joined(carol, confId);
    await expect(h.service.eject(bob, confId, olga.uri)).rejects.toMatchObject({ status: 403 });
    expect(await h.store.participant(confId, olga.uri)).toBeDefined();
    await expect(h.service.eject(bob, confId, carol.uri)).resolves.toEqual({ ejected: carol.uri });
  });

  test('a trusted participant is untouched: eject and role answer 404, as for someone not in (they are hidden)', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    await h.joined(bot, confId);
    await expect(h.service.eject(olga, confId, bot.uri)).rejects.toMatchObject({ status: 404 });
    await expect(h.service.setRole(olga, confId, bot.uri, 'presenter')).rejects.toMatchObject({ status: 404 });
    expect(await h.store.participant(confId, bot.uri)).toMatchObject({ role: 'attendee', hidden: true });
  });

  test('ejecting someone not in the meeting, or waiting in its lobby, answers 404', async () => {
    const confId = await h.schedule({ admission: 'organization' });
    await h.joined(olga, confId);
    await h.join(guest, confId);
    await expect(h.service.eject(olga, confId, guest.uri)).rejects.toMatchObject({ status: 404 });
    await expect(h.service.eject(olga, confId, carol.uri)).rejects.toMatchObject({ status: 404 });
    expect(await h.store.lobbyEntry(confId, guest.uri)).toBeDefined();
  });

  test('eject racing a rejoin: the stay that is in now is ejected, and each stay has its own leave event', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    h.store.beforeWrite('removeParticipant', async () => {
      // Between the eject's read and its write, bob leaves and comes back on the same connection: another stay.
      await h.service.leave(bob, confId);
      h.clock.advance(MINUTE);
      await h.joined(bob, confId);
    });
    await expect(h.service.eject(olga, confId, bob.uri)).resolves.toEqual({ ejected: bob.uri });
    expect(await h.store.participant(confId, bob.uri)).toBeUndefined();
    const reasons = h.archived(confId, 'conf.leave').map((event) => event.details?.reason);
    expect(reasons.sort()).toEqual(['ejected', 'left']);
    await h.consistent(confId);
  });

  test('eject racing a second device joining: both endpoints are ejected', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    h.store.beforeWrite('removeParticipant', async () => {
      await h.joined(bob, confId, 'c-bob-phone');
    });
    await h.service.eject(olga, confId, bob.uri);
    expect(h.delivery.named('conf.ejected').flatMap((entry) => entry.connectionIds)).toEqual(['c-bob', 'c-bob-phone']);
    expect(await h.store.conferencesOfConnection('c-bob-phone')).toEqual([]);
    await h.consistent(confId);
  });
});

describe('conf.role', () => {
  test('a presenter promotes an attendee: conf.roster role to every participant; the new presenter is told who waits in the lobby', async () => {
    const confId = await h.schedule({ admission: 'organization', autoPromote: 'scheduledPresenters' });
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    await h.join(guest, confId);
    h.delivery.clear();
    await expect(h.service.setRole(olga, confId, bob.uri, 'presenter')).resolves.toEqual({ confId, uri: bob.uri, role: 'presenter', changed: true });
    expect(h.delivery.named('conf.roster')).toEqual([
      { connectionIds: ['c-bob', 'c-olga'], payload: { confId, change: 'role', participant: { uri: bob.uri, name: 'bob', role: 'presenter' } } },
    ]);
    expect(h.delivery.named('conf.lobby')).toEqual([{ connectionIds: ['c-bob'], payload: { confId, uri: guest.uri, name: 'guest', kind: 'federated' } }]);
    // Now a presenter: bob admits the guest.
    await expect(h.service.admit(bob, confId, guest.uri)).resolves.toEqual({ admitted: guest.uri });
  });

  test('a demoted presenter loses the presenter rights', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    await h.service.setRole(olga, confId, bob.uri, 'attendee');
    expect(await h.store.participant(confId, bob.uri)).toMatchObject({ role: 'attendee' });
    await expect(h.service.end(bob, confId)).rejects.toMatchObject({ status: 403 });
    await expect(h.service.get(bob, confId)).resolves.toMatchObject({ roster: expect.arrayContaining([{ uri: bob.uri, name: 'bob', role: 'attendee' }]) });
  });

  test('an attendee cannot change roles (403)', async () => {
    const confId = await h.schedule({ autoPromote: 'scheduledPresenters' });
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    await expect(h.service.setRole(bob, confId, bob.uri, 'presenter')).rejects.toMatchObject({ status: 403 });
    expect(await h.store.participant(confId, bob.uri)).toMatchObject({ role: 'attendee' });
  });

  test('nobody demotes the organizer (403)', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    await expect(h.service.setRole(bob, confId, olga.uri, 'attendee')).rejects.toMatchObject({ status: 403 });
    expect(await h.store.participant(confId, olga.uri)).toMatchObject({ role: 'presenter' });
  });

  test('the role a participant already has changes nothing: changed false, no conf.roster', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    h.delivery.clear();
    await expect(h.service.setRole(olga, confId, bob.uri, 'presenter')).resolves.toMatchObject({ changed: false });
    expect(h.delivery.named('conf.roster')).toEqual([]);
  });

  test('a role change racing a leave: answers 404 and writes nothing (no participant record comes back)', async () => {
    const confId = await h.schedule({ autoPromote: 'scheduledPresenters' });
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    h.store.beforeWrite('setRole', async () => {
      await h.service.leave(bob, confId);
    });
    h.delivery.clear();
    await expect(h.service.setRole(olga, confId, bob.uri, 'presenter')).rejects.toMatchObject({ status: 404 });
    expect(await h.store.participant(confId, bob.uri)).toBeUndefined();
    expect(h.delivery.named('conf.roster').map((entry) => entry.payload.change)).toEqual(['left']);
  });

  test('a role change racing a rejoin applies to the stay that is in now', async () => {
    const confId = await h.schedule({ autoPromote: 'scheduledPresenters' });
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    h.store.beforeWrite('setRole', async () => {
      await h.service.leave(bob, confId);
      h.clock.advance(MINUTE);
      await h.joined(bob, confId);
    });
    await expect(h.service.setRole(olga, confId, bob.uri, 'presenter')).resolves.toMatchObject({ changed: true });
    expect(await h.store.participant(confId, bob.uri)).toMatchObject({ role: 'presenter', joinedAt: h.clock.now() });
  });
});
