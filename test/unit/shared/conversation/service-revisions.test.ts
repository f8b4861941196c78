import { ForbiddenError, GoneError, NotFoundError } from '../../../../shared/errors';
import { alice, bob, carol, conn, conversationHarness, IDLE_MS } from './conversation-harness';
import { withoutBackoff } from '../../../support/no-backoff';

/** `im.edit` and `im.retract` (SPEC §9; docs/protocol.md "Edit and retract"), on memory ports. */

// retryOnConflict's jittered backoff waits nothing.
withoutBackoff();
afterEach(() => jest.restoreAllMocks());

/** Alice opened a conversation with Bob and Carol ("hello brave world"); Bob answered. */
async function conversationWithMessage() {
  const harness = conversationHarness();
  const opened = await harness.open(alice, [bob, carol], 'hello brave world');
  await harness.say(bob, opened.conversationId, 'hi alice');
  harness.delivery.clear();
  return { ...harness, conversationId: opened.conversationId, messageId: opened.messageId };
}

const historyOf = async (harness: Awaited<ReturnType<typeof conversationWithMessage>>) =>
  (await harness.service.history(bob, harness.conversationId, 50)).messages;

describe('im.edit', () => {
  it('the author edits: history shows the latest text with editedAt, in its place', async () => {
    const im = await conversationWithMessage();
    im.clock.advance(4_000);
    expect(await im.service.edit(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId, text: 'hello kind world' })).toEqual({
      conversationId: im.conversationId,
      messageId: im.messageId,
      editedAt: im.clock.now(),
    });
    expect((await historyOf(im)).map((message) => [message.text, message.editedAt])).toEqual([
      ['hi alice', undefined],
      ['hello kind world', im.clock.now()],
    ]);
  });

  it("only the author may edit: another participant is refused 403, a non-participant 403", async () => {
    const im = await conversationWithMessage();
    await expect(im.service.edit(bob, conn(bob), { conversationId: im.conversationId, messageId: im.messageId, text: 'mine now' })).rejects.toThrow(ForbiddenError);
    const mallory = { ...alice, uri: 'sip:mallory@contoso.com', name: 'mallory' };
    await expect(im.service.edit(mallory, conn(mallory), { conversationId: im.conversationId, messageId: im.messageId, text: 'x' })).rejects.toThrow(ForbiddenError);
  });

  it('an unknown message or conversation answers 404', async () => {
    const im = await conversationWithMessage();
    await expect(im.service.edit(alice, conn(alice), { conversationId: im.conversationId, messageId: 'msg_nope', text: 'x' })).rejects.toThrow(NotFoundError);
    await expect(im.service.edit(alice, conn(alice), { conversationId: 'conv_nope', messageId: im.messageId, text: 'x' })).rejects.toThrow(NotFoundError);
  });

  it('a retracted message cannot be edited (410)', async () => {
    const im = await conversationWithMessage();
    await im.service.retract(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId });
    await expect(im.service.edit(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId, text: 'back' })).rejects.toThrow(GoneError);
  });

  it("every participant's connections but the editing one get im.edited", async () => {
    const im = await conversationWithMessage();
    await im.service.edit(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId, text: 'hello kind world' });
    expect(im.delivery.named('im.edited')).toEqual([
      { connectionIds: [conn(bob), conn(carol)], payload: { conversationId: im.conversationId, messageId: im.messageId, text: 'hello kind world', editedAt: im.clock.now() } },
    ]);
  });

  it('an edit is not activity: it neither extends nor needs an open conversation (an ended one is still corrected)', async () => {
    const im = await conversationWithMessage();
    const before = (await im.store.get(im.conversationId))!.lastActivityAt;
    im.clock.advance(IDLE_MS + 1);
    await im.fireDue();
    expect((await im.store.get(im.conversationId))!.status).toBe('ended');
    await im.service.edit(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId, text: 'after the end' });
    expect((await im.store.get(im.conversationId))!.lastActivityAt).toBe(before);
    expect((await historyOf(im))[1]!.text).toBe('after the end');
  });

  it('the archive keeps every version: the message, then each edit, with who and when', async () => {
    const im = await conversationWithMessage();
    im.clock.advance(1_000);
    await im.service.edit(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId, text: 'version two' });
    const versions = im.compliance
      .archived()
      .filter((event) => event.details?.messageId === im.messageId)
      .map((event) => [event.type, event.content, event.actor.uri, event.at]);
    expect(versions).toEqual([
      ['im.message', 'hello brave world', alice.uri, im.clock.now() - 1_000],
      ['im.edit', 'version two', alice.uri, im.clock.now()],
    ]);
  });

  it('the same text again (a retry) changes nothing, sends and archives nothing more', async () => {
    const im = await conversationWithMessage();
    const first = await im.service.edit(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId, text: 'once' });
    im.clock.advance(1_000);
    expect(await im.service.edit(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId, text: 'once' })).toEqual(first);
    expect(im.delivery.named('im.edited')).toHaveLength(1);
    expect(im.compliance.archived().filter((event) => event.type === 'im.edit')).toHaveLength(1);
  });

  it('an edit racing a retraction that lands first meets the tombstone: 410, and the tombstone stays', async () => {
    const im = await conversationWithMessage();
    im.onceBefore('reviseMessage', () => im.service.retract(alice, 'conn:phone', { conversationId: im.conversationId, messageId: im.messageId }));
    await expect(im.service.edit(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId, text: 'too late' })).rejects.toThrow(GoneError);
    expect((await historyOf(im))[1]).toMatchObject({ text: '', retracted: true });
    expect(im.compliance.archived().filter((event) => event.type === 'im.edit')).toEqual([]);
  });
});

