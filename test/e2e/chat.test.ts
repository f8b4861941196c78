import { CompliancePublisher } from '../../shared/compliance/publisher';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { CommandArgs, UcClient } from '../../client/src';
import { makeChatHandler } from '../../functions/lib/chat-handler';
import { productionDependencies } from '../../functions/lib/dependencies';
import { DynamoChatStore } from '../../shared/adapters/chat-store-dynamodb';
import { DynamoComplianceOutbox } from '../../shared/adapters/compliance-outbox-dynamodb';
import { dynamoDocumentClient } from '../../shared/adapters/aws-clients/dynamodb';
import { S3FileStorage } from '../../shared/adapters/s3-file-storage';
import { s3Client } from '../../shared/adapters/aws-clients/s3';
import type { ChatStore } from '../../shared/chat/ports';
import { ChatService } from '../../shared/chat/service';
import { DependencyThrottledError } from '../../shared/errors';
import { newId } from '../../shared/ids';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { type EventFrame, type TestClient, waitFor } from '../support/client';
import { createLibraryRoom as createRoom, ok } from '../support/commands';
import { userBatch, users } from '../support/users';
import { loadConfig } from '../../shared/config';

/**
 * SPEC §6 end to end, with a history page of 5 so that paging and `more` show with few messages, through the
 * client library (client/src) as a UI would use it. Raw frames (`cloud.connect`, test/support/client.ts) only
 * where a test needs them: a receiver whose every `chat.message` is asserted, duplicates included (the library
 * emits each seq once, and reads a seq missing for a second from history), and a connection's own first
 * `session.resume` (the library sends one on connect).
 */
let cloud: TestCloud;
const PAGE = 5;
const MAX_BYTES = 1024;

beforeAll(async () => {
  cloud = await startTestCloud({ env: { CHAT_HISTORY_PAGE_SIZE: String(PAGE), CHAT_MAX_MESSAGE_BYTES: String(MAX_BYTES) } });
});
afterAll(async () => {
  await cloud.stop();
});

interface Message {
  roomId: string;
  seq: number;
  messageId: string;
  text: string;
  from: { uri: string };
}

/** A post that must succeed (the library rejects a refusal); without a clientMsgId the library adds one. */
function post(client: UcClient, roomId: string, text: string, clientMsgId?: string) {
  return client.post(roomId, text, clientMsgId ? { clientMsgId } : {});
}

async function rawPost(client: TestClient, roomId: string, text: string, clientMsgId?: string) {
  return (await ok(client, 'chat.grpchat', { roomId, text, ...(clientMsgId ? { clientMsgId } : {}) })) as { seq: number; messageId: string; ts: number };
}

/** The compliance consumer has stored this event (its dedup marker exists). */
function archived(eventId: string) {
  return waitFor(`compliance event ${eventId}`, async () => {
    const { Item } = await dynamoDocumentClient(loadConfig()).send(new GetCommand({ TableName: cloud.cloud.config.TABLE_NAME, Key: { PK: `CEVT#${eventId}`, SK: 'CEVT' } }));
    return Item;
  });
}

describe('server info', () => {
  test('chat.getserverinfo lists the limits and the implemented commands', async () => {
    const [alice] = users('alice');
    const body = await (await cloud.client(alice!)).request('chat.getserverinfo');
    expect(body).toMatchObject({ limits: { maxMessageBytes: MAX_BYTES, historyPageSize: PAGE } });
    expect(body.features).toEqual(expect.arrayContaining(['room.create', 'chat.join', 'chat.grpchat', 'chat.search', 'chat.getinv', 'session.resume']));
    expect(body.features).toEqual(expect.arrayContaining(['chat.file.upload', 'chat.file.download']));
    expect(body.limits).toMatchObject({ maxFileBytes: expect.any(Number) });
  });
});

