import { createLocalJWKSet, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { type OidcMapping, identityFromClaims, oidcMappingFromEnv, verifyOidcToken } from '../../../../shared/auth/oidc';
import { issueToken } from '../../../../shared/auth/tokens';
import { UnauthorizedError } from '../../../../shared/errors';
import { verifyConnectToken } from '../../../../functions/lib/connect-auth';

const ISSUER = 'https://issuer.example.test';
const mapping: OidcMapping = {
  issuer: ISSUER,
  audience: 'web-client',
  uriClaim: 'email',
  nameClaim: 'name',
  groupsClaim: 'cognito:groups',
  adminGroup: 'admin',
  applicationGroup: 'application',
  homeDomain: 'contoso.com',
};
const NOW = Date.UTC(2026, 0, 1);
const limits = { maxLifetimeSeconds: 86400, clockSkewSeconds: 60 };

async function keySet(alg: 'RS256' | 'ES256', kid: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg } };
}

let rsa: Awaited<ReturnType<typeof keySet>>;
let ec: Awaited<ReturnType<typeof keySet>>;
let stranger: Awaited<ReturnType<typeof keySet>>;
let keys: ReturnType<typeof createLocalJWKSet>;

beforeAll(async () => {
  [rsa, ec, stranger] = await Promise.all([keySet('RS256', 'rsa-1'), keySet('ES256', 'ec-1'), keySet('RS256', 'rsa-1')]);
  keys = createLocalJWKSet({ keys: [rsa.jwk, ec.jwk] });
});

function sign(claims: JWTPayload, options: { key?: Awaited<ReturnType<typeof keySet>>; iat?: number; exp?: number; nbf?: number } = {}) {
  const key = options.key ?? rsa;
  const iat = options.iat ?? NOW / 1000;
  const jwt = new SignJWT({ email: 'alice@contoso.com', name: 'Alice', ...claims })
    .setProtectedHeader({ alg: key.jwk.alg, kid: key.jwk.kid })
    .setIssuer(ISSUER)
    .setAudience('web-client')
    .setIssuedAt(iat)
    .setExpirationTime(options.exp ?? iat + 3600);
  if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
  return jwt.sign(key.privateKey);
}

const verify = (token: string, device?: string) => verifyOidcToken(token, mapping, keys, { nowMs: NOW, limits, device });

describe('issue 19: OIDC ID tokens at the authorizer', () => {
  test('an RS256 and an ES256 token of the issuer are accepted and mapped (home domain: enterprise)', async () => {
    await expect(verify(await sign({}), 'web')).resolves.toEqual({ uri: 'sip:alice@contoso.com', kind: 'enterprise', name: 'Alice', device: 'web' });
    await expect(verify(await sign({}, { key: ec }))).resolves.toMatchObject({ uri: 'sip:alice@contoso.com', device: 'desktop' });
  });

  test.each([
    ['another issuer', async () => new SignJWT({ email: 'alice@contoso.com' }).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).setIssuer('https://evil.test').setAudience('web-client').setIssuedAt(NOW / 1000).setExpirationTime(NOW / 1000 + 60).sign(rsa.privateKey)],
    ['another audience', async () => new SignJWT({ email: 'alice@contoso.com' }).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).setIssuer(ISSUER).setAudience('other-app').setIssuedAt(NOW / 1000).setExpirationTime(NOW / 1000 + 60).sign(rsa.privateKey)],
    ['another key with the same kid', () => sign({}, { key: stranger })],
    ['an expired token', () => sign({}, { iat: NOW / 1000 - 7200, exp: NOW / 1000 - 3600 })],
    ['a token not yet valid (nbf)', () => sign({}, { nbf: NOW / 1000 + 600 })],
    ['a lifetime over the cap', () => sign({}, { exp: NOW / 1000 + 2 * 86400 })],
    ['iat in the future', () => sign({}, { iat: NOW / 1000 + 600, exp: NOW / 1000 + 1200 })],
    ['no usable uri claim', () => sign({ email: 'not a uri' })],
  ])('refused with 401: %s', async (_name, token) => {
    await expect(verify(await token())).rejects.toBeInstanceOf(UnauthorizedError);
  });

  test('an HS256 token (even one signed with the public key bytes) is never accepted on the OIDC path', async () => {
    const hs = await issueToken({ uri: 'sip:alice@contoso.com', kind: 'admin' }, 'x'.repeat(32), NOW);
    await expect(verify(hs)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  test('the mapping: other domains federated, groups make admin and application, a sip: claim kept', () => {
    expect(identityFromClaims({ email: 'eve@fabrikam.com' }, mapping).kind).toBe('federated');
    expect(identityFromClaims({ email: 'ops@contoso.com', 'cognito:groups': ['admin'] }, mapping).kind).toBe('admin');
    expect(identityFromClaims({ email: 'bot@contoso.com', 'cognito:groups': ['application'] }, mapping).kind).toBe('application');
    expect(identityFromClaims({ upn: 'SIP:Bob@Contoso.com', roles: 'admin' }, { ...mapping, uriClaim: 'upn', groupsClaim: 'roles' })).toEqual({
      uri: 'sip:bob@contoso.com',
      kind: 'admin',
      name: 'sip:bob@contoso.com',
      device: 'desktop',
    });
  });

  test('a kind claim names any kind only where the mapping trusts it (OIDC_KIND_CLAIM: the local issuer); unset, it is ignored', () => {
    const claims = { email: 'gina@example.org', 'uc:kind': 'anonymous', 'cognito:groups': ['admin'] };
    expect(identityFromClaims(claims, { ...mapping, kindClaim: 'uc:kind' }).kind).toBe('anonymous');
    expect(identityFromClaims({ ...claims, 'uc:kind': 'superuser' }, { ...mapping, kindClaim: 'uc:kind' }).kind).toBe('admin');
    expect(identityFromClaims(claims, mapping).kind).toBe('admin');
    expect(oidcMappingFromEnv({ OIDC_ISSUER: ISSUER, OIDC_AUDIENCE: 'web-client', OIDC_KIND_CLAIM: 'uc:kind' })?.kindClaim).toBe('uc:kind');
    expect(oidcMappingFromEnv({ OIDC_ISSUER: ISSUER, OIDC_AUDIENCE: 'web-client' })?.kindClaim).toBeUndefined();
  });

  test('the connect path: HS256 development tokens against the secret, others against the issuer; HS256 refused without a secret', async () => {
    const secret = 'local-development-secret-change-me';
    const hs = await issueToken({ uri: 'sip:bob@contoso.com', kind: 'enterprise' }, secret, NOW);
    const both = { oidc: mapping, keys, hs256Secret: async () => secret, limits };
    await expect(verifyConnectToken(hs, undefined, both, NOW)).resolves.toMatchObject({ uri: 'sip:bob@contoso.com' });
    await expect(verifyConnectToken(await sign({}), 'mobile', both, NOW)).resolves.toMatchObject({ uri: 'sip:alice@contoso.com', device: 'mobile' });
    await expect(verifyConnectToken(hs, undefined, { oidc: mapping, keys, limits }, NOW)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(verifyConnectToken(await sign({}), undefined, { hs256Secret: async () => secret, limits }, NOW)).rejects.toBeInstanceOf(UnauthorizedError);
  });
});
