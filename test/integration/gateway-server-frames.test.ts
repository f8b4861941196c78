import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LocalWebSocketGateway } from '../../infra/local/gateway';
import { MAX_SERVER_FRAME_BYTES } from '../../shared/protocol/limits';
import { TestClient } from '../support/client';

/**
 * Issue 17 item 2: no server frame over 128 KB (131,072 bytes). API Gateway fails a `postToConnection` over it with
 * 413 PayloadTooLargeException and does not deliver a route response over it; the local gateway does the same, and
 * records the route response it refused, so a test catches any path that would fail on AWS.
 */
let server: Server;
let gateway: LocalWebSocketGateway;
let url: string;
/** The route response the fake function answers, by the frame's rid. */
const answers = new Map<string, string>();

function responseOfSize(rid: string, bytes: number): string {
  const head = JSON.stringify({ type: 'response', rid, status: 200, body: { padding: '' } });
  return head.replace('"padding":""', `"padding":"${'x'.repeat(bytes - head.length)}"`);
}

beforeAll(async () => {
  gateway = new LocalWebSocketGateway({
    invoker: {
      invoke: async (_name, event) => {
        const rid = (JSON.parse((event as { body: string }).body) as { rid: string }).rid;
        return { statusCode: 200, body: answers.get(rid) };
      },
    },
    routes: new Map([['$default', 'default']]),
    idleTimeoutSeconds: 60,
    maxConnectionSeconds: 120,
  });
  server = createServer();
  gateway.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  await gateway.close();
  await new Promise((resolve) => server.close(resolve));
});

test('a route response of exactly 131,072 bytes is delivered; one byte more is not, the client gets an error frame and the gateway records it', async () => {
  const client = await TestClient.connect(url);
  answers.set('fits', responseOfSize('fits', MAX_SERVER_FRAME_BYTES));
  answers.set('over', responseOfSize('over', MAX_SERVER_FRAME_BYTES + 1));
  expect(Buffer.byteLength(answers.get('fits')!)).toBe(131_072);

  const fits = await client.sendRaw(JSON.stringify({ action: 'x', rid: 'fits' }), 'fits');
  expect(fits.status).toBe(200);

  const frame = (await client.sendAndNextFrame(JSON.stringify({ action: 'x', rid: 'over' }))) as Record<string, unknown>;
  expect(frame).toMatchObject({ message: 'Internal server error' });
  expect(gateway.oversizedFrames).toEqual([expect.objectContaining({ path: 'route response', bytes: MAX_SERVER_FRAME_BYTES + 1 })]);
  expect(client.isOpen).toBe(true);
  await client.close();
});

test('postToConnection over 131,072 bytes answers 413 PayloadTooLargeException, as AWS', async () => {
  const client = await TestClient.connect(url);
  const connectionId = [...(gateway as unknown as { live: Map<string, unknown> }).live.keys()].at(-1)!;
  const post = async (bytes: number) => {
    let status = 0;
    let body = '';
    const response = {
      writeHead: (code: number) => {
        status = code;
        return response;
      },
      setHeader: () => undefined,
      end: (text?: string) => {
        body = text ?? '';
      },
    } as unknown as ServerResponse;
    await gateway.handle({ method: 'POST', path: `/@connections/${encodeURIComponent(connectionId)}`, query: new URLSearchParams(), headers: {}, body: Buffer.from(`{"p":"${'x'.repeat(bytes - 8)}"}`), raw: undefined as never }, response);
    return { status, body };
  };
  expect((await post(MAX_SERVER_FRAME_BYTES)).status).toBe(200);
  const over = await post(MAX_SERVER_FRAME_BYTES + 1);
  expect(over.status).toBe(413);
  expect(over.body).toContain('PayloadTooLargeException');
  expect(gateway.oversizedFrames.at(-1)).toMatchObject({ path: 'postToConnection', bytes: MAX_SERVER_FRAME_BYTES + 1 });
  await client.close();
});