describe('rooms and categories', () => {
  test('room.create is idempotent on clientId; the creator is manager and member', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.client(alice!);
    const first = await createRoom(aliceClient, { name: 'Design', members: [bob!], clientId: 'create-1' });
    const again = await createRoom(aliceClient, { name: 'Design', members: [bob!], clientId: 'create-1' });
    expect(again).toBe(first);
    const joined = await aliceClient.request('chat.join', { roomId: first });
    expect(joined).toMatchObject({ role: 'manager', room: { members: expect.arrayContaining([alice, bob]), managers: [alice] } });
    expect((await aliceClient.request('chat.getassociations', { role: 'manager' })).rooms).toEqual([expect.objectContaining({ roomId: first })]);
    const bobRooms = (await (await cloud.client(bob!)).request('chat.getassociations', { role: 'member' })).rooms;
    expect(bobRooms).toEqual([expect.objectContaining({ roomId: first, name: 'Design' })]);
  });

  test('categories decide who creates: admins define them; undefined ones admit any enterprise user', async () => {
    const [alice, admin, guest] = users('alice', 'admin', 'guest');
    const aliceClient = await cloud.client(alice!);
    const adminClient = await cloud.client(admin!, 'admin');
    const category = `cat-${userBatch()}`;
    await expect(aliceClient.request('admin.category.put', { category, creators: ['fabrikam.com'] })).rejects.toMatchObject({ status: 403 });
    await adminClient.request('admin.category.put', { category, creators: ['fabrikam.com'] }); // a 200: a refusal rejects
    await expect(aliceClient.request('room.create', { name: 'x', category })).rejects.toMatchObject({ status: 403, code: 'Forbidden' });
    await adminClient.request('admin.category.put', { category, creators: [alice!] });
    await createRoom(aliceClient, { category });
    // No definition: enterprise users of the home organization only.
    const federated = await cloud.client('sip:guest@fabrikam.com', 'federated');
    await expect(federated.request('room.create', { name: 'y', category: `undefined-${userBatch()}` })).rejects.toMatchObject({ status: 403 });
    await createRoom(await cloud.client(guest!), { category: `undefined-${userBatch()}` });
  });

  test('room.update: managers only; a non-manager is refused', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.client(alice!);
    const bobClient = await cloud.client(bob!);
    const roomId = await createRoom(aliceClient, { members: [bob!] });
    await expect(bobClient.request('room.update', { roomId, name: 'mine now' })).rejects.toMatchObject({ status: 403, code: 'Forbidden' });
    await aliceClient.request('room.update', { roomId, name: 'Renamed', managers: [alice!, bob!] });
    await bobClient.request('room.update', { roomId, description: 'bob manages too' });
    expect(await bobClient.request('chat.join', { roomId })).toMatchObject({ role: 'manager', room: { name: 'Renamed', description: 'bob manages too' } });
    // No field to change: the types allow it (every change is optional), the server refuses it.
    await expect(aliceClient.request('room.update', { roomId })).rejects.toMatchObject({ status: 400 });
  });

  test('room.delete: managers only; the room is gone afterwards', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.client(alice!);
    const bobClient = await cloud.client(bob!);
    const roomId = await createRoom(aliceClient);
    await expect(bobClient.request('room.delete', { roomId })).rejects.toMatchObject({ status: 403 });
    await aliceClient.request('room.delete', { roomId });
    await expect(bobClient.request('chat.join', { roomId })).rejects.toMatchObject({ status: 404 });
    expect((await aliceClient.request('chat.getassociations', { role: 'manager' })).rooms).toEqual([]);
  });

  test('room.invite: managers only; the invitee gets chat.invitation, finds it once in chat.getinv, and may join', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const aliceClient = await cloud.client(alice!);
    const bobClient = await cloud.client(bob!);
    const carolClient = await cloud.client(carol!);
    const roomId = await createRoom(aliceClient, { name: 'Closed club', privacy: 'closed' });
    await expect(bobClient.request('chat.join', { roomId })).rejects.toMatchObject({ status: 403 });
    await expect(carolClient.request('room.invite', { roomId, uris: [bob!] })).rejects.toMatchObject({ status: 403 });
    expect(await aliceClient.request('room.invite', { roomId, uris: [bob!] })).toEqual({ invited: [bob] });
    expect(await bobClient.events.nextEvent('chat.invitation')).toMatchObject({ roomId, roomName: 'Closed club', from: { uri: alice } });
    expect((await bobClient.request('chat.getinv')).invitations).toEqual([expect.objectContaining({ roomId, roomName: 'Closed club' })]);
    expect((await bobClient.request('chat.getinv')).invitations).toEqual([]);
    expect(await bobClient.request('chat.join', { roomId })).toMatchObject({ role: 'member' });
  });
});

