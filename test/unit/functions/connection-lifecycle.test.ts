import { makeConnectHandler } from '../../../functions/connect';
import { makeDisconnectHandler } from '../../../functions/disconnect';
import { logger } from '../../../functions/lib/logger';
import type { WebSocketEvent } from '../../../functions/lib/websocket-event';
import { loadConfig } from '../../../shared/config';
import type { ConnectionRecord } from '../../../shared/ports';

const alice = { uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice', device: 'mobile' } as const;

function event(eventType: 'CONNECT' | 'DISCONNECT'): WebSocketEvent {
  return {
    requestContext: {
      routeKey: eventType === 'CONNECT' ? '$connect' : '$disconnect',
      eventType,
      connectionId: 'conn-1',
      requestId: 'req-1',
      connectedAt: 5_000,
      authorizer: alice,
    },
  };
}

/** In-memory stand-ins for the ports these two handlers touch; `presenceFails` makes every presence call reject. */
function fakes(presenceFails = false) {
  const records = new Map<string, ConnectionRecord>();
  const calls: string[] = [];
  const presenceCall = async (name: string, ...args: unknown[]) => {
    calls.push(`${name} ${args.map(String).join(' ')}`);
    if (presenceFails) throw new Error('store unavailable');
    return { presence: { availability: 'online' as const }, version: 1 };
  };
  return {
    records,
    calls,
    deps: {
      config: loadConfig({}),
      clock: { now: () => 9_000 },
      connectionStore: {
        put: async (record: ConnectionRecord) => void records.set(record.connectionId, record),
        delete: async (connectionId: string) => {
          calls.push(`delete ${connectionId}`);
          records.delete(connectionId);
        },
      },
      presence: {
        endpointOpened: (identity: { uri: string }, connectionId: string, expiresAt: number) => presenceCall('opened', identity.uri, connectionId, expiresAt),
        endpointGone: (uri: string, connectionId: string) => presenceCall('gone', uri, connectionId),
      },
      conferences: { disconnected: async (identity: { uri: string }, connectionId: string) => void calls.push(`conferences ${identity.uri} ${connectionId}`) },
    },
  };
}

let warnings: jest.SpyInstance;
beforeEach(() => {
  warnings = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe('$connect', () => {
  test('records the endpoint and counts it in the user’s presence until the connection’s deadline', async () => {
    const { deps, records, calls } = fakes();
    const handler = makeConnectHandler(deps as unknown as Parameters<typeof makeConnectHandler>[0]);

    expect(await handler(event('CONNECT'))).toEqual({ statusCode: 200 });

    expect(records.get('conn-1')).toMatchObject({ uri: alice.uri, device: 'mobile', connectedAt: 5_000, expiresAt: 5_000 + 7_200_000 });
    expect(calls).toEqual([`opened ${alice.uri} conn-1 ${5_000 + 7_200_000}`]);
  });

  test('a presence failure does not refuse the connection: it is logged', async () => {
    const { deps, records } = fakes(true);
    const handler = makeConnectHandler(deps as unknown as Parameters<typeof makeConnectHandler>[0]);

    expect(await handler(event('CONNECT'))).toEqual({ statusCode: 200 });

    expect(records.has('conn-1')).toBe(true);
    expect(warnings).toHaveBeenCalledWith('presence not updated at connect', expect.objectContaining({ connectionId: 'conn-1' }));
  });
});

describe('$disconnect', () => {
  test('removes the record, then recomputes the user’s presence without this endpoint (which notifies subscribers)', async () => {
    const { deps, calls } = fakes();
    const handler = makeDisconnectHandler(deps as unknown as Parameters<typeof makeDisconnectHandler>[0]);

    expect(await handler(event('DISCONNECT'))).toEqual({ statusCode: 200 });

    expect(calls.slice(0, 2)).toEqual(['delete conn-1', `gone ${alice.uri} conn-1`]);
  });

  test('best-effort: a presence failure is logged, the record is still removed and the other areas still told', async () => {
    const { deps, calls } = fakes(true);
    const handler = makeDisconnectHandler(deps as unknown as Parameters<typeof makeDisconnectHandler>[0]);

    expect(await handler(event('DISCONNECT'))).toEqual({ statusCode: 200 });

    expect(calls).toEqual(['delete conn-1', `gone ${alice.uri} conn-1`, `conferences ${alice.uri} conn-1`]);
    expect(warnings).toHaveBeenCalledWith('presence not updated at disconnect', expect.objectContaining({ connectionId: 'conn-1' }));
  });
});
