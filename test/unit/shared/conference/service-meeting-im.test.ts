import { UnavailableError } from '../../../../shared/errors';
import { MAX_LIST_ANSWER_BYTES } from '../../../../shared/protocol/frame-fit';
import { conferenceHarness, type ConferenceHarness, MINUTE, noBackoff, olga, user } from './harness';

/**
 * Meeting IM (SPEC §9 `conf.message`, `conf.messages`) and the `conf.content` event, on memory ports: the messages
 * belong to the current activation, only its current participants send and read them, and they are archived like IM.
 */
noBackoff();
let h: ConferenceHarness;
beforeEach(() => {
  h = conferenceHarness();
});

const bob = user('bob');
const carol = user('carol');
const guest = user('guest', 'federated');

function conferenceMessages(confId: string) {
  return h.compliance.archived().filter((event) => event.type === 'conf.message' && event.target.id === confId);
}

describe('conf.message', () => {
  test("goes to every participant of the activation but the sending connection (the sender's other devices included)", async () => {
    const confId = await h.schedule();
    const { activationInstance } = await h.joined(olga, confId);
    await h.joined(bob, confId);
    await h.joined(bob, confId, 'c-bob-phone');
    await h.joined(carol, confId);
    h.delivery.clear();
    const result = await h.service.sendMessage(bob, 'c-bob', confId, { text: 'hello meeting' });
    expect(result).toMatchObject({ confId, activationInstance });
    expect(h.delivery.named('conf.message')).toEqual([
      {
        connectionIds: ['c-bob-phone', 'c-carol', 'c-olga'],
        payload: { confId, activationInstance, messageId: result.messageId, from: { uri: bob.uri, name: 'bob' }, text: 'hello meeting', ts: result.ts },
      },
    ]);
  });

  test('is archived like IM: a conf.message compliance event with the text, written with the message', async () => {
    const confId = await h.schedule({ subject: 'planning' });
    await h.joined(olga, confId);
    h.compliance.queue.failNextSends = 1;
    const result = await h.service.sendMessage(olga, 'c-olga', confId, { text: 'minutes' });
    // The send failed (no client id: not an error); the outbox holds the event for the sweep.
    expect(conferenceMessages(confId)).toEqual([
      {
        eventId: `conf.message:${confId}:${result.messageId}`,
        type: 'conf.message',
        actor: { uri: olga.uri, kind: 'enterprise', name: 'olga' },
        target: { kind: 'conference', id: confId, name: 'planning' },
        at: result.ts,
        content: 'minutes',
        details: { messageId: result.messageId, activationInstance: result.activationInstance },
      },
    ]);
  });

  test('idempotent by clientMsgId: a retry answers the same, is delivered once and archived once', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    const first = await h.service.sendMessage(bob, 'c-bob', confId, { text: 'once', clientMsgId: 'm1' });
    const retry = await h.service.sendMessage(bob, 'c-bob', confId, { text: 'once', clientMsgId: 'm1' });
    expect(retry).toEqual(first);
    expect(h.delivery.named('conf.message')).toHaveLength(1);
    expect(conferenceMessages(confId)).toHaveLength(1);
    expect((await h.service.messages(bob, confId, 50)).messages).toHaveLength(1);
  });

  test('two sends with the same clientMsgId at once are one message', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    const [a, b] = await Promise.all([
      h.service.sendMessage(olga, 'c-olga', confId, { text: 'race', clientMsgId: 'm2' }),
      h.service.sendMessage(olga, 'c-olga', confId, { text: 'race', clientMsgId: 'm2' }),
    ]);
    expect(a).toEqual(b);
    expect((await h.service.messages(olga, confId, 50)).messages).toHaveLength(1);
  });

  test('with a clientMsgId, a failed compliance send is a 503; the retry archives it and posts nothing new', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    h.compliance.queue.failNextSends = 1;
    await expect(h.service.sendMessage(olga, 'c-olga', confId, { text: 'x', clientMsgId: 'm3' })).rejects.toBeInstanceOf(UnavailableError);
    await h.service.sendMessage(olga, 'c-olga', confId, { text: 'x', clientMsgId: 'm3' });
    expect(h.compliance.sent().filter((event) => event.type === 'conf.message')).toHaveLength(1);
    expect((await h.service.messages(olga, confId, 50)).messages).toHaveLength(1);
  });

  test('only participants send: the organizer not joined, someone in the lobby, someone who left (403)', async () => {
    const confId = await h.schedule({ admission: 'organization' });
    await h.joined(bob, confId);
    await h.join(guest, confId);
    await h.joined(carol, confId);
    await h.service.leave(carol, confId);
    for (const sender of [olga, guest, carol]) {
      await expect(h.service.sendMessage(sender, `c-${sender.name}`, confId, { text: 'let me in' })).rejects.toMatchObject({ status: 403 });
    }
    expect(h.delivery.named('conf.message')).toEqual([]);
  });

  test("a message racing the sender's ejection is refused (403), neither stored nor archived", async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    h.store.beforeWrite('postMessage', async () => {
      await h.service.eject(olga, confId, bob.uri);
    });
    await expect(h.service.sendMessage(bob, 'c-bob', confId, { text: 'too late' })).rejects.toMatchObject({ status: 403 });
    expect((await h.service.messages(olga, confId, 50)).messages).toEqual([]);
    expect(conferenceMessages(confId)).toEqual([]);
  });
});

