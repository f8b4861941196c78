import type { Identity } from '../../../../shared/auth/identity';
import type { ConversationEvents } from '../../../../shared/conversation/events';
import { MAX_RESUME_IM_MESSAGES } from '../../../../shared/conversation/read-state';
import { ConversationService } from '../../../../shared/conversation/service';
import { loadConfig } from '../../../../shared/config';
import { MAX_SERVER_FRAME_BYTES } from '../../../../shared/protocol/limits';
import { BadRequestError, ForbiddenError, NotFoundError } from '../../../../shared/errors';
import { ManualClock, ManualTimers, MemoryCompliance, MemoryConversationStore, RecordingDelivery, sequentialIds } from '../../../support/memory';
import { alice, bob, carol, IDLE_MS } from './conversation-harness';
import { withoutBackoff } from '../../../support/no-backoff';

/**
 * IM read state (issue 22 item 3, SPEC §9): read markers that roam and never move back (`im.markread`, event `im.read`),
 * `unread` counted from message numbers (never by reading history), the user's conversations by latest activity
 * (`im.conversations`), missed conversations and the IM messages since a moment (`session.resume`).
 */

withoutBackoff();
afterEach(() => jest.restoreAllMocks());

/** The conversation use cases on memory ports; `offline` users have no connection, the others one (or `devices`). */
function readStateHarness() {
  const offline = new Set<string>();
  const devices = new Map<string, string[]>();
  const clock = new ManualClock();
  const delivery = new RecordingDelivery<ConversationEvents>((uri) => (offline.has(uri) ? [] : (devices.get(uri) ?? [`conn:${uri}`])));
  const compliance = new MemoryCompliance();
  const store = new MemoryConversationStore(compliance.outbox);
  const service = new ConversationService({ store, delivery, timers: new ManualTimers(), compliance: compliance.port, clock, idleMs: IDLE_MS, newId: sequentialIds() });
  const connOf = (who: Identity) => devices.get(who.uri)?.[0] ?? `conn:${who.uri}`;
  return {
    clock,
    delivery,
    store,
    service,
    offline,
    devices,
    open: (from: Identity, to: readonly Identity[], text = 'hello') =>
      service.send(from, connOf(from), { to: to.map((u) => u.uri), text, contentType: 'text/plain' }),
    say: (from: Identity, conversationId: string, text = 'hi') => service.send(from, connOf(from), { conversationId, text, contentType: 'text/plain' }),
    unreadOf: async (who: Identity, conversationId: string) =>
      (await service.conversations(who, 50)).conversations.find((c) => c.conversationId === conversationId)?.unread,
  };
}

describe('unread counts from numbers', () => {
  test('unread is the number of messages after the read marker; the sender has read their own message', async () => {
    const h = readStateHarness();
    const first = await h.open(alice, [bob]);
    h.clock.advance(1000);
    await h.say(alice, first.conversationId, 'two');
    h.clock.advance(1000);
    const third = await h.say(alice, first.conversationId, 'three');

    expect(await h.unreadOf(bob, first.conversationId)).toBe(3);
    expect(await h.unreadOf(alice, first.conversationId)).toBe(0);
    expect(await h.service.markRead(bob, 'conn:' + bob.uri, first.conversationId, first.messageId)).toEqual({
      conversationId: first.conversationId,
      messageId: first.messageId,
      unread: 2,
    });
    // Bob's reply moves his marker to it: everything before is read.
    h.clock.advance(1000);
    await h.say(bob, first.conversationId, 'reply');
    expect(await h.unreadOf(bob, first.conversationId)).toBe(0);
    expect(await h.unreadOf(alice, first.conversationId)).toBe(1);
    expect(third.messageId).toBeDefined();
  });

  test('messages are numbered 1, 2, 3 in their conversation; two sends racing for the same number: one reads again and takes the next', async () => {
    const h = readStateHarness();
    const { conversationId } = await h.open(alice, [bob]);
    let bobs: Awaited<ReturnType<typeof h.say>> | undefined;
    let raced = false;
    h.store.beforeWrite = async (write) => {
      if (raced || write !== 'append') return;
      raced = true;
      bobs = await h.say(bob, conversationId, 'from bob');
    };
    await h.say(alice, conversationId, 'from alice');
    expect(bobs).toBeDefined();
    expect(h.store.stored(conversationId).map((m) => `${m.n}:${m.text}`)).toEqual(['1:hello', '2:from bob', '3:from alice']);
    expect(await h.unreadOf(bob, conversationId)).toBe(1);
  });
});

