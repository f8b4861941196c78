import { ForbiddenError, GoneError, NotFoundError } from '../../../../shared/errors';
import { callerOf, chatOnMemory, conn, user } from './chat-fixture';
import { withoutBackoff } from '../../../support/no-backoff';

/**
 * `chat.edit` and `chat.retract` (SPEC §9; docs/protocol.md "Edit and retract"): who may, what history, search,
 * readers and the archive see, and the races, on memory ports.
 */
const alice = user('alice');
const bob = user('bob');
const carol = user('carol');
const mallory = user('mallory');

// retryOnConflict's jittered backoff waits nothing.
withoutBackoff();
afterEach(() => jest.restoreAllMocks());

/** Alice manages the room; Bob (a member) and Alice follow it; Bob posted "hello brave world" (seq 1), Alice "second" (seq 2). */
async function roomWithPost(definition: Parameters<ReturnType<typeof chatOnMemory>['createRoom']>[1] = {}) {
  const chat = chatOnMemory();
  const roomId = await chat.createRoom(alice, { members: [bob.uri, carol.uri], ...definition });
  for (const who of [alice, bob]) await chat.service.join(callerOf(who), roomId);
  const post = await chat.service.post(callerOf(bob), { roomId, text: 'hello brave world' });
  await chat.service.post(callerOf(alice), { roomId, text: 'second' });
  chat.delivery.clear();
  return { ...chat, roomId, messageId: post.messageId };
}

const search = async (chat: Awaited<ReturnType<typeof roomWithPost>>, query: string) =>
  (await chat.service.search(callerOf(alice), chat.roomId, query, 20)).messages.map((message) => message.seq);

