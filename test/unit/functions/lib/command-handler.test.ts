import { z } from 'zod';
import { makeCommandHandler } from '../../../../functions/lib/command-handler';
import { logger } from '../../../../functions/lib/logger';
import type { RouteResult, WebSocketEvent } from '../../../../functions/lib/websocket-event';
import {
  ConflictError,
  ForbiddenError,
  GoneError,
  NotFoundError,
  TooLargeError,
  TooManyRequestsError,
  UnauthorizedError,
  UnavailableError,
} from '../../../../shared/errors';
import { commandSchemas } from '../../../../shared/protocol/commands';
import { TokenBucketRateLimiter } from '../../../../shared/rate-limit';

// Every frame is charged now, bad ones too (issue 17 item 4): the process limiter of the tests without their own
// must not refuse this file's hundreds of frames from one connection.
process.env.RATE_LIMIT_PER_CONNECTION = '1000000';
process.env.RATE_LIMIT_PER_USER = '1000000';
process.env.RATE_LIMIT_PINGS_PER_CONNECTION = '1000000';

const alice = { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice', device: 'desktop' } as const;

/** A `$default` MESSAGE event; `authorizer: null` builds one without any authorizer context. */
function event(body: string | null | undefined, authorizer: Record<string, unknown> | null = alice): WebSocketEvent {
  return {
    requestContext: {
      routeKey: '$default',
      eventType: 'MESSAGE',
      connectionId: 'conn-1',
      requestId: 'req-abc-123',
      connectedAt: 1_000,
      ...(authorizer ? { authorizer } : {}),
    },
    body,
    isBase64Encoded: false,
  };
}

function frame(value: Record<string, unknown>): string {
  return JSON.stringify(value);
}

/** The response frame a route result carries. */
function responseOf(result: RouteResult): Record<string, unknown> & { status: number; rid?: string; error?: Record<string, unknown> } {
  expect(result.statusCode).toBe(200);
  return JSON.parse(result.body ?? 'null');
}

let infoLog: jest.SpyInstance;
let errorLog: jest.SpyInstance;

beforeEach(() => {
  jest.spyOn(logger, 'debug').mockImplementation(() => undefined);
  infoLog = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  errorLog = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('makeCommandHandler: routing', () => {
  it('a known action runs its route and answers 200 with its body and the rid', async () => {
    const handler = makeCommandHandler({ ping: async () => ({ pong: true }) });

    const result = await handler(event(frame({ action: 'ping', rid: 'p-1' })));

    expect(responseOf(result)).toEqual({ type: 'response', rid: 'p-1', status: 200, body: { pong: true } });
  });

  it('the route receives the validated args and the identity from the authorizer', async () => {
    const ping = jest.fn(async () => ({ pong: true }));
    const handler = makeCommandHandler({ ping });

    await handler(event(frame({ action: 'ping', rid: 'p-1', unexpected: 'dropped' })));

    expect(ping).toHaveBeenCalledTimes(1);
    expect(ping).toHaveBeenCalledWith({}, { identity: alice, connectionId: 'conn-1', requestId: 'req-abc-123' });
  });

  it('each action runs its own route', async () => {
    const ping = jest.fn(async () => ({ pong: true }));
    const serverInfo = jest.fn(async () => ({ serverVersion: '0.1.0' }));
    const handler = makeCommandHandler({ ping, 'chat.getserverinfo': serverInfo });

    const result = await handler(event(frame({ action: 'chat.getserverinfo', rid: 's-1' })));

    expect(responseOf(result).body).toEqual({ serverVersion: '0.1.0' });
    expect(serverInfo).toHaveBeenCalledTimes(1);
    expect(ping).not.toHaveBeenCalled();
  });

  it('a route that returns nothing answers an empty body', async () => {
    const handler = makeCommandHandler({ ping: async () => undefined });

    const result = await handler(event(frame({ action: 'ping', rid: 'p-2' })));

    expect(responseOf(result)).toEqual({ type: 'response', rid: 'p-2', status: 200, body: {} });
  });

  it('a frame without rid is answered without rid', async () => {
    const handler = makeCommandHandler({ ping: async () => ({ pong: true }) });

    const response = responseOf(await handler(event(frame({ action: 'ping' }))));

    expect(response).not.toHaveProperty('rid');
    expect(response.status).toBe(200);
  });

  it('an unknown action is a 400 naming the field action, with the rid echoed', async () => {
    const handler = makeCommandHandler({ ping: async () => ({ pong: true }) });

    const response = responseOf(await handler(event(frame({ action: 'conf.explode', rid: 'u-1' }))));

    expect(response).toEqual({
      type: 'response',
      rid: 'u-1',
      status: 400,
      error: { code: 'BadRequest', message: "unknown action 'conf.explode'", field: 'action' },
    });
  });

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'an action named like an inherited property (%s) is a 400 unknown action, not a 500',
    async (action) => {
      const handler = makeCommandHandler({ ping: async () => ({ pong: true }) });

      const response = responseOf(await handler(event(frame({ action, rid: 'proto' }))));

      expect(response).toMatchObject({ status: 400, error: { code: 'BadRequest', field: 'action' } });
    },
  );

  it('a known action without a registered route is a 400 unknown action', async () => {
    const ping = jest.fn(async () => ({ pong: true }));
    const handler = makeCommandHandler({ ping });

    const response = responseOf(await handler(event(frame({ action: 'chat.getserverinfo', rid: 'u-2' }))));

    expect(response.status).toBe(400);
    expect(response.error).toMatchObject({ code: 'BadRequest', field: 'action' });
    expect(ping).not.toHaveBeenCalled();
  });

  it('a frame without action is a 400 naming the field action, with the rid echoed', async () => {
    const handler = makeCommandHandler({ ping: async () => ({ pong: true }) });

    const response = responseOf(await handler(event(frame({ rid: 'm-1' }))));

    expect(response).toMatchObject({ rid: 'm-1', status: 400, error: { code: 'BadRequest', field: 'action' } });
  });

  it('a mistyped action is a 400 with the rid echoed', async () => {
    const handler = makeCommandHandler({ ping: async () => ({ pong: true }) });

    const response = responseOf(await handler(event(frame({ action: 7, rid: 'm-2' }))));

    expect(response).toMatchObject({ rid: 'm-2', status: 400, error: { field: 'action' } });
  });

  it.each(['{not json', '', '[1,2]'])('a malformed frame is a 400 and the handler still answers (%p)', async (body) => {
    const handler = makeCommandHandler({ ping: async () => ({ pong: true }) });

    const response = responseOf(await handler(event(body)));

    expect(response.status).toBe(400);
    expect(response.error).toMatchObject({ code: 'BadRequest' });
    expect(response).not.toHaveProperty('rid');
  });

  it('an event without a body is a 400', async () => {
    const handler = makeCommandHandler({ ping: async () => ({ pong: true }) });

    const response = responseOf(await handler(event(undefined)));

    expect(response.status).toBe(400);
  });
});

describe('makeCommandHandler: argument validation', () => {
  const countSchema = z.object({ count: z.coerce.number().int(), label: z.string().default('none') });
  let restoreSchema: () => void;

  beforeEach(() => {
    // Commands with arguments are added later; here `ping` temporarily takes two, to exercise validation.
    const replaced = jest.replaceProperty(commandSchemas, 'ping', countSchema as unknown as (typeof commandSchemas)['ping']);
    restoreSchema = () => replaced.restore();
  });

  afterEach(() => restoreSchema());

  it('the route receives the args as parsed by the schema, defaults applied', async () => {
    const ping = jest.fn(async (_args: unknown) => ({ ok: true }));
    const handler = makeCommandHandler({ ping });

    await handler(event(frame({ action: 'ping', rid: 'a-1', count: '3' })));

    expect(ping).toHaveBeenCalledWith({ count: 3, label: 'none' }, expect.objectContaining({ identity: alice }));
  });

  it('a missing argument is a 400 naming the field, with the rid echoed', async () => {
    const ping = jest.fn(async () => ({ ok: true }));
    const handler = makeCommandHandler({ ping });

    const response = responseOf(await handler(event(frame({ action: 'ping', rid: 'a-2' }))));

    expect(response).toMatchObject({ type: 'response', rid: 'a-2', status: 400, error: { code: 'BadRequest', field: 'count' } });
    expect(response.error?.['message']).toContain("field 'count'");
    expect(ping).not.toHaveBeenCalled();
  });

  it('a mistyped argument is a 400 naming the field, with the rid echoed', async () => {
    const ping = jest.fn(async () => ({ ok: true }));
    const handler = makeCommandHandler({ ping });

    const response = responseOf(await handler(event(frame({ action: 'ping', rid: 'a-3', count: 1, label: 42 }))));

    expect(response).toMatchObject({ rid: 'a-3', status: 400, error: { code: 'BadRequest', field: 'label' } });
    expect(response.error?.['message']).toContain("field 'label'");
    expect(ping).not.toHaveBeenCalled();
  });
});

describe('makeCommandHandler: identity', () => {
  it.each<[string, Record<string, unknown> | null]>([
    ['no authorizer context', null],
    ['an empty authorizer context', {}],
    ['no uri', { kind: 'enterprise', name: 'Alice', device: 'desktop' }],
    ['a uri that is not a SIP URI', { ...alice, uri: 'alice@contoso.com' }],
    ['an unknown kind', { ...alice, kind: 'root' }],
    ['an unknown device', { ...alice, device: 'fax' }],
  ])('a missing identity is a 401 and the route never runs (%s)', async (_case, authorizer) => {
    const ping = jest.fn(async () => ({ pong: true }));
    const handler = makeCommandHandler({ ping });

    const response = responseOf(await handler(event(frame({ action: 'ping', rid: 'i-1' }), authorizer)));

    expect(response).toMatchObject({ rid: 'i-1', status: 401, error: { code: 'Unauthorized' } });
    expect(ping).not.toHaveBeenCalled();
  });
});

describe('makeCommandHandler: errors', () => {
  it.each([
    [new UnauthorizedError('session ended'), 401, 'Unauthorized'],
    [new ForbiddenError('not an organizer'), 403, 'Forbidden'],
    [new NotFoundError('no such conference'), 404, 'NotFound'],
    [new ConflictError('already joined'), 409, 'Conflict'],
    [new GoneError('conversation ended'), 410, 'Gone'],
    [new TooLargeError('message too large'), 413, 'TooLarge'],
  ])('an AppError thrown by the route maps to its status (%p)', async (thrown, status, code) => {
    const handler = makeCommandHandler({
      ping: async () => {
        throw thrown;
      },
    });

    const response = responseOf(await handler(event(frame({ action: 'ping', rid: 'e-1' }))));

    expect(response).toEqual({ type: 'response', rid: 'e-1', status, error: { code, message: thrown.message } });
  });

  it.each([
    [new TooManyRequestsError('slow down', 1200), 429],
    [new UnavailableError('try later', 300), 503],
  ])('429 and 503 from the route carry retryAfterMs (%p)', async (thrown, status) => {
    const handler = makeCommandHandler({
      ping: async () => {
        throw thrown;
      },
    });

    const response = responseOf(await handler(event(frame({ action: 'ping', rid: 'e-2' }))));

    expect(response).toMatchObject({ rid: 'e-2', status, error: { retryAfterMs: thrown.retryAfterMs } });
  });

  it('a refusal is logged as info, not as an error', async () => {
    const handler = makeCommandHandler({
      ping: async () => {
        throw new ForbiddenError('no');
      },
    });

    await handler(event(frame({ action: 'ping', rid: 'e-3' })));

    expect(errorLog).not.toHaveBeenCalled();
    expect(infoLog).toHaveBeenCalledWith('command refused', expect.objectContaining({ action: 'ping', status: 403, requestId: 'req-abc-123' }));
  });

  it('an unknown thrown Error is a 500 whose correlation id is the request id, leaking no message or stack', async () => {
    const failure = new Error('ConditionalCheckFailed on table uc-main-secret-prod at 10.1.2.3');
    const handler = makeCommandHandler({
      ping: async () => {
        throw failure;
      },
    });

    const result = await handler(event(frame({ action: 'ping', rid: 'e-4' })));
    const response = responseOf(result);

    expect(response).toEqual({
      type: 'response',
      rid: 'e-4',
      status: 500,
      error: { code: 'Internal', message: 'internal error (correlation id req-abc-123)', correlationId: 'req-abc-123' },
    });
    expect(result.body).not.toContain('ConditionalCheckFailed');
    expect(result.body).not.toContain('10.1.2.3');
    expect(result.body).not.toContain('command-handler');
    expect(result.body).not.toContain(' at ');
  });

  it('an unknown thrown Error is logged with its request id', async () => {
    const failure = new TypeError('undefined is not a function');
    const handler = makeCommandHandler({
      ping: async () => {
        throw failure;
      },
    });

    await handler(event(frame({ action: 'ping', rid: 'e-5' })));

    expect(errorLog).toHaveBeenCalledWith('command failed', expect.objectContaining({ action: 'ping', requestId: 'req-abc-123', error: failure }));
  });

  it('a thrown non-Error is a 500 too', async () => {
    const handler = makeCommandHandler({
      ping: () => Promise.reject('plain string'),
    });

    const response = responseOf(await handler(event(frame({ action: 'ping', rid: 'e-6' }))));

    expect(response).toMatchObject({ rid: 'e-6', status: 500, error: { code: 'Internal', correlationId: 'req-abc-123' } });
    expect(JSON.stringify(response)).not.toContain('plain string');
  });
});

describe('makeCommandHandler: the rate limiter is charged first (issue 17 item 4)', () => {
  const fixedClock = { now: () => 5_000_000 };
  const limiter = () =>
    new TokenBucketRateLimiter({ perConnectionPerSecond: 1, perUserPerSecond: 100, burstSeconds: 3, pingsPerConnectionPerSecond: 1, pingBurstSeconds: 4 }, fixedClock);

  test.each([
    ['malformed JSON', '{"action": "ping", "rid": '],
    ['not an object', '[1, 2, 3]'],
    ['a mistyped action', frame({ action: 42, rid: 'r' })],
    ['an unknown action', frame({ action: 'no.such.action', rid: 'r' })],
    ['a missing argument', frame({ action: 'chat.join', rid: 'r' })],
  ])('a flood of frames with %s gets 429 once the connection has spent its burst', async (_what, body) => {
    const handler = makeCommandHandler({ 'chat.join': async () => ({}) }, { rateLimiter: limiter() });
    const statuses = [];
    for (let sent = 0; sent < 6; sent++) statuses.push(responseOf(await handler(event(body))).status);
    expect(statuses).toEqual([400, 400, 400, 429, 429, 429]);
  });

  test('the $default route (no routes at all) charges the limiter too', async () => {
    const handler = makeCommandHandler({}, { rateLimiter: limiter() });
    const statuses = [];
    for (let sent = 0; sent < 5; sent++) statuses.push(responseOf(await handler(event(frame({ action: 'x.y', rid: `r${sent}` })))).status);
    expect(statuses).toEqual([400, 400, 400, 429, 429]);
  });

  test('ping has a bucket of its own per connection: commands do not spend it, and a ping flood gets 429', async () => {
    const handler = makeCommandHandler({ ping: async () => ({ pong: true }), 'chat.join': async () => ({}) }, { rateLimiter: limiter() });
    for (let sent = 0; sent < 3; sent++) await handler(event(frame({ action: 'chat.join', roomId: 'r', rid: 'j' })));
    expect(responseOf(await handler(event(frame({ action: 'chat.join', roomId: 'r', rid: 'j' })))).status).toBe(429);
    const pings = [];
    for (let sent = 0; sent < 6; sent++) pings.push(responseOf(await handler(event(frame({ action: 'ping', rid: `p${sent}` })))).status);
    expect(pings).toEqual([200, 200, 200, 200, 429, 429]);
  });
});
