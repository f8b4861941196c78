import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiGatewayConnections, surelyNotDelivered } from '../../shared/adapters/apigw-connections';

/**
 * postToConnection is sent again only when it surely did not reach the socket: a refusal (429, 5xx) or no
 * connection at all. A timeout may hide a delivered post (a slow gateway), so a second send would duplicate it.
 */
type Reply = 'ok' | 'hang' | 500 | 429 | 410;

let server: Server;
let endpoint: string;
const script: Reply[] = [];
let posts = 0;

beforeAll(async () => {
  // The SDK signs every request; this server ignores the signature but the client still needs a region and keys.
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      posts += 1;
      const reply = script.shift() ?? 'ok';
      if (reply === 'hang') return; // never answers; the client's request timeout ends it
      if (reply === 'ok') return void response.writeHead(200).end();
      const type = reply === 410 ? 'GoneException' : reply === 429 ? 'LimitExceededException' : 'InternalServerErrorException';
      response.writeHead(reply, { 'content-type': 'application/json', 'x-amzn-errortype': type }).end(JSON.stringify({ message: type }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  script.length = 0;
  posts = 0;
});

const bounds = { MANAGEMENT_API_MAX_ATTEMPTS: 2, MANAGEMENT_API_REQUEST_TIMEOUT_MS: 300, SDK_CONNECT_TIMEOUT_MS: 3000 };

describe('postToConnection retries', () => {
  test('a 500 is sent again and then delivered', async () => {
    script.push(500);
    await expect(new ApiGatewayConnections(endpoint, bounds).post('c1', { hello: 1 })).resolves.toBe('delivered');
    expect(posts).toBe(2);
  });

  test('a 429 is sent again, up to MANAGEMENT_API_MAX_ATTEMPTS, then fails', async () => {
    script.push(429, 429, 429);
    await expect(new ApiGatewayConnections(endpoint, bounds).post('c1', { hello: 1 })).rejects.toMatchObject({ name: 'DependencyThrottledError', cause: { $metadata: { httpStatusCode: 429 } } });
    expect(posts).toBe(2);
  });

  test('a timed-out post is not sent again (it may have been delivered)', async () => {
    script.push('hang');
    await expect(new ApiGatewayConnections(endpoint, bounds).post('c1', { hello: 1 })).rejects.toMatchObject({ name: 'DependencyUnavailableError', cause: { name: 'TimeoutError' } });
    expect(posts).toBe(1);
  });

  test('GoneException is an answer, not a failure: gone, sent once', async () => {
    script.push(410);
    await expect(new ApiGatewayConnections(endpoint, bounds).post('c1', { hello: 1 })).resolves.toBe('gone');
    expect(posts).toBe(1);
  });

  test('no connection at all (refused) counts as surely not delivered', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await new ApiGatewayConnections(`http://127.0.0.1:${port}`, bounds).post('c1', {}).catch((caught: unknown) => caught);
    expect(surelyNotDelivered(error)).toBe(true);
    // A reset socket: almost always a pooled keep-alive socket the server had closed; the request never arrived.
    expect(surelyNotDelivered(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
    // A request timeout is not: the gateway may have delivered it, slowly.
    expect(surelyNotDelivered(Object.assign(new Error('a request has exceeded the configured 300 ms requestTimeout'), { name: 'TimeoutError', code: 'ETIMEDOUT' }))).toBe(false);
  });
});
