import { logger } from '../../functions/lib/logger';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { upgradeStatus } from '../support/client';

/**
 * Logs through the real handlers of the local cloud (issue 11), at DEBUG: whatever the handlers, the gateway
 * and the emulated services write to stdout or stderr while users connect and send texts, notes and file
 * names holds no token and none of those texts, and every command line carries its correlation id, caller,
 * connection, action, rid, status and duration. The forced 500 is in test/unit/functions/lib/logging.test.ts.
 */

const SECRET = `s3cr3t-${Math.random().toString(36).slice(2)}`;
let cloud: TestCloud;
const lines: string[] = [];
let previousLevel: ReturnType<typeof logger.getLevelName>;

beforeAll(async () => {
  cloud = await startTestCloud();
  previousLevel = logger.getLevelName();
  logger.setLogLevel('DEBUG');
  // Powertools' injectLambdaContext puts the level back to the process's initial one (WARN under jest) on every warm
  // invocation (its debug-sampling refresh); the handlers must keep logging at DEBUG for this test.
  jest.spyOn(logger, 'refreshSampleRateCalculation').mockImplementation(() => undefined);
  const capture = (chunk: unknown) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  jest.spyOn(process.stderr, 'write').mockImplementation(capture);
});
afterAll(async () => {
  jest.restoreAllMocks();
  logger.setLogLevel(previousLevel);
  await cloud.stop();
});

test('no token, message text, note or file name in any log line; every command line has its keys', async () => {
  const aliceToken = await cloud.token('sip:alice@contoso.com');
  const alice = await cloud.connect('sip:alice@contoso.com');
  const bob = await cloud.connect('sip:bob@contoso.com');
  const forged = await cloud.token('sip:mallory@contoso.com', 'admin', { ttlSeconds: -60 });
  expect(await upgradeStatus(`${cloud.cloud.wsUrl}/?token=${forged}`)).toBe(401);

  const sent = await alice.request('im.send', { to: 'sip:bob@contoso.com', text: `hello ${SECRET}` });
  expect(sent.status).toBe(200);
  await bob.nextEvent('im.message', (event) => event.conversationId === sent.body!.conversationId);
  const room = await alice.request('room.create', { name: `room ${SECRET}`, description: SECRET, privacy: 'closed' });
  const roomId = room.body!.roomId;
  expect((await alice.request('chat.grpchat', { roomId, text: `post ${SECRET}`, clientMsgId: 'm1' })).status).toBe(200);
  expect((await alice.request('chat.search', { roomId, query: SECRET })).status).toBe(200);
  expect((await alice.request('chat.file.upload', { roomId, fileName: `${SECRET}.pdf`, size: 10 })).status).toBe(200);
  expect((await alice.request('presence.publish', { availability: 'busy', note: `note ${SECRET}` })).status).toBe(200);
  expect((await bob.request('chat.grpchat', { roomId, text: `refused ${SECRET}` })).status).toBe(403);
  expect((await bob.request('conf.schedule', { subject: `meeting ${SECRET}` })).status).toBe(200);
  expect((await bob.request('no.such.action', { text: SECRET })).status).toBe(400);

  const text = lines.join('\n');
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(aliceToken.split('.')[2]);
  expect(text).not.toContain(forged.split('.')[2]);

  const json = lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
  const commandLines = json.filter((line) => typeof line.message === 'string' && line.message.startsWith('command'));
  // The 9 commands above.
  expect(commandLines).toHaveLength(9);
  for (const line of commandLines) {
    expect(line).toEqual(
      expect.objectContaining({
        correlationId: expect.any(String),
        connectionId: expect.any(String),
        user: expect.stringMatching(/^sip:(alice|bob)@contoso\.com$/),
        action: expect.any(String),
        rid: expect.any(String),
        status: expect.any(Number),
        durationMs: expect.any(Number),
      }),
    );
  }
  expect(new Set(commandLines.map((line) => line.correlationId)).size).toBe(commandLines.length);
  expect(json).toContainEqual(expect.objectContaining({ message: 'connect refused', reason: 'token expired' }));
});
