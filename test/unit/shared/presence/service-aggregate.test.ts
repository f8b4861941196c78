import { OPTIMISTIC_RETRY } from '../../../../shared/concurrency';
import { UnavailableError } from '../../../../shared/errors';
import { aggregatePresence } from '../../../../shared/presence/presence';
import { presenceHarness, user, withoutBackoff } from './presence-harness';

/**
 * The endpoint and aggregate rules of SPEC §5 on memory ports: a user's `version` rises by exactly one per change of
 * their aggregated presence, and every change is notified to every subscription watching them.
 */
withoutBackoff();

const alice = user('alice');
const bob = user('bob');

async function watched() {
  const h = presenceHarness();
  await h.connect(alice, 'a1');
  await h.connect(alice, 'a2');
  await h.connect(bob, 'b1');
  const view = await h.service.subscribe(bob, 'b1', { targets: [alice.uri] });
  h.delivery.clear();
  h.store.calls.length = 0;
  return { ...h, subscriptionId: view.subscriptionId };
}

describe('presence versions (every change increments version by exactly one)', () => {
  it('each change of the aggregate is one version, notified once; a publish that changes nothing is no version and no notification', async () => {
    const h = await watched();
    const versions: number[] = [];
    for (const publication of [
      { source: 'user', availability: 'busy' },
      { source: 'user', availability: 'busy' },
      { source: 'machine', availability: 'away' },
      { source: 'user', availability: 'busy', note: 'in a call' },
      { source: 'user', reset: true },
    ] as const) {
      h.clock.advance(1000);
      versions.push((await h.service.publish(alice, 'a1', publication)).version);
    }
    // online (1) → busy (2) → busy again: no change → machine away under a user busy: no change → note (3) → reset: online + note (4)
    expect(versions).toEqual([2, 2, 2, 3, 4]);
    expect(h.delivery.versionsSeen('b1', alice.uri)).toEqual([2, 3, 4]);
    expect(h.store.callsOf('saveAggregate')).toHaveLength(3);
  });

  it('a disconnect of the last endpoint is one version (offline); a second endpoint closing first is none', async () => {
    const h = await watched();
    await h.service.endpointGone(alice.uri, 'a2');
    await h.service.endpointGone(alice.uri, 'a1');
    expect(h.delivery.named('presence.notify').map((entry) => [entry.payload.version, entry.payload.presence.availability])).toEqual([[2, 'offline']]);
  });
});

describe('publishes racing on one user', () => {
  it('two publishes from two endpoints racing: each change is one version, none is lost, the aggregate is right', async () => {
    const h = await watched();
    // a1 has read alice's presence and is about to save its aggregate when a2's publish runs to the end.
    h.store.beforeNext('saveAggregate', async () => {
      h.clock.advance(10);
      await h.service.publish(alice, 'a2', { source: 'machine', availability: 'online', note: 'back at 3' });
    });
    h.clock.advance(1000);
    const first = await h.service.publish(alice, 'a1', { source: 'user', availability: 'busy' });
    const { endpoints, user: chosen, aggregate } = await h.store.readUser(alice.uri);
    // Both changes are in the aggregate: a1's user state and a2's note.
    expect(aggregate?.presence).toEqual({ availability: 'busy', note: 'back at 3' });
    expect(aggregate?.presence).toEqual(aggregatePresence(endpoints, h.clock.now(), chosen));
    expect(first).toEqual({ uri: alice.uri, ...aggregate });
    // Versions are consecutive and each notified once: the subscriber can tell it missed nothing.
    const seen = h.delivery.versionsSeen('b1', alice.uri);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, index) => 2 + index));
    expect(seen[seen.length - 1]).toBe(aggregate?.version);
  });

  it('many publishes from many endpoints at once: consecutive versions, none notified twice, the last one is the stored aggregate', async () => {
    const h = await watched();
    const ids = ['a3', 'a4', 'a5', 'a6'];
    for (const id of ids) await h.connect(alice, id);
    h.delivery.clear();
    const states = ['busy', 'away', 'beRightBack', 'doNotDisturb'] as const;
    await Promise.all(ids.map((id, index) => h.service.publish(alice, id, { source: 'machine', availability: states[index]!, note: `note ${id}` })));
    const { endpoints, user: chosen, aggregate } = await h.store.readUser(alice.uri);
    expect(aggregate?.presence).toEqual(aggregatePresence(endpoints, h.clock.now(), chosen));
    const seen = h.delivery.versionsSeen('b1', alice.uri);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: seen.length }, (_, index) => 2 + index));
    expect(Math.max(...seen)).toBe(aggregate?.version);
  });

  it('a save that loses to a concurrent recompute decides again from the new aggregate: version seen + 1, never the same version twice', async () => {
    const h = await watched();
    // Another recompute wins twice between this publish's read and its conditional save.
    for (let lost = 0; lost < 2; lost++) {
      h.store.beforeNext('saveAggregate', async () => {
        const current = (await h.store.readUser(alice.uri)).aggregate!;
        await h.store.saveAggregate(alice.uri, { availability: 'away', note: `other ${lost}` }, current.version, h.clock.now());
      });
    }
    const answer = await h.service.publish(alice, 'a1', { source: 'user', availability: 'busy' });
    expect(answer.version).toBe(4);
    expect(answer.presence).toEqual({ availability: 'busy' });
    expect(h.delivery.versionsSeen('b1', alice.uri)).toEqual([4]);
    expect(h.store.callsOf('saveAggregate')).toHaveLength(5);
  });

  it('a save that keeps losing ends in 503 once the retry policy runs out', async () => {
    const h = await watched();
    for (let lost = 0; lost < OPTIMISTIC_RETRY.attempts; lost++) {
      h.store.beforeNext('saveAggregate', async () => {
        const current = (await h.store.readUser(alice.uri)).aggregate!;
        await h.store.saveAggregate(alice.uri, { availability: 'away', note: `other ${lost}` }, current.version, h.clock.now());
      });
    }
    const failure = h.service.publish(alice, 'a1', { source: 'user', availability: 'busy' });
    await expect(failure).rejects.toBeInstanceOf(UnavailableError);
    await expect(failure).rejects.toMatchObject({ status: 503, message: 'presence kept changing; retry' });
    expect(h.delivery.versionsSeen('b1', alice.uri)).toEqual([]);
  });

  it('a publish on a connection that closed meanwhile is 410 and never resurrects its endpoint', async () => {
    const h = await watched();
    h.store.beforeNext('putEndpoint', () => h.service.endpointGone(alice.uri, 'a1'));
    await expect(h.service.publish(alice, 'a1', { source: 'machine', availability: 'busy' })).rejects.toMatchObject({ status: 410 });
    expect((await h.store.readUser(alice.uri)).endpoints.map((endpoint) => endpoint.connectionId)).toEqual(['a2']);
  });
});

