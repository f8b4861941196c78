import { randomUUID } from 'node:crypto';
import type { ComplianceEvent } from '../../../shared/compliance/event';
import type { ComplianceOutbox } from '../../../shared/compliance/ports';
import type { Conversation, ImMessage } from '../../../shared/conversation/conversation';
import type { ConversationStore, IdempotencyKey, SendResult } from '../../../shared/conversation/ports';
import { BadRequestError } from '../../../shared/errors';

/** A store under test and the outbox its transactions write to (the same table for the DynamoDB adapter). */
export interface ConversationStoreFixture {
  readonly store: ConversationStore;
  readonly outbox: Pick<ComplianceOutbox, 'due'>;
}

const T0 = 1_800_000_000_000;
const IDLE = 900_000;
const alice = 'sip:alice@contoso.com';
const bob = 'sip:bob@contoso.com';
const carol = 'sip:carol@contoso.com';

/**
 * The promises of `ConversationStore` (shared/conversation/ports.ts), run against the memory store
 * (test/unit/contracts/) and `DynamoConversationStore` on DynamoDB Local (test/integration/contracts/).
 * Every test uses its own ids, so one store (one table) may serve them all.
 */
export function conversationStoreContract(make: () => Promise<ConversationStoreFixture>): void {
  describe('ConversationStore contract', () => contract(make));
}

