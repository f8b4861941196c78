import { DependencyUnavailableError, UnavailableError } from '../../../../shared/errors';
import { alice, bob, carol, conn, conversationHarness, IDLE_MS } from './conversation-harness';
import { withoutBackoff } from '../../../support/no-backoff';

/**
 * im.send's race and failure rules (SPEC §2, §3, §7; docs/architecture.md): idempotent sends by clientMsgId, one
 * continuation of an ended conversation, and a message acknowledged is archived exactly once whatever fails in between.
 */

// retryOnConflict's full-jitter backoff draws 0: a lost race is retried at once (no timer, no wall-clock wait).
withoutBackoff();
afterEach(() => jest.restoreAllMocks());

describe('one conversation per race', () => {
  test('two participants’ messages racing to continue the same ended conversation: one new conversation holds both', async () => {
    const h = conversationHarness();
    const { conversationId: first } = await h.open(alice, [bob]);
    h.clock.advance(IDLE_MS + 1_000);
    // Bob's message opens the continuation while Alice's is between her read and her own open.
    let bobs: Awaited<ReturnType<typeof h.say>> | undefined;
    h.onceBefore('open', async () => {
      bobs = await h.say(bob, first, 'from bob');
    });
    const alices = await h.say(alice, first, 'from alice');

    expect(bobs).toMatchObject({ newConversation: true, previousConversationId: first });
    expect(alices).toMatchObject({ conversationId: bobs!.conversationId, newConversation: false, previousConversationId: first });
    expect((await h.store.get(first))?.nextConversationId).toBe(bobs!.conversationId);
    expect(h.store.stored(bobs!.conversationId).map((m) => m.text)).toEqual(['from bob', 'from alice']);
    // Alice's attempt armed a timer for a conversation that never came to be: it fires into nothing.
    const conversations = [...h.store.conversations.keys()];
    expect(conversations).toHaveLength(2);
    h.clock.advance(IDLE_MS);
    const outcomes = await h.fireDue();
    expect(outcomes.filter((o) => o === 'ignored')).toHaveLength(2); // the first's late timer and the orphan
    expect(h.archivedMessages()).toHaveLength(3);
    expect(h.compliance.outbox.items.size).toBe(0);
  });

  test('the same first message sent twice at once (a retry racing the original, same clientMsgId): one conversation, one message, archived once', async () => {
    const h = conversationHarness();
    const [one, two] = await Promise.all([h.open(alice, [bob], 'hello', 'c-1'), h.open(alice, [bob], 'hello', 'c-1')]);
    expect(two).toEqual(one);
    expect([...h.store.conversations.keys()]).toEqual([one.conversationId]);
    expect(h.store.stored(one.conversationId)).toHaveLength(1);
    expect(h.delivery.recipientsOf('im.message')).toEqual([conn(bob)]);
    expect(h.archivedMessages()).toEqual([one.messageId]);
    expect(h.compliance.outbox.items.size).toBe(0);
  });

  test('a retry after success answers the same result and delivers nothing again', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob]);
    const sent = await h.say(alice, conversationId, 'once', 'c-2');
    h.clock.advance(5_000);
    expect(await h.say(alice, conversationId, 'once', 'c-2')).toEqual(sent);
    expect(h.store.stored(conversationId)).toHaveLength(2);
    expect(h.delivery.named('im.message').filter((e) => e.payload.messageId === sent.messageId)).toHaveLength(1);
    expect(h.archivedMessages()).toHaveLength(2);
  });
});