describe('fan-out to a subscriber whose connection is gone', () => {
  it('a 410 detaches its subscriptions once; later publishes post nothing to it and write nothing per subscription', async () => {
    const h = await watched();
    h.vanish('b1');
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'busy' });
    // The post answered 410: bob's endpoint is cleaned and the subscription detached (kept for session.resume).
    expect((await h.stored(h.subscriptionId)).connectionId).toBeUndefined();
    expect((await h.store.readUser(bob.uri)).endpoints).toEqual([]);
    expect(h.connectionStore.records.has('b1')).toBe(false);
    h.store.calls.length = 0;
    h.delivery.clear();
    h.clock.advance(1000);
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'away' });
    expect(h.delivery.sent).toEqual([]);
    expect(h.store.callsOf('updateSubscription', 'deleteSubscription', 'removeWatches', 'removeWatchesOf', 'createSubscription', 'addTargets')).toEqual([]);
    // A user state is the user's: one write of it, one of the aggregate (the endpoint is not rewritten).
    expect(h.store.callsOf('putEndpoint', 'updateUserState', 'saveAggregate')).toEqual(['updateUserState', 'saveAggregate']);
  });

  it('one subscriber gone does not stop the notification of the others', async () => {
    const h = await watched();
    const carol = user('carol');
    await h.connect(carol, 'c1');
    await h.service.subscribe(carol, 'c1', { targets: [alice.uri] });
    h.vanish('b1');
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'busy' });
    expect(h.delivery.versionsSeen('c1', alice.uri)).toEqual([2]);
  });

  it('a store failure in the middle of a fan-out: every subscriber is still notified, the failure is raised after, the next change cleans up', async () => {
    const h = await watched();
    const carol = user('carol');
    await h.connect(carol, 'c1');
    const gone = await h.service.subscribe(carol, 'c1', { targets: [alice.uri] });
    h.store.subscriptions.delete(gone.subscriptionId); // its index item is an orphan now
    h.store.failNext('removeWatchesOf');
    await expect(h.service.publish(alice, 'a1', { source: 'user', availability: 'busy' })).rejects.toMatchObject({ message: 'removeWatchesOf failed' });
    expect(h.delivery.versionsSeen('b1', alice.uri)).toEqual([2]);
    expect((await h.store.readUser(alice.uri)).aggregate?.version).toBe(2);
    await h.service.publish(alice, 'a1', { source: 'user', availability: 'away' });
    expect(h.delivery.versionsSeen('b1', alice.uri)).toEqual([2, 3]);
    expect((await h.store.watchersPage(alice.uri)).subscriptionIds).toEqual([h.subscriptionId]);
  });
});
