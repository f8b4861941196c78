import type { ChatMessage } from '../../../../shared/chat/ports';
import { indexTokens } from '../../../../shared/chat/search-tokens';
import { BadRequestError } from '../../../../shared/errors';
import { callerOf, chatOnMemory, user } from './chat-fixture';

/**
 * `chat.search` with several words (issue 22 item 6, docs/protocol.md "Search"): a message matches when it holds every
 * word of the query; the words' index entries are intersected, page by page, never the room's history.
 */
const alice = user('alice');
const bob = user('bob');

async function roomWith(texts: readonly string[]) {
  const chat = chatOnMemory();
  const roomId = await chat.createRoom(alice, { members: [bob.uri] });
  for (const [index, text] of texts.entries()) await chat.service.post(callerOf(alice), { roomId, text, clientMsgId: `m${index + 1}` });
  const seqs = async (query: string, limit = 100, cursor?: string) => {
    const answer = await chat.service.search(callerOf(bob), roomId, query, limit, cursor);
    return { seqs: answer.messages.map((message) => message.seq), cursor: answer.cursor };
  };
  return { ...chat, roomId, seqs };
}

describe('chat.search with several words', () => {
  it('a message matches only when it holds every word: "number 7" finds message 7, not the 30 holding "number"', async () => {
    const { seqs } = await roomWith(Array.from({ length: 30 }, (_, index) => `number ${index + 1}`));
    expect((await seqs('number 7')).seqs).toEqual([7]);
    expect((await seqs('7 number')).seqs).toEqual([7]);
    expect((await seqs('number 17')).seqs).toEqual([17]);
  });

  it('words are case-insensitive and in any order; a message missing one word does not match', async () => {
    const { seqs } = await roomWith(['Deploy the RELEASE tonight', 'release notes', 'tonight: release party', 'party tonight']);
    expect((await seqs('Tonight release')).seqs).toEqual([3, 1]);
    expect((await seqs('release party tonight')).seqs).toEqual([3]);
    expect((await seqs('release absent')).seqs).toEqual([]);
  });

  it('a one-character word is not indexed, so it narrows what the other words find: "plan b" finds "plan b", not "plan c"', async () => {
    const { seqs } = await roomWith(['plan b is ready', 'plan c is ready', 'b plan', 'about a plan']);
    expect((await seqs('plan b')).seqs).toEqual([3, 1]);
  });

  it('a query of only one-character words, or of more than 8 words, is a 400 naming query', async () => {
    const { service, roomId } = await roomWith(['a b c']);
    for (const query of ['7', 'a b', 'one two three four five six seven eight nine']) {
      await expect(service.search(callerOf(bob), roomId, query, 10)).rejects.toMatchObject({ constructor: BadRequestError, field: 'query' });
    }
    await expect(service.search(callerOf(bob), roomId, 'one two three four five six seven eight', 10)).resolves.toEqual({ messages: [] });
  });

  it('pages of several-word matches with the cursor: every match once, newest first', async () => {
    const { seqs } = await roomWith(Array.from({ length: 12 }, (_, index) => `alpha ${index % 3 === 0 ? 'beta' : 'gamma'} ${index + 1}`));
    const first = await seqs('beta alpha', 2);
    expect(first.seqs).toEqual([10, 7]);
    const second = await seqs('beta alpha', 2, first.cursor);
    expect(second.seqs).toEqual([4, 1]);
    expect(second.cursor).toBeUndefined();
  });
});

describe('chat.search intersects index windows, never the history', () => {
  /** A room whose messages are written straight into the memory store with their index entries (thousands, fast). */
  async function largeRoom(textOf: (seq: number) => string, count: number) {
    const chat = chatOnMemory();
    const roomId = await chat.createRoom(alice, { members: [bob.uri] });
    const messages = new Map<number, ChatMessage>();
    for (let seq = 1; seq <= count; seq++) {
      const message: ChatMessage = { roomId, seq, messageId: `m${seq}`, from: { uri: alice.uri, name: 'alice' }, text: textOf(seq), ts: seq };
      messages.set(seq, message);
      await chat.store.indexMessage(message, indexTokens(message.text));
    }
    chat.store.messages.set(roomId, messages);
    return { ...chat, roomId };
  }

  it('a rare word deep under a common one is found: the lists are intersected window after window', async () => {
    const { service, store, roomId } = await largeRoom((seq) => (seq === 3 || seq === 1100 ? 'common rare' : 'common'), 1200);
    const answer = await service.search(callerOf(bob), roomId, 'rare common', 20);
    expect(answer.messages.map((message) => message.seq)).toEqual([1100, 3]);
    expect(answer.cursor).toBeUndefined();
    // Only the two matches are read as messages: the other 1,198 are never fetched.
    expect(store.callsOf('messagesAt')).toBe(2);
  });

  it('SEARCH_ENTRIES_PER_CALL: a call that read its budget answers what it found with a cursor, and the next call goes on from it', async () => {
    const { service, roomId } = await largeRoom((seq) => (seq === 1 ? 'common rare' : 'common'), 3000);
    const first = await service.search(callerOf(bob), roomId, 'common rare', 20);
    expect(first.messages).toEqual([]);
    expect(first.cursor).toBeDefined();
    const second = await service.search(callerOf(bob), roomId, 'common rare', 20, first.cursor);
    expect(second.messages.map((message) => message.seq)).toEqual([1]);
    expect(second.cursor).toBeUndefined();
  });
});
