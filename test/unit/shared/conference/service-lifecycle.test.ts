import { deactivate } from '../../../../shared/conference/conference';
import { conferenceHarness, type ConferenceHarness, durations, MINUTE, noBackoff, olga, T0, user } from './harness';

/**
 * The activation lifecycle (SPEC §4; seeds conference-activation-deactivation.txt, trusted-participants-deactivation.txt)
 * on memory ports: timers are hints decided again on the stored state; a stale, duplicate or late firing is ignored
 * or re-armed; a failed arm or a lost write changes nothing that a retry does not finish.
 */
noBackoff();
let h: ConferenceHarness;
beforeEach(() => {
  h = conferenceHarness();
});

/** A conference alice activated and left at T0 + 1 min: empty since then. */
async function emptied(): Promise<{ confId: string; activationInstance: string }> {
  const confId = await h.schedule();
  const { activationInstance } = await h.joined(user('alice'), confId);
  h.clock.set(T0 + MINUTE);
  await h.service.leave(user('alice'), confId);
  return { confId, activationInstance };
}

describe('a join racing a deactivation timer', () => {
  test('the join lands between the timer read and its write: the deactivation is decided again and not done', async () => {
    const { confId, activationInstance } = await emptied();
    h.clock.advance(durations.emptyGraceMs);
    h.store.beforeWrite('commit', async () => {
      await h.joined(user('bob'), confId);
    });
    const [outcome] = (await h.fireDue('conference.empty')).map((entry) => entry.outcome);
    expect(outcome).toBe('ignored');
    const conference = await h.consistent(confId);
    expect(conference.active).toMatchObject({ activationInstance, participantCount: 1 });
    expect(h.delivery.named('conf.deactivated')).toEqual([]);
  });

  test('the deactivation lands between the join read and its write: the join reactivates (a new activation)', async () => {
    const { confId, activationInstance } = await emptied();
    h.clock.advance(durations.emptyGraceMs);
    h.store.beforeWrite('addParticipant', async () => {
      expect((await h.fireDue('conference.empty')).map((entry) => entry.outcome)).toEqual(['acted']);
    });
    const joined = await h.joined(user('bob'), confId);
    expect(joined.activationInstance).not.toBe(activationInstance);
    const conference = await h.consistent(confId);
    expect(conference).toMatchObject({ state: 'active', lastDeactivationReason: 'empty', active: { participantCount: 1 } });
  });

  test('racing freely, whoever wins leaves one activation with bob in it', async () => {
    for (let round = 0; round < 5; round++) {
      h = conferenceHarness();
      const { confId, activationInstance } = await emptied();
      h.clock.advance(durations.emptyGraceMs);
      const [firings] = await Promise.all([h.fireDue('conference.empty'), h.joined(user('bob'), confId)]);
      const conference = await h.consistent(confId);
      expect(conference.state).toBe('active');
      expect((await h.store.participants(confId, conference.active!.activationInstance)).map((p) => p.uri)).toEqual([user('bob').uri]);
      expect(conference.active!.activationInstance === activationInstance).toBe(firings[0]!.outcome === 'ignored');
    }
  });
});