describe('chat.edit', () => {
  it('the author edits: history shows the latest text with editedAt at the same seq', async () => {
    const chat = await roomWithPost();
    chat.clock.advance(5_000);
    const answer = await chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'hello kind world' });
    expect(answer).toEqual({ roomId: chat.roomId, messageId: chat.messageId, seq: 1, editedAt: chat.clock.now() });
    const { messages } = await chat.service.history(callerOf(carol), chat.roomId, undefined);
    expect(messages.map((message) => [message.seq, message.text, message.editedAt])).toEqual([
      [2, 'second', undefined],
      [1, 'hello kind world', chat.clock.now()],
    ]);
  });

  it('only the author may edit: anyone else, a manager included, is refused 403', async () => {
    const chat = await roomWithPost();
    await expect(chat.service.edit(callerOf(alice), { roomId: chat.roomId, messageId: chat.messageId, text: 'no' })).rejects.toThrow(ForbiddenError);
    await expect(chat.service.edit(callerOf(carol), { roomId: chat.roomId, messageId: chat.messageId, text: 'no' })).rejects.toThrow(ForbiddenError);
    expect((await chat.store.messageById(chat.roomId, chat.messageId))?.text).toBe('hello brave world');
  });

  it('an author who lost access to the room may not edit (403; a secret room answers 404)', async () => {
    const chat = await roomWithPost({ privacy: 'closed' });
    await chat.service.updateRoom(alice, chat.roomId, { members: [carol.uri] });
    await expect(chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'mine' })).rejects.toThrow(ForbiddenError);
    await chat.service.updateRoom(alice, chat.roomId, { privacy: 'secret' });
    await expect(chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'mine' })).rejects.toThrow(NotFoundError);
  });

  it('an unknown message, or one of another room, answers 404', async () => {
    const chat = await roomWithPost();
    const other = await chat.createRoom(alice, { name: 'Other' });
    await expect(chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: 'cmsg_nope', text: 'x' })).rejects.toThrow(NotFoundError);
    await expect(chat.service.edit(callerOf(bob), { roomId: other, messageId: chat.messageId, text: 'x' })).rejects.toThrow(NotFoundError);
  });

  it('a retracted message cannot be edited (410)', async () => {
    const chat = await roomWithPost();
    await chat.service.retract(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId });
    await expect(chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'back' })).rejects.toThrow(GoneError);
  });

  it('every reader of the room but the editing connection gets chat.edited; a follower who may no longer read gets nothing', async () => {
    const chat = await roomWithPost({ privacy: 'closed' });
    await chat.service.join(callerOf(carol), chat.roomId);
    // Carol's follower item outlives her membership (a removal that never ran): she must not be told.
    chat.store.rooms.set(chat.roomId, { ...chat.store.rooms.get(chat.roomId)!, members: [alice.uri, bob.uri] });
    chat.delivery.clear();
    await chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'hello kind world' });
    expect(chat.delivery.named('chat.edited')).toEqual([
      { connectionIds: [conn(alice)], payload: { roomId: chat.roomId, messageId: chat.messageId, seq: 1, text: 'hello kind world', editedAt: chat.clock.now() } },
    ]);
  });

  it('search finds the edited text and no longer the words the edit took out', async () => {
    const chat = await roomWithPost();
    await chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'hello kind world' });
    expect(await search(chat, 'kind')).toEqual([1]);
    expect(await search(chat, 'brave')).toEqual([]);
    expect(chat.store.tokens.get(`${chat.roomId}#brave`)?.has(1) ?? false).toBe(false);
    expect(await search(chat, 'hello world')).toEqual([1]);
  });

  it('the archive keeps every version: the post, then each edit with its text, who and when', async () => {
    const chat = await roomWithPost();
    chat.clock.advance(1_000);
    await chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'version two' });
    chat.clock.advance(1_000);
    await chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'version three' });
    const versions = chat.compliance
      .archived()
      .filter((event) => event.details?.messageId === chat.messageId)
      .map((event) => [event.type, event.content, event.actor.uri, event.at]);
    expect(versions).toEqual([
      ['chat.post', 'hello brave world', bob.uri, chat.clock.now() - 2_000],
      ['chat.edit', 'version two', bob.uri, chat.clock.now() - 1_000],
      ['chat.edit', 'version three', bob.uri, chat.clock.now()],
    ]);
  });

  it('the same text again (a retry after a lost answer) changes nothing and archives nothing more', async () => {
    const chat = await roomWithPost();
    const first = await chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'once' });
    chat.clock.advance(1_000);
    expect(await chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'once' })).toEqual(first);
    expect(chat.compliance.archived().filter((event) => event.type === 'chat.edit')).toHaveLength(1);
    expect(chat.delivery.named('chat.edited')).toHaveLength(1);
  });

  it('two edits in one millisecond are two versions: editedAt still rises', async () => {
    const chat = await roomWithPost();
    const first = await chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'one' });
    const second = await chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'two' });
    expect(second.editedAt).toBe(first.editedAt + 1);
    expect(new Set(chat.compliance.archived().filter((event) => event.type === 'chat.edit').map((event) => event.eventId)).size).toBe(2);
  });

  it('an edit racing a retraction that lands first meets the tombstone: 410, and the tombstone stays', async () => {
    const chat = await roomWithPost();
    chat.store.before('reviseMessage', () => chat.service.retract(callerOf(alice), { roomId: chat.roomId, messageId: chat.messageId }));
    await expect(chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'too late' })).rejects.toThrow(GoneError);
    expect(await chat.store.messageById(chat.roomId, chat.messageId)).toMatchObject({ seq: 1, text: '', retracted: true, retractedBy: alice.uri });
    expect(chat.compliance.archived().filter((event) => event.type === 'chat.edit')).toEqual([]);
  });

  it('an edit racing another edit of the author: the later one reads again and lands on top', async () => {
    const chat = await roomWithPost();
    chat.store.before('reviseMessage', () => chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'from the phone' }));
    await chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'from the desk' });
    expect((await chat.store.messageById(chat.roomId, chat.messageId))?.text).toBe('from the desk');
    expect(chat.compliance.archived().filter((event) => event.type === 'chat.edit').map((event) => event.content)).toEqual(['from the phone', 'from the desk']);
  });
});

