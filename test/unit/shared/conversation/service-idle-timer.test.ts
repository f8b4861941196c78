import { OPTIMISTIC_RETRY } from '../../../../shared/concurrency';
import { GoneError } from '../../../../shared/errors';
import { alice, bob, carol, conn, conversationHarness, IDLE_MS } from './conversation-harness';
import { withoutBackoff } from '../../../support/no-backoff';

/**
 * SPEC §3 and docs/architecture.md ("Conversations: the idle rule without a schedule write per message"): the idle
 * timer is a hint; the stored conversation and the clock decide. Run on memory ports with a manual clock.
 */

// retryOnConflict's full-jitter backoff draws 0: a lost race is retried at once (no timer, no wall-clock wait).
withoutBackoff();
afterEach(() => jest.restoreAllMocks());

describe('the idle timer: one schedule write per idle period, never per message', () => {
  test('opening a conversation arms one idle timer (version 1) at createdAt + idle; messages and keep-alives arm nothing', async () => {
    const h = conversationHarness();
    const t0 = h.clock.now();
    const { conversationId } = await h.open(alice, [bob]);
    for (let n = 0; n < 10; n++) {
      h.clock.advance(1_000);
      await h.say(n % 2 ? alice : bob, conversationId);
    }
    await h.service.keepalive(bob, conversationId);
    expect(h.idleArms()).toEqual([{ rule: 'conversation.idle', subject: conversationId, version: 1, at: t0 + IDLE_MS }]);
  });

  test('a message after the timer was armed keeps the conversation alive: the firing re-arms lazily at last activity + idle (version 2)', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob]);
    const lastActivity = h.clock.advance(IDLE_MS - 60_000);
    await h.say(bob, conversationId, 'still here');
    h.clock.advance(60_000);
    expect(await h.fireDue()).toEqual(['rearmed']);
    expect(await h.store.get(conversationId)).toMatchObject({ status: 'active', timerVersion: 2 });
    expect(h.idleTimers(conversationId)).toEqual([`2@${lastActivity + IDLE_MS}`]);
    expect(h.delivery.named('im.ended')).toEqual([]);
  });

  test('a keep-alive is activity: the firing after it re-arms instead of ending', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob]);
    h.clock.advance(IDLE_MS - 1);
    expect(await h.service.keepalive(bob, conversationId)).toEqual({ idleDeadline: h.clock.now() + IDLE_MS });
    h.clock.advance(1);
    expect(await h.fireDue()).toEqual(['rearmed']);
    expect((await h.store.get(conversationId))?.status).toBe('active');
  });

  test('a conversation idle for the whole period ends (reason idle) when its timer fires: im.ended to every active participant once', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob, carol]);
    h.clock.advance(IDLE_MS);
    expect(await h.fireDue()).toEqual(['acted']);
    expect(await h.store.get(conversationId)).toMatchObject({ status: 'ended', endedReason: 'idle' });
    for (const who of [alice, bob, carol]) expect(h.endedFor(who)).toEqual([`${conversationId}:idle`]);
  });

  test('a duplicate firing (the same version delivered again) is ignored: the conversation ends once', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob]);
    h.clock.advance(IDLE_MS);
    const [firing] = h.timers.takeDue(h.clock.now(), 'conversation.idle');
    const outcomes = await Promise.all([h.service.onIdleTimer(firing!), h.service.onIdleTimer(firing!)]);
    expect(outcomes.sort()).toEqual(['acted', 'ignored']);
    expect(await h.service.onIdleTimer(firing!)).toBe('ignored');
    expect(h.endedFor(alice)).toEqual([`${conversationId}:idle`]);
  });

  test('a stale firing (an older version, delivered late after a re-arm) is ignored even when the conversation is idle by then', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob]);
    h.clock.advance(IDLE_MS / 2);
    await h.say(bob, conversationId);
    h.clock.advance(IDLE_MS / 2);
    const [v1] = h.timers.takeDue(h.clock.now(), 'conversation.idle');
    expect(await h.service.onIdleTimer(v1!)).toBe('rearmed');
    h.clock.advance(IDLE_MS);
    // Version 1 again (the Scheduler delivered it twice, late): not the armed version.
    expect(await h.service.onIdleTimer(v1!)).toBe('ignored');
    expect((await h.store.get(conversationId))?.status).toBe('active');
    // The armed version 2 ends it.
    expect(await h.fireDue()).toEqual(['acted']);
    expect(h.endedFor(bob)).toEqual([`${conversationId}:idle`]);
  });

  test('two firings of the same version racing to re-arm: one timer recorded, the other firing ignored (its extra arm is the same schedule)', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob]);
    h.clock.advance(IDLE_MS - 1);
    await h.say(bob, conversationId);
    h.clock.advance(1);
    const [firing] = h.timers.takeDue(h.clock.now(), 'conversation.idle');
    const outcomes = await Promise.all([h.service.onIdleTimer(firing!), h.service.onIdleTimer(firing!)]);
    expect(outcomes.sort()).toEqual(['ignored', 'rearmed']);
    expect((await h.store.get(conversationId))?.timerVersion).toBe(2);
    expect(h.idleTimers(conversationId)).toEqual([`2@${h.clock.now() - 1 + IDLE_MS}`]);
  });

  test('a timer for a conversation that was never stored (its open failed after the arm) is ignored', async () => {
    const h = conversationHarness();
    expect(await h.service.onIdleTimer({ rule: 'conversation.idle', subject: 'conv_never', version: 1 })).toBe('ignored');
  });

  test('activity written between the timer’s read and its end wins: the timer decides again from the new state and re-arms', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob]);
    h.clock.advance(IDLE_MS);
    // Bob's keep-alive lands just as the timer is about to end the conversation, handled by a function whose clock reads
    // a millisecond earlier (before the deadline, so the store takes it).
    const keptAt = h.clock.now() - 1;
    h.onceBefore('end', async () => {
      h.clock.advance(-1);
      await h.service.keepalive(bob, conversationId);
      h.clock.advance(1);
    });
    expect(await h.fireDue()).toEqual(['rearmed']);
    expect(await h.store.get(conversationId)).toMatchObject({ status: 'active', timerVersion: 2, lastActivityAt: keptAt });
    expect(h.idleTimers(conversationId)).toEqual([`2@${keptAt + IDLE_MS}`]);
    expect(h.delivery.named('im.ended')).toEqual([]);
  });

  test('a leave written between the timer’s read and its end wins: the timer decides again and ends it for those still in it', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob, carol]);
    h.clock.advance(IDLE_MS);
    h.onceBefore('end', () => h.service.leave(bob, conn(bob), conversationId));
    expect(await h.fireDue()).toEqual(['acted']);
    expect(await h.store.get(conversationId)).toMatchObject({ status: 'ended', endedReason: 'idle', active: [alice.uri, carol.uri] });
    expect(h.endedFor(bob)).toEqual([`${conversationId}:left`]);
    for (const who of [alice, carol]) expect(h.endedFor(who)).toEqual([`${conversationId}:idle`]);
  });
});