describe('privacy', () => {
  test('a secret room is invisible and unreadable to a non-member (404), and visible to its members', async () => {
    const [alice, bob, eve] = users('alice', 'bob', 'eve');
    const aliceClient = await cloud.client(alice!);
    const eveClient = await cloud.client(eve!);
    const name = `Secret plans ${userBatch()}`;
    const roomId = await createRoom(aliceClient, { name, privacy: 'secret', members: [bob!] });
    await post(aliceClient, roomId, 'the plan is ready');
    for (const attempt of [
      () => eveClient.request('chat.join', { roomId }),
      () => eveClient.request('chat.bccontext', { roomId }),
      () => eveClient.request('chat.search', { roomId, query: 'plan' }),
      () => eveClient.request('chat.grpchat', { roomId, text: 'let me in' }),
      () => eveClient.request('room.update', { roomId, name: 'hijacked' }),
    ]) {
      await expect(attempt()).rejects.toMatchObject({ status: 404, code: 'NotFound', serverMessage: `no room ${roomId}` });
    }
    expect((await eveClient.request('chat.chansrch', { query: name })).rooms).toEqual([]);
    const bobClient = await cloud.client(bob!);
    expect((await bobClient.request('chat.chansrch', { query: name })).rooms).toEqual([expect.objectContaining({ roomId, privacy: 'secret' })]);
    expect((await bobClient.request('chat.bccontext', { roomId })).messages).toEqual([expect.objectContaining({ text: 'the plan is ready' })]);
  });

  test('a closed room is found by anyone but joined and read by members only', async () => {
    const [alice, bob, eve] = users('alice', 'bob', 'eve');
    const aliceClient = await cloud.client(alice!);
    const eveClient = await cloud.client(eve!);
    const name = `Closed ${userBatch()}`;
    const roomId = await createRoom(aliceClient, { name, privacy: 'closed', members: [bob!] });
    expect((await eveClient.request('chat.chansrch', { query: name.toLowerCase() })).rooms).toEqual([expect.objectContaining({ roomId, privacy: 'closed' })]);
    await expect(eveClient.request('chat.join', { roomId })).rejects.toMatchObject({ status: 403, code: 'Forbidden' });
    await expect(eveClient.request('chat.bccontext', { roomId })).rejects.toMatchObject({ status: 403 });
    await expect(eveClient.request('chat.grpchat', { roomId, text: 'hi' })).rejects.toMatchObject({ status: 403 });
    expect(await (await cloud.client(bob!)).request('chat.join', { roomId })).toMatchObject({ role: 'member' });
  });

  test('chat.bjoin joins many rooms, each answering on its own', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.client(alice!);
    const open = await createRoom(aliceClient);
    const closed = await createRoom(aliceClient, { privacy: 'closed' });
    const secret = await createRoom(aliceClient, { privacy: 'secret' });
    const body = await (await cloud.client(bob!)).request('chat.bjoin', { roomIds: [open, closed, secret] });
    expect(body.rooms).toEqual([
      expect.objectContaining({ roomId: open, status: 200, role: 'visitor' }),
      expect.objectContaining({ roomId: closed, status: 403 }),
      { roomId: secret, status: 404, error: { code: 'NotFound', message: `no room ${secret}` } },
    ]);
  });

  test('chat.chansrch lists by category and name prefix, with a cursor', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.client(alice!);
    const category = `search-${userBatch()}`;
    const rooms = [];
    for (const name of ['Alpha one', 'Alpha two', 'Beta']) rooms.push(await createRoom(aliceClient, { name, category }));
    const bobClient = await cloud.client(bob!);
    const first = await bobClient.request('chat.chansrch', { category, query: 'alpha', limit: 1 });
    expect(first.rooms).toEqual([expect.objectContaining({ roomId: rooms[0], name: 'Alpha one', category })]);
    const second = await bobClient.request('chat.chansrch', { category, query: 'alpha', limit: 1, cursor: first.cursor });
    expect(second.rooms).toEqual([expect.objectContaining({ roomId: rooms[1] })]);
    expect(second.cursor).toBeUndefined();
    expect((await bobClient.request('chat.chansrch', { category })).rooms).toHaveLength(3);
  });
});