describe('chat.retract', () => {
  it('the author retracts: a tombstone stays at its seq (no text, no file), seq stays gap-free', async () => {
    const chat = await roomWithPost();
    chat.clock.advance(2_000);
    const answer = await chat.service.retract(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId });
    expect(answer).toEqual({ roomId: chat.roomId, messageId: chat.messageId, seq: 1, retractedAt: chat.clock.now(), by: bob.uri });
    const { messages } = await chat.service.history(callerOf(carol), chat.roomId, undefined);
    expect(messages.map((message) => message.seq)).toEqual([2, 1]);
    expect(messages[1]).toEqual({
      roomId: chat.roomId,
      seq: 1,
      messageId: chat.messageId,
      from: { uri: bob.uri, name: 'bob' },
      text: '',
      ts: chat.clock.now() - 2_000,
      retracted: true,
      retractedAt: chat.clock.now(),
      retractedBy: bob.uri,
    });
  });

  it('a manager may retract someone else\'s message', async () => {
    const chat = await roomWithPost();
    expect(await chat.service.retract(callerOf(alice), { roomId: chat.roomId, messageId: chat.messageId })).toMatchObject({ by: alice.uri });
  });

  it('a member who is neither the author nor a manager is refused 403; a non-member of a closed room 403; of a secret room 404', async () => {
    const chat = await roomWithPost({ privacy: 'closed' });
    await expect(chat.service.retract(callerOf(carol), { roomId: chat.roomId, messageId: chat.messageId })).rejects.toThrow(ForbiddenError);
    await expect(chat.service.retract(callerOf(mallory), { roomId: chat.roomId, messageId: chat.messageId })).rejects.toThrow(ForbiddenError);
    await chat.service.updateRoom(alice, chat.roomId, { privacy: 'secret' });
    await expect(chat.service.retract(callerOf(mallory), { roomId: chat.roomId, messageId: chat.messageId })).rejects.toThrow(NotFoundError);
  });

  it('an author who lost access may not retract (403)', async () => {
    const chat = await roomWithPost({ privacy: 'closed' });
    await chat.service.updateRoom(alice, chat.roomId, { members: [carol.uri] });
    await expect(chat.service.retract(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId })).rejects.toThrow(ForbiddenError);
  });

  it('an unknown message answers 404', async () => {
    const chat = await roomWithPost();
    await expect(chat.service.retract(callerOf(alice), { roomId: chat.roomId, messageId: 'cmsg_nope' })).rejects.toThrow(NotFoundError);
  });

  it('readers but the retracting connection get chat.retracted with who retracted it', async () => {
    const chat = await roomWithPost();
    await chat.service.retract(callerOf(alice), { roomId: chat.roomId, messageId: chat.messageId });
    expect(chat.delivery.named('chat.retracted')).toEqual([{ connectionIds: [conn(bob)], payload: { roomId: chat.roomId, messageId: chat.messageId, seq: 1, by: alice.uri } }]);
  });

  it('search no longer finds retracted text, and its index entries are gone', async () => {
    const chat = await roomWithPost();
    await chat.service.retract(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId });
    expect(await search(chat, 'brave')).toEqual([]);
    expect(await search(chat, 'hello')).toEqual([]);
    for (const token of ['hello', 'brave', 'world']) expect(chat.store.tokens.get(`${chat.roomId}#${token}`)?.size ?? 0).toBe(0);
  });

  it('the archive records the retraction with who, when, whose message and the text it took back', async () => {
    const chat = await roomWithPost();
    chat.clock.advance(3_000);
    await chat.service.retract(callerOf(alice), { roomId: chat.roomId, messageId: chat.messageId });
    expect(chat.compliance.archived().filter((event) => event.type === 'chat.retract')).toEqual([
      expect.objectContaining({
        eventId: `chat.retract:${chat.roomId}:1`,
        actor: expect.objectContaining({ uri: alice.uri }),
        at: chat.clock.now(),
        content: 'hello brave world',
        details: { seq: 1, messageId: chat.messageId, author: bob.uri },
      }),
    ]);
  });

  it('retracting again (a retry, or author and manager at once) answers the tombstone, sends and archives nothing more', async () => {
    const chat = await roomWithPost();
    const first = await chat.service.retract(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId });
    chat.clock.advance(1_000);
    expect(await chat.service.retract(callerOf(alice), { roomId: chat.roomId, messageId: chat.messageId })).toEqual(first);
    expect(chat.delivery.named('chat.retracted')).toHaveLength(1);
    expect(chat.compliance.archived().filter((event) => event.type === 'chat.retract')).toHaveLength(1);
  });

  it('a retraction racing an edit that lands first reads again and retracts the edited message; the archive keeps both', async () => {
    const chat = await roomWithPost();
    chat.store.before('reviseMessage', () => chat.service.edit(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId, text: 'edited first' }));
    await chat.service.retract(callerOf(alice), { roomId: chat.roomId, messageId: chat.messageId });
    expect(await chat.store.messageById(chat.roomId, chat.messageId)).toMatchObject({ text: '', retracted: true });
    expect(chat.compliance.archived().filter((event) => event.type === 'chat.retract').map((event) => event.content)).toEqual(['edited first']);
    expect(await search(chat, 'edited')).toEqual([]);
  });

  it('a retracted message with a file keeps neither the file nor its id', async () => {
    const chat = chatOnMemory();
    const roomId = await chat.createRoom(alice);
    const { fileId } = await chat.service.uploadFile(callerOf(alice), { roomId, fileName: 'a.txt', size: 1, contentType: 'text/plain' });
    const { messageId } = await chat.service.post(callerOf(alice), { roomId, text: 'see file', fileId });
    await chat.service.retract(callerOf(alice), { roomId, messageId });
    const stored = await chat.store.messageById(roomId, messageId);
    expect(stored).not.toHaveProperty('file');
    expect(stored).not.toHaveProperty('fileId');
  });

  it('a retracted message\'s file is gone: every reader who kept its id is answered 410 on download, and it cannot be posted again', async () => {
    const chat = await roomWithPost();
    const { fileId } = await chat.service.uploadFile(callerOf(bob), { roomId: chat.roomId, fileName: 'leak.pdf', size: 1, contentType: 'application/pdf' });
    const { messageId } = await chat.service.post(callerOf(bob), { roomId: chat.roomId, text: 'the numbers', fileId });
    chat.clock.advance(1_000);
    await chat.service.retract(callerOf(alice), { roomId: chat.roomId, messageId });
    for (const who of [alice, bob, carol]) await expect(chat.service.downloadFile(callerOf(who), fileId)).rejects.toThrow(GoneError);
    expect(chat.store.files.get(fileId)).toMatchObject({ retractedAt: chat.clock.now() });
    await expect(chat.service.post(callerOf(bob), { roomId: chat.roomId, text: 'again', fileId })).rejects.toThrow(GoneError);
    // The archive keeps what it had: the post that carried the file, and the retraction naming it.
    expect(chat.compliance.archived().filter((event) => event.type === 'chat.retract').map((event) => event.details)).toEqual([
      { seq: 3, messageId, author: bob.uri, fileId },
    ]);
  });

  it('a retraction takes the message\'s mention out of each mentioned reader\'s count', async () => {
    const chat = await roomWithPost();
    await chat.service.join(callerOf(carol), chat.roomId);
    const { messageId } = await chat.service.post(callerOf(bob), { roomId: chat.roomId, text: 'look', mentions: [alice.uri, carol.uri] });
    const mentionsOf = async (who: typeof alice) => (await chat.service.resume(callerOf(who))).rooms.find((room) => room.roomId === chat.roomId)?.mentions;
    expect([await mentionsOf(alice), await mentionsOf(carol)]).toEqual([1, 1]);
    await chat.service.retract(callerOf(bob), { roomId: chat.roomId, messageId });
    expect([await mentionsOf(alice), await mentionsOf(carol)]).toEqual([0, 0]);
  });

  it('a retry by the same caller repairs a retraction that died after its commit: readers get chat.retracted, nothing archived twice', async () => {
    const chat = await roomWithPost();
    // The tombstone commits, then the function dies reading the room's followers for the event.
    chat.store.failNext('followers');
    await expect(chat.service.retract(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId })).rejects.toThrow();
    expect(await chat.store.messageById(chat.roomId, chat.messageId)).toMatchObject({ retracted: true });
    expect(chat.delivery.named('chat.retracted')).toEqual([]);
    const answer = await chat.service.retract(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId });
    expect(answer).toMatchObject({ seq: 1, by: bob.uri });
    expect(chat.delivery.named('chat.retracted')).toEqual([{ connectionIds: [conn(alice)], payload: { roomId: chat.roomId, messageId: chat.messageId, seq: 1, by: bob.uri } }]);
    expect(chat.compliance.archived().filter((event) => event.type === 'chat.retract')).toHaveLength(1);
  });

  it('a retraction whose unindexing failed leaves no tombstone; the retry unindexes and retracts', async () => {
    const chat = await roomWithPost();
    chat.store.failNext('unindexMessage');
    await expect(chat.service.retract(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId })).rejects.toThrow();
    await chat.service.retract(callerOf(bob), { roomId: chat.roomId, messageId: chat.messageId });
    for (const token of ['hello', 'brave', 'world']) expect(chat.store.tokens.get(`${chat.roomId}#${token}`)?.size ?? 0).toBe(0);
    expect(chat.delivery.named('chat.retracted')).toHaveLength(1);
  });
});