test('an idle timer whose end keeps losing: after the retry policy’s attempts the firing is ignored, and the clock still ends the conversation on its next use', async () => {
  const h = conversationHarness();
  const { conversationId } = await h.open(alice, [bob, carol]);
  h.clock.advance(IDLE_MS);
  h.store.beforeWrite = async (write, id) => {
    if (write !== 'end') return;
    const stored = h.store.conversations.get(id)!;
    h.store.conversations.set(id, { ...stored, version: stored.version + 1 });
  };
  const ends = jest.spyOn(h.store, 'end');
  expect(await h.fireDue()).toEqual(['ignored']);
  expect(ends).toHaveBeenCalledTimes(OPTIMISTIC_RETRY.attempts);
  expect((await h.store.get(conversationId))?.status).toBe('active');
  h.store.beforeWrite = undefined;
  await expect(h.service.keepalive(bob, conversationId)).rejects.toBeInstanceOf(GoneError);
  expect(await h.store.get(conversationId)).toMatchObject({ status: 'ended', endedReason: 'idle' });
});

describe('the clock decides, not the timer: a late timer changes nothing a command already saw', () => {
  test('a message after the deadline, before the late timer: the old conversation ends (idle) and the message opens the next one with previousConversationId', async () => {
    const h = conversationHarness();
    const { conversationId: first } = await h.open(alice, [bob]);
    h.clock.advance(IDLE_MS + 5_000);
    const answer = await h.say(bob, first, 'are you there?');
    expect(answer).toMatchObject({ newConversation: true, previousConversationId: first });
    expect(answer.conversationId).not.toBe(first);
    expect(await h.store.get(first)).toMatchObject({ status: 'ended', endedReason: 'idle', nextConversationId: answer.conversationId });
    expect(h.endedFor(alice)).toEqual([`${first}:idle`]);
    // The late timer of the first finds it ended; the second's own timer is armed from its creation.
    expect(await h.fireDue()).toEqual(['ignored']);
    expect(h.idleTimers(answer.conversationId)).toEqual([`1@${h.clock.now() + IDLE_MS}`]);
    expect(h.delivery.named('im.message').at(-1)?.payload).toMatchObject({ newConversation: true, previousConversationId: first, participants: [alice.uri, bob.uri] });
  });

  test('a keep-alive at the deadline is refused (410) and ends the conversation, before its timer fires', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob]);
    h.clock.advance(IDLE_MS);
    await expect(h.service.keepalive(bob, conversationId)).rejects.toBeInstanceOf(GoneError);
    expect(await h.store.get(conversationId)).toMatchObject({ status: 'ended', endedReason: 'idle' });
    expect(await h.fireDue()).toEqual(['ignored']);
    expect(h.endedFor(alice)).toEqual([`${conversationId}:idle`]);
  });
});
