import { BadRequestError, UnavailableError } from '../../../../shared/errors';
import { callerOf, chatOnMemory, user } from './chat-fixture';

/**
 * Reads, files and `session.resume` (docs/protocol.md "Compliance", "Files", "Losing access", quotas) on memory
 * ports: a read whose compliance send fails answers 503 and its retry archives it once; a room the user may no
 * longer read answers nothing.
 */
const alice = user('alice');
const bob = user('bob');
const carol = user('carol');

async function roomWithMessages(count: number, definition: Parameters<ReturnType<typeof chatOnMemory>['createRoom']>[1] = {}) {
  const chat = chatOnMemory({ maxFollowedRooms: 10, maxRoomsPerUser: 10, maxFilesPerRoom: 2, maxPendingInvitations: 10 });
  const roomId = await chat.createRoom(alice, { members: [bob.uri], ...definition });
  for (const who of [alice, bob]) await chat.service.join(callerOf(who), roomId);
  for (let i = 1; i <= count; i++) await chat.service.post(callerOf(alice), { roomId, text: `word ${i % 2 ? 'odd' : 'even'} ${i}`, clientMsgId: `c${i}` });
  return { ...chat, roomId };
}

describe('reads answer only after their compliance event is on the queue', () => {
  it('chat.bccontext whose send fails answers 503 "not yet archived; retry"; the retry (same request id) is archived once', async () => {
    const { service, compliance, roomId } = await roomWithMessages(3);
    compliance.queue.failNextSends = 1;
    await expect(service.history(callerOf(bob, 'req-h'), roomId, 10)).rejects.toThrow(new UnavailableError('not yet archived; retry', 200));
    const page = await service.history(callerOf(bob, 'req-h'), roomId, 10);
    expect(page.messages.map((message) => message.seq)).toEqual([3, 2, 1]);
    expect(compliance.archived().filter((event) => event.type === 'chat.history').map((event) => event.eventId)).toEqual([`chat.history:${roomId}:${bob.uri}:req-h`]);
  });

  it('chat.search whose send fails answers 503; the retry archives it', async () => {
    const { service, compliance, roomId } = await roomWithMessages(4);
    compliance.queue.failNextSends = 1;
    await expect(service.search(callerOf(bob), roomId, 'even', 10)).rejects.toBeInstanceOf(UnavailableError);
    expect((await service.search(callerOf(bob), roomId, 'even', 10)).messages.map((message) => message.seq)).toEqual([4, 2]);
    expect(compliance.sent().filter((event) => event.type === 'chat.search')).toHaveLength(1);
  });

  it('chat.search pages with its cursor, and a cursor it did not give is a 400', async () => {
    const { service, roomId } = await roomWithMessages(5);
    const first = await service.search(callerOf(bob), roomId, 'word', 2);
    expect(first.messages.map((message) => message.seq)).toEqual([5, 4]);
    const second = await service.search(callerOf(bob), roomId, 'word', 10, first.cursor);
    expect(second.messages.map((message) => message.seq)).toEqual([3, 2, 1]);
    await expect(service.search(callerOf(bob), roomId, 'word', 2, 'bm90IGEgc2VxIGN1cnNvcg')).rejects.toBeInstanceOf(BadRequestError);
  });

  it('chat.bccontext pages newest first with its cursor, complete and without repeats', async () => {
    const { service, roomId } = await roomWithMessages(5);
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await service.history(callerOf(bob), roomId, 2, cursor);
      seen.push(...page.messages.map((message) => message.seq));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual([5, 4, 3, 2, 1]);
  });
});

