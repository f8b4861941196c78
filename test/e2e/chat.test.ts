import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { makeChatHandler } from '../../functions/lib/chat-handler';
import { productionDependencies } from '../../functions/lib/dependencies';
import { DynamoChatStore } from '../../shared/adapters/chat-store-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/dynamodb';
import { S3FileStorage, s3SdkClient } from '../../shared/adapters/s3-file-storage';
import type { ChatStore } from '../../shared/chat/ports';
import { ChatService } from '../../shared/chat/service';
import { newId } from '../../shared/ids';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { type EventFrame, type TestClient, waitFor } from '../support/client';

/** SPEC §6 end to end, with a history page of 5 so that paging and `more` show with few messages. */
let cloud: TestCloud;
const PAGE = 5;
const MAX_BYTES = 1024;

beforeAll(async () => {
  cloud = await startTestCloud({ env: { CHAT_HISTORY_PAGE_SIZE: String(PAGE), CHAT_MAX_MESSAGE_BYTES: String(MAX_BYTES) } });
});
afterAll(async () => {
  await cloud.stop();
});

let userSeq = 0;
/** Fresh users per test, so events of one test never satisfy another's waits. */
function users(...names: string[]): string[] {
  userSeq++;
  return names.map((name) => `sip:${name}${userSeq}@contoso.com`);
}

interface Message {
  roomId: string;
  seq: number;
  messageId: string;
  text: string;
  from: { uri: string };
}

async function ok(client: TestClient, action: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const response = await client.request(action, args);
  expect(response).toMatchObject({ status: 200 });
  return response.body!;
}

async function createRoom(client: TestClient, args: Record<string, unknown>): Promise<string> {
  return String((await ok(client, 'room.create', { name: `room ${newId('n')}`, ...args })).roomId);
}

async function post(client: TestClient, roomId: string, text: string, clientMsgId?: string) {
  return (await ok(client, 'chat.grpchat', { roomId, text, ...(clientMsgId ? { clientMsgId } : {}) })) as { seq: number; messageId: string; ts: number };
}

const messagesOf = (body: Record<string, unknown>) => body.messages as Message[];

/** The compliance consumer has stored this event (its dedup marker exists). */
function archived(eventId: string) {
  return waitFor(`compliance event ${eventId}`, async () => {
    const { Item } = await dynamoDocumentClient().send(new GetCommand({ TableName: cloud.cloud.config.TABLE_NAME, Key: { PK: `CEVT#${eventId}`, SK: 'CEVT' } }));
    return Item;
  });
}

describe('server info', () => {
  test('chat.getserverinfo lists the limits and the implemented commands', async () => {
    const [alice] = users('alice');
    const body = await ok(await cloud.connect(alice!), 'chat.getserverinfo');
    expect(body).toMatchObject({ limits: { maxMessageBytes: MAX_BYTES, historyPageSize: PAGE } });
    expect(body.features).toEqual(expect.arrayContaining(['room.create', 'chat.join', 'chat.grpchat', 'chat.search', 'chat.getinv', 'session.resume']));
    expect(body.features).toEqual(expect.arrayContaining(['chat.file.upload', 'chat.file.download']));
    expect(body.limits).toMatchObject({ maxFileBytes: expect.any(Number) });
  });
});

