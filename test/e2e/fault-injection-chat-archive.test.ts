import type { FaultRule } from '../../infra/local/faults';
import { UNPROCESSED_RETRY } from '../../shared/adapters/dynamodb-operations';
import { newId } from '../../shared/ids';
import { type ArchivedEvent, type ArchivingCloud, bodyHas, nothingLeftToExport, readArchive, startArchivingCloud } from '../support/archive';
import type { TestCloud } from '../support/cloud';
import { type ResponseFrame, type TestClient, waitFor } from '../support/client';
import { createRoom as createRoomWithin, ok as okWithin } from '../support/commands';
import { users } from '../support/users';

/**
 * Issue 16, items 3, 5 and 15, with faults injected at the HTTP level (as test/e2e/fault-injection.test.ts does):
 * every archived chat action that changes state (post, join, part) writes its compliance event to the outbox in
 * its own transaction, so an acknowledged action reaches the archive whether or not the client retries, and a
 * retry never puts it there twice; a `session.resume` that returns missed messages is archived as a read; a post
 * retried after its write failed keeps its seq. The export runs every 2 s into a directory of XML files.
 */
const EXPORT_SECONDS = 2;
const SLOW = 30_000;
let archiving: ArchivingCloud;
let cloud: TestCloud;

beforeAll(async () => {
  archiving = await startArchivingCloud('chat-archive', { exportSeconds: EXPORT_SECONDS, env: { SQS_REQUEST_TIMEOUT_MS: '2500' } });
  cloud = archiving.cloud;
});
afterEach(() => cloud.cloud.faults.clear());
afterAll(() => archiving.stop());

const inject = (rule: FaultRule) => archiving.inject(rule);
/** Every SQS send of a chat action of this room and type, for good: the SDK's attempts all fail. */
const sendsFail = (roomId: string, type: string) => inject({ service: 'sqs', match: bodyHas(roomId, `${type}:`), fault: { status: 500, type: 'InternalError' }, times: Infinity });

const ok = (client: TestClient, action: string, args: Record<string, unknown> = {}) => okWithin(client, action, args, SLOW);

function expectRetryLater(response: ResponseFrame): void {
  expect(response).toMatchObject({ status: 503, error: { code: 'Unavailable' } });
}

const createRoom = (client: TestClient) => createRoomWithin(client, { name: `archive ${newId('n')}` }, SLOW);
const archive = () => readArchive(archiving.exportDir);

/** Nothing of the room is left to export (not pending, not in the outbox), then its archived events. */
async function archivedOf(roomId: string, type: string): Promise<ArchivedEvent[]> {
  await waitFor(`the ${type} events of ${roomId} to leave the store and the outbox`, () => nothingLeftToExport(cloud, (event) => event.target.id === roomId), SLOW);
  return (await archive()).filter((event) => event.targetId === roomId && event.type === type);
}

/** Waits until the archive holds `count` events of this type for the room, then checks that none is doubled. */
async function expectArchived(roomId: string, type: string, count: number): Promise<ArchivedEvent[]> {
  await waitFor(`${count} ${type} event(s) of ${roomId} in the archive`, async () => ((await archive()).filter((e) => e.targetId === roomId && e.type === type).length >= count ? true : undefined), SLOW);
  const events = await archivedOf(roomId, type);
  expect(events).toHaveLength(count);
  expect(new Set(events.map((event) => event.id)).size).toBe(count);
  return events;
}

