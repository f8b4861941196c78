import { MAX_WORDS_PER_ROOM } from '../../../../shared/chat/room-words';
import { chatOnMemory, user } from './chat-fixture';

/**
 * `chat.chansrch` by word prefix (issue 22 item 6, SPEC §9): a room is found when any word of its name or description
 * starts with the query, case-insensitive, through the word index (docs/architecture.md, `RWORD#`), never a scan.
 */
const alice = user('alice');
const bob = user('bob');
const eve = user('eve');

async function names(chat: ReturnType<typeof chatOnMemory>, who = bob, query = '', category?: string, limit = 50, cursor?: string) {
  const answer = await chat.service.searchRooms(who, query, category, limit, cursor);
  return { names: answer.rooms.map((room) => room.name), cursor: answer.cursor };
}

describe('chat.chansrch by word prefix', () => {
  it('finds a room by any word of its name or description starting with the query, in any case', async () => {
    const chat = chatOnMemory();
    await chat.createRoom(alice, { name: 'Q3 Sales Review', description: 'Budget and FORECAST talk' });
    await chat.createRoom(alice, { name: 'Random', description: '' });
    for (const query of ['sales', 'SAL', 'revi', 'q3', 'budg', 'Forecast', 'talk']) expect((await names(chat, bob, query)).names).toEqual(['Q3 Sales Review']);
    expect((await names(chat, bob, 'ales')).names).toEqual([]);
  });

  it('rooms whose name starts with the query come first, in name order, as before; then those matched by another word', async () => {
    const chat = chatOnMemory();
    await chat.createRoom(alice, { name: 'Design weekly' });
    await chat.createRoom(alice, { name: 'Team design' });
    await chat.createRoom(alice, { name: 'Designers' });
    await chat.createRoom(alice, { name: 'Ops', description: 'design reviews' });
    const { names: found, cursor } = await names(chat, bob, 'design');
    expect(found.slice(0, 2)).toEqual(['Design weekly', 'Designers']);
    expect(found.slice(2).sort()).toEqual(['Ops', 'Team design']);
    expect(cursor).toBeUndefined();
  });

  it('a room holding several words that start with the query is answered once, across pages too', async () => {
    const chat = chatOnMemory();
    for (let index = 0; index < 7; index++) await chat.createRoom(alice, { name: `Room ${index}`, description: 'chat chatter chats chatroom' });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await names(chat, bob, 'chat', undefined, 2, cursor);
      seen.push(...page.names);
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 20);
    expect(seen.sort()).toEqual(Array.from({ length: 7 }, (_, index) => `Room ${index}`));
  });

  it('several query words: each one starts some word of the room', async () => {
    const chat = chatOnMemory();
    await chat.createRoom(alice, { name: 'Alpha project', description: 'release planning' });
    await chat.createRoom(alice, { name: 'Beta project', description: '' });
    expect((await names(chat, bob, 'proj alp')).names).toEqual(['Alpha project']);
    expect((await names(chat, bob, 'plan release')).names).toEqual(['Alpha project']);
    expect((await names(chat, bob, 'project gamma')).names).toEqual([]);
  });

  it('who may see which room, as before: a secret room is found by a word only by its members', async () => {
    const chat = chatOnMemory();
    await chat.createRoom(alice, { name: 'Hidden', description: 'merger talks', privacy: 'secret', members: [bob.uri] });
    await chat.createRoom(alice, { name: 'Closed door', description: 'merger notes', privacy: 'closed' });
    expect((await names(chat, bob, 'merger')).names.sort()).toEqual(['Closed door', 'Hidden']);
    expect((await names(chat, eve, 'merger')).names).toEqual(['Closed door']);
    expect((await names(chat, eve, 'talks')).names).toEqual([]);
  });

  it('room.update moves the words: the old ones no longer find the room, the new ones do; made secret, it leaves the index', async () => {
    const chat = chatOnMemory();
    const roomId = await chat.createRoom(alice, { name: 'Old name', description: 'apples' });
    await chat.service.updateRoom(alice, roomId, { name: 'Fresh title', description: 'oranges' });
    expect((await names(chat, bob, 'apples')).names).toEqual([]);
    expect((await names(chat, bob, 'title')).names).toEqual(['Fresh title']);
    expect((await names(chat, bob, 'oran')).names).toEqual(['Fresh title']);
    await chat.service.updateRoom(alice, roomId, { privacy: 'secret' });
    expect((await names(chat, eve, 'oran')).names).toEqual([]);
    expect([...chat.store.roomWordItems.values()].every((items) => items.size === 0)).toBe(true);
  });

  it('room.delete removes its word index items', async () => {
    const chat = chatOnMemory();
    const roomId = await chat.createRoom(alice, { name: 'Short lived', description: 'ephemeral' });
    await chat.service.deleteRoom(alice, roomId);
    expect((await names(chat, bob, 'ephem')).names).toEqual([]);
    expect([...chat.store.roomWordItems.values()].every((items) => items.size === 0)).toBe(true);
  });

  it('a category search reads that category only', async () => {
    const chat = chatOnMemory();
    await chat.createRoom(alice, { name: 'Ops room', description: 'incident response', category: 'ops' });
    await chat.createRoom(alice, { name: 'General room', description: 'incident chatter', category: 'general' });
    expect((await names(chat, bob, 'incident', 'ops')).names).toEqual(['Ops room']);
    expect((await names(chat, bob, 'incident')).names.sort()).toEqual(['General room', 'Ops room']);
  });

  it('without a scan: the word part is one query on the word prefix and one batch read of the rooms it names', async () => {
    const chat = chatOnMemory();
    await chat.createRoom(alice, { name: 'Quarterly planning', description: '' });
    chat.store.calls.length = 0;
    await names(chat, bob, 'plan');
    expect(chat.store.calls.filter((call) => call === 'roomsByWord' || call === 'directory')).toEqual(['directory', 'roomsByWord']);
  });

  it(`MAX_WORDS_PER_ROOM: a room indexes its first ${MAX_WORDS_PER_ROOM} distinct words (its name's first); later words do not find it`, async () => {
    const chat = chatOnMemory();
    const description = Array.from({ length: MAX_WORDS_PER_ROOM + 5 }, (_, index) => `w${index}x`).join(' ');
    await chat.createRoom(alice, { name: 'Wordy', description });
    expect((await names(chat, bob, 'w0x')).names).toEqual(['Wordy']);
    expect((await names(chat, bob, `w${MAX_WORDS_PER_ROOM + 3}x`)).names).toEqual([]);
  });

  it('a page the directory filled carries a cursor only when rooms found by another word follow', async () => {
    const chat = chatOnMemory();
    await chat.createRoom(alice, { name: 'Alpha one' });
    await chat.createRoom(alice, { name: 'Alpha two' });
    const last = await names(chat, bob, 'alpha', undefined, 2);
    expect(last).toEqual({ names: ['Alpha one', 'Alpha two'], cursor: undefined });
    await chat.createRoom(alice, { name: 'Zeta', description: 'alphabet soup' });
    const full = await names(chat, bob, 'alpha', undefined, 2);
    expect(full.names).toEqual(['Alpha one', 'Alpha two']);
    expect(await names(chat, bob, 'alpha', undefined, 2, full.cursor)).toEqual({ names: ['Zeta'], cursor: undefined });
  });

  it('an index item left behind (a rename whose index write failed) answers nothing: the room decides', async () => {
    const chat = chatOnMemory();
    const roomId = await chat.createRoom(alice, { name: 'Gamma', description: 'orchids' });
    chat.store.failNext('syncRoomWords');
    await expect(chat.service.updateRoom(alice, roomId, { description: 'tulips' })).rejects.toThrow();
    expect((await names(chat, bob, 'orch')).names).toEqual([]);
    // The manager's retry writes the index again.
    await chat.service.updateRoom(alice, roomId, { description: 'tulips' });
    expect((await names(chat, bob, 'tuli')).names).toEqual(['Gamma']);
  });
});
