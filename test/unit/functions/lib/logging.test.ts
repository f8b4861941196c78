import { makeCommandHandler } from '../../../../functions/lib/command-handler';
import { logger } from '../../../../functions/lib/logger';
import type { WebSocketEvent } from '../../../../functions/lib/websocket-event';
import { issueToken } from '../../../../shared/auth/tokens';
import { ForbiddenError } from '../../../../shared/errors';

/**
 * Logs (issue 11): at DEBUG, everything the Powertools logger writes is captured from stdout and stderr. No
 * line holds a token, a message or note text, a file name; every command line carries the command's
 * correlation id, connection, caller, action, rid, status and duration; a 500's correlation id is its line's.
 * (test/e2e/logs.test.ts checks the same through the real handlers of the local cloud.)
 */

const SECRET = `secret-${Math.random().toString(36).slice(2)}`;
const alice = { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice', device: 'desktop' };

let lines: string[] = [];
let previousLevel: ReturnType<typeof logger.getLevelName>;

beforeAll(() => {
  previousLevel = logger.getLevelName();
  logger.setLogLevel('DEBUG');
});
afterAll(() => {
  logger.setLogLevel(previousLevel);
});
beforeEach(() => {
  lines = [];
  const capture = (chunk: unknown) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  jest.spyOn(process.stderr, 'write').mockImplementation(capture);
});
afterEach(() => {
  jest.restoreAllMocks();
});

function parsed(): Record<string, unknown>[] {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

function event(body: unknown, requestId: string | undefined, connectionId = 'conn-1'): WebSocketEvent {
  return {
    requestContext: { routeKey: '$default', eventType: 'MESSAGE', connectionId, requestId: requestId as string, authorizer: alice },
    body: JSON.stringify(body),
  };
}

/** An error as the AWS SDK throws them: extra properties (here an item holding a message text) beside the message. */
class SdkLikeError extends Error {
  readonly Item = { text: { S: SECRET } };
  readonly $response = { body: SECRET };
  constructor() {
    super('The conditional request failed');
    this.name = 'ConditionalCheckFailedException';
  }
}

const handler = makeCommandHandler({
  'im.send': async () => ({ conversationId: 'conv-1', messageId: 'msg-1' }),
  'chat.grpchat': async () => {
    logger.info('a line written by the use case');
    return { messageId: 'cmsg-1', seq: 1 };
  },
  'presence.publish': async ({ note }) => ({ presence: { availability: 'online', note } }),
  'chat.file.upload': async () => ({ fileId: 'file-1' }),
  'chat.join': async () => {
    throw new ForbiddenError('members only');
  },
  'conf.get': async () => {
    throw new SdkLikeError();
  },
});

describe('what a command logs at DEBUG', () => {
  test('no secret on any line; every line carries the command keys', async () => {
    const token = await issueToken({ uri: alice.uri, kind: 'enterprise' }, 'a-development-secret-of-enough-length');
    const commands = [
      { action: 'im.send', rid: 'r1', to: 'sip:bob@contoso.com', text: SECRET, token },
      { action: 'chat.grpchat', rid: 'r2', roomId: 'room-1', text: SECRET, clientMsgId: 'c1' },
      { action: 'presence.publish', rid: 'r3', availability: 'busy', note: SECRET },
      { action: 'chat.file.upload', rid: 'r4', roomId: 'room-1', fileName: `${SECRET}.pdf`, size: 10 },
      { action: 'chat.join', rid: 'r5', roomId: 'room-1' },
      { action: 'chat.grpchat', rid: 'r6', roomId: 'room-1', text: '' },
    ];
    const answers = await Promise.all(commands.map((body, index) => handler(event(body, `req-${index}`))));
    expect(answers.map((answer) => JSON.parse(answer.body!).status)).toEqual([200, 200, 200, 200, 403, 400]);

    const text = lines.join('\n');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(token);
    const commandLines = parsed().filter((line) => line.message !== 'a line written by the use case');
    expect(commandLines).toHaveLength(commands.length);
    for (const [index, command] of commands.entries()) {
      expect(commandLines).toContainEqual(
        expect.objectContaining({
          correlationId: `req-${index}`,
          connectionId: 'conn-1',
          user: alice.uri,
          action: command.action,
          rid: command.rid,
          status: [200, 200, 200, 200, 403, 400][index],
          durationMs: expect.any(Number),
          service: 'uc-backend',
        }),
      );
    }
    // A line the use case writes inside the command carries the command's keys too.
    expect(parsed()).toContainEqual(expect.objectContaining({ message: 'a line written by the use case', correlationId: 'req-1', action: 'chat.grpchat', rid: 'r2' }));
  });

  test("a 500's correlationId is the one on its log line, and the error is logged without its SDK properties", async () => {
    const answer = JSON.parse((await handler(event({ action: 'conf.get', rid: 'boom', confId: 'conf-1' }, 'req-500'))).body!);
    expect(answer).toMatchObject({ status: 500, error: { code: 'Internal', correlationId: 'req-500' } });
    const failed = parsed().filter((line) => line.message === 'command failed');
    expect(failed).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        correlationId: answer.error.correlationId,
        action: 'conf.get',
        rid: 'boom',
        status: 500,
        error: expect.objectContaining({ name: 'ConditionalCheckFailedException', message: 'The conditional request failed' }),
      }),
    ]);
    expect(lines.join('\n')).not.toContain(SECRET);
  });

  test('without an API Gateway request id a correlation id is generated, and the 500 carries it', async () => {
    const answer = JSON.parse((await handler(event({ action: 'conf.get', rid: 'boom', confId: 'conf-1' }, undefined))).body!);
    const correlationId = answer.error.correlationId as string;
    expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(parsed()).toContainEqual(expect.objectContaining({ message: 'command failed', correlationId }));
  });

  test('commands running at once keep their own keys', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = makeCommandHandler({
      ping: async (_args, { requestId }) => {
        await gate;
        logger.debug('inside', { seen: requestId });
        return { pong: true };
      },
    });
    const running = Array.from({ length: 5 }, (_, index) => slow(event({ action: 'ping', rid: `p${index}` }, `req-p${index}`, `conn-${index}`)));
    release();
    await Promise.all(running);
    const inside = parsed().filter((line) => line.message === 'inside');
    expect(inside).toHaveLength(5);
    for (const line of inside) expect(line).toMatchObject({ correlationId: line.seen, connectionId: `conn-${String(line.seen).slice(-1)}` });
  });
});

describe('what the authorizer logs', () => {
  test('a refused token is logged by its reason, never by its value', async () => {
    process.env.AUTH_JWT_SECRET ??= 'a-development-secret-of-enough-length';
    const { handler: authorize } = require('../../../../functions/authorizer') as typeof import('../../../../functions/authorizer');
    const forged = await issueToken({ uri: 'sip:mallory@contoso.com', kind: 'admin' }, 'another-secret-of-enough-length');
    await expect(authorize({ methodArn: 'arn:aws:execute-api:us-east-1:0:api/local/$connect', queryStringParameters: { token: forged } })).rejects.toThrow('Unauthorized');
    expect(parsed()).toEqual([expect.objectContaining({ level: 'INFO', message: 'connect refused', reason: 'invalid token' })]);
    expect(lines.join('\n')).not.toContain(forged);
  });
});
