import { randomUUID } from 'node:crypto';
import type { ChatMessage, ChatStore, Invitation, PostKey } from '../../../shared/chat/ports';
import { newRoom, type Room, type RoomDefinition } from '../../../shared/chat/room';
import type { ComplianceEvent } from '../../../shared/compliance/event';
import type { ComplianceOutbox } from '../../../shared/compliance/ports';
import { BadRequestError } from '../../../shared/errors';

export interface ChatStoreFixture {
  readonly store: ChatStore;
  /** The outbox the store writes its changes' compliance events to (read back through the outbox port). */
  readonly outbox: ComplianceOutbox;
}

/**
 * What every `ChatStore` promises (shared/chat/ports.ts), run against `MemoryChatStore`
 * (test/unit/contracts/chat-store.memory.test.ts) and `DynamoChatStore` on DynamoDB Local
 * (test/integration/contracts/chat-store.dynamodb.test.ts): a conditional room write loses to a concurrent one and
 * never writes `lastSeq` back; the seq counter gives each caller its own seq; a post's reservation is held until
 * stale, keeps the seq it recorded, and a commit is all or nothing with its outbox item; pages are complete, without
 * repeats, cut by `fit`, and a cursor of another query is a 400; counts stop at `atMost`; a missing item is absent,
 * never an error; staleness is decided by the code from the times given (TTL is not relied on).
 */
