import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { AUTHORIZER } from '../../infra/functions';
import { startTestCloud, type TestCloud } from '../support/cloud';
import { upgradeStatus } from '../support/client';

/**
 * Issue 19, item 2: the local cloud's own OpenID Connect issuer (infra/local/oidc.ts), and its RS256 ID tokens at the
 * WebSocket upgrade, next to the HS256 development tokens.
 */

let cloud: TestCloud;
let base: string;

beforeAll(async () => {
  cloud = await startTestCloud();
  base = cloud.cloud.url;
});
afterAll(async () => {
  await cloud.stop();
});

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  code_challenge_methods_supported: string[];
}

interface WebConfig {
  webSocketUrl: string;
  issuer: string;
  clientId: string;
  scope: string;
}

const REDIRECT = () => `${base}/`;

async function webConfig(): Promise<WebConfig> {
  const response = await fetch(`${base}/config.json`);
  expect(response.status).toBe(200);
  return (await response.json()) as WebConfig;
}

async function discovery(): Promise<Discovery> {
  const { issuer } = await webConfig();
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  expect(response.status).toBe(200);
  return (await response.json()) as Discovery;
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** What the browser does: the authorization request, the development form posted, the redirect's code. */
async function authorize(fields: { uri: string; kind: string; name?: string }, challenge: string, state = 'st-1'): Promise<string> {
  const { authorization_endpoint } = await discovery();
  const { clientId } = await webConfig();
  const query = new URLSearchParams({
    client_id: clientId,
    redirect_uri: REDIRECT(),
    response_type: 'code',
    scope: 'openid email profile',
    state,
    nonce: 'n-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const form = await fetch(`${authorization_endpoint}?${query}`);
  expect(form.status).toBe(200);
  expect(await form.text()).toContain('data-testid="signin-uri"');
  const posted = await fetch(authorization_endpoint, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...Object.fromEntries(query), uri: fields.uri, kind: fields.kind, name: fields.name ?? '' }),
  });
  expect(posted.status).toBe(302);
  const location = new URL(posted.headers.get('location')!);
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT());
  expect(location.searchParams.get('state')).toBe(state);
  return location.searchParams.get('code')!;
}

async function exchange(code: string, verifier: string): Promise<Response> {
  const { token_endpoint } = await discovery();
  const { clientId } = await webConfig();
  return fetch(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT(), client_id: clientId, code_verifier: verifier }),
  });
}

async function signInThroughIssuer(uri: string, kind: string, name?: string): Promise<{ id_token: string; access_token: string; refresh_token: string; expires_in: number }> {
  const { verifier, challenge } = pkce();
  const response = await exchange(await authorize({ uri, kind, name }, challenge), verifier);
  expect(response.status).toBe(200);
  return (await response.json()) as { id_token: string; access_token: string; refresh_token: string; expires_in: number };
}

const wsUrl = (token: string, device = 'web') => `${cloud.cloud.wsUrl}/?token=${encodeURIComponent(token)}&device=${device}`;