describe('chat actions through the outbox (issue 16 item 3)', () => {
  test('a post whose compliance send fails for good, never retried: answered 503, yet archived once by the export sweep', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.connect(alice!);
    const roomId = await createRoom(aliceClient);
    const text = `never retried ${newId('t')}`;
    const fault = inject({ service: 'sqs', match: bodyHas(text), fault: { status: 500, type: 'InternalError' }, times: Infinity });

    expectRetryLater(await aliceClient.request('chat.grpchat', { roomId, text, clientMsgId: 'c-1' }, SLOW));
    expect(fault.hits).toBeGreaterThan(0);
    // The client gives up; the message is in history all the same, so the archive must have it.
    expect(((await ok(aliceClient, 'chat.bccontext', { roomId })).messages as { text: string }[]).map((m) => m.text)).toEqual([text]);
    const [event] = await expectArchived(roomId, 'chat.post', 1);
    expect(event!.id).toBe(`chat.post:${roomId}:1`);
  }, SLOW * 3);

  test('a post whose compliance send fails, then retried with its clientMsgId: archived once (outbox copy and sent copy share the event id)', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.connect(alice!);
    const roomId = await createRoom(aliceClient);
    const text = `retried ${newId('t')}`;
    inject({ service: 'sqs', match: bodyHas(text), fault: { status: 500, type: 'InternalError' }, times: Infinity });
    expectRetryLater(await aliceClient.request('chat.grpchat', { roomId, text, clientMsgId: 'c-1' }, SLOW));
    cloud.cloud.faults.clear();
    const post = await ok(aliceClient, 'chat.grpchat', { roomId, text, clientMsgId: 'c-1' });

    const [event] = await expectArchived(roomId, 'chat.post', 1);
    expect(event!.id).toBe(`chat.post:${roomId}:${String(post.seq)}`);
  }, SLOW * 3);

  test('a post without a clientMsgId whose send fails: archived once by the sweep', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.connect(alice!);
    const roomId = await createRoom(aliceClient);
    const text = `no client id ${newId('t')}`;
    inject({ service: 'sqs', match: bodyHas(text), fault: { status: 500, type: 'InternalError' }, times: Infinity });
    await aliceClient.request('chat.grpchat', { roomId, text }, SLOW);
    await expectArchived(roomId, 'chat.post', 1);
  }, SLOW * 3);

  test('chat.join and chat.part whose sends fail for good: acknowledged (the outbox holds them), each archived once without a retry', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient);
    sendsFail(roomId, 'chat.join');
    sendsFail(roomId, 'chat.part');

    await ok(bobClient, 'chat.join', { roomId });
    await ok(bobClient, 'chat.part', { roomId });
    await expectArchived(roomId, 'chat.join', 1);
    await expectArchived(roomId, 'chat.part', 1);
  }, SLOW * 3);

  test('a removal by room.update is a part in the archive, once, even when its send fails', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient);
    await ok(bobClient, 'chat.join', { roomId });
    sendsFail(roomId, 'chat.part');
    await ok(aliceClient, 'room.update', { roomId, privacy: 'closed' });
    await bobClient.nextEvent('chat.removed', (event) => event.roomId === roomId);
    await expectArchived(roomId, 'chat.part', 1);
  }, SLOW * 3);
});

describe('session.resume is a read (issue 16 item 5)', () => {
  test('a resume that returns missed messages is archived as chat.history per room with messages; a room without missed messages is not', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const busy = await createRoom(aliceClient);
    const quiet = await createRoom(aliceClient);
    for (const roomId of [busy, quiet]) await ok(bobClient, 'chat.join', { roomId });
    await ok(aliceClient, 'chat.grpchat', { roomId: busy, text: 'missed one' });
    await ok(aliceClient, 'chat.grpchat', { roomId: busy, text: 'missed two' });

    const resumed = await ok(bobClient, 'session.resume', { since: { [busy]: 0, [quiet]: 0 } });
    expect((resumed.rooms as { roomId: string; messages: unknown[] }[]).find((room) => room.roomId === busy)!.messages).toHaveLength(2);
    await expectArchived(busy, 'chat.history', 1);
    expect(await archivedOf(quiet, 'chat.history')).toEqual([]);
  }, SLOW * 3);

  test('a resume whose archive send fails: 503 (nothing read is unrecorded), and the retry is archived once', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient);
    await ok(bobClient, 'chat.join', { roomId });
    await ok(aliceClient, 'chat.grpchat', { roomId, text: 'missed' });
    sendsFail(roomId, 'chat.history');

    expectRetryLater(await bobClient.request('session.resume', { since: { [roomId]: 0 } }, SLOW));
    cloud.cloud.faults.clear();
    await ok(bobClient, 'session.resume', { since: { [roomId]: 0 } });
    await ok(bobClient, 'session.resume', { since: { [roomId]: 0 } });
    // The same range read again by the same user is the same read: one event.
    await expectArchived(roomId, 'chat.history', 1);
  }, SLOW * 3);
});