describe('im.markread', () => {
  test('the read marker never moves back, and unread is never negative across devices', async () => {
    const h = readStateHarness();
    h.devices.set(bob.uri, ['bob-desktop', 'bob-phone']);
    const first = await h.open(alice, [bob]);
    h.clock.advance(1000);
    const second = await h.say(alice, first.conversationId, 'two');

    // The phone read the newest; the desktop, behind, then marks the older one: nothing moves back.
    expect((await h.service.markRead(bob, 'bob-phone', first.conversationId, second.messageId)).unread).toBe(0);
    expect((await h.service.markRead(bob, 'bob-desktop', first.conversationId, first.messageId)).unread).toBe(0);
    expect((await h.service.markRead(bob, 'bob-desktop', first.conversationId, second.messageId)).unread).toBe(0);
    expect(await h.unreadOf(bob, first.conversationId)).toBe(0);
  });

  test("a marker that moves is sent as im.read to the reader's other connections only; one that does not move sends nothing", async () => {
    const h = readStateHarness();
    h.devices.set(bob.uri, ['bob-desktop', 'bob-phone']);
    const first = await h.open(alice, [bob]);
    h.delivery.clear();

    await h.service.markRead(bob, 'bob-phone', first.conversationId, first.messageId);
    expect(h.delivery.named('im.read')).toEqual([
      { connectionIds: ['bob-desktop'], payload: { conversationId: first.conversationId, messageId: first.messageId, unread: 0 } },
    ]);
    await h.service.markRead(bob, 'bob-desktop', first.conversationId, first.messageId);
    expect(h.delivery.named('im.read')).toHaveLength(1);
  });

  test('only a participant marks a conversation read, and only a message of it', async () => {
    const h = readStateHarness();
    const first = await h.open(alice, [bob]);
    await expect(h.service.markRead(carol, 'conn:carol', first.conversationId, first.messageId)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(h.service.markRead(bob, 'conn:bob', first.conversationId, 'msg_unknown')).rejects.toBeInstanceOf(NotFoundError);
    await expect(h.service.markRead(bob, 'conn:bob', 'conv_unknown', first.messageId)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('im.conversations', () => {
  test("lists the caller's conversations latest activity first, with participants, status, a preview and unread, paged by a cursor", async () => {
    const h = readStateHarness();
    const withBob = await h.open(alice, [bob], 'to bob');
    h.clock.advance(1000);
    const withCarol = await h.open(alice, [carol], 'x'.repeat(300));
    h.clock.advance(1000);
    const group = await h.open(bob, [alice, carol], 'group');

    const firstPage = await h.service.conversations(alice, 2);
    expect(firstPage.conversations.map((c) => c.conversationId)).toEqual([group.conversationId, withCarol.conversationId]);
    expect(firstPage.conversations[0]).toEqual({
      conversationId: group.conversationId,
      participants: [bob.uri, alice.uri, carol.uri],
      status: 'active',
      lastMessage: { messageId: group.messageId, from: { uri: bob.uri, name: 'bob' }, text: 'group', ts: group.ts },
      unread: 1,
    });
    expect(Array.from(firstPage.conversations[1]!.lastMessage.text)).toHaveLength(141); // 140 characters and the ellipsis
    const secondPage = await h.service.conversations(alice, 2, firstPage.cursor);
    expect(secondPage).toEqual({ conversations: [expect.objectContaining({ conversationId: withBob.conversationId, unread: 0 })] });

    // New activity moves a conversation to the top.
    h.clock.advance(1000);
    await h.say(bob, withBob.conversationId, 'back');
    expect((await h.service.conversations(alice, 1)).conversations[0]?.conversationId).toBe(withBob.conversationId);
    await expect(h.service.conversations(alice, 1, 'bm90IGEgY3Vyc29y')).rejects.toBeInstanceOf(BadRequestError);
  });

  test('a conversation past its idle deadline, or one the caller left, is listed as ended', async () => {
    const h = readStateHarness();
    const idle = await h.open(alice, [bob]);
    const group = await h.open(alice, [bob, carol]);
    await h.service.leave(alice, 'conn:' + alice.uri, group.conversationId);
    const statuses = async () => Object.fromEntries((await h.service.conversations(alice, 10)).conversations.map((c) => [c.conversationId, c.status]));
    expect(await statuses()).toEqual({ [idle.conversationId]: 'active', [group.conversationId]: 'ended' });
    h.clock.advance(IDLE_MS);
    expect((await statuses())[idle.conversationId]).toBe('ended');
  });
});

describe('missed conversations', () => {
  test("a message that reached none of a participant's connections makes a missed conversation, until they mark it read", async () => {
    const h = readStateHarness();
    h.offline.add(bob.uri);
    const first = await h.open(alice, [bob], 'are you there?');
    h.clock.advance(1000);
    const second = await h.say(alice, first.conversationId, 'call me');

    h.offline.delete(bob.uri);
    const resumed = await h.service.resume(bob, {});
    expect(resumed.missedConversations).toEqual([
      expect.objectContaining({ conversationId: first.conversationId, unread: 2, lastMessage: expect.objectContaining({ messageId: second.messageId, text: 'call me' }) }),
    ]);
    expect(await h.service.resume(alice, {})).toEqual({});

    await h.service.markRead(bob, 'conn:' + bob.uri, first.conversationId, second.messageId);
    expect(await h.service.resume(bob, {})).toEqual({});
  });

  test('missed conversations are cut to what fits in half the answer, newest first; the rest stay noted', async () => {
    const h = readStateHarness();
    h.offline.add(bob.uri);
    const crowd = Array.from({ length: 48 }, (_, i) => ({ ...alice, uri: `sip:member-${String(i).padStart(2, '0')}@contoso.com`, name: `m${i}` }));
    const opened: string[] = [];
    for (let i = 0; i < 12; i++) {
      h.clock.advance(1000);
      opened.push((await h.open(alice, [bob, ...crowd], `group ${i}`)).conversationId);
    }
    const cut = await h.service.resume(bob, {}, 20_000);
    const shown = cut.missedConversations!.map((c) => c.conversationId);
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(12);
    expect(shown).toEqual([...opened].reverse().slice(0, shown.length));
    expect(Buffer.byteLength(JSON.stringify({ missedConversations: cut.missedConversations }))).toBeLessThanOrEqual(10_000);
    expect((await h.service.resume(bob, {})).missedConversations).toHaveLength(12);
  });

  test('a message delivered to any connection of the user is not missed', async () => {
    const h = readStateHarness();
    await h.open(alice, [bob]);
    expect(await h.service.resume(bob, {})).toEqual({});
  });
});

describe('session.resume imSince', () => {
  test('answers the messages of all the user’s conversations at or after imSince, oldest first, so a brief disconnection loses none', async () => {
    const h = readStateHarness();
    const withAlice = await h.open(alice, [bob], 'before the cut');
    const seen = withAlice.ts;
    h.clock.advance(1000);
    h.offline.add(bob.uri);
    const inGap = await h.say(alice, withAlice.conversationId, 'in the gap');
    h.clock.advance(1000);
    const fromCarol = await h.open(carol, [bob], 'carol too');
    h.clock.advance(1000);
    await h.open(alice, [carol], 'not for bob');

    const resumed = await h.service.resume(bob, { imSince: seen + 1 });
    expect(resumed.imMessages?.map((m) => m.messageId)).toEqual([inGap.messageId, fromCarol.messageId]);
    expect(resumed.imCursor).toBeUndefined();
  });

  test('more messages than one answer holds: capped, and the cursor brings the rest without losing or repeating one', async () => {
    const h = readStateHarness();
    const { conversationId } = await h.open(alice, [bob], 'm0');
    const other = await h.open(carol, [bob], 'c0');
    for (let i = 1; i <= MAX_RESUME_IM_MESSAGES + 10; i++) {
      // Two conversations, messages at the same instant: the cursor orders them by conversation and id.
      if (i % 10 === 0) h.clock.advance(1);
      await h.say(i % 2 === 0 ? alice : carol, i % 2 === 0 ? conversationId : other.conversationId, `m${i}`);
    }
    const first = await h.service.resume(bob, { imSince: 0 });
    expect(first.imMessages).toHaveLength(MAX_RESUME_IM_MESSAGES);
    expect(first.imCursor).toEqual(expect.any(String));
    const rest = await h.service.resume(bob, { imSince: 0, imCursor: first.imCursor! });
    expect(rest.missedConversations).toBeUndefined();
    const all = [...first.imMessages!, ...rest.imMessages!].map((m) => m.text);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(MAX_RESUME_IM_MESSAGES + 12);
    expect(rest.imCursor).toBeUndefined();
    await expect(h.service.resume(bob, { imCursor: 'bm9wZQ' })).rejects.toBeInstanceOf(BadRequestError);
  });

  test('a message too large for the budget left answers no messages and an imCursor at it, which the full budget then answers (no 500)', async () => {
    const h = readStateHarness();
    const { conversationId } = await h.open(alice, [bob], 'seen');
    h.clock.advance(1000);
    // 4,000 bytes of a character JSON escapes in 6: about 24 KB of JSON.
    const big = await h.say(alice, conversationId, '\u0001'.repeat(4000));
    h.clock.advance(1000);
    const after = await h.say(alice, conversationId, 'after');

    const first = await h.service.resume(bob, { imSince: big.ts }, 10_000);
    expect(first.imMessages).toEqual([]);
    expect(first.imCursor).toEqual(expect.any(String));
    const next = await h.service.resume(bob, { imSince: big.ts, imCursor: first.imCursor! });
    expect(next.imMessages?.map((m) => m.messageId)).toEqual([big.messageId, after.messageId]);
    expect(next.imCursor).toBeUndefined();
  });

  test('the largest IM message fits an imCursor-only answer in one 128 KB server frame', async () => {
    const h = readStateHarness();
    const costly = { ...alice, uri: `sip:${'"'.repeat(120)}@contoso.com`, name: '\u0001'.repeat(256) };
    const { conversationId } = await h.open(costly, [bob], 'seen');
    h.clock.advance(1000);
    const big = await h.say(costly, conversationId, '\u0001'.repeat(loadConfig({}).IM_MAX_MESSAGE_BYTES));
    const first = await h.service.resume(bob, { imSince: big.ts }, 1000);
    const next = await h.service.resume(bob, { imSince: big.ts, imCursor: first.imCursor! });
    expect(next.imMessages?.map((m) => m.messageId)).toEqual([big.messageId]);
    const frame = { type: 'response', rid: '\u0001'.repeat(128), status: 200, body: { ...next, imCursor: first.imCursor } };
    expect(Buffer.byteLength(JSON.stringify(frame))).toBeLessThanOrEqual(MAX_SERVER_FRAME_BYTES);
  });

  test('more conversations active since imSince than one index page: every one’s messages are answered, none twice', async () => {
    const h = readStateHarness();
    const since = h.clock.now();
    const sent: string[] = [];
    for (let i = 0; i < 60; i++) {
      h.clock.advance(1000);
      sent.push((await h.open({ ...alice, uri: `sip:peer-${i}@contoso.com` }, [bob], `overnight ${i}`)).messageId);
    }
    const got: string[] = [];
    let answer = await h.service.resume(bob, { imSince: since });
    got.push(...answer.imMessages!.map((m) => m.messageId));
    while (answer.imCursor !== undefined) {
      answer = await h.service.resume(bob, { imSince: since, imCursor: answer.imCursor });
      got.push(...answer.imMessages!.map((m) => m.messageId));
    }
    expect(got).toEqual(sent);
  });
});

describe('missed notes and marking read', () => {
  test('a message arriving between marking read and clearing the note keeps its note', async () => {
    const h = readStateHarness();
    h.offline.add(bob.uri);
    const first = await h.open(alice, [bob], 'are you there?');
    let late: Awaited<ReturnType<typeof h.say>> | undefined;
    const clear = h.store.clearMissed.bind(h.store);
    h.store.clearMissed = async (...args: Parameters<typeof clear>) => {
      if (!late) {
        h.clock.advance(1000);
        late = await h.say(alice, first.conversationId, 'one more');
      }
      return clear(...args);
    };
    expect((await h.service.markRead(bob, 'conn:' + bob.uri, first.conversationId, first.messageId)).unread).toBe(0);
    h.offline.delete(bob.uri);
    expect((await h.service.resume(bob, {})).missedConversations).toEqual([expect.objectContaining({ conversationId: first.conversationId, unread: 1 })]);
  });
});