function contract(make: () => Promise<ConversationStoreFixture>): void {
  let store: ConversationStore;
  let outbox: ConversationStoreFixture['outbox'];

  beforeEach(async () => {
    ({ store, outbox } = await make());
  });

  const id = (prefix: string) => `${prefix}_${randomUUID().slice(0, 12)}`;
  const conversation = (over: Partial<Conversation> = {}): Conversation => ({
    conversationId: id('conv'),
    participants: [alice, bob],
    active: [alice, bob],
    status: 'active',
    createdAt: T0,
    lastActivityAt: T0,
    timerVersion: 1,
    version: 1,
    ...over,
  });
  const message = (conversationId: string, ts: number, from = alice, clientMsgId?: string): ImMessage => ({
    conversationId,
    messageId: id('msg'),
    from: { uri: from, name: from.slice(4, from.indexOf('@')) },
    text: `hello at ${ts}`,
    contentType: 'text/plain',
    ts,
    ...(clientMsgId ? { clientMsgId } : {}),
  });
  const resultOf = (m: ImMessage, newConversation = false): SendResult => ({ conversationId: m.conversationId, messageId: m.messageId, newConversation, ts: m.ts });
  const eventOf = (m: ImMessage): ComplianceEvent => ({
    eventId: `im.message:${m.conversationId}:${m.messageId}`,
    type: 'im.message',
    actor: { uri: m.from.uri, kind: 'enterprise', name: m.from.name },
    target: { kind: 'conversation', id: m.conversationId },
    at: m.ts,
    content: m.text,
  });
  const keyOf = (clientMsgId = id('client')): IdempotencyKey => ({ senderUri: alice, clientMsgId });
  /** The outbox items of these events (all outbox items are old enough: `due` far in the future). */
  const inOutbox = async (...events: ComplianceEvent[]) => {
    const wanted = new Set(events.map((event) => event.eventId));
    return (await outbox.due(T0 + 100 * IDLE, 1000)).filter((event) => wanted.has(event.eventId)).map((event) => event.eventId);
  };
  async function opened(over: Partial<Conversation> = {}): Promise<{ conversation: Conversation; first: ImMessage }> {
    const c = conversation(over);
    const first = message(c.conversationId, c.createdAt);
    expect(await store.open(c, first, resultOf(first, true), eventOf(first))).toEqual({ kind: 'opened' });
    return { conversation: c, first };
  }
  const ids = (messages: readonly ImMessage[]) => messages.map((m) => m.messageId);

  describe('reads', () => {
    test('a conversation never opened is undefined, a client id never used has no answer, and its history is empty', async () => {
      expect(await store.get(id('conv'))).toBeUndefined();
      expect(await store.replay(keyOf())).toBeUndefined();
      expect(await store.history(id('conv'), 10)).toEqual({ messages: [] });
    });
  });

  describe('open', () => {
    test('stores the conversation, its first message, the answer under the client id and the event in the outbox, together', async () => {
      const c = conversation();
      const first = message(c.conversationId, T0, alice, 'first');
      const key = keyOf('first');
      const result = resultOf(first, true);
      expect(await store.open(c, first, result, eventOf(first), key)).toEqual({ kind: 'opened' });
      expect(await store.get(c.conversationId)).toMatchObject(c);
      expect(await store.replay(key)).toEqual(result);
      expect(ids((await store.history(c.conversationId, 10)).messages)).toEqual([first.messageId]);
      expect(await inOutbox(eventOf(first))).toEqual([eventOf(first).eventId]);
    });

    test('with a client id already used, answers the first answer and writes nothing', async () => {
      const key = keyOf();
      const a = conversation();
      const firstA = message(a.conversationId, T0, alice, key.clientMsgId);
      await store.open(a, firstA, resultOf(firstA, true), eventOf(firstA), key);
      const b = conversation();
      const firstB = message(b.conversationId, T0 + 1, alice, key.clientMsgId);
      expect(await store.open(b, firstB, resultOf(firstB, true), eventOf(firstB), key)).toEqual({ kind: 'replayed', result: resultOf(firstA, true) });
      expect(await store.get(b.conversationId)).toBeUndefined();
      expect(await store.history(b.conversationId, 10)).toEqual({ messages: [] });
      expect(await inOutbox(eventOf(firstB))).toEqual([]);
    });

    test('continuing an ended conversation links it to the new one, once: a second continuation is told where the first went', async () => {
      const { conversation: previous } = await opened();
      const next = conversation({ previousConversationId: previous.conversationId });
      const first = message(next.conversationId, T0 + IDLE * 2);
      expect(await store.open(next, first, resultOf(first, true), eventOf(first))).toEqual({ kind: 'opened' });
      expect((await store.get(previous.conversationId))?.nextConversationId).toBe(next.conversationId);
      expect((await store.get(next.conversationId))?.previousConversationId).toBe(previous.conversationId);

      const rival = conversation({ previousConversationId: previous.conversationId });
      const rivalFirst = message(rival.conversationId, T0 + IDLE * 2 + 1, bob);
      expect(await store.open(rival, rivalFirst, resultOf(rivalFirst, true), eventOf(rivalFirst))).toEqual({
        kind: 'alreadyContinued',
        nextConversationId: next.conversationId,
      });
      expect(await store.get(rival.conversationId)).toBeUndefined();
      expect(await inOutbox(eventOf(rivalFirst))).toEqual([]);
      expect((await store.get(previous.conversationId))?.nextConversationId).toBe(next.conversationId);
    });
  });

  describe('append', () => {
    test('on an active conversation: the message is stored, its event is in the outbox and the last activity moves', async () => {
      const { conversation: c } = await opened();
      const m = message(c.conversationId, T0 + 5_000, bob);
      expect(await store.append(m, resultOf(m), T0 + 5_000 - IDLE, eventOf(m))).toEqual({ kind: 'appended' });
      expect((await store.get(c.conversationId))?.lastActivityAt).toBe(T0 + 5_000);
      expect(ids((await store.history(c.conversationId, 10)).messages)[0]).toBe(m.messageId);
      expect(await inOutbox(eventOf(m))).toEqual([eventOf(m).eventId]);
    });

    test('with a client id already used, answers the first answer and stores nothing again', async () => {
      const { conversation: c } = await opened();
      const key = keyOf();
      const m = message(c.conversationId, T0 + 1_000, alice, key.clientMsgId);
      expect(await store.append(m, resultOf(m), T0 + 1_000 - IDLE, eventOf(m), key)).toEqual({ kind: 'appended' });
      const again = message(c.conversationId, T0 + 2_000, alice, key.clientMsgId);
      expect(await store.append(again, resultOf(again), T0 + 2_000 - IDLE, eventOf(again), key)).toEqual({ kind: 'replayed', result: resultOf(m) });
      expect((await store.history(c.conversationId, 10)).messages).toHaveLength(2);
      expect((await store.get(c.conversationId))?.lastActivityAt).toBe(T0 + 1_000);
      expect(await inOutbox(eventOf(again))).toEqual([]);
    });

    test('is refused (notActive), writing nothing, when the conversation is ended, idle past the cutoff, left by the sender or missing', async () => {
      const { conversation: idle } = await opened();
      const late = message(idle.conversationId, T0 + IDLE + 1);
      expect(await store.append(late, resultOf(late), T0 + 1, eventOf(late))).toEqual({ kind: 'notActive' });

      const { conversation: ended } = await opened({ participants: [alice, bob, carol], active: [alice, bob, carol] });
      expect(await store.end(ended, 'idle', T0 + 10)).toBe(true);
      const onEnded = message(ended.conversationId, T0 + 20);
      expect(await store.append(onEnded, resultOf(onEnded), T0 + 20 - IDLE, eventOf(onEnded))).toEqual({ kind: 'notActive' });

      const { conversation: left } = await opened({ participants: [alice, bob, carol], active: [alice, bob, carol] });
      expect(await store.updateActive(left, [bob, carol], false, T0 + 10)).toBe(true);
      const fromLeaver = message(left.conversationId, T0 + 20, alice);
      expect(await store.append(fromLeaver, resultOf(fromLeaver), T0 + 20 - IDLE, eventOf(fromLeaver))).toEqual({ kind: 'notActive' });

      const nowhere = message(id('conv'), T0 + 20);
      expect(await store.append(nowhere, resultOf(nowhere), T0 + 20 - IDLE, eventOf(nowhere))).toEqual({ kind: 'notActive' });

      for (const c of [idle, ended, left]) expect((await store.history(c.conversationId, 10)).messages).toHaveLength(1);
      expect(await inOutbox(eventOf(late), eventOf(onEnded), eventOf(fromLeaver), eventOf(nowhere))).toEqual([]);
      expect((await store.get(idle.conversationId))?.lastActivityAt).toBe(T0);
    });

    test('a refused send with a client id records no answer: its retry is not a replay', async () => {
      const { conversation: c } = await opened();
      const key = keyOf();
      const late = message(c.conversationId, T0 + IDLE + 1, alice, key.clientMsgId);
      expect(await store.append(late, resultOf(late), T0 + 1, eventOf(late), key)).toEqual({ kind: 'notActive' });
      expect(await store.replay(key)).toBeUndefined();
    });
  });

  describe('touch (keep-alive)', () => {
    test('moves the last activity of an active conversation for an active participant within the idle period', async () => {
      const { conversation: c } = await opened();
      expect(await store.touch(c.conversationId, bob, T0 + 60_000, T0 + 60_000 - IDLE)).toBe(true);
      expect((await store.get(c.conversationId))?.lastActivityAt).toBe(T0 + 60_000);
    });

    test('is refused past the idle cutoff, for someone not active, on an ended or missing conversation', async () => {
      const { conversation: c } = await opened();
      expect(await store.touch(c.conversationId, alice, T0 + IDLE + 1, T0 + 1)).toBe(false);
      expect(await store.touch(c.conversationId, carol, T0 + 10, T0 + 10 - IDLE)).toBe(false);
      expect(await store.touch(id('conv'), alice, T0 + 10, T0 + 10 - IDLE)).toBe(false);
      expect(await store.end(c, 'idle', T0 + 20)).toBe(true);
      expect(await store.touch(c.conversationId, alice, T0 + 30, T0 + 30 - IDLE)).toBe(false);
      expect((await store.get(c.conversationId))?.lastActivityAt).toBe(T0);
    });
  });

  describe('end', () => {
    test('ends a conversation unchanged since it was read, once', async () => {
      const { conversation: c } = await opened();
      expect(await store.end(c, 'idle', T0 + IDLE)).toBe(true);
      expect(await store.get(c.conversationId)).toMatchObject({ status: 'ended', endedReason: 'idle', version: c.version + 1 });
      expect(await store.end(c, 'idle', T0 + IDLE)).toBe(false);
    });

    test('loses to activity or a lifecycle change made after the read', async () => {
      const { conversation: active } = await opened();
      await store.touch(active.conversationId, bob, T0 + 1_000, T0 + 1_000 - IDLE);
      expect(await store.end(active, 'idle', T0 + IDLE)).toBe(false);

      const { conversation: changed } = await opened({ participants: [alice, bob, carol], active: [alice, bob, carol] });
      await store.updateActive(changed, [alice, bob], false, T0 + 1_000);
      expect(await store.end(changed, 'idle', T0 + IDLE)).toBe(false);
      for (const c of [active, changed]) expect((await store.get(c.conversationId))?.status).toBe('active');
      expect(await store.end(conversation(), 'idle', T0)).toBe(false);
    });
  });

  describe('updateActive (leave)', () => {
    test('sets the active participants on the version read, bumping it; a second write on the same read loses', async () => {
      const { conversation: c } = await opened({ participants: [alice, bob, carol], active: [alice, bob, carol] });
      expect(await store.updateActive(c, [bob, carol], false, T0 + 1)).toBe(true);
      expect(await store.get(c.conversationId)).toMatchObject({ active: [bob, carol], status: 'active', version: c.version + 1, participants: [alice, bob, carol] });
      expect(await store.updateActive(c, [alice, carol], false, T0 + 2)).toBe(false);
      expect((await store.get(c.conversationId))?.active).toEqual([bob, carol]);
    });

    test('ends the conversation (reason left) when asked; an ended one is never changed again', async () => {
      const { conversation: c } = await opened();
      expect(await store.updateActive(c, [bob], true, T0 + 1)).toBe(true);
      const ended = (await store.get(c.conversationId))!;
      expect(ended).toMatchObject({ status: 'ended', endedReason: 'left', active: [bob] });
      expect(await store.updateActive(ended, [], true, T0 + 2)).toBe(false);
      expect(await store.updateActive(conversation(), [alice], false, T0)).toBe(false);
    });
  });

  describe('advanceTimer', () => {
    test('moves the armed version only from the one read; a stale read or an ended conversation loses', async () => {
      const { conversation: c } = await opened();
      expect(await store.advanceTimer(c, 2)).toBe(true);
      expect((await store.get(c.conversationId))?.timerVersion).toBe(2);
      expect(await store.advanceTimer(c, 3)).toBe(false);
      const now = (await store.get(c.conversationId))!;
      expect(await store.end(now, 'idle', T0 + IDLE)).toBe(true);
      expect(await store.advanceTimer(now, 3)).toBe(false);
      expect((await store.get(c.conversationId))?.timerVersion).toBe(2);
    });
  });

  describe('edits and retractions (SPEC §9)', () => {
    /** A conversation opened with numbered message 1 (found by id through its pointer), and message 2 appended. */
    async function numbered(): Promise<{ first: ImMessage; second: ImMessage }> {
      const c = conversation({ messageCount: 1 });
      const first = { ...message(c.conversationId, c.createdAt), n: 1 };
      expect(await store.open(c, first, resultOf(first, true), eventOf(first), undefined, [alice, bob])).toEqual({ kind: 'opened' });
      const clientMsgId = id('client');
      const second = { ...message(c.conversationId, T0 + 1_000, bob, clientMsgId), n: 2 };
      expect(await store.append(second, resultOf(second), T0, eventOf(second), { senderUri: bob, clientMsgId }, [alice, bob])).toEqual({ kind: 'appended' });
      return { first, second };
    }
    const reviseEvent = (m: ImMessage, type: 'im.edit' | 'im.retract'): ComplianceEvent => ({ ...eventOf(m), eventId: `${type}:${m.conversationId}:${m.messageId}:${id('v')}`, type });

    test('messageById finds a message by its id (without its client id); an unknown id, or another conversation, is absent', async () => {
      const { first, second } = await numbered();
      expect(await store.messageById(first.conversationId, first.messageId)).toEqual(first);
      const { clientMsgId: _client, ...stored } = second;
      expect(await store.messageById(second.conversationId, second.messageId)).toEqual(stored);
      expect(await store.messageById(first.conversationId, id('msg'))).toBeUndefined();
      expect(await store.messageById(id('conv'), first.messageId)).toBeUndefined();
    });

    test('reviseMessage changes the text (editedAt) of the version read, with its outbox item; history shows it in place', async () => {
      const { first } = await numbered();
      const edited: ImMessage = { ...first, text: 'edited', editedAt: T0 + 5_000 };
      const edit = reviseEvent(first, 'im.edit');
      expect(await store.reviseMessage(first, edited, edit)).toBe(true);
      expect(await store.messageById(first.conversationId, first.messageId)).toEqual(edited);
      expect((await store.history(first.conversationId, 10)).messages[1]).toEqual(edited);
      expect(await inOutbox(edit)).toEqual([edit.eventId]);
    });

    test('reviseMessage from a version no longer stored is false and writes nothing; a tombstone is final', async () => {
      const { first } = await numbered();
      expect(await store.reviseMessage(first, { ...first, text: 'one', editedAt: T0 + 5_000 }, reviseEvent(first, 'im.edit'))).toBe(true);
      const lost = reviseEvent(first, 'im.edit');
      expect(await store.reviseMessage(first, { ...first, text: 'two', editedAt: T0 + 6_000 }, lost)).toBe(false);
      expect(await inOutbox(lost)).toEqual([]);
      const seen = (await store.messageById(first.conversationId, first.messageId))!;
      const { editedAt: _editedAt, ...rest } = seen;
      const tombstone: ImMessage = { ...rest, text: '', retracted: true, retractedAt: T0 + 7_000 };
      expect(await store.reviseMessage(seen, tombstone, reviseEvent(first, 'im.retract'))).toBe(true);
      expect(await store.messageById(first.conversationId, first.messageId)).toEqual(tombstone);
      expect(await store.reviseMessage(tombstone, { ...tombstone, text: 'back', editedAt: T0 + 8_000 }, reviseEvent(first, 'im.edit'))).toBe(false);
    });

    test("reviseMessage with readers moves the preview of the entries whose latest message it is, and only those", async () => {
      const { first, second } = await numbered();
      const preview = async (uri: string) => (await store.entriesOf(uri, [first.conversationId]))[0]?.lastMessage.text;
      // Not the latest: the entries keep showing the second message.
      expect(await store.reviseMessage(first, { ...first, text: 'older', editedAt: T0 + 5_000 }, reviseEvent(first, 'im.edit'), [alice, bob])).toBe(true);
      expect([await preview(alice), await preview(bob)]).toEqual([second.text, second.text]);
      const { clientMsgId: _client, ...stored } = second;
      const tombstone: ImMessage = { ...stored, text: '', retracted: true, retractedAt: T0 + 6_000 };
      expect(await store.reviseMessage(stored, tombstone, reviseEvent(second, 'im.retract'), [alice, bob])).toBe(true);
      expect([await preview(alice), await preview(bob)]).toEqual(['', '']);
    });

    test('refreshPreviews alone (a retried retraction) moves the preview of the entries whose latest message it is, and only those', async () => {
      const { first, second } = await numbered();
      const preview = async (uri: string) => (await store.entriesOf(uri, [first.conversationId]))[0]?.lastMessage.text;
      await store.refreshPreviews({ ...first, text: '' }, [alice, bob]);
      expect([await preview(alice), await preview(bob)]).toEqual([second.text, second.text]);
      await store.refreshPreviews({ ...second, text: '' }, [alice, bob]);
      await store.refreshPreviews({ ...second, text: '' }, [alice, bob]);
      expect([await preview(alice), await preview(bob)]).toEqual(['', '']);
    });

    test('of two revisions racing from the same read, exactly one lands', async () => {
      const { first } = await numbered();
      const outcomes = await Promise.all([
        store.reviseMessage(first, { ...first, text: 'edit', editedAt: T0 + 5_000 }, reviseEvent(first, 'im.edit')),
        store.reviseMessage(first, { ...first, text: '', retracted: true, retractedAt: T0 + 5_000 }, reviseEvent(first, 'im.retract')),
      ]);
      expect(outcomes.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('history', () => {
    async function withMessages(count: number): Promise<{ conversationId: string; sent: ImMessage[] }> {
      const { conversation: c, first } = await opened();
      const sent = [first];
      for (let n = 1; n < count; n++) {
        const clientMsgId = id('client');
        const m = message(c.conversationId, T0 + n * 1_000, n % 2 ? bob : alice, clientMsgId);
        expect(await store.append(m, resultOf(m), m.ts - IDLE, eventOf(m), { senderUri: m.from.uri, clientMsgId })).toEqual({ kind: 'appended' });
        sent.push(m);
      }
      return { conversationId: c.conversationId, sent };
    }

    test('newest first, page by page through its cursors, every message once, the last page without a cursor', async () => {
      const { conversationId, sent } = await withMessages(7);
      await opened(); // another conversation's messages never show
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.history(conversationId, 3, cursor);
        seen.push(...ids(page.messages));
        cursor = page.cursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual(ids(sent).reverse());
    });

    test('a page of exactly the remaining messages has no cursor', async () => {
      const { conversationId } = await withMessages(3);
      expect((await store.history(conversationId, 3)).cursor).toBeUndefined();
    });

    test('messages come back as sent, without the client id', async () => {
      const { conversationId, sent } = await withMessages(2);
      const [newest] = (await store.history(conversationId, 1)).messages;
      const { clientMsgId: _client, ...expected } = sent[1]!;
      expect(newest).toEqual(expected);
      expect(newest).not.toHaveProperty('clientMsgId');
    });

    test('a fit cuts the page, and the cursor follows the cut', async () => {
      const { conversationId, sent } = await withMessages(5);
      const first = await store.history(conversationId, 4, undefined, () => 2);
      expect(ids(first.messages)).toEqual(ids(sent).reverse().slice(0, 2));
      const rest = await store.history(conversationId, 10, first.cursor);
      expect(ids(rest.messages)).toEqual(ids(sent).reverse().slice(2));
      expect(rest.cursor).toBeUndefined();
    });

    test('a cursor this store did not give is a 400 naming the field', async () => {
      const { conversationId } = await withMessages(1);
      const forged = Buffer.from('CONV#x', 'utf8').toString('base64url');
      await expect(store.history(conversationId, 10, forged)).rejects.toBeInstanceOf(BadRequestError);
      await expect(store.history(conversationId, 10, forged)).rejects.toMatchObject({ field: 'before' });
    });
  });
}