describe('files', () => {
  it('MAX_FILES_PER_ROOM: an upload whose record then fails still counts', async () => {
    const { service, store, roomId } = await roomWithMessages(0);
    store.failNext('putFile');
    await expect(service.uploadFile(callerOf(bob), { roomId, fileName: 'a.txt', size: 3, contentType: 'text/plain' })).rejects.toThrow();
    await service.uploadFile(callerOf(bob), { roomId, fileName: 'b.txt', size: 3, contentType: 'text/plain' });
    await expect(service.uploadFile(callerOf(bob), { roomId, fileName: 'c.txt', size: 3, contentType: 'text/plain' })).rejects.toMatchObject({ code: 'QuotaExceeded' });
  });

  it('a download whose send fails answers 503 and gives no URL; downloading follows reading (403 once removed from a closed room)', async () => {
    const { service, compliance, roomId } = await roomWithMessages(0, { privacy: 'closed' });
    const { fileId } = await service.uploadFile(callerOf(bob), { roomId, fileName: 'a.txt', size: 3, contentType: 'text/plain' });
    compliance.queue.failNextSends = 1;
    await expect(service.downloadFile(callerOf(bob), fileId)).rejects.toBeInstanceOf(UnavailableError);
    expect(await service.downloadFile(callerOf(bob), fileId)).toMatchObject({ fileId, fileName: 'a.txt' });
    await service.updateRoom(alice, roomId, { members: [] });
    await expect(service.downloadFile(callerOf(bob), fileId)).rejects.toMatchObject({ status: 403 });
  });

  it('a file of a secret room answers 404 naming the file to a non-member', async () => {
    const { service, roomId } = await roomWithMessages(0, { privacy: 'secret' });
    const { fileId } = await service.uploadFile(callerOf(bob), { roomId, fileName: 'a.txt', size: 3, contentType: 'text/plain' });
    await expect(service.downloadFile(callerOf(carol), fileId)).rejects.toThrow(`no file ${fileId}`);
  });
});

describe('session.resume', () => {
  it('answers what came after the seq given, for rooms the user may still read; one chat.history per room, the same event for the same range', async () => {
    const { service, compliance, roomId, createRoom } = await roomWithMessages(3);
    const closed = await createRoom(alice, { privacy: 'closed', members: [bob.uri] });
    await service.join(callerOf(bob), closed);
    await service.post(callerOf(alice), { roomId: closed, text: 'secret stuff' });
    await service.updateRoom(alice, closed, { members: [] });
    // The removal of bob's follower item never ran: resume still leaves the room out.
    await service.join(callerOf(bob), roomId);

    compliance.queue.failNextSends = 1;
    await expect(service.resume(callerOf(bob), { [roomId]: 1, [closed]: 0 })).rejects.toThrow('not yet archived; retry');
    const answer = await service.resume(callerOf(bob), { [roomId]: 1, [closed]: 0 });
    expect(answer.rooms.map((room) => [room.roomId, room.messages.map((message) => message.seq)])).toEqual([[roomId, [2, 3]]]);
    await service.resume(callerOf(bob), { [roomId]: 1 });
    const resumed = compliance.archived().filter((event) => event.details?.via === 'session.resume');
    expect(resumed.map((event) => event.eventId)).toEqual([`chat.history:${roomId}:${bob.uri}:resume:2-3`]);
  });

  it('a room with nothing new is answered without messages and archives nothing', async () => {
    const { service, compliance, roomId } = await roomWithMessages(2);
    const answer = await service.resume(callerOf(bob), { [roomId]: 2 });
    // With the caller's counts (SPEC §9; Bob joined before the two posts and has read none).
    expect(answer.rooms).toEqual([{ roomId, name: 'Room', lastSeq: 2, readSeq: 0, unread: 2, mentions: 0, messages: [] }]);
    expect(compliance.sent().filter((event) => event.details?.via === 'session.resume')).toEqual([]);
  });

  it('a first room whose newest message does not fit the budget presence and IM left answers no rooms and a cursor that brings it (no 500)', async () => {
    const { service, roomId } = await roomWithMessages(1);
    await service.post(callerOf(alice), { roomId, text: '\u0001'.repeat(4000) });
    const first = await service.resume(callerOf(bob), { [roomId]: 1 }, { budgetBytes: 10_000 });
    expect(first.rooms).toEqual([]);
    expect(first.cursor).toEqual(expect.any(String));
    const next = await service.resume(callerOf(bob), { [roomId]: 1 }, { cursor: first.cursor! });
    expect(next.rooms.map((room) => [room.roomId, room.messages.map((message) => message.seq)])).toEqual([[roomId, [2]]]);
    expect(next.cursor).toBeUndefined();
  });

  it('a cursor it did not give (empty, or a search cursor) is a 400', async () => {
    const { service, roomId } = await roomWithMessages(3);
    await expect(service.resume(callerOf(bob), {}, { cursor: '' })).rejects.toBeInstanceOf(BadRequestError);
    const { cursor } = await service.search(callerOf(bob), roomId, 'word', 1);
    await expect(service.history(callerOf(bob), roomId, 10, cursor)).rejects.toBeInstanceOf(BadRequestError);
  });
});
