import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEdgeServer, type EdgeRequest, type EdgeService } from '../../infra/local/edge';
import { LocalWebApp } from '../../infra/local/web';
import { verifyToken } from '../../shared/auth/tokens';
import { startTestCloud } from '../support/cloud';
import { TestClient } from '../support/client';

/** The local cloud's web app service: static files of web/dist, traversal refused, and the development sign-in. */

const SECRET = 'a-test-secret-of-enough-length';

/** Stands for the AWS services after the web app on the edge: whatever it does not claim reaches this. */
class Fallthrough implements EdgeService {
  readonly name = 'fallthrough';
  readonly seen: string[] = [];
  async handle(request: EdgeRequest, response: ServerResponse): Promise<boolean> {
    this.seen.push(`${request.method} ${request.path}`);
    response.writeHead(299).end();
    return true;
  }
}

let root: string;
let server: Server;
let base: string;
let fallthrough: Fallthrough;

async function listen(services: EdgeService[]): Promise<{ server: Server; base: string }> {
  const started = createEdgeServer(() => services);
  await new Promise<void>((resolve) => started.listen(0, '127.0.0.1', () => resolve()));
  return { server: started, base: `http://127.0.0.1:${(started.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'uc-web-'));
  const dist = join(root, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(dist, 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(join(dist, 'assets', 'index-abc.css'), 'body{}');
  writeFileSync(join(dist, 'robots.txt'), 'User-agent: *');
  writeFileSync(join(root, 'secret.txt'), 'the secret');
  fallthrough = new Fallthrough();
  ({ server, base } = await listen([new LocalWebApp({ jwtSecret: SECRET, wsUrl: 'ws://fallback:1', distDir: dist }), fallthrough]));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(root, { recursive: true, force: true });
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('static files', () => {
  test('/ and /index.html are the page; assets have their content types and are cached for good', async () => {
    for (const path of ['/', '/index.html']) {
      const page = await fetch(`${base}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('cache-control')).toBe('no-cache');
      expect(await page.text()).toContain('<title>app</title>');
    }
    const script = await fetch(`${base}/assets/index-abc.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toContain('immutable');
    expect(await script.text()).toBe('console.log(1)');
    expect((await fetch(`${base}/assets/index-abc.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    const other = await fetch(`${base}/robots.txt`);
    expect([other.status, other.headers.get('content-type')]).toEqual([200, 'text/plain; charset=utf-8']);
  });

  test("a meeting's join link /join/{confId} is the page (SPEC §9); other paths under /join are not the app's", async () => {
    const page = await fetch(`${base}/join/conf_abc-123`);
    expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    expect(await page.text()).toContain('<title>app</title>');
    for (const path of ['/join/', '/join/a/b', '/join/..%2fsecret.txt']) {
      const before = fallthrough.seen.length;
      expect((await fetch(`${base}${path}`)).status).toBe(299);
      expect(fallthrough.seen.length).toBe(before + 1);
    }
  });

  test('HEAD answers the headers alone; a missing asset is 404', async () => {
    const head = await fetch(`${base}/assets/index-abc.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String('console.log(1)'.length));
    expect(await head.text()).toBe('');
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
  });

  test('no path leaves web/dist: encoded dot-dot and backslashes are refused, never served', async () => {
    for (const path of ['/assets/..%2f..%2fsecret.txt', '/assets/%2e%2e%2f%2e%2e%2fsecret.txt', '/assets/..%5c..%5csecret.txt', '/assets/%00x.js']) {
      const response = await fetch(`${base}${path}`);
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain('the secret');
    }
    // Outside the app's paths a traversal is not the app's to answer: it goes on (and no service serves files).
    const before = fallthrough.seen.length;
    const outside = await fetch(`${base}/..%2fsecret.txt`);
    expect(outside.status).toBe(299);
    expect(fallthrough.seen.length).toBe(before + 1);
  });

  test('AWS requests and unknown paths go on to the AWS services', async () => {
    const cases: Array<[string, RequestInit]> = [
      ['/', { headers: { authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00' } }],
      ['/', { method: 'POST', headers: { 'x-amz-target': 'DynamoDB_20120810.ListTables' }, body: '{}' }],
      ['/uc-files/file_1?X-Amz-Signature=abc', {}],
      ['/uc-files', {}],
      ['/', { method: 'PUT', body: 'x' }],
    ];
    for (const [path, init] of cases) {
      const before = fallthrough.seen.length;
      expect((await fetch(`${base}${path}`, init)).status).toBe(299);
      expect(fallthrough.seen.length).toBe(before + 1);
    }
  });

  test('without a build, / says to run npm run build:web', async () => {
    const empty = await listen([new LocalWebApp({ jwtSecret: SECRET, wsUrl: 'ws://fallback:1', distDir: join(root, 'not-built') })]);
    try {
      const page = await fetch(`${empty.base}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await page.text()).toContain('npm run build:web');
      expect((await fetch(`${empty.base}/assets/index-abc.js`)).status).toBe(404);
    } finally {
      empty.server.closeAllConnections();
      await new Promise<void>((resolve) => empty.server.close(() => resolve()));
    }
  });
});