describe('rooms and categories', () => {
  test('room.create is idempotent on clientId; the creator is manager and member', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const first = await createRoom(aliceClient, { name: 'Design', members: [bob], clientId: 'create-1' });
    const again = await createRoom(aliceClient, { name: 'Design', members: [bob], clientId: 'create-1' });
    expect(again).toBe(first);
    const joined = await ok(aliceClient, 'chat.join', { roomId: first });
    expect(joined).toMatchObject({ role: 'manager', room: { members: expect.arrayContaining([alice, bob]), managers: [alice] } });
    expect((await ok(aliceClient, 'chat.getassociations', { role: 'manager' })).rooms).toEqual([expect.objectContaining({ roomId: first })]);
    const bobRooms = (await ok(await cloud.connect(bob!), 'chat.getassociations', { role: 'member' })).rooms;
    expect(bobRooms).toEqual([expect.objectContaining({ roomId: first, name: 'Design' })]);
  });

  test('categories decide who creates: admins define them; undefined ones admit any enterprise user', async () => {
    const [alice, admin, guest] = users('alice', 'admin', 'guest');
    const aliceClient = await cloud.connect(alice!);
    const adminClient = await cloud.connect(admin!, 'admin');
    const category = `cat-${userSeq}`;
    expect((await aliceClient.request('admin.category.put', { category, creators: ['fabrikam.com'] })).status).toBe(403);
    await ok(adminClient, 'admin.category.put', { category, creators: ['fabrikam.com'] });
    expect(await aliceClient.request('room.create', { name: 'x', category })).toMatchObject({ status: 403, error: { code: 'Forbidden' } });
    await ok(adminClient, 'admin.category.put', { category, creators: [alice] });
    await createRoom(aliceClient, { category });
    // No definition: enterprise users of the home organization only.
    const federated = await cloud.connect('sip:guest@fabrikam.com', 'federated');
    expect((await federated.request('room.create', { name: 'y', category: `undefined-${userSeq}` })).status).toBe(403);
    await createRoom(await cloud.connect(guest!), { category: `undefined-${userSeq}` });
  });

  test('room.update: managers only; a non-manager is refused', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient, { members: [bob] });
    expect(await bobClient.request('room.update', { roomId, name: 'mine now' })).toMatchObject({ status: 403, error: { code: 'Forbidden' } });
    await ok(aliceClient, 'room.update', { roomId, name: 'Renamed', managers: [alice, bob] });
    await ok(bobClient, 'room.update', { roomId, description: 'bob manages too' });
    expect(await ok(bobClient, 'chat.join', { roomId })).toMatchObject({ role: 'manager', room: { name: 'Renamed', description: 'bob manages too' } });
    expect((await aliceClient.request('room.update', { roomId })).status).toBe(400);
  });

  test('room.delete: managers only; the room is gone afterwards', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient, {});
    expect((await bobClient.request('room.delete', { roomId })).status).toBe(403);
    await ok(aliceClient, 'room.delete', { roomId });
    expect((await bobClient.request('chat.join', { roomId })).status).toBe(404);
    expect((await ok(aliceClient, 'chat.getassociations', { role: 'manager' })).rooms).toEqual([]);
  });

  test('room.invite: managers only; the invitee gets chat.invitation, finds it once in chat.getinv, and may join', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const carolClient = await cloud.connect(carol!);
    const roomId = await createRoom(aliceClient, { name: 'Closed club', privacy: 'closed' });
    expect((await bobClient.request('chat.join', { roomId })).status).toBe(403);
    expect((await carolClient.request('room.invite', { roomId, uris: [bob] })).status).toBe(403);
    expect(await ok(aliceClient, 'room.invite', { roomId, uris: [bob] })).toEqual({ invited: [bob] });
    expect(await bobClient.nextEvent('chat.invitation')).toMatchObject({ roomId, roomName: 'Closed club', from: { uri: alice } });
    expect((await ok(bobClient, 'chat.getinv')).invitations).toEqual([expect.objectContaining({ roomId, roomName: 'Closed club' })]);
    expect((await ok(bobClient, 'chat.getinv')).invitations).toEqual([]);
    expect(await ok(bobClient, 'chat.join', { roomId })).toMatchObject({ role: 'member' });
  });
});