describe('seq without holes (issue 16 item 15)', () => {
  test('a post whose message write fails is retried with its clientMsgId under the seq it reserved: no hole', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.connect(alice!);
    const roomId = await createRoom(aliceClient);
    const text = `write fails ${newId('t')}`;
    // Every write that carries the message (whatever the call), for good.
    inject({ service: 'dynamodb', match: (request) => request.body.includes(text) && /Write/.test(request.operation), fault: { status: 400, type: 'ThrottlingException' }, times: Infinity });

    expectRetryLater(await aliceClient.request('chat.grpchat', { roomId, text, clientMsgId: 'c-1' }, SLOW));
    cloud.cloud.faults.clear();
    const retried = await ok(aliceClient, 'chat.grpchat', { roomId, text, clientMsgId: 'c-1' });
    expect(retried.seq).toBe(1);
    const next = await ok(aliceClient, 'chat.grpchat', { roomId, text: 'the next one' });
    expect(next.seq).toBe(2);
    const history = (await ok(aliceClient, 'chat.bccontext', { roomId })).messages as { seq: number }[];
    expect(history.map((message) => message.seq)).toEqual([2, 1]);
    await expectArchived(roomId, 'chat.post', 2);
  }, SLOW * 3);

  test('a post whose search entries stay unprocessed through every round: 503; the retry writes them: searchable, delivered, stored and archived once', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient);
    await ok(bobClient, 'chat.join', { roomId });
    const word = `zebra${newId('w').replace(/[^a-z0-9]/gi, '')}`;
    const text = `index held back ${word}`;
    const rounds = UNPROCESSED_RETRY.rounds + 1;
    const fault = inject({ service: 'dynamodb', operation: 'BatchWriteItem', match: bodyHas(`RTOK#${roomId}`), fault: { holdBack: () => true }, times: rounds });

    expectRetryLater(await aliceClient.request('chat.grpchat', { roomId, text, clientMsgId: 'c-1' }, SLOW));
    expect(fault.hits).toBe(rounds);
    // The message, its answer and its event went in together; only the index is missing.
    const post = await ok(aliceClient, 'chat.grpchat', { roomId, text, clientMsgId: 'c-1' });
    expect(post.seq).toBe(1);
    expect(((await ok(aliceClient, 'chat.search', { roomId, query: word })).messages as { seq: number }[]).map((m) => m.seq)).toEqual([1]);
    await bobClient.nextEvent('chat.message', (event) => event.text === text);
    await ok(bobClient, 'ping');
    expect(bobClient.eventsNamed('chat.message').filter((event) => event.text === text)).toHaveLength(1);
    await expectArchived(roomId, 'chat.post', 1);
  }, SLOW * 3);

  test.each([
    ['with a clientMsgId', { clientMsgId: 'c-1' }],
    ['without a clientMsgId', {}],
  ])('a post whose transaction committed but whose answer was lost (%s): the SDK retry meets its own write; 200, seq 1, delivered, stored and archived once', async (_case, id) => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient);
    await ok(bobClient, 'chat.join', { roomId });
    const text = `committed, answer lost ${newId('t')}`;
    const fault = inject({ service: 'dynamodb', operation: 'TransactWriteItems', match: bodyHas(text), fault: { status: 500, type: 'InternalServerError', afterCommit: true }, times: 1 });

    const post = await ok(aliceClient, 'chat.grpchat', { roomId, text, ...id });
    expect(fault.hits).toBe(1);
    expect(post.seq).toBe(1);
    await bobClient.nextEvent('chat.message', (event) => event.text === text);
    await ok(bobClient, 'ping');
    expect(bobClient.eventsNamed('chat.message').filter((event) => event.text === text)).toHaveLength(1);
    expect(((await ok(aliceClient, 'chat.bccontext', { roomId })).messages as { seq: number }[]).map((m) => m.seq)).toEqual([1]);
    await expectArchived(roomId, 'chat.post', 1);
  }, SLOW * 3);
});