export function chatStoreContract(makeFixture: () => Promise<ChatStoreFixture>): void {
  let store: ChatStore;
  let outbox: ComplianceOutbox;
  const NOW = 1_800_000_000_000;

  beforeAll(async () => {
    ({ store, outbox } = await makeFixture());
  });

  /** Ids unique to the test, so one store (one table) serves the whole suite. */
  const unique = () => randomUUID().slice(0, 8);
  const userUri = (name: string) => `sip:${name}-${unique()}@contoso.com`;
  const definition = (overrides: Partial<RoomDefinition> = {}): RoomDefinition => ({
    name: `Room ${unique()}`,
    description: 'a room',
    category: `cat-${unique()}`,
    privacy: 'open',
    type: 'normal',
    members: [],
    managers: [],
    presenters: [],
    ...overrides,
  });
  const makeRoom = (overrides: Partial<RoomDefinition> = {}, creator = userUri('creator')): Room =>
    newRoom(`room_${unique()}`, { uri: creator, kind: 'enterprise', name: 'Creator', device: 'desktop' }, definition(overrides), NOW);
  const created = async (overrides: Partial<RoomDefinition> = {}, creator?: string): Promise<Room> => {
    const room = makeRoom(overrides, creator);
    expect(await store.createRoom(room)).toEqual({ kind: 'created' });
    return room;
  };
  const event = (type: ComplianceEvent['type'], roomId: string): ComplianceEvent => ({
    eventId: `${type}:${roomId}:${unique()}`,
    type,
    actor: { uri: 'sip:actor@contoso.com', name: 'Actor', kind: 'enterprise' },
    target: { kind: 'room', id: roomId },
    at: NOW,
    details: {},
  });
  const outboxIds = async () => new Set((await outbox.due(NOW + 1, 1000)).map((item) => item.eventId));
  const message = (roomId: string, seq: number, text = `message ${seq}`): ChatMessage => ({
    roomId,
    seq,
    messageId: `cmsg_${unique()}`,
    from: { uri: 'sip:author@contoso.com', name: 'Author' },
    text,
    ts: NOW + seq,
  });
  const postKey = (roomId: string): PostKey => ({ roomId, senderUri: userUri('sender'), clientMsgId: unique() });
  const resultOf = (posted: ChatMessage) => ({ roomId: posted.roomId, messageId: posted.messageId, seq: posted.seq, ts: posted.ts });

  describe('rooms', () => {
    it('a room never created is absent (getRoom undefined, left out of getRooms)', async () => {
      expect(await store.getRoom(`room_${unique()}`)).toBeUndefined();
      expect(await store.getRooms([`room_${unique()}`])).toEqual([]);
    });

    it('a created room reads back as written, once per id in getRooms', async () => {
      const room = await created();
      expect(await store.getRoom(room.roomId)).toEqual(room);
      const other = await created();
      const rooms = await store.getRooms([room.roomId, other.roomId, room.roomId, `room_${unique()}`]);
      expect(rooms.map((found) => found.roomId).sort()).toEqual([room.roomId, other.roomId].sort());
    });

    it('room.create with a client id already used answers the first room (replayed), and replayCreate finds it', async () => {
      const creator = userUri('creator');
      const clientId = unique();
      const first = makeRoom({}, creator);
      expect(await store.replayCreate(creator, clientId)).toBeUndefined();
      expect(await store.createRoom(first, clientId)).toEqual({ kind: 'created' });
      const second = makeRoom({}, creator);
      expect(await store.createRoom(second, clientId)).toEqual({ kind: 'replayed', roomId: first.roomId });
      expect(await store.replayCreate(creator, clientId)).toBe(first.roomId);
      expect(await store.getRoom(second.roomId)).toBeUndefined();
    });

    it('updateRoom writes on the version read: of two updates from the same read, exactly one wins', async () => {
      const room = await created();
      const outcomes = await Promise.all([
        store.updateRoom(room, { ...room, description: 'first', version: room.version + 1 }),
        store.updateRoom(room, { ...room, description: 'second', version: room.version + 1 }),
      ]);
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      const stored = await store.getRoom(room.roomId);
      expect(stored?.version).toBe(room.version + 1);
      expect(stored?.description).toBe(outcomes[0] ? 'first' : 'second');
      expect(await store.updateRoom(room, { ...room, description: 'stale', version: room.version + 1 })).toBe(false);
    });

    it('updateRoom never writes lastSeq back: seqs taken after the read stay', async () => {
      const room = await created();
      expect(await store.takeSeq(room.roomId)).toBe(1);
      expect(await store.takeSeq(room.roomId)).toBe(2);
      expect(await store.updateRoom(room, { ...room, name: 'Renamed', version: room.version + 1 })).toBe(true);
      const stored = await store.getRoom(room.roomId);
      expect(stored).toMatchObject({ name: 'Renamed', lastSeq: 2, version: room.version + 1 });
      expect(await store.takeSeq(room.roomId)).toBe(3);
    });

    it('a deleted room is absent, and so are its followers and association items', async () => {
      const member = userUri('member');
      const room = await created({ members: [member] });
      await store.syncAssociations(room);
      await store.follow(room.roomId, member, NOW, event('chat.join', room.roomId));
      await store.deleteRoom(room);
      expect(await store.getRoom(room.roomId)).toBeUndefined();
      expect(await store.followers(room.roomId)).toEqual([]);
      expect(await store.followedRooms(member)).toEqual([]);
      expect(await store.associations(member, 'member')).toEqual([]);
      expect(await store.takeSeq(room.roomId)).toBeUndefined();
    });

    it('categories: absent until put, then read back', async () => {
      const category = `cat-${unique()}`;
      expect(await store.getCategory(category)).toBeUndefined();
      await store.putCategory({ category, creators: ['contoso.com'] });
      expect(await store.getCategory(category)).toEqual({ category, creators: ['contoso.com'] });
    });
  });

  describe('associations', () => {
    it('syncAssociations indexes each role by user (case-insensitively), and removes what `previous` held and `room` does not', async () => {
      const alice = userUri('Alice');
      const bob = userUri('bob');
      const room = await created({ members: [alice, bob], presenters: [bob] });
      await store.syncAssociations(room);
      await store.syncAssociations(room); // idempotent
      expect(await store.associations(alice.toUpperCase(), 'member')).toEqual([room.roomId]);
      expect(await store.associations(bob, 'presenter')).toEqual([room.roomId]);
      expect(await store.associations(bob, 'manager')).toEqual([]);
      const next = { ...room, members: room.members.filter((uri) => uri !== bob.toLowerCase()), presenters: [], version: room.version + 1 };
      await store.syncAssociations(next, room);
      expect(await store.associations(bob, 'member')).toEqual([]);
      expect(await store.associations(bob, 'presenter')).toEqual([]);
      expect(await store.associations(alice, 'member')).toEqual([room.roomId]);
    });

    it('countAssociations counts up to atMost', async () => {
      const creator = userUri('creator');
      for (let i = 0; i < 3; i++) await store.syncAssociations(await created({}, creator));
      expect(await store.countAssociations(creator, 'manager', 10)).toBe(3);
      expect(await store.countAssociations(creator, 'manager', 2)).toBe(2);
      expect(await store.countAssociations(userUri('nobody'), 'manager', 2)).toBe(0);
    });
  });

  describe('directory', () => {
    it('lists open and closed rooms by name prefix in name order, per category and across categories; never secret ones', async () => {
      const category = `cat-${unique()}`;
      const tag = unique();
      const beta = await created({ category, name: `${tag} Beta`, privacy: 'closed' });
      const alpha = await created({ category, name: `${tag} alpha` });
      await created({ category, name: `${tag} secret`, privacy: 'secret' });
      await created({ name: `${tag} elsewhere` });
      const page = await store.directory(category, tag, 10);
      expect(page).toEqual({ items: [alpha, beta].map(({ roomId, name, description, category: c, privacy }) => ({ roomId, name, description, category: c, privacy })) });
      expect((await store.directory(undefined, tag, 10)).items.map((entry) => entry.name)).toEqual([`${tag} alpha`, `${tag} Beta`, `${tag} elsewhere`]);
    });

    it('pages with a cursor: complete, without repeats; `fit` cuts a page and the cursor follows the cut', async () => {
      const category = `cat-${unique()}`;
      const names = ['a', 'b', 'c', 'd', 'e'];
      for (const name of names) await created({ category, name });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.directory(category, '', 2, cursor);
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((entry) => entry.name));
        cursor = page.cursor;
      } while (cursor);
      expect(seen).toEqual(names);
      const cut = await store.directory(category, '', 10, undefined, () => 1);
      expect(cut.items.map((entry) => entry.name)).toEqual(['a']);
      expect((await store.directory(category, '', 10, cut.cursor)).items.map((entry) => entry.name)).toEqual(['b', 'c', 'd', 'e']);
    });

    it('a cursor of another prefix is a 400', async () => {
      const category = `cat-${unique()}`;
      for (const name of ['xa', 'xb']) await created({ category, name });
      const { cursor } = await store.directory(category, 'x', 1);
      expect(cursor).toBeDefined();
      await expect(store.directory(category, 'y', 1, cursor)).rejects.toBeInstanceOf(BadRequestError);
    });

    it('an update moves the entry (renamed), and one made secret or deleted leaves the directory', async () => {
      const category = `cat-${unique()}`;
      const room = await created({ category, name: 'before' });
      const renamed = { ...room, name: 'after', version: room.version + 1 };
      expect(await store.updateRoom(room, renamed)).toBe(true);
      expect((await store.directory(category, '', 10)).items.map((entry) => entry.name)).toEqual(['after']);
      const secret = { ...renamed, privacy: 'secret' as const, version: renamed.version + 1 };
      expect(await store.updateRoom(renamed, secret)).toBe(true);
      expect((await store.directory(category, '', 10)).items).toEqual([]);
      const listed = await created({ category, name: 'listed' });
      await store.deleteRoom(listed);
      expect((await store.directory(category, '', 10)).items).toEqual([]);
      expect((await store.directory(undefined, 'listed', 10)).items.filter((entry) => entry.roomId === listed.roomId)).toEqual([]);
    });
  });

  describe('followers', () => {
    it('follow adds the follower with its event in the outbox; following again is one follower', async () => {
      const room = await created();
      const uri = userUri('follower');
      const join = event('chat.join', room.roomId);
      await store.follow(room.roomId, uri, NOW, join);
      await store.follow(room.roomId, uri, NOW, event('chat.join', room.roomId));
      expect(await store.followers(room.roomId)).toEqual([uri]);
      expect(await store.followedRooms(uri)).toEqual([room.roomId]);
      expect(await store.isFollowing(room.roomId, uri)).toBe(true);
      expect(await outboxIds()).toContain(join.eventId);
    });

    it('unfollow is true with its event in the outbox when the user followed; false, and no event, when not', async () => {
      const room = await created();
      const uri = userUri('follower');
      await store.follow(room.roomId, uri, NOW, event('chat.join', room.roomId));
      const part = event('chat.part', room.roomId);
      expect(await store.unfollow(room.roomId, uri, part)).toBe(true);
      expect(await store.isFollowing(room.roomId, uri)).toBe(false);
      const again = event('chat.part', room.roomId);
      expect(await store.unfollow(room.roomId, uri, again)).toBe(false);
      const ids = await outboxIds();
      expect(ids).toContain(part.eventId);
      expect(ids).not.toContain(again.eventId);
    });

    it('of two unfollows of the same follower, exactly one is true', async () => {
      const room = await created();
      const uri = userUri('follower');
      await store.follow(room.roomId, uri, NOW, event('chat.join', room.roomId));
      const outcomes = await Promise.all([store.unfollow(room.roomId, uri, event('chat.part', room.roomId)), store.unfollow(room.roomId, uri, event('chat.part', room.roomId))]);
      expect(outcomes.filter(Boolean)).toHaveLength(1);
    });

    it('countFollowed counts up to atMost', async () => {
      const uri = userUri('follower');
      for (let i = 0; i < 3; i++) await store.follow((await created()).roomId, uri, NOW, event('chat.join', 'r'));
      expect(await store.countFollowed(uri, 10)).toBe(3);
      expect(await store.countFollowed(uri, 2)).toBe(2);
      expect(await store.countFollowed(userUri('nobody'), 2)).toBe(0);
    });
  });

  describe('file slots and files', () => {
    it('takeFileSlot takes up to max slots, then false; false for a room that does not exist', async () => {
      const room = await created();
      expect(await Promise.all([store.takeFileSlot(room.roomId, 2), store.takeFileSlot(room.roomId, 2), store.takeFileSlot(room.roomId, 2)])).toEqual(
        expect.arrayContaining([true, true, false]),
      );
      expect(await store.takeFileSlot(room.roomId, 2)).toBe(false);
      expect(await store.takeFileSlot(`room_${unique()}`, 2)).toBe(false);
    });

    it('a file reads back as put; a missing file is absent; a second put of the same id is refused', async () => {
      const file = { fileId: `file_${unique()}`, roomId: 'room_x', uploader: 'sip:u@contoso.com', name: 'a.txt', size: 3, contentType: 'text/plain', key: 'k', createdAt: NOW };
      expect(await store.getFile(file.fileId)).toBeUndefined();
      await store.putFile(file);
      expect(await store.getFile(file.fileId)).toEqual(file);
      await expect(store.putFile({ ...file, name: 'b.txt' })).rejects.toThrow();
      expect(await store.getFile(file.fileId)).toEqual(file);
    });
  });

  describe('posts', () => {
    it('takeSeq gives each caller its own seq, from 1; undefined for a room that does not exist', async () => {
      const room = await created();
      const seqs = await Promise.all(Array.from({ length: 5 }, () => store.takeSeq(room.roomId)));
      expect([...seqs].sort()).toEqual([1, 2, 3, 4, 5]);
      expect((await store.getRoom(room.roomId))?.lastSeq).toBe(5);
      expect(await store.takeSeq(`room_${unique()}`)).toBeUndefined();
    });

    it('a reservation is held: a second reservePost is refused until the hold is older than staleBefore', async () => {
      const key = postKey('room_x');
      expect(await store.getPost(key)).toBeUndefined();
      expect(await store.reservePost(key, NOW, NOW - 30_000)).toEqual({});
      expect(await store.getPost(key)).toEqual({ status: 'pending', reservedAt: NOW });
      expect(await store.reservePost(key, NOW + 1, NOW + 1 - 30_000)).toBeUndefined();
      expect(await store.reservePost(key, NOW + 30_001, NOW + 1)).toEqual({});
      expect(await store.getPost(key)).toEqual({ status: 'pending', reservedAt: NOW + 30_001 });
    });

    it('of two reservePost racing on a free key, exactly one wins', async () => {
      const key = postKey('room_x');
      const outcomes = await Promise.all([store.reservePost(key, NOW, NOW - 30_000), store.reservePost(key, NOW, NOW - 30_000)]);
      expect(outcomes.filter((outcome) => outcome !== undefined)).toHaveLength(1);
    });

    it('the recorded seq survives a release and comes back to the retry that takes the reservation over', async () => {
      const key = postKey('room_x');
      await store.reservePost(key, NOW, NOW - 30_000);
      await store.recordPostSeq(key, NOW, 7);
      expect(await store.getPost(key)).toEqual({ status: 'pending', reservedAt: NOW, seq: 7 });
      await store.releasePost(key);
      expect(await store.reservePost(key, NOW + 5, NOW + 5 - 30_000)).toEqual({ seq: 7 });
    });

    it('recordPostSeq on a reservation taken over since is refused; releasePost of a key never reserved writes nothing', async () => {
      const key = postKey('room_x');
      await store.reservePost(key, NOW, NOW - 30_000);
      await store.releasePost(key);
      await store.reservePost(key, NOW + 1, NOW + 1 - 30_000);
      await expect(store.recordPostSeq(key, NOW, 3)).rejects.toThrow();
      const never = postKey('room_x');
      await store.releasePost(never);
      expect(await store.getPost(never)).toBeUndefined();
    });

    it('commitMessage stores the message, its answer (done) and its outbox item together', async () => {
      const room = await created();
      const key = postKey(room.roomId);
      await store.reservePost(key, NOW, NOW - 30_000);
      const posted = message(room.roomId, 1);
      const post = event('chat.post', room.roomId);
      expect(await store.commitMessage(posted, post, { key, result: resultOf(posted) })).toBe('committed');
      expect(await store.messagesAt(room.roomId, [1])).toEqual([posted]);
      expect(await store.getPost(key)).toEqual({ status: 'done', result: resultOf(posted) });
      expect(await outboxIds()).toContain(post.eventId);
      // A done reservation is not taken again, stale or not.
      expect(await store.reservePost(key, NOW + 60_000, NOW + 60_000)).toBeUndefined();
    });

    it('commitMessage is `taken`, writing nothing, when the seq holds a message or the answer is already done', async () => {
      const room = await created();
      const first = message(room.roomId, 1);
      expect(await store.commitMessage(first, event('chat.post', room.roomId))).toBe('committed');
      const other = { ...message(room.roomId, 1), text: 'another' };
      const lost = event('chat.post', room.roomId);
      expect(await store.commitMessage(other, lost)).toBe('taken');
      expect(await store.messagesAt(room.roomId, [1])).toEqual([first]);

      const key = postKey(room.roomId);
      const done = message(room.roomId, 2);
      expect(await store.commitMessage(done, event('chat.post', room.roomId), { key, result: resultOf(done) })).toBe('committed');
      const elsewhere = message(room.roomId, 3);
      expect(await store.commitMessage(elsewhere, lost, { key, result: resultOf(elsewhere) })).toBe('taken');
      expect(await store.messagesAt(room.roomId, [3])).toEqual([]);
      expect(await store.getPost(key)).toEqual({ status: 'done', result: resultOf(done) });
      expect(await outboxIds()).not.toContain(lost.eventId);
    });
  });

  describe('messages', () => {
    const filled = async (count: number) => {
      const room = await created();
      const messages = [];
      for (let seq = 1; seq <= count; seq++) {
        const posted = message(room.roomId, seq, seq % 2 === 0 ? `even word ${seq}` : `odd word ${seq}`);
        await store.commitMessage(posted, event('chat.post', room.roomId));
        messages.push(posted);
      }
      return { room, messages };
    };

    it('history pages newest first with a cursor, complete and without repeats; `fit` cuts a page', async () => {
      const { room, messages } = await filled(5);
      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.history(room.roomId, 2, cursor);
        seen.push(...page.items.map((item) => item.seq));
        cursor = page.cursor;
      } while (cursor);
      expect(seen).toEqual([5, 4, 3, 2, 1]);
      const cut = await store.history(room.roomId, 10, undefined, () => 2);
      expect(cut.items).toEqual([messages[4], messages[3]]);
      expect((await store.history(room.roomId, 10, cut.cursor)).items.map((item) => item.seq)).toEqual([3, 2, 1]);
      expect(await store.history(`room_${unique()}`, 10)).toEqual({ items: [] });
    });

    it("a `before` that is not a history cursor is a 400", async () => {
      const category = `cat-${unique()}`;
      for (const name of ['a', 'b']) await created({ category, name });
      const { cursor } = await store.directory(category, '', 1);
      const { room } = await filled(1);
      await expect(store.history(room.roomId, 10, cursor)).rejects.toBeInstanceOf(BadRequestError);
    });

    it('messagesAfter answers the newest `limit` after the seq, oldest first, with `more` when more were missed', async () => {
      const { room } = await filled(5);
      const cut = await store.messagesAfter(room.roomId, 1, 2);
      expect({ seqs: cut.messages.map((item) => item.seq), more: cut.more }).toEqual({ seqs: [4, 5], more: true });
      const all = await store.messagesAfter(room.roomId, 2, 3);
      expect({ seqs: all.messages.map((item) => item.seq), more: all.more }).toEqual({ seqs: [3, 4, 5], more: false });
      expect(await store.messagesAfter(room.roomId, 5, 3)).toEqual({ messages: [], more: false });
    });

    it('the token index answers seqs newest first, below `beforeSeq`, at most `limit`; indexing again changes nothing', async () => {
      const { room, messages } = await filled(6);
      for (const posted of messages) await store.indexMessage(posted, posted.seq % 2 === 0 ? ['even', 'word'] : ['odd', 'word']);
      await store.indexMessage(messages[1]!, ['even', 'word']);
      expect(await store.seqsWithToken(room.roomId, 'even', 10)).toEqual([6, 4, 2]);
      expect(await store.seqsWithToken(room.roomId, 'word', 2, 5)).toEqual([4, 3]);
      expect(await store.seqsWithToken(room.roomId, 'none', 10)).toEqual([]);
    });

    it('messagesAt answers the messages that exist among the seqs', async () => {
      const { room, messages } = await filled(3);
      const found = await store.messagesAt(room.roomId, [3, 1, 9]);
      expect(found.sort((a, b) => a.seq - b.seq)).toEqual([messages[0], messages[2]]);
    });
  });

  describe('edits and retractions (SPEC §9)', () => {
    const committed = async (text = 'hello brave world') => {
      const room = await created();
      const posted = message(room.roomId, 1, text);
      await store.commitMessage(posted, event('chat.post', room.roomId));
      return { room, posted };
    };

    it('messageById finds a committed message by its id; an unknown id, or the id in another room, is absent', async () => {
      const { room, posted } = await committed();
      expect(await store.messageById(room.roomId, posted.messageId)).toEqual(posted);
      expect(await store.messageById(room.roomId, `cmsg_${unique()}`)).toBeUndefined();
      expect(await store.messageById((await created()).roomId, posted.messageId)).toBeUndefined();
    });

    it('reviseMessage replaces the message read with the next version and writes its outbox item; history reads the new one', async () => {
      const { room, posted } = await committed();
      const edited: ChatMessage = { ...posted, text: 'hello kind world', editedAt: NOW + 10 };
      const edit = event('chat.edit', room.roomId);
      expect(await store.reviseMessage(posted, edited, edit)).toBe(true);
      expect(await store.messageById(room.roomId, posted.messageId)).toEqual(edited);
      expect((await store.history(room.roomId, 10)).items).toEqual([edited]);
      expect(await outboxIds()).toContain(edit.eventId);
    });

    it('reviseMessage from a version no longer stored (another edit landed) is false and writes nothing', async () => {
      const { room, posted } = await committed();
      expect(await store.reviseMessage(posted, { ...posted, text: 'first', editedAt: NOW + 10 }, event('chat.edit', room.roomId))).toBe(true);
      const lost = event('chat.edit', room.roomId);
      expect(await store.reviseMessage(posted, { ...posted, text: 'second', editedAt: NOW + 11 }, lost)).toBe(false);
      expect((await store.messageById(room.roomId, posted.messageId))?.text).toBe('first');
      expect(await outboxIds()).not.toContain(lost.eventId);
    });

    it('a tombstone is final: it drops the text and the file, marks the file record retracted, and no revision of it lands', async () => {
      const room = await created();
      const fileId = `file_${unique()}`;
      const file = { fileId, roomId: room.roomId, uploader: 'sip:author@contoso.com', name: 'a.txt', size: 1, contentType: 'text/plain', key: 'k', createdAt: NOW };
      await store.putFile(file);
      const posted: ChatMessage = { ...message(room.roomId, 1), fileId, file: { fileId, name: 'a.txt', size: 1, contentType: 'text/plain' } };
      await store.commitMessage(posted, event('chat.post', room.roomId));
      const { fileId: _fileId, file: _file, ...rest } = posted;
      const tombstone: ChatMessage = { ...rest, text: '', retracted: true, retractedAt: NOW + 20, retractedBy: 'sip:author@contoso.com' };
      expect(await store.reviseMessage(posted, tombstone, event('chat.retract', room.roomId))).toBe(true);
      expect(await store.messagesAt(room.roomId, [1])).toEqual([tombstone]);
      expect(await store.getFile(fileId)).toEqual({ ...file, retractedAt: NOW + 20 });
      expect(await store.reviseMessage(tombstone, { ...tombstone, text: 'back', editedAt: NOW + 30 }, event('chat.edit', room.roomId))).toBe(false);
      expect(await store.messagesAt(room.roomId, [1])).toEqual([tombstone]);
    });

    it('of two revisions racing from the same read, exactly one lands', async () => {
      const { room, posted } = await committed();
      const outcomes = await Promise.all([
        store.reviseMessage(posted, { ...posted, text: 'edit', editedAt: NOW + 10 }, event('chat.edit', room.roomId)),
        store.reviseMessage(posted, { ...posted, text: '', retracted: true, retractedAt: NOW + 10, retractedBy: 'sip:m@contoso.com' }, event('chat.retract', room.roomId)),
      ]);
      expect(outcomes.filter(Boolean)).toHaveLength(1);
    });

    it('unindexMessage removes the seq from those tokens only; removing again changes nothing', async () => {
      const { room, posted } = await committed();
      await store.indexMessage(posted, ['hello', 'brave', 'world']);
      await store.unindexMessage(posted, ['brave']);
      await store.unindexMessage(posted, ['brave', 'never']);
      expect(await store.seqsWithToken(room.roomId, 'brave', 10)).toEqual([]);
      expect(await store.seqsWithToken(room.roomId, 'hello', 10)).toEqual([1]);
    });
  });

  describe('invitations', () => {
    const invitation = (roomId: string, invitedAt: number): Invitation => ({ roomId, roomName: `Room ${roomId}`, from: { uri: 'sip:host@contoso.com', name: 'Host' }, invitedAt });

    it('unseen invitations are counted up to atMost, found by room, and taken once each (oldest first) as `fit` keeps them', async () => {
      const uri = userUri('invitee');
      await store.putInvitations([uri], invitation('room_a', NOW));
      await store.putInvitations([uri, userUri('other')], invitation('room_b', NOW + 1));
      await store.putInvitations([uri], invitation('room_c', NOW + 2));
      expect(await store.countUnseenInvitations(uri, 10)).toBe(3);
      expect(await store.countUnseenInvitations(uri, 2)).toBe(2);
      expect(await store.holdsUnseenInvitation(uri, 'room_b')).toBe(true);
      expect(await store.holdsUnseenInvitation(uri, 'room_z')).toBe(false);

      const first = await store.takeUnseenInvitations(uri, NOW + 3, () => 2);
      expect(first).toEqual({ invitations: [invitation('room_a', NOW), invitation('room_b', NOW + 1)], more: true });
      expect(await store.countUnseenInvitations(uri, 10)).toBe(1);
      expect(await store.holdsUnseenInvitation(uri, 'room_a')).toBe(false);
      expect(await store.takeUnseenInvitations(uri, NOW + 4)).toEqual({ invitations: [invitation('room_c', NOW + 2)], more: false });
      expect(await store.takeUnseenInvitations(uri, NOW + 5)).toEqual({ invitations: [], more: false });
    });
  });

  describe('rooms people find and leave (issue 22 item 6)', () => {
    const invitation = (roomId: string, invitedAt: number): Invitation => ({ roomId, roomName: `Room ${roomId}`, from: { uri: 'sip:host@contoso.com', name: 'Host' }, invitedAt });

    it('holdsInvitation finds an invitation seen or not; removeInvitations deletes every one to that room only, and again changes nothing', async () => {
      const uri = userUri('invitee');
      await store.putInvitations([uri], invitation('room_a', NOW));
      await store.putInvitations([uri], invitation('room_b', NOW + 1));
      await store.takeUnseenInvitations(uri, NOW + 2);
      await store.putInvitations([uri], invitation('room_a', NOW + 3));
      expect(await store.holdsInvitation(uri, 'room_a')).toBe(true);
      expect(await store.holdsInvitation(uri, 'room_z')).toBe(false);
      await store.removeInvitations(uri, 'room_a');
      await store.removeInvitations(uri, 'room_a');
      expect(await store.holdsInvitation(uri, 'room_a')).toBe(false);
      expect(await store.holdsUnseenInvitation(uri, 'room_a')).toBe(false);
      expect(await store.countUnseenInvitations(uri, 10)).toBe(0);
      expect(await store.holdsInvitation(uri, 'room_b')).toBe(true);
    });

    it('followersPage pages the followers in URI order with a cursor, complete and without repeats; a cursor of another query is a 400', async () => {
      const room = await created();
      const uris = Array.from({ length: 5 }, (_, index) => `sip:f${index}-${unique()}@contoso.com`).sort();
      for (const uri of uris) await store.follow(room.roomId, uri, NOW, event('chat.join', room.roomId));
      const first = await store.followersPage(room.roomId, 2);
      expect(first.items).toEqual(uris.slice(0, 2));
      const second = await store.followersPage(room.roomId, 2, first.cursor);
      const third = await store.followersPage(room.roomId, 2, second.cursor);
      expect([...second.items, ...third.items]).toEqual(uris.slice(2));
      expect(third.cursor).toBeUndefined();
      await expect(store.followersPage(room.roomId, 2, Buffer.from('MSG#000000000001').toString('base64url'))).rejects.toBeInstanceOf(BadRequestError);
    });

    it('syncRoomWords indexes each distinct word of a listed room per category and across categories; roomsByWord finds them by prefix in word order', async () => {
      const room = await created({ name: 'Quarterly Planning', description: 'plans and PLANNING notes' });
      await store.syncRoomWords(room);
      await store.syncRoomWords(room);
      const page = await store.roomsByWord(room.category, 'plan', 10);
      expect(page.items.map(({ roomId, word }) => ({ roomId, word }))).toEqual([
        { roomId: room.roomId, word: 'planning' },
        { roomId: room.roomId, word: 'plans' },
      ]);
      expect(page.more).toBe(false);
      expect((await store.roomsByWord(undefined, 'quarterl', 1000)).items.filter((item) => item.roomId === room.roomId).map((item) => item.word)).toEqual(['quarterly']);
      expect((await store.roomsByWord(`cat-${unique()}`, 'plan', 10)).items).toEqual([]);
    });

    it('roomsByWord pages with positions, complete and without repeats; a position of another prefix is a 400', async () => {
      const word = `zq${unique()}`;
      const rooms = await Promise.all([1, 2, 3].map(() => created({ name: `${word} room`, category: 'shared-words' })));
      for (const room of rooms) await store.syncRoomWords(room);
      const first = await store.roomsByWord('shared-words', word, 2);
      expect(first.more).toBe(true);
      const second = await store.roomsByWord('shared-words', word, 2, first.items[1]!.position);
      expect(second.more).toBe(false);
      expect([...first.items, ...second.items].map((item) => item.roomId).sort()).toEqual(rooms.map((room) => room.roomId).sort());
      await expect(store.roomsByWord('shared-words', 'other', 2, first.items[1]!.position)).rejects.toBeInstanceOf(BadRequestError);
    });

    it('syncRoomWords with `previous` removes the words only it held; a secret room, or none (deleted), holds no word', async () => {
      const before = await created({ name: 'Alpha beta', description: '' });
      await store.syncRoomWords(before);
      const renamed = { ...before, name: 'Beta gamma', version: before.version + 1 };
      await store.syncRoomWords(renamed, before);
      const wordsOf = async (room: Room) =>
        (await Promise.all(['alpha', 'beta', 'gamma'].map((prefix) => store.roomsByWord(room.category, prefix, 10)))).flatMap((page) => page.items.map((item) => item.word));
      expect(await wordsOf(renamed)).toEqual(['beta', 'gamma']);
      const secret = { ...renamed, privacy: 'secret' as const, version: renamed.version + 1 };
      await store.syncRoomWords(secret, renamed);
      expect(await wordsOf(secret)).toEqual([]);
      await store.syncRoomWords(renamed);
      await store.syncRoomWords(undefined, renamed);
      expect(await wordsOf(renamed)).toEqual([]);
    });
  });
}