describe('stale, duplicate and late deactivation timers', () => {
  test("a timer of an earlier activation is ignored: it never ends the current one", async () => {
    const { confId, activationInstance } = await emptied();
    const stale = h.armed('empty', confId, activationInstance)!;
    await h.service.end(olga, confId);
    const { activationInstance: current } = await h.joined(user('bob'), confId);
    h.clock.set(stale.at);
    expect(await h.fire(stale)).toBe('ignored');
    expect((await h.store.get(confId))!.active!.activationInstance).toBe(current);
  });

  test('a timer whose rule no longer holds (someone joined) is ignored', async () => {
    const { confId, activationInstance } = await emptied();
    await h.joined(user('bob'), confId);
    h.clock.advance(durations.emptyGraceMs);
    expect(await h.fire(h.armed('empty', confId, activationInstance)!)).toBe('ignored');
    expect((await h.store.get(confId))!.state).toBe('active');
  });

  test('a timer that fires early is re-armed at the deadline, under a new name, and acts then', async () => {
    const { confId, activationInstance } = await emptied();
    const early = h.armed('empty', confId, activationInstance)!;
    h.timers.takeDue(early.at, 'conference.empty');
    h.clock.set(early.at - 5 * MINUTE);
    expect(await h.fire(early)).toBe('rearmed');
    const rearmed = h.armed('empty', confId, activationInstance)!;
    expect(rearmed).toMatchObject({ at: T0 + MINUTE + durations.emptyGraceMs });
    expect(rearmed.version).toBeGreaterThan(early.version);
    h.clock.set(rearmed.at);
    expect(await h.fire(rearmed)).toBe('acted');
    expect(await h.store.get(confId)).toMatchObject({ state: 'deactivated', lastDeactivationReason: 'empty' });
  });

  test('the same firing delivered twice at once acts once', async () => {
    const { confId, activationInstance } = await emptied();
    h.clock.advance(durations.emptyGraceMs);
    const firing = h.armed('empty', confId, activationInstance)!;
    const outcomes = await Promise.all([h.fire(firing), h.fire(firing)]);
    expect(outcomes.sort()).toEqual(['acted', 'ignored']);
    expect(await h.store.get(confId)).toMatchObject({ state: 'deactivated', lastDeactivationReason: 'empty' });
    // One deactivation: one content purge clock.
    expect(h.timers.pending('conference.contentPurge')).toHaveLength(1);
  });

  test('the reason is the rule that came due first: a late empty timer after the 90-minute deadline says noEnterprise', async () => {
    // Only a guest ever joined: the 90-minute rule counts from activation; the guest leaves at 80 min (empty due at 100).
    const confId = await h.schedule();
    const guest = user('guest', 'anonymous');
    const { activationInstance } = await h.joined(guest, confId);
    h.clock.set(T0 + 80 * MINUTE);
    await h.service.leave(guest, confId);
    h.clock.set(T0 + 120 * MINUTE);
    expect(await h.fire(h.armed('empty', confId, activationInstance)!)).toBe('acted');
    expect((await h.store.get(confId))!.lastDeactivationReason).toBe('noEnterprise');
  });

  test('the reason is the rule that came due first: a late 90-minute timer after the empty deadline says empty', async () => {
    const confId = await h.schedule();
    const guest = user('guest', 'anonymous');
    const { activationInstance } = await h.joined(guest, confId);
    h.clock.set(T0 + MINUTE);
    await h.service.leave(guest, confId);
    h.clock.set(T0 + 100 * MINUTE);
    expect(await h.fire(h.armed('noEnterprise', confId, activationInstance)!)).toBe('acted');
    expect((await h.store.get(confId))!.lastDeactivationReason).toBe('empty');
  });

  test('trusted participants keep nothing alive: a meeting with only a bot and a guest ends by the 90-minute rule', async () => {
    const confId = await h.schedule();
    const { activationInstance } = await h.joined(user('recorder', 'application'), confId);
    await h.joined(user('guest', 'anonymous'), confId);
    h.clock.set(T0 + durations.noEnterpriseMs);
    expect(await h.fire(h.armed('noEnterprise', confId, activationInstance)!)).toBe('acted');
    expect((await h.store.get(confId))!.lastDeactivationReason).toBe('noEnterprise');
    expect(h.archived(confId, 'conf.leave').map((event) => [event.actor.name, event.details?.reason]).sort()).toEqual([
      ['guest', 'noEnterprise'],
      ['recorder', 'noEnterprise'],
    ]);
  });
});

