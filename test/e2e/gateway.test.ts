import { SignJWT } from 'jose';
import { requireJwtSecret } from '../../shared/config';
import { MAX_FRAME_BYTES } from '../../shared/protocol/limits';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { type TestClient, upgradeStatus } from '../support/client';

let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud.stop();
});

const url = (token?: string) => `${cloud.cloud.wsUrl}/${token === undefined ? '' : `?token=${token}`}`;

describe('connect: the token is verified at the upgrade (SPEC §1)', () => {
  test('a valid token connects and ping answers pong', async () => {
    const alice = await cloud.connect('sip:alice@contoso.com');
    const response = await alice.request('ping');
    expect(response).toEqual({ type: 'response', rid: 'r1', status: 200, body: { pong: true } });
  });

  test('no token is refused with 401', async () => {
    expect(await upgradeStatus(url())).toBe(401);
  });

  test('a token signed with another secret is refused with 401', async () => {
    const forged = await new SignJWT({ kind: 'enterprise' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('sip:mallory@contoso.com')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('some-other-secret-of-enough-length'));
    expect(await upgradeStatus(url(forged))).toBe(401);
  });

  test('a token living a hundred years is refused with 401 (lifetime over TOKEN_MAX_LIFETIME_SECONDS)', async () => {
    const forever = await cloud.token('sip:alice@contoso.com', 'enterprise', { ttlSeconds: 100 * 365 * 24 * 3600 });
    expect(await upgradeStatus(url(forever))).toBe(401);
  });

  test('a token issued an hour in the future is refused with 401', async () => {
    const future = await new SignJWT({ kind: 'enterprise' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('sip:alice@contoso.com')
      .setIssuedAt(Math.floor(Date.now() / 1000) + 3600)
      .setExpirationTime(Math.floor(Date.now() / 1000) + 7200)
      .sign(new TextEncoder().encode(requireJwtSecret(cloud.cloud.config)));
    expect(await upgradeStatus(url(future))).toBe(401);
  });

  test('an expired token is refused with 401', async () => {
    const expired = await cloud.token('sip:alice@contoso.com', 'enterprise', { ttlSeconds: -60 });
    expect(await upgradeStatus(url(expired))).toBe(401);
  });

  test('an unsigned alg:none token is refused with 401', async () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: 'sip:mallory@contoso.com', kind: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
    expect(await upgradeStatus(url(unsigned))).toBe(401);
  });

  test('a malformed token is refused with 401', async () => {
    expect(await upgradeStatus(url('not-a-jwt'))).toBe(401);
  });

  test('a token with an unknown kind is refused with 401', async () => {
    const token = await new SignJWT({ kind: 'superuser' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('sip:mallory@contoso.com')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(requireJwtSecret(cloud.cloud.config)));
    expect(await upgradeStatus(url(token))).toBe(401);
  });
});

describe('the envelope: bad frames get a 400 naming the problem and the connection stays open (SPEC §2)', () => {
  let client: TestClient;
  beforeAll(async () => {
    client = await cloud.connect('sip:bob@contoso.com', 'enterprise', 'mobile');
  });

  test('malformed JSON', async () => {
    const frame = await client.sendAndNextFrame('{"action": "ping", ');
    expect(frame).toMatchObject({ type: 'response', status: 400, error: { code: 'BadRequest', message: expect.stringContaining('malformed JSON') } });
    expect((await client.request('ping')).status).toBe(200);
  });

  test('an unknown action', async () => {
    const response = await client.request('no.such.action');
    expect(response).toMatchObject({ status: 400, error: { code: 'BadRequest', field: 'action', message: "unknown action 'no.such.action'" } });
    expect(client.isOpen).toBe(true);
  });

  test('a missing action', async () => {
    const response = await client.sendRaw(JSON.stringify({ rid: 'no-action' }), 'no-action');
    expect(response).toMatchObject({ status: 400, error: { field: 'action', message: "field 'action' is required" } });
  });

  test('a mistyped argument (rid must be a string) names the field', async () => {
    const frame = await client.sendAndNextFrame(JSON.stringify({ action: 'ping', rid: 42 }));
    expect(frame).toMatchObject({ status: 400, error: { field: 'rid', message: expect.stringContaining("'rid'") } });
    expect((await client.request('ping')).status).toBe(200);
  });

  test('a mistyped action names the field', async () => {
    const response = await client.sendRaw(JSON.stringify({ action: 7, rid: 'typed' }), 'typed');
    expect(response).toMatchObject({ status: 400, error: { field: 'action', message: "field 'action' must be a string" } });
  });

  test('chat.getserverinfo answers the limits', async () => {
    const response = await client.request('chat.getserverinfo');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ limits: { maxFrameBytes: MAX_FRAME_BYTES, historyPageSize: expect.any(Number) } });
  });
});

describe('frame size limit: 32 KB, as API Gateway', () => {
  /** A ping frame of exactly `bytes` bytes of payload. */
  const pingOf = (bytes: number, rid: string) => {
    const empty = JSON.stringify({ action: 'ping', rid, pad: '' });
    return JSON.stringify({ action: 'ping', rid, pad: 'x'.repeat(bytes - Buffer.byteLength(empty)) });
  };

  test('the limit is 32,768 bytes of frame payload', () => {
    expect(MAX_FRAME_BYTES).toBe(32_768);
  });

  test('a frame of 32,769 bytes is refused with close 1009, as API Gateway does', async () => {
    const client = await cloud.connect('sip:carol@contoso.com');
    const frame = pingOf(32_769, 'big');
    expect(Buffer.byteLength(frame)).toBe(32_769);
    client.socket.send(frame);
    expect(await client.waitClosed()).toBe(1009);
  });

  test('a frame of exactly 32,768 bytes is answered', async () => {
    const client = await cloud.connect('sip:carol@contoso.com');
    const frame = pingOf(32_768, 'edge');
    expect(Buffer.byteLength(frame)).toBe(32_768);
    expect(await client.sendRaw(frame, 'edge')).toMatchObject({ status: 200, body: { pong: true } });
  });

  test('chat.getserverinfo advertises 32 KB', async () => {
    const client = await cloud.connect('sip:carol@contoso.com');
    expect((await client.request('chat.getserverinfo')).body).toMatchObject({ limits: { maxFrameBytes: 32_768 } });
  });
});