describe('privacy', () => {
  test('a secret room is invisible and unreadable to a non-member (404), and visible to its members', async () => {
    const [alice, bob, eve] = users('alice', 'bob', 'eve');
    const aliceClient = await cloud.connect(alice!);
    const eveClient = await cloud.connect(eve!);
    const name = `Secret plans ${userSeq}`;
    const roomId = await createRoom(aliceClient, { name, privacy: 'secret', members: [bob] });
    await post(aliceClient, roomId, 'the plan is ready');
    for (const [action, args] of [
      ['chat.join', { roomId }],
      ['chat.bccontext', { roomId }],
      ['chat.search', { roomId, query: 'plan' }],
      ['chat.grpchat', { roomId, text: 'let me in' }],
      ['room.update', { roomId, name: 'hijacked' }],
    ] as const) {
      expect(await eveClient.request(action, args)).toMatchObject({ status: 404, error: { code: 'NotFound', message: `no room ${roomId}` } });
    }
    expect((await ok(eveClient, 'chat.chansrch', { query: name })).rooms).toEqual([]);
    const bobClient = await cloud.connect(bob!);
    expect((await ok(bobClient, 'chat.chansrch', { query: name })).rooms).toEqual([expect.objectContaining({ roomId, privacy: 'secret' })]);
    expect(messagesOf(await ok(bobClient, 'chat.bccontext', { roomId }))).toEqual([expect.objectContaining({ text: 'the plan is ready' })]);
  });

  test('a closed room is found by anyone but joined and read by members only', async () => {
    const [alice, bob, eve] = users('alice', 'bob', 'eve');
    const aliceClient = await cloud.connect(alice!);
    const eveClient = await cloud.connect(eve!);
    const name = `Closed ${userSeq}`;
    const roomId = await createRoom(aliceClient, { name, privacy: 'closed', members: [bob] });
    expect((await ok(eveClient, 'chat.chansrch', { query: name.toLowerCase() })).rooms).toEqual([expect.objectContaining({ roomId, privacy: 'closed' })]);
    expect(await eveClient.request('chat.join', { roomId })).toMatchObject({ status: 403, error: { code: 'Forbidden' } });
    expect((await eveClient.request('chat.bccontext', { roomId })).status).toBe(403);
    expect((await eveClient.request('chat.grpchat', { roomId, text: 'hi' })).status).toBe(403);
    expect(await ok(await cloud.connect(bob!), 'chat.join', { roomId })).toMatchObject({ role: 'member' });
  });

  test('chat.bjoin joins many rooms, each answering on its own', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const open = await createRoom(aliceClient, {});
    const closed = await createRoom(aliceClient, { privacy: 'closed' });
    const secret = await createRoom(aliceClient, { privacy: 'secret' });
    const body = await ok(await cloud.connect(bob!), 'chat.bjoin', { roomIds: [open, closed, secret] });
    expect(body.rooms).toEqual([
      expect.objectContaining({ roomId: open, status: 200, role: 'visitor' }),
      expect.objectContaining({ roomId: closed, status: 403 }),
      { roomId: secret, status: 404, error: { code: 'NotFound', message: `no room ${secret}` } },
    ]);
  });

  test('chat.chansrch lists by category and name prefix, with a cursor', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const category = `search-${userSeq}`;
    const rooms = [];
    for (const name of ['Alpha one', 'Alpha two', 'Beta']) rooms.push(await createRoom(aliceClient, { name, category }));
    const bobClient = await cloud.connect(bob!);
    const first = await ok(bobClient, 'chat.chansrch', { category, query: 'alpha', limit: 1 });
    expect(first.rooms).toEqual([expect.objectContaining({ roomId: rooms[0], name: 'Alpha one', category })]);
    const second = await ok(bobClient, 'chat.chansrch', { category, query: 'alpha', limit: 1, cursor: first.cursor });
    expect(second.rooms).toEqual([expect.objectContaining({ roomId: rooms[1] })]);
    expect(second.cursor).toBeUndefined();
    expect((await ok(bobClient, 'chat.chansrch', { category })).rooms).toHaveLength(3);
  });
});

