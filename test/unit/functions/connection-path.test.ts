/**
 * The connection-path functions (issue 21 item 3, docs/performance.md "Bundles and init"): `default` and `system`
 * run the command pipeline without the protocol's full schemas, with the same answers and the same lists.
 */
import { rawHandler as defaultHandler } from '../../../functions/default';
import { isListedAction } from '../../../functions/lib/command-pipeline';
import { logger } from '../../../functions/lib/logger';
import type { RouteResult, WebSocketEvent } from '../../../functions/lib/websocket-event';
import { rawHandler as systemHandler, systemSchemas } from '../../../functions/system';
import { commandSchemas } from '../../../shared/protocol/commands';

const alice = { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice', device: 'desktop' } as const;

function event(body: string): WebSocketEvent {
  return { requestContext: { routeKey: '$default', eventType: 'MESSAGE', connectionId: 'conn-path-1', requestId: 'req-1', authorizer: alice }, body };
}

function responseOf(result: RouteResult): Record<string, unknown> {
  expect(result.statusCode).toBe(200);
  return JSON.parse(result.body ?? 'null') as Record<string, unknown>;
}

beforeEach(() => {
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'debug').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('the listed actions are exactly the schema\'d ones', () => {
  it('every action with a schema is listed, and nothing else', () => {
    for (const action of Object.keys(commandSchemas)) expect(isListedAction(action)).toBe(true);
    for (const action of ['no.such.action', 'toString', '__proto__', 'constructor', '']) expect(isListedAction(action)).toBe(false);
  });
});

describe('system: ping without the protocol schemas', () => {
  it.each([{}, { unexpected: 'dropped' }, { a: 1, b: [true], c: { d: null } }])('its zod/mini schema gives what commandSchemas.ping gives (%p)', (args) => {
    expect(systemSchemas.ping.parse(args)).toEqual(commandSchemas.ping.parse(args));
  });

  it('ping answers pong with the rid', async () => {
    expect(responseOf(await systemHandler(event(JSON.stringify({ action: 'ping', rid: 'p-1', extra: 1 }))))).toEqual({ type: 'response', rid: 'p-1', status: 200, body: { pong: true } });
  });

  it('another action reaching it is a 400 unknown action', async () => {
    const response = responseOf(await systemHandler(event(JSON.stringify({ action: 'im.send', rid: 'r-1' }))));
    expect(response).toMatchObject({ status: 400, rid: 'r-1', error: { code: 'BadRequest', message: "unknown action 'im.send'", field: 'action' } });
  });
});

describe('default: every frame that selects no route is a 400 naming the problem', () => {
  it.each([
    ['malformed JSON', '{nope', 'malformed JSON: the frame must be one JSON object'],
    ['a missing action', JSON.stringify({ rid: 'r' }), "field 'action' is required"],
    ['an unknown action', JSON.stringify({ action: 'no.such.action', rid: 'r' }), "unknown action 'no.such.action'"],
    ['a known action (routed elsewhere on AWS)', JSON.stringify({ action: 'ping', rid: 'r' }), "unknown action 'ping'"],
  ])('%s', async (_case, body, message) => {
    const response = responseOf(await defaultHandler(event(body)));
    expect(response).toMatchObject({ type: 'response', status: 400, error: { code: 'BadRequest', message } });
  });
});