describe('a timer arm failing', () => {
  test('during activation: the join fails and nothing is active; the retry arms the timers and the rule still deactivates', async () => {
    const confId = await h.schedule();
    h.timers.failNextArms = 1;
    await expect(h.join(user('alice'), confId)).rejects.toThrow('Scheduler is unavailable');
    expect((await h.store.get(confId))!.state).toBe('scheduled');
    expect(h.archived(confId)).toEqual([]);
    const { activationInstance } = await h.joined(user('alice'), confId);
    expect(h.armed('inactivity', confId, activationInstance)).toMatchObject({ at: T0 + durations.noJoinMs });
    expect(h.armed('noEnterprise', confId, activationInstance)).toMatchObject({ at: T0 + durations.noEnterpriseMs });
    h.clock.set(T0 + durations.noJoinMs);
    expect((await h.fireDue('conference.inactivity')).map((entry) => entry.outcome)).toContain('acted');
    expect((await h.store.get(confId))!.lastDeactivationReason).toBe('inactivity');
  });

  test('during a leave: the leave fails and alice is still in; the retry arms the empty timer, which acts', async () => {
    const confId = await h.schedule();
    const { activationInstance } = await h.joined(user('alice'), confId);
    h.timers.failNextArms = 1;
    await expect(h.service.leave(user('alice'), confId)).rejects.toThrow('Scheduler is unavailable');
    expect((await h.consistent(confId)).active!.participantCount).toBe(1);
    await h.service.leave(user('alice'), confId);
    h.clock.advance(durations.emptyGraceMs);
    expect(await h.fire(h.armed('empty', confId, activationInstance)!)).toBe('acted');
  });

  test('during conf.end: nothing is deactivated; the retry arms content purge and expiry', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    h.timers.failNextArms = 1;
    await expect(h.service.end(olga, confId)).rejects.toThrow('Scheduler is unavailable');
    expect((await h.store.get(confId))!.state).toBe('active');
    await expect(h.service.end(olga, confId)).resolves.toEqual({ deactivated: true });
    expect(h.timers.pending().map((timer) => timer.rule)).toEqual(expect.arrayContaining(['conference.contentPurge', 'conference.expiry']));
  });
});

describe('deactivation', () => {
  test('removes everyone (with conf.deactivated and a conf.leave each) and the waiting users; a rejoin is a new activation', async () => {
    const confId = await h.schedule({ admission: 'invited', invitees: [user('bob').uri] });
    const { activationInstance } = await h.joined(olga, confId);
    await h.joined(user('bob'), confId);
    expect(await h.join(user('guest', 'federated'), confId)).toMatchObject({ state: 'lobby' });
    await h.service.end(olga, confId);
    expect(h.delivery.recipientsOf('conf.deactivated').sort()).toEqual(['c-bob', 'c-guest', 'c-olga']);
    expect(h.archived(confId, 'conf.leave').map((event) => event.details?.reason)).toEqual(['ended', 'ended']);
    expect(await h.store.lobby(confId)).toEqual([]);
    expect(await h.store.conferencesOfConnection('c-bob')).toEqual([]);
    expect((await h.joined(olga, confId)).activationInstance).not.toBe(activationInstance);
  });

  test('a deactivation whose write keeps losing answers 503 and changes nothing', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    h.store.loseNext('commit', 12);
    await expect(h.service.end(olga, confId)).rejects.toMatchObject({ status: 503 });
    expect((await h.store.get(confId))!.state).toBe('active');
    expect(h.delivery.named('conf.deactivated')).toEqual([]);
  });

  test('a deletion that loses to a deactivation reads again and deletes (410 from then on)', async () => {
    const confId = await h.schedule();
    await h.joined(user('alice'), confId);
    h.store.beforeWrite('commit', async () => {
      const current = (await h.store.get(confId))!;
      await h.store.commit(deactivate(current, 'ended', h.clock.now()), current.stateVersion);
    });
    await expect(h.service.delete(olga, confId)).resolves.toEqual({ deleted: true });
    expect((await h.store.get(confId))!.state).toBe('deleted');
    await expect(h.service.get(olga, confId)).rejects.toMatchObject({ status: 410 });
  });
});