describe('posting, history and search', () => {
  test('every connected follower gets chat.message; the poster answers seq; history is newest first with a cursor', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobDesktop = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient, {});
    await ok(bobDesktop, 'chat.join', { roomId });
    const bobMobile = await cloud.connect(bob!, 'enterprise', 'mobile');
    const sent = [];
    for (let i = 1; i <= 7; i++) sent.push(await post(aliceClient, roomId, `message ${i}`));
    expect(sent.map((result) => result.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Followed rooms are per user: the device that never joined receives them too.
    for (const device of [bobDesktop, bobMobile]) {
      await device.nextEvent('chat.message', (e) => e.seq === 7);
      expect(device.eventsNamed('chat.message').map((e) => e.text)).toEqual(sent.map((_, i) => `message ${i + 1}`));
    }
    const firstPage = await ok(bobDesktop, 'chat.bccontext', { roomId });
    expect(messagesOf(firstPage).map((m) => m.seq)).toEqual([7, 6, 5, 4, 3]);
    const secondPage = await ok(bobDesktop, 'chat.bccontext', { roomId, before: firstPage.cursor });
    expect(messagesOf(secondPage).map((m) => m.seq)).toEqual([2, 1]);
    expect(secondPage.cursor).toBeUndefined();
    expect((await bobDesktop.request('chat.bccontext', { roomId, before: 'bm90LWEtY3Vyc29y' })).status).toBe(400);
  });

  test('a message over CHAT_MAX_MESSAGE_BYTES is 413', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.connect(alice!);
    const roomId = await createRoom(aliceClient, {});
    expect(await aliceClient.request('chat.grpchat', { roomId, text: 'é'.repeat(MAX_BYTES / 2 + 1) })).toMatchObject({ status: 413, error: { code: 'TooLarge' } });
  });

  test('in an auditorium only presenters post', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const aliceClient = await cloud.connect(alice!);
    const roomId = await createRoom(aliceClient, { type: 'auditorium', presenters: [bob] });
    const carolClient = await cloud.connect(carol!);
    await ok(carolClient, 'chat.join', { roomId });
    expect(await carolClient.request('chat.grpchat', { roomId, text: 'question!' })).toMatchObject({ status: 403, error: { code: 'Forbidden' } });
    expect(await aliceClient.request('chat.grpchat', { roomId, text: 'manager, not presenter' })).toMatchObject({ status: 403 });
    const sent = await post(await cloud.connect(bob!), roomId, 'keynote begins');
    expect(await carolClient.nextEvent('chat.message', (e) => e.seq === sent.seq)).toMatchObject({ text: 'keynote begins', from: { uri: bob } });
  });

  test('a retried clientMsgId is stored and delivered once', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient, {});
    await ok(bobClient, 'chat.join', { roomId });
    const first = await post(aliceClient, roomId, 'once', 'retry-1');
    expect(await post(aliceClient, roomId, 'once', 'retry-1')).toEqual(first);
    const next = await post(aliceClient, roomId, 'after');
    expect(next.seq).toBe(first.seq + 1);
    await bobClient.nextEvent('chat.message', (e) => e.seq === next.seq);
    expect(bobClient.eventsNamed('chat.message').map((e) => e.seq)).toEqual([1, 2]);
    expect(messagesOf(await ok(bobClient, 'chat.bccontext', { roomId })).map((m) => m.text)).toEqual(['after', 'once']);
  });

  test('chat.part stops the live messages', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient, {});
    await ok(aliceClient, 'chat.join', { roomId });
    await ok(bobClient, 'chat.join', { roomId });
    await post(aliceClient, roomId, 'one');
    await bobClient.nextEvent('chat.message', (e) => e.seq === 1);
    expect(await ok(bobClient, 'chat.part', { roomId })).toEqual({ followed: false });
    const aliceMobile = await cloud.connect(alice!, 'enterprise', 'mobile');
    await post(aliceClient, roomId, 'two');
    // Alice's other device receiving seq 2 shows the fan-out ran; a ping round trip lets a stray event arrive.
    await aliceMobile.nextEvent('chat.message', (e) => e.seq === 2);
    await bobClient.request('ping');
    expect(bobClient.eventsNamed('chat.message').map((e) => e.seq)).toEqual([1]);
  });

  test('chat.search finds messages holding every query word, newest first', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.connect(alice!);
    const roomId = await createRoom(aliceClient, {});
    for (const text of ['Deploy the release tonight', 'release notes are done', 'Tonight: RELEASE party!', 'nothing to see']) await post(aliceClient, roomId, text);
    expect(messagesOf(await ok(aliceClient, 'chat.search', { roomId, query: 'release' })).map((m) => m.seq)).toEqual([3, 2, 1]);
    expect(messagesOf(await ok(aliceClient, 'chat.search', { roomId, query: 'tonight release' })).map((m) => m.seq)).toEqual([3, 1]);
    expect(messagesOf(await ok(aliceClient, 'chat.search', { roomId, query: 'release', limit: 1 })).map((m) => m.seq)).toEqual([3]);
    expect(messagesOf(await ok(aliceClient, 'chat.search', { roomId, query: 'absent' }))).toEqual([]);
  });
});