describe('posting, history and search', () => {
  test('every connected follower gets chat.message; the poster answers seq; history is newest first with a cursor', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.client(alice!);
    // Raw frames for Bob's devices: each device's chat.message events are asserted exactly, duplicates included,
    // which the library would drop (it emits each seq once).
    const bobDesktop = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient);
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
    // History as anyone who may read the (open) room reads it: through the library.
    const firstPage = await aliceClient.request('chat.bccontext', { roomId });
    expect(firstPage.messages.map((m) => m.seq)).toEqual([7, 6, 5, 4, 3]);
    const secondPage = await aliceClient.request('chat.bccontext', { roomId, before: firstPage.cursor });
    expect(secondPage.messages.map((m) => m.seq)).toEqual([2, 1]);
    expect(secondPage.cursor).toBeUndefined();
    await expect(aliceClient.request('chat.bccontext', { roomId, before: 'bm90LWEtY3Vyc29y' })).rejects.toMatchObject({ status: 400 });
  });

  test('a message over CHAT_MAX_MESSAGE_BYTES is 413', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.client(alice!);
    const roomId = await createRoom(aliceClient);
    await expect(aliceClient.request('chat.grpchat', { roomId, text: 'é'.repeat(MAX_BYTES / 2 + 1) })).rejects.toMatchObject({ status: 413, code: 'TooLarge' });
  });

  test('in an auditorium only presenters post', async () => {
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    const aliceClient = await cloud.client(alice!);
    const roomId = await createRoom(aliceClient, { type: 'auditorium', presenters: [bob!] });
    const carolClient = await cloud.client(carol!);
    await carolClient.request('chat.join', { roomId });
    await expect(carolClient.request('chat.grpchat', { roomId, text: 'question!' })).rejects.toMatchObject({ status: 403, code: 'Forbidden' });
    await expect(aliceClient.request('chat.grpchat', { roomId, text: 'manager, not presenter' })).rejects.toMatchObject({ status: 403 });
    const sent = await post(await cloud.client(bob!), roomId, 'keynote begins');
    expect(await carolClient.events.nextEvent('chat.message', (e) => e.seq === sent.seq)).toMatchObject({ text: 'keynote begins', from: { uri: bob } });
  });

  test('a retried clientMsgId is stored and delivered once', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.client(alice!);
    // Raw frames for Bob: "delivered once" is asserted on the wire, where the library would drop a duplicate seq.
    const bobClient = await cloud.connect(bob!);
    const roomId = await createRoom(aliceClient);
    await ok(bobClient, 'chat.join', { roomId });
    const first = await post(aliceClient, roomId, 'once', 'retry-1');
    expect(await post(aliceClient, roomId, 'once', 'retry-1')).toEqual(first);
    const next = await post(aliceClient, roomId, 'after');
    expect(next.seq).toBe(first.seq + 1);
    await bobClient.nextEvent('chat.message', (e) => e.seq === next.seq);
    expect(bobClient.eventsNamed('chat.message').map((e) => e.seq)).toEqual([1, 2]);
    expect((await aliceClient.request('chat.bccontext', { roomId })).messages.map((m) => m.text)).toEqual(['after', 'once']);
  });

  test('chat.part stops the live messages', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.client(alice!);
    const bobClient = await cloud.client(bob!);
    const roomId = await createRoom(aliceClient);
    await aliceClient.request('chat.join', { roomId });
    await bobClient.request('chat.join', { roomId });
    await post(aliceClient, roomId, 'one');
    await bobClient.events.nextEvent('chat.message', (e) => e.seq === 1);
    expect(await bobClient.request('chat.part', { roomId })).toEqual({ followed: false });
    const aliceMobile = await cloud.client(alice!, 'enterprise', 'mobile');
    await post(aliceClient, roomId, 'two');
    // Alice's other device receiving seq 2 shows the fan-out ran; a ping round trip lets a stray event arrive.
    // (The library forgets a parted room's seqs, so a stray message after the part would be emitted, not dropped.)
    await aliceMobile.events.nextEvent('chat.message', (e) => e.seq === 2);
    await bobClient.request('ping');
    expect(bobClient.events.eventsNamed('chat.message').map((e) => e.seq)).toEqual([1]);
  });

  test('chat.search finds messages holding every query word, newest first', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.client(alice!);
    const roomId = await createRoom(aliceClient);
    for (const text of ['Deploy the release tonight', 'release notes are done', 'Tonight: RELEASE party!', 'nothing to see']) await post(aliceClient, roomId, text);
    const seqs = async (args: Omit<CommandArgs<'chat.search'>, 'roomId'>) => (await aliceClient.request('chat.search', { roomId, ...args })).messages.map((m) => m.seq);
    expect(await seqs({ query: 'release' })).toEqual([3, 2, 1]);
    expect(await seqs({ query: 'tonight release' })).toEqual([3, 1]);
    expect(await seqs({ query: 'release', limit: 1 })).toEqual([3]);
    expect(await seqs({ query: 'absent' })).toEqual([]);
  });
});