describe('conf.messages', () => {
  test('the current activation, newest first, paged with a cursor', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    for (let n = 1; n <= 5; n++) {
      h.clock.advance(1000);
      await h.service.sendMessage(olga, 'c-olga', confId, { text: `m${n}` });
    }
    const first = await h.service.messages(olga, confId, 2);
    expect(first.messages.map((message) => message.text)).toEqual(['m5', 'm4']);
    const second = await h.service.messages(olga, confId, 2, first.cursor);
    expect(second.messages.map((message) => message.text)).toEqual(['m3', 'm2']);
    const last = await h.service.messages(olga, confId, 2, second.cursor);
    expect(last.messages.map((message) => message.text)).toEqual(['m1']);
    expect(last.cursor).toBeUndefined();
  });

  test('a page is cut to one frame (messages at their cap in the costliest characters); paging reads every message once', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    const sent = new Set<string>();
    for (let n = 0; n < 12; n++) {
      h.clock.advance(1);
      sent.add((await h.service.sendMessage(olga, 'c-olga', confId, { text: '\u0001'.repeat(4000) })).messageId);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await h.service.messages(olga, confId, 100, cursor);
      expect(Buffer.byteLength(JSON.stringify(page))).toBeLessThanOrEqual(MAX_LIST_ANSWER_BYTES);
      seen.push(...page.messages.map((message) => message.messageId));
      cursor = page.cursor;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThan(1);
    expect(seen.sort()).toEqual([...sent].sort());
  });

  test('a cursor the server did not give answers 400 naming before', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    await expect(h.service.messages(olga, confId, 10, 'bm9wZQ')).rejects.toMatchObject({ status: 400, field: 'before' });
  });

  test("reading a meeting's IM after leaving is refused (403); so is reading it after being ejected, or from the lobby", async () => {
    const confId = await h.schedule({ admission: 'organization' });
    await h.joined(olga, confId);
    await h.joined(bob, confId);
    await h.joined(carol, confId);
    await h.service.sendMessage(olga, 'c-olga', confId, { text: 'secret plans' });
    await expect(h.service.messages(bob, confId, 10)).resolves.toMatchObject({ messages: [{ text: 'secret plans' }] });
    await h.service.leave(bob, confId);
    await expect(h.service.messages(bob, confId, 10)).rejects.toMatchObject({ status: 403 });
    await h.service.eject(olga, confId, carol.uri);
    await expect(h.service.messages(carol, confId, 10)).rejects.toMatchObject({ status: 403 });
    await h.join(guest, confId);
    await expect(h.service.messages(guest, confId, 10)).rejects.toMatchObject({ status: 403 });
  });

  test("a new activation starts empty; the previous activation's messages are deleted with its records", async () => {
    const confId = await h.schedule();
    const first = await h.joined(olga, confId);
    await h.service.sendMessage(olga, 'c-olga', confId, { text: 'first meeting' });
    await h.service.end(olga, confId);
    expect(await h.store.messages(confId, first.activationInstance, 10)).toEqual({ messages: [] });
    h.clock.advance(MINUTE);
    const second = await h.joined(olga, confId);
    expect(second.activationInstance).not.toBe(first.activationInstance);
    expect(await h.service.messages(olga, confId, 10)).toEqual({ confId, activationInstance: second.activationInstance, messages: [] });
    // The archive keeps it.
    expect(conferenceMessages(confId).map((event) => event.content)).toEqual(['first meeting']);
  });
});

describe('conf.content', () => {
  test('adding content sends conf.content to the participants but the adding connection', async () => {
    const confId = await h.schedule();
    await h.joined(olga, confId);
    await h.joined(olga, confId, 'c-olga-phone');
    await h.joined(bob, confId);
    h.delivery.clear();
    const added = await h.service.addContent(olga, confId, { title: 'agenda', kind: 'link', body: 'https://example.com/agenda' }, 'c-olga');
    expect(h.delivery.named('conf.content')).toEqual([{ connectionIds: ['c-bob', 'c-olga-phone'], payload: { confId, content: added } }]);
  });

  test('content added to a meeting that is not active is stored and sent to nobody', async () => {
    const confId = await h.schedule();
    await h.service.addContent(olga, confId, { title: 'agenda', kind: 'link', body: 'https://example.com/agenda' }, 'c-olga');
    expect(h.delivery.named('conf.content')).toEqual([]);
    expect((await h.service.listContent(olga, confId)).content).toHaveLength(1);
  });
});
