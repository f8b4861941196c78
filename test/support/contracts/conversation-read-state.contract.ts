import { randomUUID } from 'node:crypto';
import type { ComplianceEvent } from '../../../shared/compliance/event';
import type { Conversation, ImMessage } from '../../../shared/conversation/conversation';
import type { ConversationStore, SendResult } from '../../../shared/conversation/ports';
import { BadRequestError } from '../../../shared/errors';

const T0 = 1_800_000_000_000;
const IDLE = 900_000;

/**
 * The read-state promises of `ConversationStore` (issue 22 item 3, `ConversationReadState` in
 * shared/conversation/ports.ts): numbered messages written with every reader's entry in their own transaction, markers
 * that never move back, the user's conversations by latest activity, missed notes, messages from a moment. Run against
 * the memory store (test/unit/contracts/) and `DynamoConversationStore` on DynamoDB Local (test/integration/contracts/).
 */
export function conversationReadStateContract(make: () => Promise<{ readonly store: ConversationStore }>): void {
  describe('ConversationStore read-state contract', () => {
    let store: ConversationStore;
    beforeEach(async () => {
      ({ store } = await make());
    });

    // Users of their own per test: one table serves every test.
    const person = (name: string) => `sip:${name}-${randomUUID().slice(0, 8)}@contoso.com`;
    const id = (prefix: string) => `${prefix}_${randomUUID().slice(0, 12)}`;
    const message = (conversationId: string, n: number, from: string, ts = T0 + n, text = `message ${n}`): ImMessage => ({
      conversationId,
      messageId: id('msg'),
      from: { uri: from, name: 'someone' },
      text,
      contentType: 'text/plain',
      ts,
      n,
    });
    const resultOf = (m: ImMessage): SendResult => ({ conversationId: m.conversationId, messageId: m.messageId, newConversation: m.n === 1, ts: m.ts });
    const eventOf = (m: ImMessage): ComplianceEvent => ({
      eventId: `im.message:${m.conversationId}:${m.messageId}`,
      type: 'im.message',
      actor: { uri: m.from.uri, kind: 'enterprise', name: 'someone' },
      target: { kind: 'conversation', id: m.conversationId },
      at: m.ts,
      content: m.text,
    });
    async function opened(participants: string[], ts = T0): Promise<{ conversation: Conversation; first: ImMessage }> {
      const conversation: Conversation = {
        conversationId: id('conv'),
        participants,
        active: participants,
        status: 'active',
        createdAt: ts,
        lastActivityAt: ts,
        timerVersion: 1,
        version: 1,
        messageCount: 1,
      };
      const first = message(conversation.conversationId, 1, participants[0]!, ts);
      expect(await store.open(conversation, first, resultOf(first), eventOf(first), undefined, participants)).toEqual({ kind: 'opened' });
      return { conversation, first };
    }
    const opened1 = async (participants: string[], ts: number) => (await opened(participants, ts)).conversation;
    const append = (m: ImMessage, readers: string[]) => store.append(m, resultOf(m), m.ts - IDLE, eventOf(m), undefined, readers);

    test("a numbered message moves every reader's entry to it, the sender's marker with it, and is found by id", async () => {
      const [alice, bob] = [person('alice'), person('bob')];
      const { conversation, first } = await opened([alice, bob]);
      const second = message(conversation.conversationId, 2, alice, T0 + 10, 'x'.repeat(500));
      expect(await append(second, [alice, bob])).toEqual({ kind: 'appended' });

      expect(await store.messageNumber(conversation.conversationId, first.messageId)).toBe(1);
      expect(await store.messageNumber(conversation.conversationId, second.messageId)).toBe(2);
      expect(await store.messageNumber(conversation.conversationId, 'msg_none')).toBeUndefined();
      const [bobs] = await store.entriesOf(bob, [conversation.conversationId]);
      expect(bobs).toEqual({
        conversationId: conversation.conversationId,
        lastMessage: { messageId: second.messageId, from: second.from, text: `${'x'.repeat(140)}…`, ts: second.ts },
        lastN: 2,
        readN: 0,
      });
      expect((await store.entriesOf(alice, [conversation.conversationId]))[0]).toMatchObject({ lastN: 2, readN: 2 });
      expect((await store.get(conversation.conversationId))?.messageCount).toBe(2);
    });

    test('a numbered message that is not the next one is not appended (notActive), and writes nothing', async () => {
      const [alice, bob] = [person('alice'), person('bob')];
      const { conversation } = await opened([alice, bob]);
      const skipping = message(conversation.conversationId, 3, alice);
      expect(await append(skipping, [alice, bob])).toEqual({ kind: 'notActive' });
      expect(await store.messageNumber(conversation.conversationId, skipping.messageId)).toBeUndefined();
      expect((await store.entriesOf(bob, [conversation.conversationId]))[0]?.lastN).toBe(1);
      expect((await store.history(conversation.conversationId, 10)).messages).toHaveLength(1);
    });

    test('markRead moves the marker forward only, and answers the entry as it is', async () => {
      const [alice, bob] = [person('alice'), person('bob')];
      const { conversation } = await opened([alice, bob]);
      await append(message(conversation.conversationId, 2, alice), [alice, bob]);
      await append(message(conversation.conversationId, 3, alice), [alice, bob]);

      expect(await store.markRead(bob, conversation.conversationId, 2)).toEqual({ moved: true, entry: expect.objectContaining({ lastN: 3, readN: 2 }) });
      expect(await store.markRead(bob, conversation.conversationId, 1)).toEqual({ moved: false, entry: expect.objectContaining({ readN: 2 }) });
      expect(await store.markRead(bob, conversation.conversationId, 2)).toEqual({ moved: false, entry: expect.objectContaining({ readN: 2 }) });
      expect(await store.markRead(person('carol'), conversation.conversationId, 2)).toEqual({ moved: false });
    });

    test("conversationsOf pages the user's entries by latest activity, newest first, with a cursor", async () => {
      const [alice, bob, carol] = [person('alice'), person('bob'), person('carol')];
      const a = await opened([alice, bob], T0 + 100);
      const b = await opened([carol, alice], T0 + 200);
      const c = await opened([bob, alice], T0 + 300);
      await append(message(a.conversation.conversationId, 2, bob, T0 + 400), [alice, bob]);

      const first = await store.conversationsOf(alice, 2);
      expect(first.entries.map((e) => e.conversationId)).toEqual([a.conversation.conversationId, c.conversation.conversationId]);
      const second = await store.conversationsOf(alice, 2, first.cursor);
      expect(second).toEqual({ entries: [expect.objectContaining({ conversationId: b.conversation.conversationId })] });
      // A cut to one frame: the cursor follows the cut.
      const cut = await store.conversationsOf(alice, 3, undefined, () => 1);
      expect(cut.entries).toHaveLength(1);
      expect((await store.conversationsOf(alice, 3, cut.cursor)).entries.map((e) => e.conversationId)).toEqual([c.conversation.conversationId, b.conversation.conversationId]);
      expect(await store.conversationsOf(person('nobody'), 5)).toEqual({ entries: [] });
      await expect(store.conversationsOf(alice, 2, Buffer.from('MSG#1').toString('base64url'))).rejects.toBeInstanceOf(BadRequestError);
    });

    test('activeSince names the conversations with a message at or after a moment; messagesFrom their messages from it, oldest first', async () => {
      const [alice, bob] = [person('alice'), person('bob')];
      const old = await opened([alice, bob], T0);
      const recent = await opened([alice, bob], T0 + 1000);
      const later = message(recent.conversation.conversationId, 2, alice, T0 + 2000);
      await append(later, [alice, bob]);

      expect(await store.activeSince(bob, T0 + 1000)).toEqual([recent.conversation.conversationId]);
      expect((await store.activeSince(bob, T0)).sort()).toEqual([old.conversation.conversationId, recent.conversation.conversationId].sort());
      expect((await store.messagesFrom(recent.conversation.conversationId, T0 + 1000, 10)).map((m) => m.messageId)).toEqual([recent.first.messageId, later.messageId]);
      expect((await store.messagesFrom(recent.conversation.conversationId, T0 + 1001, 10)).map((m) => m.messageId)).toEqual([later.messageId]);
      expect(await store.messagesFrom(recent.conversation.conversationId, T0 + 1000, 1)).toHaveLength(1);
    });

    test('activeSince names every conversation active since the moment, however many index pages they take', async () => {
      const bob = person('bob');
      const opened: string[] = [];
      for (let i = 0; i < 5; i++) opened.push((await opened1([person('peer'), bob], T0 + 100 * i)).conversationId);
      expect((await store.activeSince(bob, T0 + 100, 2)).sort()).toEqual(opened.slice(1).sort());
      expect((await store.activeSince(bob, T0, 1)).sort()).toEqual([...opened].sort());
    });

    test('clearMissed with a read marker keeps a note of a message missed after it; the note keeps its first ts', async () => {
      const bob = person('bob');
      const [one, two, old] = [id('conv'), id('conv'), id('conv')];
      await store.recordMissed(bob, one, T0 + 5, 1);
      await store.recordMissed(bob, two, T0 + 3, 1);
      await store.recordMissed(bob, two, T0 + 9, 3);
      // A delivery finishing late does not lower the number.
      await store.recordMissed(bob, two, T0 + 7, 2);
      await store.recordMissed(bob, old, T0 + 1);
      expect(await store.missed(bob, 10)).toEqual([old, two, one]);
      await store.clearMissed(bob, one, 1);
      await store.clearMissed(bob, two, 2);
      await store.clearMissed(bob, id('conv'), 2);
      expect(await store.missed(bob, 10)).toEqual([old, two]);
      // A note without a number (before numbering) goes with any marker.
      await store.clearMissed(bob, old, 1);
      await store.clearMissed(bob, two, 3);
      expect(await store.missed(bob, 10)).toEqual([]);
    });

    test('missed notes: the first note stays, oldest first, cleared one by one', async () => {
      const bob = person('bob');
      const [one, two] = [id('conv'), id('conv')];
      await store.recordMissed(bob, two, T0 + 5);
      await store.recordMissed(bob, one, T0 + 1);
      await store.recordMissed(bob, two, T0 + 9);
      expect(await store.missed(bob, 10)).toEqual([one, two]);
      await store.clearMissed(bob, one);
      await store.clearMissed(bob, id('conv'));
      expect(await store.missed(bob, 10)).toEqual([two]);
    });

    test('getMany answers the conversations that exist', async () => {
      const [alice, bob] = [person('alice'), person('bob')];
      const { conversation } = await opened([alice, bob]);
      expect((await store.getMany([conversation.conversationId, id('conv')])).map((c) => c.conversationId)).toEqual([conversation.conversationId]);
      expect(await store.getMany([])).toEqual([]);
    });
  });
}
