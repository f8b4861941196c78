import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalCloud, type LocalCloudOptions, LOCAL_JWT_SECRET, startLocalCloud } from '../../infra/local/cloud';
import { issueToken } from '../../shared/auth/tokens';
import { TestClient, waitFor } from '../support/client';

/**
 * Issue 17 items 8, 10 and 11: the local cloud listens on loopback only unless told (`expose`), serves its
 * development sign-in to loopback only, writes nothing to disk in memory, and answers nothing of the app before
 * it is ready (a client that connects as soon as the port opens is not refused).
 */

function baseOptions(extra: LocalCloudOptions = {}): LocalCloudOptions {
  return {
    inMemory: true,
    dynamoEndpoint: process.env.DYNAMODB_LOCAL_ENDPOINT,
    ...extra,
    env: { TABLE_NAME: `uc-test-${randomUUID().slice(0, 8)}`, COMPLIANCE_EXPORT_SECONDS: '86400', ...extra.env },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** An IPv4 address of this machine other than loopback, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry !== undefined && entry.family === 'IPv4' && !entry.internal)?.address;
}

// A local cloud points the process's SDK clients at itself (AWS_ENDPOINT_URL), which the next start would take
// for an external endpoint, and its handlers keep their module-scope clients: each test here starts its own
// cloud, so each gets a fresh environment and freshly loaded handlers.
const externalEndpoint = process.env.AWS_ENDPOINT_URL;
afterEach(() => {
  jest.resetModules();
  if (externalEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
  else process.env.AWS_ENDPOINT_URL = externalEndpoint;
});

/** POST /local/token to 127.0.0.1 with this Host header (fetch may not set Host). */
function statusWithHost(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ uri: 'sip:root@contoso.com', kind: 'admin' });
    const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/local/token', headers: { host, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end(body);
  });
}

const token = (uri: string) => issueToken({ uri, kind: 'enterprise' }, process.env.AUTH_JWT_SECRET ?? LOCAL_JWT_SECRET);

describe('start-up (item 11)', () => {
  test('a client that connects as soon as the port opens is served, not refused', async () => {
    const port = await freePort();
    const starting = startLocalCloud(baseOptions({ port }));
    let cloud: LocalCloud | undefined;
    try {
      // As `wait-on tcp:PORT` does: poll the port, then connect at once.
      await waitFor('the port to open', async () => ((await tcpOpen('127.0.0.1', port)) ? true : undefined), 60_000);
      const page = fetch(`http://127.0.0.1:${port}/`);
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/?token=${await token('sip:early@contoso.com')}`);
      expect(await client.request('ping')).toMatchObject({ status: 200, body: { pong: true } });
      expect((await page).status).toBe(200);
      await client.close();
    } finally {
      cloud = await starting;
      await cloud.stop();
    }
  });
});

describe('loopback only (item 8)', () => {
  const savedHost = process.env.HOST;
  afterEach(() => {
    if (savedHost === undefined) delete process.env.HOST;
    else process.env.HOST = savedHost;
  });

  test('HOST=0.0.0.0 without --expose listens on loopback only, with a warning', async () => {
    process.env.HOST = '0.0.0.0';
    const cloud = await startLocalCloud(baseOptions({ port: 0 }));
    try {
      expect(cloud.host).toBe('127.0.0.1');
      expect(cloud.exposed).toBe(false);
      expect(cloud.warnings.join('\n')).toContain('HOST=0.0.0.0 ignored');
      const external = externalAddress();
      if (external !== undefined) expect(await tcpOpen(external, cloud.port)).toBe(false);
      expect(await tcpOpen('127.0.0.1', cloud.port)).toBe(true);
    } finally {
      await cloud.stop();
    }
  });

  test('a non-loopback host without expose is an error', async () => {
    await expect(startLocalCloud(baseOptions({ port: 0, host: '0.0.0.0' }))).rejects.toThrow(/not a loopback address.*expose/);
  });

  test('with expose it listens beyond loopback, says so, and /local/token still answers loopback only', async () => {
    const cloud = await startLocalCloud(baseOptions({ port: 0, host: '0.0.0.0', expose: true }));
    try {
      expect(cloud.exposed).toBe(true);
      expect(cloud.warnings.join('\n')).toContain('reachable from the network');
      const signIn = (base: string, headers: Record<string, string> = {}) =>
        fetch(`${base}/local/token`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ uri: 'sip:root@contoso.com', kind: 'admin' }) });
      expect((await signIn(`http://127.0.0.1:${cloud.port}`)).status).toBe(200);
      expect((await signIn(`http://localhost:${cloud.port}`)).status).toBe(200);
      // DNS rebinding: a page of another site reaching this port by its own name.
      expect(await statusWithHost(cloud.port, `evil.example:${cloud.port}`)).toBe(403);
      expect(await statusWithHost(cloud.port, `localhost:${cloud.port}`)).toBe(200);
      const external = externalAddress();
      if (external !== undefined) {
        expect(await tcpOpen(external, cloud.port)).toBe(true);
        const remote = await signIn(`http://${external}:${cloud.port}`, { host: `localhost:${cloud.port}` });
        expect(remote.status).toBe(403);
      }
    } finally {
      await cloud.stop();
    }
  });
});

describe('--in-memory writes nothing (item 10)', () => {
  test('the compliance export goes to a temporary directory, removed at stop, never to .data', async () => {
    const cwd = process.cwd();
    const scratch = mkdtempSync(join(tmpdir(), 'uc-cwd-'));
    const savedExportDir = process.env.COMPLIANCE_EXPORT_DIR;
    delete process.env.COMPLIANCE_EXPORT_DIR;
    process.chdir(scratch);
    let cloud: LocalCloud | undefined;
    try {
      cloud = await startLocalCloud(baseOptions({ port: 0, env: { COMPLIANCE_EXPORT_SECONDS: '2' } }));
      const exportDir = cloud.complianceExportDir;
      expect(exportDir.startsWith(tmpdir())).toBe(true);
      const alice = await TestClient.connect(`${cloud.wsUrl}/?token=${await token('sip:alice@contoso.com')}`);
      const bob = await TestClient.connect(`${cloud.wsUrl}/?token=${await token('sip:bob@contoso.com')}`);
      expect(await alice.request('im.send', { to: 'sip:bob@contoso.com', text: 'kept off the disk' })).toMatchObject({ status: 200 });
      await waitFor('an export file', () => (existsSync(exportDir) && readdirSync(exportDir).length > 0 ? true : undefined), 30_000);
      await alice.close();
      await bob.close();
      await cloud.stop();
      cloud = undefined;
      expect(existsSync(exportDir)).toBe(false);
      expect(readdirSync(scratch)).toEqual([]);
    } finally {
      await cloud?.stop();
      process.chdir(cwd);
      if (savedExportDir !== undefined) process.env.COMPLIANCE_EXPORT_DIR = savedExportDir;
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