describe('concurrency', () => {
  test('20 clients post at once: seq is 1..20 without gap or duplicate, and every follower receives all 20', async () => {
    const posters = users(...Array.from({ length: 20 }, (_, i) => `poster${i}`));
    const [owner, listener] = users('owner', 'listener');
    const ownerClient = await cloud.client(owner!);
    const roomId = await createRoom(ownerClient);
    // Raw frames for the listener and the posters: what each receives live is asserted exactly, duplicates
    // included; the library would drop a duplicate seq and read a missed one from history after a second.
    const listenerClient = await cloud.connect(listener!);
    await ok(listenerClient, 'chat.join', { roomId });
    const clients = await Promise.all(posters.map((uri) => cloud.connect(uri)));
    await Promise.all(clients.map((client) => ok(client, 'chat.join', { roomId })));

    const results = await Promise.all(clients.map((client, i) => rawPost(client, roomId, `concurrent ${i}`, `c-${i}`)));

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
    const aliceClient = await cloud.client(alice!);
    const roomId = await createRoom(aliceClient, { name: 'Resume room' });
    const bobDesktop = await cloud.client(bob!);
    await bobDesktop.request('chat.join', { roomId });
    await post(aliceClient, roomId, 'seen');
    const lastSeen = (await bobDesktop.events.nextEvent('chat.message')).seq;
    await bobDesktop.disconnect();
    for (const text of ['missed 1', 'missed 2', 'missed 3']) await post(aliceClient, roomId, text);

    // Raw frames: this connection's first session.resume is the test's own (with the seq Bob saw), where the
    // library would send its own on connect.
    const bobMobile = await cloud.connect(bob!, 'enterprise', 'mobile');
    const resumed = await ok(bobMobile, 'session.resume', { since: { [roomId]: lastSeen } });

    // With Bob's counts (SPEC §9): he joined before any post and marked nothing read.
    expect(resumed.rooms).toEqual([{ roomId, name: 'Resume room', lastSeq: 4, readSeq: 0, unread: 4, mentions: 0, messages: [expect.objectContaining({ seq: 2, text: 'missed 1' }), expect.objectContaining({ seq: 3 }), expect.objectContaining({ seq: 4, text: 'missed 3' })] }]);
    expect(resumed.presence).toBeDefined();
    const live = await post(aliceClient, roomId, 'live');
    expect(await bobMobile.nextEvent('chat.message')).toMatchObject({ seq: live.seq, text: 'live' });
  });

  test('more was missed than one answer holds: the newest page and more: true', async () => {
    const [alice, bob] = users('alice', 'bob');
    const aliceClient = await cloud.client(alice!);
    const roomId = await createRoom(aliceClient);
    await (await cloud.client(bob!)).request('chat.join', { roomId });
    for (let i = 1; i <= PAGE + 2; i++) await post(aliceClient, roomId, `m${i}`);
    // Raw frames: this connection's first session.resume is the test's own (since seq 0), where the library
    // would send its own on connect.
    const resumed = await ok(await cloud.connect(bob!, 'enterprise', 'web'), 'session.resume', { since: { [roomId]: 0 } });
    const [room] = resumed.rooms as { messages: Message[]; more?: boolean }[];
    expect(room!.messages.map((m) => m.seq)).toEqual([3, 4, 5, 6, 7]);
    expect(room!.more).toBe(true);
  });
});

