import { OPTIMISTIC_RETRY } from '../../../../shared/concurrency';
import { UnavailableError } from '../../../../shared/errors';
import { alice, bob, carol, conn, conversationHarness, user } from './conversation-harness';
import { withoutBackoff } from '../../../support/no-backoff';

/** im.leave (SPEC §3): the conversation ends for that user; when fewer than two remain, it ends. Writes on the version read. */

// retryOnConflict's full-jitter backoff draws 0: a lost race is retried at once (no timer, no wall-clock wait).
withoutBackoff();
afterEach(() => jest.restoreAllMocks());

test('two of three leaving at once: both leaves apply (the loser reads again), the conversation ends once, each told once', async () => {
  const h = conversationHarness();
  const { conversationId } = await h.open(alice, [bob, carol]);
  const [a, b] = await Promise.all([h.service.leave(alice, conn(alice), conversationId), h.service.leave(bob, conn(bob), conversationId)]);
  expect([a, b]).toEqual([{ ended: true }, { ended: true }]);
  expect(await h.store.get(conversationId)).toMatchObject({ status: 'ended', endedReason: 'left', active: [carol.uri], version: 3 });
  for (const who of [alice, bob, carol]) expect(h.endedFor(who)).toEqual([`${conversationId}:left`]);
});

test('a leave whose conditional write loses three times to other changes, then wins: applied once', async () => {
  const h = conversationHarness();
  const dave = user('dave');
  const { conversationId } = await h.open(alice, [bob, carol, dave]);
  let lost = 0;
  h.store.beforeWrite = async (write, id) => {
    if (write !== 'updateActive' || lost === 3) return;
    lost++;
    // Another lifecycle change of the same conversation commits first (as a concurrent leave would: a new version).
    const stored = h.store.conversations.get(id)!;
    h.store.conversations.set(id, { ...stored, version: stored.version + 1 });
  };
  const updates = jest.spyOn(h.store, 'updateActive');
  expect(await h.service.leave(dave, conn(dave), conversationId)).toEqual({ ended: true });
  expect(updates).toHaveBeenCalledTimes(4);
  expect(await h.store.get(conversationId)).toMatchObject({ status: 'active', active: [alice.uri, bob.uri, carol.uri] });
  expect(h.delivery.named('im.participantLeft').map((e) => e.payload.uri)).toEqual([dave.uri]);
});

test('a leave that keeps losing: after the retry policy’s attempts, 503 “the conversation kept changing; retry”, nothing applied', async () => {
  const h = conversationHarness();
  const { conversationId } = await h.open(alice, [bob, carol]);
  h.store.beforeWrite = async (write, id) => {
    if (write !== 'updateActive') return;
    const stored = h.store.conversations.get(id)!;
    h.store.conversations.set(id, { ...stored, version: stored.version + 1 });
  };
  const updates = jest.spyOn(h.store, 'updateActive');
  const leaving = h.service.leave(carol, conn(carol), conversationId);
  await expect(leaving).rejects.toBeInstanceOf(UnavailableError);
  await expect(leaving).rejects.toThrow('the conversation kept changing; retry');
  expect(updates).toHaveBeenCalledTimes(OPTIMISTIC_RETRY.attempts);
  expect((await h.store.get(conversationId))?.active).toEqual([alice.uri, bob.uri, carol.uri]);
  expect(h.delivery.named('im.ended')).toEqual([]);
});

test('leaving a conversation already left or ended answers ended, changing nothing', async () => {
  const h = conversationHarness();
  const { conversationId } = await h.open(alice, [bob]);
  await h.service.leave(bob, conn(bob), conversationId);
  const updates = jest.spyOn(h.store, 'updateActive');
  expect(await h.service.leave(bob, conn(bob), conversationId)).toEqual({ ended: true });
  expect(await h.service.leave(alice, conn(alice), conversationId)).toEqual({ ended: true });
  expect(updates).not.toHaveBeenCalled();
  expect(h.endedFor(alice)).toEqual([`${conversationId}:left`]);
});
