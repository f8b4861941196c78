import fc from 'fast-check';
import { startTestCloud, type TestCloud } from '../support/cloud';
import type { ResponseFrame, TestClient } from '../support/client';
import { waitFor } from '../support/client';
import { actions, anyFrameText, anyRid, commandFrame, type KnownIds, objectWithRandomAction } from '../support/frames';

/**
 * Property, end to end (issue 11): generated frames over one real WebSocket to the local cloud, every
 * action, real handlers and store. Every frame gets a response below 500, the connection stays open, and
 * afterwards known-good commands work and the user's own state reads back consistent. Figures in
 * docs/reliability.md.
 */

const COMMAND_FRAMES = 2_400;
const OTHER_FRAMES = 400;
const IN_FLIGHT = 16;

let cloud: TestCloud;
let fuzzer: TestClient;
let bob: TestClient;
const fuzzUri = 'sip:fuzz@contoso.com';
const bobUri = 'sip:bob@contoso.com';

beforeAll(async () => {
  // The fuzzer sends far faster than a client may: the rate limit has its own test (rate-limit.test.ts).
  cloud = await startTestCloud({ env: { RATE_LIMIT_PER_CONNECTION: '100000', RATE_LIMIT_PER_USER: '100000' } });
  fuzzer = await cloud.connect(fuzzUri);
  bob = await cloud.connect(bobUri);
});
afterAll(async () => {
  await cloud.stop();
});

async function ok(client: TestClient, action: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const response = await client.request(action, args);
  expect(response).toMatchObject({ status: 200 });
  return response.body ?? {};
}

/** Real ids of each kind, owned by the fuzzer, so generated commands reach the use cases and not only 404. */
async function knownIds(): Promise<KnownIds> {
  const conf = await ok(fuzzer, 'conf.schedule', { subject: 'fuzz', presenters: [bobUri] });
  await ok(fuzzer, 'conf.join', { confId: conf.confId });
  const room = await ok(fuzzer, 'room.create', { name: 'fuzz room', members: [bobUri] });
  const secret = await ok(fuzzer, 'room.create', { name: 'fuzz secret', privacy: 'secret' });
  const conversation = await ok(fuzzer, 'im.send', { to: bobUri, text: 'hello' });
  const subscription = await ok(fuzzer, 'presence.subscribe', { targets: [bobUri] });
  const file = await ok(fuzzer, 'chat.file.upload', { roomId: room.roomId, fileName: 'a.txt', size: 3, contentType: 'text/plain' });
  return {
    uris: [fuzzUri, bobUri, 'sip:carol@fabrikam.com'],
    confIds: [String(conf.confId)],
    roomIds: [String(room.roomId), String(secret.roomId)],
    conversationIds: [String(conversation.conversationId)],
    subscriptionIds: [String(subscription.subscriptionId)],
    fileIds: [String(file.fileId)],
  };
}

test(`${COMMAND_FRAMES + OTHER_FRAMES} generated frames: each answered below 500, the connection stays open, state stays consistent`, async () => {
  const known = await knownIds();
  const statuses = new Map<number, number>();
  const actionsSeen = new Set<string>();
  const count = (response: ResponseFrame) => {
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    if (response.status >= 500) throw new Error(`5xx for a generated frame: ${JSON.stringify(response)}`);
  };

  // Commands of every action, IN_FLIGHT at a time, each with a unique rid so answers are matched.
  const commands = fc.sample(commandFrame(known), { numRuns: COMMAND_FRAMES, seed: 1111 });
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < commands.length) {
        const index = next++;
        const frame = commands[index]!;
        actionsSeen.add(frame.action);
        const rid = `fz-${index}`;
        count(await fuzzer.sendRaw(JSON.stringify({ ...frame, rid }), rid, 20_000));
      }
    }),
  );
  expect(fuzzer.isOpen).toBe(true);

  // Frames without a usable rid, one at a time: the next response frame is theirs (events are skipped).
  const others = [
    ...fc.sample(anyFrameText, { numRuns: OTHER_FRAMES / 2, seed: 2222 }),
    ...fc.sample(fc.tuple(objectWithRandomAction, anyRid), { numRuns: OTHER_FRAMES / 2, seed: 3333 }).map(([frame, rid]) => JSON.stringify({ ...frame, rid })),
  ];
  for (const text of others) {
    const before = fuzzer.frames.length;
    fuzzer.socket.send(text);
    const response = await waitFor(`the response to ${JSON.stringify(text).slice(0, 200)}`, () =>
      fuzzer.frames.slice(before).find((frame): frame is ResponseFrame => (frame as ResponseFrame).type === 'response'),
    );
    count(response);
  }
  expect(fuzzer.isOpen).toBe(true);
  expect(fuzzer.closeCode).toBeUndefined();
  expect([...actionsSeen].sort()).toEqual([...actions].sort());
  expect([...statuses.keys()].every((status) => status === 200 || (status >= 400 && status < 500))).toBe(true);
  expect(statuses.get(200)).toBeGreaterThan(100);

  // Afterwards: known-good commands work, and what the fuzzer owns reads back whole.
  expect((await fuzzer.request('ping')).body).toEqual({ pong: true });
  const managed = (await ok(fuzzer, 'chat.getassociations', { role: 'manager' })).rooms as { roomId: string }[];
  expect(managed.length).toBeGreaterThanOrEqual(1);
  for (const { roomId } of managed) {
    // Every index entry leads to a whole room the fuzzer still manages (or a room it deleted: 404, never a 5xx).
    const joined = await fuzzer.request('chat.join', { roomId });
    if (joined.status === 200) expect(joined.body).toMatchObject({ role: 'manager', room: { roomId } });
    else expect(joined.status).toBe(404);
  }
  const published = await ok(fuzzer, 'presence.publish', { availability: 'busy', note: 'after the fuzz' });
  const watched = await ok(bob, 'presence.subscribe', { targets: [fuzzUri] });
  expect(watched.targets).toEqual([{ uri: fuzzUri, presence: expect.objectContaining({ availability: 'busy', note: 'after the fuzz' }), version: published.version }]);
  const room = await ok(fuzzer, 'room.create', { name: 'after the fuzz', members: [bobUri] });
  await ok(bob, 'chat.join', { roomId: room.roomId });
  const post = await ok(fuzzer, 'chat.grpchat', { roomId: room.roomId, text: 'still here', clientMsgId: 'after-fuzz' });
  await bob.nextEvent('chat.message', (event) => event.messageId === post.messageId);
  const sent = await ok(fuzzer, 'im.send', { to: bobUri, text: 'still talking' });
  await bob.nextEvent('im.message', (event) => event.messageId === sent.messageId);
}, 60_000);

test('a frame naming $connect or $disconnect as its action is an unknown action, not a connection event', async () => {
  for (const action of ['$connect', '$disconnect', '$default']) {
    expect(await fuzzer.request(action)).toMatchObject({ status: 400, error: { field: 'action', message: `unknown action '${action}'` } });
  }
  // The connection record survived: an event still reaches this connection.
  const sent = await ok(bob, 'im.send', { to: fuzzUri, text: 'you are still connected' });
  await fuzzer.nextEvent('im.message', (event) => event.messageId === sent.messageId);
});