describe('im.retract', () => {
  it('the author retracts: a tombstone (no text) stays in the history, in its place', async () => {
    const im = await conversationWithMessage();
    im.clock.advance(2_000);
    expect(await im.service.retract(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId })).toEqual({
      conversationId: im.conversationId,
      messageId: im.messageId,
      retractedAt: im.clock.now(),
    });
    const history = await historyOf(im);
    expect(history).toHaveLength(2);
    expect(history[1]).toMatchObject({ messageId: im.messageId, from: { uri: alice.uri }, text: '', retracted: true, retractedAt: im.clock.now() });
  });

  it('only the author may retract: another participant is refused 403', async () => {
    const im = await conversationWithMessage();
    await expect(im.service.retract(bob, conn(bob), { conversationId: im.conversationId, messageId: im.messageId })).rejects.toThrow(ForbiddenError);
    expect((await historyOf(im))[1]!.text).toBe('hello brave world');
  });

  it("the participants' connections but the retracting one get im.retracted", async () => {
    const im = await conversationWithMessage();
    await im.service.retract(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId });
    expect(im.delivery.named('im.retracted')).toEqual([
      { connectionIds: [conn(bob), conn(carol)], payload: { conversationId: im.conversationId, messageId: im.messageId, by: alice.uri } },
    ]);
  });

  it('the archive records the retraction with who, when and the text it took back; a retry archives nothing more', async () => {
    const im = await conversationWithMessage();
    im.clock.advance(3_000);
    const first = await im.service.retract(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId });
    expect(await im.service.retract(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId })).toEqual(first);
    expect(im.compliance.archived().filter((event) => event.type === 'im.retract')).toEqual([
      expect.objectContaining({ eventId: `im.retract:${im.conversationId}:${im.messageId}`, actor: expect.objectContaining({ uri: alice.uri }), at: im.clock.now(), content: 'hello brave world' }),
    ]);
    expect(im.compliance.sent().filter((event) => event.type === 'im.retract')).toHaveLength(1);
  });

  it('a retry repairs a retraction that died after its commit: the preview follows the tombstone and the participants get im.retracted', async () => {
    const im = await conversationWithMessage();
    const latest = await im.say(bob, im.conversationId, 'call me on 555 0100');
    im.delivery.clear();
    const previews = async () => (await Promise.all([alice, bob, carol].map((who) => im.store.entriesOf(who.uri, [im.conversationId])))).map(([entry]) => entry?.lastMessage.text);
    im.failAfterCommit('reviseMessage', new Error('the function died'));
    await expect(im.service.retract(bob, conn(bob), { conversationId: im.conversationId, messageId: latest.messageId })).rejects.toThrow('the function died');
    expect(im.delivery.named('im.retracted')).toEqual([]);
    await im.service.retract(bob, conn(bob), { conversationId: im.conversationId, messageId: latest.messageId });
    expect(await previews()).toEqual(['', '', '']);
    expect(im.delivery.named('im.retracted')).toEqual([
      { connectionIds: [conn(alice), conn(carol)], payload: { conversationId: im.conversationId, messageId: latest.messageId, by: bob.uri } },
    ]);
    expect(im.compliance.archived().filter((event) => event.type === 'im.retract')).toHaveLength(1);
    expect(im.compliance.sent().filter((event) => event.type === 'im.retract')).toHaveLength(0);
  });

  it("retracting the conversation's latest message takes its text out of every participant's im.conversations preview; an edit shows the new text", async () => {
    const im = await conversationWithMessage();
    const latest = await im.say(bob, im.conversationId, 'call me on 555 0100');
    const previews = async () => (await Promise.all([alice, bob, carol].map((who) => im.store.entriesOf(who.uri, [im.conversationId])))).map(([entry]) => entry?.lastMessage.text);
    expect(await previews()).toEqual(['call me on 555 0100', 'call me on 555 0100', 'call me on 555 0100']);
    // An older message changes no preview.
    await im.service.edit(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId, text: 'older, edited' });
    expect(await previews()).toEqual(['call me on 555 0100', 'call me on 555 0100', 'call me on 555 0100']);
    await im.service.edit(bob, conn(bob), { conversationId: im.conversationId, messageId: latest.messageId, text: 'call me later' });
    expect(await previews()).toEqual(['call me later', 'call me later', 'call me later']);
    await im.service.retract(bob, conn(bob), { conversationId: im.conversationId, messageId: latest.messageId });
    expect(await previews()).toEqual(['', '', '']);
  });

  it('a participant who left may still retract their own message (they still read the history)', async () => {
    const im = await conversationWithMessage();
    await im.service.leave(alice, conn(alice), im.conversationId);
    await im.service.retract(alice, conn(alice), { conversationId: im.conversationId, messageId: im.messageId });
    expect((await historyOf(im))[1]).toMatchObject({ retracted: true });
  });
});