describe('concurrency', () => {
  test('20 clients post at once: seq is 1..20 without gap or duplicate, and every follower receives all 20', async () => {
    const posters = users(...Array.from({ length: 20 }, (_, i) => `poster${i}`));
    const [owner, listener] = users('owner', 'listener');
    const ownerClient = await cloud.connect(owner!);
    const roomId = await createRoom(ownerClient, {});
    const listenerClient = await cloud.connect(listener!);
    await ok(listenerClient, 'chat.join', { roomId });
    const clients = await Promise.all(posters.map((uri) => cloud.connect(uri)));
    await Promise.all(clients.map((client) => ok(client, 'chat.join', { roomId })));

    const results = await Promise.all(clients.map((client, i) => post(client, roomId, `concurrent ${i}`, `c-${i}`)));

    expect(results.map((result) => result.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const allSeqs = (events: EventFrame[]) => events.map((e) => Number(e.seq)).sort((a, b) => a - b);
    await waitFor('the listener to receive 20 messages', () => listenerClient.eventsNamed('chat.message').length >= 20);
    expect(allSeqs(listenerClient.eventsNamed('chat.message'))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // Each poster follows too: the other 19 as events, its own as its answer.
    for (const [i, client] of clients.entries()) {
      await waitFor(`poster ${i} to receive 19 messages`, () => client.eventsNamed('chat.message').length >= 19);
      const seen = [...allSeqs(client.eventsNamed('chat.message')), results[i]!.seq].sort((a, b) => a - b);
      expect(seen).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));
    }
  });
});

describe('session.resume', () => {
  test('a follower misses 3 messages, resumes on another device, gets exactly those 3, then live messages', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const roomId = await createRoom(aliceClient, { name: 'Resume room' });
    const bobDesktop = await cloud.connect(bob!);
    await ok(bobDesktop, 'chat.join', { roomId });
    await post(aliceClient, roomId, 'seen');
    const lastSeen = Number((await bobDesktop.nextEvent('chat.message')).seq);
    await bobDesktop.close();
    for (const text of ['missed 1', 'missed 2', 'missed 3']) await post(aliceClient, roomId, text);

    const bobMobile = await cloud.connect(bob!, 'enterprise', 'mobile');
    const resumed = await ok(bobMobile, 'session.resume', { since: { [roomId]: lastSeen } });

    expect(resumed.rooms).toEqual([{ roomId, name: 'Resume room', lastSeq: 4, messages: [expect.objectContaining({ seq: 2, text: 'missed 1' }), expect.objectContaining({ seq: 3 }), expect.objectContaining({ seq: 4, text: 'missed 3' })] }]);
    expect(resumed.presence).toBeDefined();
    const live = await post(aliceClient, roomId, 'live');
    expect(await bobMobile.nextEvent('chat.message')).toMatchObject({ seq: live.seq, text: 'live' });
  });

  test('more was missed than one answer holds: the newest page and more: true', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const roomId = await createRoom(aliceClient, {});
    await ok(await cloud.connect(bob!), 'chat.join', { roomId });
    for (let i = 1; i <= PAGE + 2; i++) await post(aliceClient, roomId, `m${i}`);
    const resumed = await ok(await cloud.connect(bob!, 'enterprise', 'web'), 'session.resume', { since: { [roomId]: 0 } });
    const [room] = resumed.rooms as { messages: Message[]; more?: boolean }[];
    expect(room!.messages.map((m) => m.seq)).toEqual([3, 4, 5, 6, 7]);
    expect(room!.more).toBe(true);
  });
});