describe('a message acknowledged is archived once, whatever fails in between (SPEC §7)', () => {
  test('the store write commits but its answer is lost: the retry with the same clientMsgId is stored once and archived once', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob]);
    h.failAfterCommit('append', new DependencyUnavailableError('dynamodb'));
    await expect(h.say(alice, conversationId, 'lost answer', 'c-3')).rejects.toMatchObject({ status: 503 });
    // Stored with its compliance event in the outbox; not yet on the queue.
    expect(h.store.stored(conversationId).map((m) => m.text)).toEqual(['hello', 'lost answer']);
    expect(h.compliance.outbox.items.size).toBe(1);

    const retried = await h.say(alice, conversationId, 'lost answer', 'c-3');
    expect(h.store.stored(conversationId).map((m) => m.messageId)).toEqual([expect.any(String), retried.messageId]);
    expect(h.sendsOf(retried.messageId)).toBe(1);
    expect(h.archivedMessages()).toHaveLength(2);
    expect(h.compliance.outbox.items.size).toBe(0);
  });

  test('the opening write commits but its answer is lost: the retry opens no second conversation', async () => {
    const h = conversationHarness();
    h.failAfterCommit('open', new DependencyUnavailableError('dynamodb'));
    await expect(h.open(alice, [bob, carol], 'hi all', 'c-4')).rejects.toBeInstanceOf(DependencyUnavailableError);
    const retried = await h.open(alice, [bob, carol], 'hi all', 'c-4');
    expect([...h.store.conversations.keys()]).toEqual([retried.conversationId]);
    expect(retried.newConversation).toBe(true);
    expect(h.sendsOf(retried.messageId)).toBe(1);
    expect(h.compliance.outbox.items.size).toBe(0);
  });

  test('the compliance queue refuses the event: 503 (stored, not yet archived); the retry archives it once and clears the outbox', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob]);
    h.compliance.queue.failNextSends = 1;
    const failed = h.say(alice, conversationId, 'archive me', 'c-5');
    await expect(failed).rejects.toBeInstanceOf(UnavailableError);
    await expect(failed).rejects.toThrow('the message is stored but not yet archived; retry with the same clientMsgId');
    expect(h.compliance.outbox.items.size).toBe(1);
    // The message itself is stored and was delivered live (delivery and archive run together).
    expect(h.store.stored(conversationId)).toHaveLength(2);
    expect(h.delivery.named('im.message')).toHaveLength(2);

    const retried = await h.say(alice, conversationId, 'archive me', 'c-5');
    expect(h.sendsOf(retried.messageId)).toBe(1);
    expect(h.archivedMessages().filter((id) => id === retried.messageId)).toHaveLength(1);
    expect(h.compliance.outbox.items.size).toBe(0);
    expect(h.delivery.named('im.message')).toHaveLength(2);
  });

  test('a send without a client id whose event could not be queued is still a 503; its outbox item waits for the sweep', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob]);
    h.compliance.queue.failNextSends = 1;
    await expect(h.say(alice, conversationId, 'no id')).rejects.toMatchObject({ status: 503 });
    expect([...h.compliance.outbox.items.values()].map((item) => item.event.content)).toEqual(['no id']);
    expect(h.archivedMessages()).toHaveLength(2); // the sweep records it from the outbox
  });

  test('the idle timer cannot be armed when a conversation opens: 503 and nothing stored; the retry opens it once', async () => {
    const h = conversationHarness();
    jest.spyOn(h.timers, 'arm').mockRejectedValueOnce(new DependencyUnavailableError('scheduler'));
    await expect(h.open(alice, [bob], 'first', 'c-6')).rejects.toMatchObject({ status: 503, dependency: 'scheduler' });
    expect(h.store.conversations.size).toBe(0);
    expect(h.compliance.outbox.items.size).toBe(0);
    expect(h.delivery.sent).toEqual([]);

    const opened = await h.open(alice, [bob], 'first', 'c-6');
    expect(h.idleTimers(opened.conversationId)).toEqual([`1@${h.clock.now() + IDLE_MS}`]);
    expect(h.store.conversations.size).toBe(1);
    expect(h.archivedMessages()).toEqual([opened.messageId]);
  });

  test('the timer cannot be armed when a message continues an ended conversation: the old one ends, the retry continues it once', async () => {
    const h = conversationHarness();
    const { conversationId: first } = await h.open(alice, [bob]);
    h.clock.advance(IDLE_MS);
    jest.spyOn(h.timers, 'arm').mockRejectedValueOnce(new DependencyUnavailableError('scheduler'));
    await expect(h.say(bob, first, 'again', 'c-7')).rejects.toMatchObject({ status: 503 });
    expect(await h.store.get(first)).toMatchObject({ status: 'ended', endedReason: 'idle' });
    expect((await h.store.get(first))?.nextConversationId).toBeUndefined();

    const next = await h.say(bob, first, 'again', 'c-7');
    expect(next).toMatchObject({ newConversation: true, previousConversationId: first });
    expect(h.store.conversations.size).toBe(2);
    expect(h.endedFor(alice)).toEqual([`${first}:idle`]);
  });
});

describe('leave racing send', () => {
  test('a leave that ends the conversation while a message is being appended: the message opens the next conversation, never lands in the ended one', async () => {
    const h = conversationHarness();
    const { conversationId: first } = await h.open(alice, [bob]);
    h.onceBefore('append', () => h.service.leave(bob, conn(bob), first));
    const sent = await h.say(alice, first, 'wait');
    expect(await h.store.get(first)).toMatchObject({ status: 'ended', endedReason: 'left' });
    expect(h.store.stored(first).map((m) => m.text)).toEqual(['hello']);
    expect(sent).toMatchObject({ newConversation: true, previousConversationId: first });
    expect(h.store.stored(sent.conversationId).map((m) => m.text)).toEqual(['wait']);
    expect(h.archivedMessages()).toHaveLength(2);
  });

  test('a leave of one of three while a message is being appended: the message is stored in the same conversation', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob, carol]);
    h.onceBefore('append', () => h.service.leave(carol, conn(carol), conversationId));
    const sent = await h.say(alice, conversationId, 'still two of us');
    expect(sent).toMatchObject({ conversationId, newConversation: false });
    expect(await h.store.get(conversationId)).toMatchObject({ status: 'active', active: [alice.uri, bob.uri] });
    expect(h.endedFor(carol)).toEqual([`${conversationId}:left`]);
  });

  test('the sender’s own leave lands first: the message cannot join the conversation it left and opens a new one with everyone', async () => {
    const h = conversationHarness();
    const { conversationId } = await h.open(alice, [bob, carol]);
    h.onceBefore('append', () => h.service.leave(alice, conn(alice), conversationId));
    const sent = await h.say(alice, conversationId, 'oops');
    expect(h.store.stored(conversationId)).toHaveLength(1);
    expect(sent).toMatchObject({ newConversation: true, previousConversationId: conversationId });
    expect((await h.store.get(sent.conversationId))?.active).toEqual([alice.uri, bob.uri, carol.uri]);
  });
});
