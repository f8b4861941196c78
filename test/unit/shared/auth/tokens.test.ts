import { SignJWT } from 'jose';
import { issueToken, verifyToken } from '../../../../shared/auth/tokens';
import { UnauthorizedError } from '../../../../shared/errors';

const SECRET = 'unit-test-secret-0123456789abcdef';
const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0);
const NOW_S = Math.floor(NOW_MS / 1000);

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Signs arbitrary claims (HS256 unless told), so claim checks can be exercised one at a time. */
function sign(claims: Record<string, unknown>, options: { alg?: string; secret?: string; exp?: number | null } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' }).setIssuedAt(NOW_S);
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? NOW_S + 3600);
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

/** Verifies, expecting a 401, and returns the error for further assertions. */
async function refusal(token: string | undefined, nowMs = NOW_MS): Promise<UnauthorizedError> {
  const error: unknown = await verifyToken(token, SECRET, nowMs).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(UnauthorizedError);
  const unauthorized = error as UnauthorizedError;
  expect(unauthorized.status).toBe(401);
  return unauthorized;
}

describe('verifyToken', () => {
  it('a valid HS256 token yields the identity of its claims', async () => {
    const token = await sign({ sub: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice', device: 'mobile' });

    const identity = await verifyToken(token, SECRET, NOW_MS);

    expect(identity).toEqual({ uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice', device: 'mobile' });
  });

  it('the uri is lowercased', async () => {
    const token = await sign({ sub: 'sip:Alice.Smith@Contoso.COM', kind: 'enterprise', name: 'Alice' });

    const identity = await verifyToken(token, SECRET, NOW_MS);

    expect(identity.uri).toBe('sip:alice.smith@contoso.com');
  });

  it('device defaults to desktop', async () => {
    const token = await sign({ sub: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice' });

    expect((await verifyToken(token, SECRET, NOW_MS)).device).toBe('desktop');
  });

  it.each([{}, { name: '' }])('name defaults to the sub (%p)', async (extra) => {
    const token = await sign({ sub: 'sip:guest@contoso.com', kind: 'anonymous', ...extra });

    expect((await verifyToken(token, SECRET, NOW_MS)).name).toBe('sip:guest@contoso.com');
  });

  it.each(['enterprise', 'federated', 'anonymous', 'pstn', 'application', 'admin'])('every kind of the SPEC is accepted (%s)', async (kind) => {
    const token = await sign({ sub: 'sip:x@contoso.com', kind });

    expect((await verifyToken(token, SECRET, NOW_MS)).kind).toBe(kind);
  });

  it.each([undefined, ''])('a missing token is refused (%p)', async (token) => {
    const error = await refusal(token);

    expect(error.message).toBe('missing token');
  });

  it('expired tokens are refused', async () => {
    const token = await sign({ sub: 'sip:alice@contoso.com', kind: 'enterprise' }, { exp: NOW_S - 1 });

    const error = await refusal(token);

    expect(error.message).toBe('token expired');
  });

  it('a token is refused from the second of its expiry', async () => {
    const token = await sign({ sub: 'sip:alice@contoso.com', kind: 'enterprise' }, { exp: NOW_S + 60 });

    await expect(verifyToken(token, SECRET, (NOW_S + 59) * 1000)).resolves.toMatchObject({ uri: 'sip:alice@contoso.com' });
    await refusal(token, (NOW_S + 60) * 1000);
  });

  it('tokens without exp are refused', async () => {
    const token = await sign({ sub: 'sip:alice@contoso.com', kind: 'enterprise' }, { exp: null });

    await refusal(token);
  });

  it('tokens without sub are refused', async () => {
    const token = await sign({ kind: 'enterprise' });

    await refusal(token);
  });

  it('wrongly signed tokens are refused', async () => {
    const token = await sign({ sub: 'sip:alice@contoso.com', kind: 'enterprise' }, { secret: 'another-secret-0123456789abcdef' });

    const error = await refusal(token);

    expect(error.message).toBe('invalid token');
  });

  it('tokens whose payload was altered after signing are refused', async () => {
    const token = await sign({ sub: 'sip:guest@contoso.com', kind: 'anonymous' });
    const [header, , signature] = token.split('.');
    const forged = base64url({ sub: 'sip:guest@contoso.com', kind: 'admin', exp: NOW_S + 3600 });

    await refusal(`${header}.${forged}.${signature}`);
  });

  it('alg none tokens are refused', async () => {
    const header = base64url({ alg: 'none', typ: 'JWT' });
    const payload = base64url({ sub: 'sip:alice@contoso.com', kind: 'admin', exp: NOW_S + 3600 });

    await refusal(`${header}.${payload}.`);
  });

  it('alg none tokens carrying a copied signature are refused', async () => {
    const genuine = await sign({ sub: 'sip:alice@contoso.com', kind: 'admin' });
    const header = base64url({ alg: 'none', typ: 'JWT' });
    const [, payload, signature] = genuine.split('.');

    await refusal(`${header}.${payload}.${signature}`);
  });

  it.each(['HS384', 'HS512'])('tokens signed with another algorithm than HS256 are refused (%s)', async (alg) => {
    const token = await sign({ sub: 'sip:alice@contoso.com', kind: 'enterprise' }, { alg });

    await refusal(token);
  });

  it.each(['garbage', 'a.b.c', 'a.b', '...', 'eyJhbGciOiJIUzI1NiJ9.not-json.sig', ' '])('malformed tokens are refused (%p)', async (token) => {
    const error = await refusal(token);

    expect(error.message).toBe('invalid token');
  });

  it('an unknown kind is refused naming the claim', async () => {
    const token = await sign({ sub: 'sip:alice@contoso.com', kind: 'superuser' });

    const error = await refusal(token);

    expect(error.message).toBe("invalid token claim 'kind'");
  });

  it('a missing kind is refused', async () => {
    await refusal(await sign({ sub: 'sip:alice@contoso.com' }));
  });

  it.each(['alice@contoso.com', 'sip:alice', 'tel:+15551234', 'sip:al ice@contoso.com'])(
    'a sub that is not a SIP URI is refused naming the claim (%p)',
    async (sub) => {
      const token = await sign({ sub, kind: 'enterprise' });

      const error = await refusal(token);

      expect(error.message).toBe("invalid token claim 'sub'");
    },
  );

  it('an unknown device is refused naming the claim', async () => {
    const error = await refusal(await sign({ sub: 'sip:alice@contoso.com', kind: 'enterprise', device: 'fax' }));

    expect(error.message).toBe("invalid token claim 'device'");
  });

  it('a mistyped name is refused naming the claim', async () => {
    const error = await refusal(await sign({ sub: 'sip:alice@contoso.com', kind: 'enterprise', name: 42 }));

    expect(error.message).toBe("invalid token claim 'name'");
  });
});

describe('issueToken', () => {
  it('an issued token verifies to the identity it was issued for', async () => {
    const token = await issueToken({ uri: 'sip:bob@fabrikam.com', kind: 'federated', name: 'Bob', device: 'web' }, SECRET, NOW_MS);

    const identity = await verifyToken(token, SECRET, NOW_MS);

    expect(identity).toEqual({ uri: 'sip:bob@fabrikam.com', kind: 'federated', name: 'Bob', device: 'web' });
  });

  it('issued tokens default name to the uri and device to desktop', async () => {
    const token = await issueToken({ uri: 'sip:bob@contoso.com', kind: 'enterprise' }, SECRET, NOW_MS);

    const identity = await verifyToken(token, SECRET, NOW_MS);

    expect(identity.name).toBe('sip:bob@contoso.com');
    expect(identity.device).toBe('desktop');
  });

  it('issued tokens are HS256', async () => {
    const token = await issueToken({ uri: 'sip:bob@contoso.com', kind: 'enterprise' }, SECRET, NOW_MS);

    const header: unknown = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());

    expect(header).toMatchObject({ alg: 'HS256' });
  });

  it('issued tokens expire after their ttl', async () => {
    const token = await issueToken({ uri: 'sip:bob@contoso.com', kind: 'enterprise', ttlSeconds: 60 }, SECRET, NOW_MS);

    await expect(verifyToken(token, SECRET, NOW_MS + 59_000)).resolves.toMatchObject({ uri: 'sip:bob@contoso.com' });
    const error = await refusal(token, NOW_MS + 60_000);
    expect(error.message).toBe('token expired');
  });

  it('issued tokens last 12 hours by default', async () => {
    const token = await issueToken({ uri: 'sip:bob@contoso.com', kind: 'enterprise' }, SECRET, NOW_MS);
    const twelveHoursMs = 12 * 3600 * 1000;

    await expect(verifyToken(token, SECRET, NOW_MS + twelveHoursMs - 1000)).resolves.toBeDefined();
    await refusal(token, NOW_MS + twelveHoursMs);
  });

  it('issued tokens are refused under another secret', async () => {
    const token = await issueToken({ uri: 'sip:bob@contoso.com', kind: 'enterprise' }, 'a-different-secret-0123456789', NOW_MS);

    await refusal(token);
  });
});

describe('token lifetime caps (issue 17 item 12)', () => {
  const DAY_S = 24 * 3600;

  it('a token living a hundred years is refused: the lifetime is capped at 24 hours by default', async () => {
    const token = await sign({ sub: 'sip:alice@contoso.com', kind: 'enterprise' }, { exp: NOW_S + 100 * 365 * DAY_S });

    const error = await refusal(token);

    expect(error.message).toBe('token lifetime over 86400 seconds');
  });

  it('a token of exactly the cap is accepted; one second more is refused', async () => {
    await expect(verifyToken(await sign({ sub: 'sip:alice@contoso.com', kind: 'enterprise' }, { exp: NOW_S + DAY_S }), SECRET, NOW_MS)).resolves.toBeDefined();
    await refusal(await sign({ sub: 'sip:alice@contoso.com', kind: 'enterprise' }, { exp: NOW_S + DAY_S + 1 }));
  });

  it('the cap is configurable', async () => {
    const token = await sign({ sub: 'sip:alice@contoso.com', kind: 'enterprise' }, { exp: NOW_S + 3600 });

    await expect(verifyToken(token, SECRET, NOW_MS, { maxLifetimeSeconds: 3599, clockSkewSeconds: 60 })).rejects.toThrow('token lifetime over 3599 seconds');
    await expect(verifyToken(token, SECRET, NOW_MS, { maxLifetimeSeconds: 3600, clockSkewSeconds: 60 })).resolves.toBeDefined();
  });

  it('a token issued in the future beyond the clock skew (60 s) is refused', async () => {
    const future = (iat: number) => new SignJWT({ sub: 'sip:alice@contoso.com', kind: 'enterprise' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(iat).setExpirationTime(iat + 3600).sign(new TextEncoder().encode(SECRET));

    await expect(verifyToken(await future(NOW_S + 60), SECRET, NOW_MS)).resolves.toBeDefined();
    const error = await refusal(await future(NOW_S + 61));
    expect(error.message).toBe('token issued in the future');
  });

  it('without iat, the time left (exp - now) is capped', async () => {
    const token = await new SignJWT({ sub: 'sip:alice@contoso.com', kind: 'enterprise' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(NOW_S + 2 * DAY_S).sign(new TextEncoder().encode(SECRET));

    await refusal(token);
  });
});