describe('compliance', () => {
  test('join, post, history read, search and part are archived', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.connect(alice!);
    const roomId = await createRoom(aliceClient, {});
    await ok(aliceClient, 'chat.join', { roomId });
    const sent = await post(aliceClient, roomId, 'for the record');
    await ok(aliceClient, 'chat.bccontext', { roomId });
    await ok(aliceClient, 'chat.search', { roomId, query: 'record' });
    await ok(aliceClient, 'chat.part', { roomId });
    expect(await archived(`chat.post:${roomId}:${sent.seq}`)).toBeDefined();
    const types = await waitFor('the room’s five events in the compliance store', async () => {
      const stored = await archivedTypes(roomId);
      return stored.length >= 5 ? stored : undefined;
    });
    expect(types.sort()).toEqual(['chat.history', 'chat.join', 'chat.part', 'chat.post', 'chat.search']);
  });
});

/** The types of the room's events in the compliance store, pending export (its 8 shards). */
async function archivedTypes(roomId: string): Promise<string[]> {
  const shards = await Promise.all(
    Array.from({ length: 8 }, (_, shard) =>
      dynamoDocumentClient().send(new QueryCommand({ TableName: cloud.cloud.config.TABLE_NAME, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': `CPEND#${shard}` } })),
    ),
  );
  return shards.flatMap((page) => page.Items ?? []).map((item) => item.event as { type: string; target: { id: string } })
    .filter((event) => event.target.id === roomId)
    .map((event) => event.type);
}

describe('overload', () => {
  test('a throttled store answers 503 with retryAfterMs; the retry with the same clientMsgId succeeds, stored once', async () => {
    // Fault injection through the local Lambda host: the chat function over a store whose counter throttles once.
    const production = productionDependencies();
    let throttles = 1;
    const real = new DynamoChatStore(dynamoDocumentClient(), cloud.cloud.config.TABLE_NAME);
    const throttling: ChatStore = Object.assign(Object.create(real) as ChatStore, {
      takeSeq: async (roomId: string) => {
        if (throttles-- > 0) throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException' });
        return real.takeSeq(roomId);
      },
    });
    const chat = new ChatService({
      store: throttling,
      delivery: production.delivery,
      complianceQueue: production.complianceQueue,
      clock: production.clock,
      homeDomain: production.config.HOME_DOMAIN,
      historyPageSize: PAGE,
      newId,
      files: new S3FileStorage(s3SdkClient(), production.config.FILES_BUCKET),
      fileUrlSeconds: production.config.FILE_URL_SECONDS,
    });
    cloud.cloud.lambdas.register('chat', makeChatHandler({ config: production.config, chat }) as never);

    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.connect(alice!);
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient, {});
    await ok(bobClient, 'chat.join', { roomId });
    const refused = await aliceClient.request('chat.grpchat', { roomId, text: 'under load', clientMsgId: 'busy-1' });
    expect(refused).toMatchObject({ status: 503, error: { code: 'Unavailable', retryAfterMs: expect.any(Number) } });
    const retried = await post(aliceClient, roomId, 'under load', 'busy-1');
    expect(retried.seq).toBe(1);
    await bobClient.nextEvent('chat.message', (e) => e.seq === 1);
    expect(messagesOf(await ok(bobClient, 'chat.bccontext', { roomId }))).toEqual([expect.objectContaining({ seq: 1, text: 'under load' })]);
  });
});