describe('compliance', () => {
  test('join, post, history read, search and part are archived', async () => {
    const [alice] = users('alice');
    const aliceClient = await cloud.client(alice!);
    const roomId = await createRoom(aliceClient);
    await aliceClient.request('chat.join', { roomId });
    const sent = await post(aliceClient, roomId, 'for the record');
    await aliceClient.request('chat.bccontext', { roomId });
    await aliceClient.request('chat.search', { roomId, query: 'record' });
    await aliceClient.request('chat.part', { roomId });
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
      dynamoDocumentClient(loadConfig()).send(new QueryCommand({ TableName: cloud.cloud.config.TABLE_NAME, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': `CPEND#${shard}` } })),
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
    const real = new DynamoChatStore(dynamoDocumentClient(loadConfig()), cloud.cloud.config.TABLE_NAME);
    const throttling: ChatStore = Object.assign(Object.create(real) as ChatStore, {
      takeSeq: async (roomId: string) => {
        // What the store's client throws once the SDK's retries give up on throttling (translated at the client: aws-errors.ts).
        if (throttles-- > 0) throw new DependencyThrottledError('dynamodb', { cause: Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException' }) });
        return real.takeSeq(roomId);
      },
    });
    const chat = new ChatService({
      store: throttling,
      delivery: production.delivery,
      compliance: new CompliancePublisher(production.complianceQueue, new DynamoComplianceOutbox(dynamoDocumentClient(loadConfig()), production.config.TABLE_NAME)),
      clock: production.clock,
      homeDomain: production.config.HOME_DOMAIN,
      historyPageSize: PAGE,
      newId,
      files: new S3FileStorage(s3Client(), production.config.FILES_BUCKET),
      fileUrlSeconds: production.config.FILE_URL_SECONDS,
    });
    cloud.cloud.lambdas.register('chat', makeChatHandler({ config: production.config, chat }) as never);

    const [alice, bob] = users('alice', 'bob');
    // No automatic retry (maxRetries 0), so the 503 reaches the test as a UcError and the test retries itself.
    const aliceClient = await cloud.client(alice!, 'enterprise', 'desktop', { maxRetries: 0 });
    const bobClient = await cloud.client(bob!);
    const roomId = await createRoom(aliceClient);
    await bobClient.request('chat.join', { roomId });
    await expect(aliceClient.request('chat.grpchat', { roomId, text: 'under load', clientMsgId: 'busy-1' })).rejects.toMatchObject({
      status: 503,
      code: 'Unavailable',
      retryAfterMs: expect.any(Number),
    });
    expect(aliceClient.events.eventsNamed('retry')).toEqual([]);
    const retried = await post(aliceClient, roomId, 'under load', 'busy-1');
    expect(retried.seq).toBe(1);
    await bobClient.events.nextEvent('chat.message', (e) => e.seq === 1);
    expect((await bobClient.request('chat.bccontext', { roomId })).messages).toEqual([expect.objectContaining({ seq: 1, text: 'under load' })]);
  });
});
