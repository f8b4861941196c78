import { MAX_SERVER_FRAME_BYTES } from '../../shared/protocol/limits';
import { startTestCloud, type TestCloud } from '../support/cloud';
import type { ResponseFrame, TestClient } from '../support/client';

/**
 * Issue 17 item 2: no answer exceeds 128 KB (API Gateway's message limit). Every list answer is cut by size as well
 * as by count and returns its cursor; paging through it loses and doubles nothing. The content is the largest the
 * schemas allow, in the costliest character JSON has: U+0001, one UTF-8 byte that JSON.stringify writes as 6
 * (`\u0001`), so a 4,000-byte message text is 24,000 bytes on the wire. The gateway refuses any frame over 128 KB
 * (and the cloud's stop fails on one), so a path that would fail on AWS fails here.
 */
const MAX_TEXT_BYTES = 4000;
const POSTS = 60;
let cloud: TestCloud;
let alice: TestClient;
let bob: TestClient;

/** A text of exactly MAX_TEXT_BYTES UTF-8 bytes, all but its words escaped to 6 bytes each in JSON. */
function worstText(label: string): string {
  const head = `${label} needle `;
  return head + '\u0001'.repeat(MAX_TEXT_BYTES - head.length);
}

/** The frame's size as the server wrote it (JSON.stringify of what JSON.parse read gives the same text back). */
function frameBytes(response: ResponseFrame): number {
  return Buffer.byteLength(JSON.stringify(response), 'utf8');
}

async function ok(client: TestClient, action: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await client.request(action, args);
  expect({ action, status: response.status, error: response.error }).toEqual({ action, status: 200, error: undefined });
  expect(frameBytes(response)).toBeLessThanOrEqual(MAX_SERVER_FRAME_BYTES);
  return response.body!;
}

/** Pages through a list answer by its cursor; each page under 128 KB. */
async function pageThrough<T>(client: TestClient, action: string, args: Record<string, unknown>, key: string, cursorField = 'cursor'): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let pages = 0;
  let cursor: string | undefined;
  do {
    const body = await ok(client, action, { ...args, ...(cursor ? { [cursorField === 'cursor' ? 'cursor' : cursorField]: cursor } : {}) });
    items.push(...(body[key] as T[]));
    cursor = body.cursor as string | undefined;
    pages++;
    expect(pages).toBeLessThan(100);
  } while (cursor);
  return { items, pages };
}

let roomId: string;
let conversationId: string;

beforeAll(async () => {
  cloud = await startTestCloud({ env: { CHAT_MAX_MESSAGE_BYTES: String(MAX_TEXT_BYTES), IM_MAX_MESSAGE_BYTES: String(MAX_TEXT_BYTES), RATE_LIMIT_PER_CONNECTION: '1000' } });
  alice = await cloud.connect('sip:alice@contoso.com');
  bob = await cloud.connect('sip:bob@contoso.com');
  roomId = (await ok(alice, 'room.create', { name: 'big' })).roomId as string;
  for (let n = 1; n <= POSTS; n++) await ok(alice, 'chat.grpchat', { roomId, text: worstText(`post${n}`), clientMsgId: `p${n}` });
  const first = await ok(alice, 'im.send', { to: 'sip:bob@contoso.com', text: worstText('im1') });
  conversationId = first.conversationId as string;
  for (let n = 2; n <= POSTS; n++) await ok(alice, 'im.send', { conversationId, text: worstText(`im${n}`) });
}, 240_000);
afterAll(async () => {
  await cloud.stop();
});

test('the largest message is 24 KB on the wire: one page of 100 would be 2.4 MB', () => {
  expect(Buffer.byteLength(JSON.stringify(worstText('x')))).toBeGreaterThan(23_900);
});

test('chat.bccontext: every page under 128 KB, cut by size with a cursor; paging returns every seq once, newest first', async () => {
  const { items, pages } = await pageThrough<{ seq: number }>(bob, 'chat.bccontext', { roomId, limit: 100 }, 'messages', 'before');
  expect(pages).toBeGreaterThan(1);
  expect(items.map((message) => message.seq)).toEqual(Array.from({ length: POSTS }, (_, index) => POSTS - index));
});

test('im.history: the same for a conversation', async () => {
  const { items, pages } = await pageThrough<{ text: string }>(bob, 'im.history', { conversationId, limit: 100 }, 'messages', 'before');
  expect(pages).toBeGreaterThan(1);
  expect(items.map((message) => message.text.split(' ')[0])).toEqual(Array.from({ length: POSTS }, (_, index) => `im${POSTS - index}`));
});

test('chat.search: cut by size with a cursor; paging finds every match once', async () => {
  const { items, pages } = await pageThrough<{ seq: number }>(bob, 'chat.search', { roomId, query: 'needle', limit: 100 }, 'messages');
  expect(pages).toBeGreaterThan(1);
  expect(items.map((message) => message.seq)).toEqual(Array.from({ length: POSTS }, (_, index) => POSTS - index));
});

test('conf.content.list: content at its cap, cut by size with a cursor; paging lists every item once', async () => {
  const { confId } = (await ok(alice, 'conf.schedule', { subject: 'content' })) as { confId: string };
  await ok(alice, 'conf.join', { confId });
  const added: string[] = [];
  for (let n = 0; n < 12; n++) {
    const content = await ok(alice, 'conf.content.add', { confId, title: '\u0001'.repeat(256), kind: 'document', body: '\u0001'.repeat(4000) });
    added.push(content.contentId as string);
  }
  const { items, pages } = await pageThrough<{ contentId: string }>(alice, 'conf.content.list', { confId }, 'content');
  expect(pages).toBeGreaterThan(1);
  expect(items.map((item) => item.contentId)).toEqual(added);
});

test('session.resume: rooms and messages per answer under 128 KB; the cursor answers the rest, every room once', async () => {
  const other = (await ok(alice, 'room.create', { name: 'other' })).roomId as string;
  for (let n = 1; n <= 6; n++) await ok(alice, 'chat.grpchat', { roomId: other, text: worstText(`other${n}`) });
  const carol = await cloud.connect('sip:carol@contoso.com');
  await ok(carol, 'chat.join', { roomId });
  await ok(carol, 'chat.join', { roomId: other });
  const since = { [roomId]: 0, [other]: 0 };
  const first = await ok(carol, 'session.resume', { since });
  expect(first.presence).toBeDefined();
  const answered = [...(first.rooms as { roomId: string; messages: { seq: number }[]; more?: true }[])];
  let cursor = first.cursor as string | undefined;
  expect(cursor).toBeDefined();
  while (cursor) {
    const next = await ok(carol, 'session.resume', { since, cursor });
    expect(next.presence).toBeUndefined();
    answered.push(...(next.rooms as typeof answered));
    cursor = next.cursor as string | undefined;
  }
  expect(answered.map((room) => room.roomId).sort()).toEqual([roomId, other].sort());
  // Each room: the newest that fit, oldest first, up to its last seq, and `more` exactly when older ones were left
  // (read with chat.bccontext). Six worst-case messages are already more than one frame.
  const lastSeqs: Record<string, number> = { [roomId]: POSTS, [other]: 6 };
  for (const room of answered) {
    const seqs = room.messages.map((message) => message.seq);
    const last = lastSeqs[room.roomId]!;
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, index) => last - seqs.length + 1 + index));
    expect(room.more === true).toBe(seqs[0]! > 1);
  }
  expect(answered.find((room) => room.roomId === roomId)!.more).toBe(true);
});