describe('POST /local/token', () => {
  test('issues a token for the user and kind, and the WebSocket URL of the host the browser used', async () => {
    const answer = await post('/local/token', { uri: 'sip:Alice@contoso.com', kind: 'anonymous', name: 'Alice' });
    expect(answer.status).toBe(200);
    expect(answer.body.wsUrl).toBe(`ws://${base.slice('http://'.length)}`);
    expect(await verifyToken(String(answer.body.token), SECRET)).toEqual({ uri: 'sip:alice@contoso.com', kind: 'anonymous', name: 'Alice', device: 'web' });

    const unnamed = await post('/local/token', { uri: 'sip:bob@contoso.com', kind: 'application', device: 'bot' });
    expect(await verifyToken(String(unnamed.body.token), SECRET)).toEqual({ uri: 'sip:bob@contoso.com', kind: 'application', name: 'bob', device: 'bot' });
  });

  test.each(['enterprise', 'federated', 'anonymous', 'pstn', 'application', 'admin'])('kind %s is offered', async (kind) => {
    const answer = await post('/local/token', { uri: 'sip:carol@fabrikam.com', kind });
    expect(answer.status).toBe(200);
    expect((await verifyToken(String(answer.body.token), SECRET)).kind).toBe(kind);
  });

  test('400 naming the field for a bad URI, kind or device; 400 for a body that is not JSON; 405 for GET', async () => {
    expect(await post('/local/token', { uri: 'alice@contoso.com', kind: 'enterprise' })).toMatchObject({ status: 400, body: { error: { code: 'BadRequest', field: 'uri' } } });
    expect(await post('/local/token', { kind: 'enterprise' })).toMatchObject({ status: 400, body: { error: { field: 'uri' } } });
    expect(await post('/local/token', { uri: 'sip:alice@contoso.com', kind: 'root' })).toMatchObject({ status: 400, body: { error: { field: 'kind' } } });
    expect(await post('/local/token', { uri: 'sip:alice@contoso.com', kind: 'enterprise', device: 'toaster' })).toMatchObject({ status: 400, body: { error: { field: 'device' } } });
    expect(await post('/local/token', '{not json')).toMatchObject({ status: 400, body: { error: { code: 'BadRequest' } } });
    const get = await fetch(`${base}/local/token`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });
});

describe('on the local cloud', () => {
  test('a token from the development sign-in opens the WebSocket API', async () => {
    const cloud = await startTestCloud();
    try {
      const response = await fetch(`${cloud.cloud.url}/local/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uri: 'sip:dave@contoso.com', kind: 'enterprise' }),
      });
      const issued = (await response.json()) as { token: string; wsUrl: string };
      expect(issued.wsUrl).toBe(cloud.cloud.wsUrl);
      const client = await TestClient.connect(`${issued.wsUrl}/?token=${issued.token}`);
      try {
        expect(await client.request('ping')).toMatchObject({ status: 200, body: { pong: true } });
      } finally {
        await client.close();
      }
      const page = await fetch(`${cloud.cloud.url}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    } finally {
      await cloud.stop();
    }
  });
});