describe('content purge timer vs reactivation', () => {
  async function endedWithContent() {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    await h.service.addContent(olga, confId, { title: 'deck', kind: 'link', body: 'https://example.com/deck' });
    await h.service.end(olga, confId);
    return confId;
  }

  test('a reactivation inside the grace period keeps the content; the clock restarts at the next deactivation', async () => {
    const confId = await endedWithContent();
    const first = h.timers.pending('conference.contentPurge')[0]!;
    h.clock.advance(durations.contentGraceMs / 2);
    await h.joined(olga, confId);
    h.clock.set(first.at);
    expect(await h.fire(first)).toBe('ignored');
    expect((await h.service.listContent(olga, confId)).content).toHaveLength(1);
    await h.service.end(olga, confId);
    expect(await h.fire(first)).toBe('ignored');
    const second = h.timers.pending('conference.contentPurge').find((timer) => timer !== first)!;
    h.clock.set(second.at);
    expect(await h.fire(second)).toBe('acted');
    expect(await h.store.content(confId)).toEqual([]);
    expect((await h.store.get(confId))!.contentPurgedAt).toBe(second.at);
  });

  test('a purge decided before a join reactivated it: the join wins the conference, the content is gone as decided', async () => {
    const confId = await endedWithContent();
    const purge = h.timers.pending('conference.contentPurge')[0]!;
    h.clock.set(purge.at);
    h.store.beforeWrite('purgeContent', async () => {
      await h.joined(olga, confId);
    });
    expect(await h.fire(purge)).toBe('acted');
    const conference = await h.consistent(confId);
    expect(conference).toMatchObject({ state: 'active', active: { participantCount: 1 } });
    expect(conference.contentPurgedAt).toBeUndefined();
    expect(await h.store.content(confId)).toEqual([]);
  });

  test('a purge firing twice acts once', async () => {
    const confId = await endedWithContent();
    const purge = h.timers.pending('conference.contentPurge')[0]!;
    h.clock.set(purge.at);
    expect(await h.fire(purge)).toBe('acted');
    expect(await h.fire(purge)).toBe('ignored');
    expect(confId).toBeDefined();
  });
});

describe('ghosts are removed before a rule is decided', () => {
  test('an enterprise participant whose connection is gone leaves (connectionLost); the 90-minute rule counts from then', async () => {
    const confId = await h.schedule();
    const ghost = user('ghost');
    const { activationInstance } = await h.joined(ghost, confId);
    await h.joined(user('guest', 'anonymous'), confId);
    h.connections.open.delete('c-ghost');
    h.clock.set(T0 + durations.noEnterpriseMs);
    expect(await h.fire(h.armed('noEnterprise', confId, activationInstance)!)).toBe('rearmed');
    expect(await h.store.participant(confId, ghost.uri)).toBeUndefined();
    expect((await h.consistent(confId)).active).toMatchObject({ participantCount: 1, enterpriseCount: 0 });
    expect(h.armed('noEnterprise', confId, activationInstance)).toMatchObject({ at: h.clock.now() + durations.noEnterpriseMs });
    expect(h.archived(confId, 'conf.leave').map((event) => [event.actor.uri, event.details?.reason])).toEqual([[ghost.uri, 'connectionLost']]);
  });

  test('only ghosts in: the empty rule counts from their removal', async () => {
    const confId = await h.schedule();
    const { activationInstance } = await h.joined(user('ghost'), confId);
    h.connections.open.delete('c-ghost');
    h.clock.set(T0 + durations.noJoinMs / 2);
    expect(await h.fire({ rule: 'conference.inactivity', subject: `${confId}/${activationInstance}`, version: 1 })).toBe('rearmed');
    expect((await h.consistent(confId)).active!.participantCount).toBe(0);
    expect(h.armed('empty', confId, activationInstance)).toMatchObject({ at: h.clock.now() + durations.emptyGraceMs });
  });

  test('a ghost on one device of two keeps the participant in; only the dead endpoint is dropped', async () => {
    const confId = await h.schedule();
    const alice = user('alice');
    const { activationInstance } = await h.joined(alice, confId, 'c-desk');
    await h.joined({ ...alice, device: 'mobile' }, confId, 'c-phone');
    h.connections.open.delete('c-desk');
    h.clock.set(T0 + durations.noJoinMs / 2);
    await h.fire({ rule: 'conference.inactivity', subject: `${confId}/${activationInstance}`, version: 1 });
    expect((await h.store.participant(confId, alice.uri))!.connectionIds).toEqual(['c-phone']);
    expect(h.archived(confId, 'conf.leave')).toEqual([]);
  });

  test('a roster read removes ghosts first', async () => {
    const confId = await h.schedule();
    await h.joined(user('ghost'), confId);
    await h.joined(user('bob'), confId);
    h.connections.open.delete('c-ghost');
    const state = await h.service.get(olga, confId);
    expect(state.roster?.map((entry) => entry.uri)).toEqual([user('bob').uri]);
    expect(state.active?.participantCount).toBe(1);
  });
});