describe('issue 19: the local OIDC issuer', () => {
  test('config.json names the WebSocket API, the local issuer and its client; discovery and JWKS describe it (code + PKCE S256)', async () => {
    const config = await webConfig();
    expect(config).toMatchObject({ webSocketUrl: cloud.cloud.wsUrl, issuer: `${base}/oidc`, scope: 'openid email profile' });
    expect(config.clientId).not.toBe('');
    const metadata = await discovery();
    expect(metadata.issuer).toBe(config.issuer);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    const jwks = (await (await fetch(metadata.jwks_uri)).json()) as { keys: Array<{ kty: string; alg: string; d?: string }> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256' });
    expect(jwks.keys[0]!.d).toBeUndefined();
  });

  test('an RS256 ID token from the local issuer (code + PKCE) is accepted at the WebSocket, with the kind and name of the form', async () => {
    const tokens = await signInThroughIssuer('sip:Gina@example.org', 'anonymous', 'Gina');
    expect(decodeProtectedHeader(tokens.id_token).alg).toBe('RS256');
    const claims = decodeJwt(tokens.id_token);
    expect(claims).toMatchObject({ iss: `${base}/oidc`, aud: (await webConfig()).clientId, nonce: 'n-1' });
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(cloud.cloud.config.TOKEN_MAX_LIFETIME_SECONDS);
    const identities: unknown[] = [];
    cloud.cloud.lambdas.wrap(AUTHORIZER.name, (real) => async (event, context) => {
      const result = (await real(event, context)) as { context: unknown };
      identities.push(result.context);
      return result;
    });
    expect(await upgradeStatus(wsUrl(tokens.id_token))).toBe(101);
    expect(identities).toEqual([{ uri: 'sip:gina@example.org', kind: 'anonymous', name: 'Gina', device: 'web' }]);
  });

  test('a refresh token gets a fresh ID token that connects too', async () => {
    const tokens = await signInThroughIssuer('sip:alice@contoso.com', 'enterprise');
    const { token_endpoint } = await discovery();
    const response = await fetch(token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: (await webConfig()).clientId }),
    });
    expect(response.status).toBe(200);
    const refreshed = (await response.json()) as { id_token: string };
    expect(decodeJwt(refreshed.id_token).sub).toBe(decodeJwt(tokens.id_token).sub);
    expect(await upgradeStatus(wsUrl(refreshed.id_token))).toBe(101);
  });

  test('the code exchange checks PKCE (S256): a wrong verifier, or a code used twice, is refused with invalid_grant', async () => {
    const { verifier, challenge } = pkce();
    const code = await authorize({ uri: 'sip:alice@contoso.com', kind: 'enterprise' }, challenge);
    const wrong = await exchange(code, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });
    // The failed attempt spent the code.
    expect((await exchange(code, verifier)).status).toBe(400);
  });

  test('the authorization endpoint refuses a redirect beyond loopback and another client id, without redirecting', async () => {
    const { authorization_endpoint } = await discovery();
    const { clientId } = await webConfig();
    const query = (overrides: Record<string, string>) =>
      new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT(), response_type: 'code', state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256', ...overrides });
    for (const overrides of <Array<Record<string, string>>>[{ redirect_uri: 'https://evil.example/' }, { client_id: 'someone-else' }, { code_challenge_method: 'plain' }]) {
      const response = await fetch(`${authorization_endpoint}?${query(overrides)}`, { redirect: 'manual' });
      expect(response.status).toBe(400);
    }
  });

  test.each([
    ['another issuer', { issuer: 'http://127.0.0.1:1/oidc' }],
    ['another audience', { audience: 'another-app' }],
    ['another key (same kid)', { foreignKey: true }],
  ])('an RS256 token from %s is refused with 401 at the upgrade', async (_name, variant: { issuer?: string; audience?: string; foreignKey?: boolean }) => {
    const genuine = await signInThroughIssuer('sip:alice@contoso.com', 'admin');
    const { kid } = decodeProtectedHeader(genuine.id_token);
    const { clientId, issuer } = await webConfig();
    const now = Math.floor(Date.now() / 1000);
    const claims = { ...decodeJwt(genuine.id_token), iss: variant.issuer ?? issuer, aud: variant.audience ?? clientId, iat: now, exp: now + 300 };
    // Another issuer or audience: signed with the local issuer's own key, so only the claim differs.
    const forged = variant.foreignKey
      ? await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign((await generateKeyPair('RS256')).privateKey)
      : await cloud.cloud.oidc!.sign(claims);
    expect(decodeProtectedHeader(forged)).toMatchObject({ alg: 'RS256', kid });
    expect(await upgradeStatus(wsUrl(forged))).toBe(401);
    // The genuine one still connects (the refusal is the forgery's, not the endpoint's).
    expect(await upgradeStatus(wsUrl(genuine.id_token))).toBe(101);
  });

  test('HS256 development tokens still connect next to the issuer', async () => {
    expect(await upgradeStatus(wsUrl(await cloud.token('sip:bob@contoso.com', 'pstn')))).toBe(101);
  });
});
