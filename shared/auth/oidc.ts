import { createRemoteJWKSet, errors as joseErrors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
// zod/mini, not the full zod: the authorizer runs at every connect (docs/performance.md, "Bundles and init").
import * as z from 'zod/mini';
import { UnauthorizedError } from '../errors';
import { deviceKinds, type DeviceKind, type Identity, type IdentityKind, identityKinds, sipUri } from './identity';
import { DEFAULT_TOKEN_LIMITS, type TokenLimits } from './tokens';

/**
 * How an OpenID Connect ID token becomes the identity of SPEC §1 (docs/deploy.md, "Identity mapping"):
 * - uri: `sip:` + the `uriClaim` (an e-mail address or UPN; a value already starting with `sip:` is kept);
 * - kind: `admin` if the `groupsClaim` list holds `adminGroup`, `application` if it holds `applicationGroup`,
 *   else `enterprise` when the URI's domain is the home domain, `federated` otherwise;
 * - name: the `nameClaim`, else the URI; device: the connection's `device` query parameter (default `desktop`).
 */
export interface OidcMapping {
  /** `iss` exactly (Cognito: `https://cognito-idp.{region}.amazonaws.com/{poolId}`; Entra ID: `https://login.microsoftonline.com/{tenant}/v2.0`). */
  readonly issuer: string;
  /** `aud`: the web app's client id. */
  readonly audience: string;
  readonly uriClaim: string;
  readonly nameClaim: string;
  readonly groupsClaim: string;
  readonly adminGroup: string;
  readonly applicationGroup: string;
  readonly homeDomain: string;
  /**
   * A claim naming the kind outright (any of SPEC §1's, `anonymous` and `pstn` too), taking precedence over the
   * groups and the domain. Only for an issuer trusted to say it: the local cloud's development issuer
   * (infra/local/oidc.ts). Unset on AWS.
   */
  readonly kindClaim?: string;
}

/** Only asymmetric algorithms: a public JWKS can never verify an HMAC token. */
export const OIDC_ALGORITHMS = ['RS256', 'ES256'] as const;

const settingsSchema = z.object({
  OIDC_ISSUER: z.optional(z.url()),
  OIDC_AUDIENCE: z.optional(z.string().check(z.minLength(1))),
  OIDC_URI_CLAIM: z._default(z.string().check(z.minLength(1)), 'email'),
  OIDC_NAME_CLAIM: z._default(z.string().check(z.minLength(1)), 'name'),
  OIDC_GROUPS_CLAIM: z._default(z.string().check(z.minLength(1)), 'cognito:groups'),
  OIDC_ADMIN_GROUP: z._default(z.string().check(z.minLength(1)), 'admin'),
  OIDC_APPLICATION_GROUP: z._default(z.string().check(z.minLength(1)), 'application'),
  HOME_DOMAIN: z._default(z.string().check(z.minLength(1)), 'contoso.com'),
  OIDC_KIND_CLAIM: z.optional(z.string().check(z.minLength(1))),
});

/** The mapping from the environment (the stack sets OIDC_*), or undefined when no issuer is configured. */
export function oidcMappingFromEnv(env: NodeJS.ProcessEnv = process.env): OidcMapping | undefined {
  const settings = settingsSchema.parse(env);
  if (!settings.OIDC_ISSUER) return undefined;
  if (!settings.OIDC_AUDIENCE) throw new Error('invalid configuration: OIDC_AUDIENCE is required with OIDC_ISSUER');
  return {
    issuer: settings.OIDC_ISSUER,
    audience: settings.OIDC_AUDIENCE,
    uriClaim: settings.OIDC_URI_CLAIM,
    nameClaim: settings.OIDC_NAME_CLAIM,
    groupsClaim: settings.OIDC_GROUPS_CLAIM,
    adminGroup: settings.OIDC_ADMIN_GROUP,
    applicationGroup: settings.OIDC_APPLICATION_GROUP,
    homeDomain: settings.HOME_DOMAIN.toLowerCase(),
    ...(settings.OIDC_KIND_CLAIM ? { kindClaim: settings.OIDC_KIND_CLAIM } : {}),
  };
}

/**
 * The issuer's signing keys: its discovery document's `jwks_uri`, fetched once per process, and jose's remote key
 * set (keys cached 10 minutes; an unknown `kid` refetches at most every 30 s, so a key rotation is picked up).
 */
export function issuerKeys(issuer: string, fetchImpl: typeof fetch = fetch): JWTVerifyGetKey {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const load = async (): Promise<JWTVerifyGetKey> => {
    const response = await fetchImpl(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
    if (!response.ok) throw new Error(`OIDC discovery of ${issuer} answered ${response.status}`);
    const discovery = z.object({ issuer: z.string(), jwks_uri: z.url() }).parse(await response.json());
    if (discovery.issuer !== issuer) throw new Error(`OIDC discovery names issuer ${discovery.issuer}, not ${issuer}`);
    return createRemoteJWKSet(new URL(discovery.jwks_uri), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 });
  };
  return async (header, token) => {
    keys ??= load().catch((error: unknown) => {
      keys = undefined;
      throw error;
    });
    return (await keys)(header, token);
  };
}

/**
 * Verifies an ID token from the configured issuer: RS256 or ES256 with a key of its JWKS, `iss` and `aud` exactly,
 * `exp` required and in the future, `nbf` passed, a lifetime within `limits`, `iat` not ahead of the clock; then
 * maps its claims. Every failure is a 401.
 */
export async function verifyOidcToken(
  token: string | undefined,
  mapping: OidcMapping,
  keys: JWTVerifyGetKey,
  options: { readonly nowMs?: number; readonly limits?: TokenLimits; readonly device?: string } = {},
): Promise<Identity> {
  if (!token) throw new UnauthorizedError('missing token');
  const limits = options.limits ?? DEFAULT_TOKEN_LIMITS;
  const nowMs = options.nowMs ?? Date.now();
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      algorithms: [...OIDC_ALGORITHMS],
      issuer: mapping.issuer,
      audience: mapping.audience,
      requiredClaims: ['exp', 'iss', 'aud'],
      currentDate: new Date(nowMs),
      clockTolerance: limits.clockSkewSeconds,
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new UnauthorizedError('token expired');
    throw new UnauthorizedError('invalid token');
  }
  const nowSeconds = Math.floor(nowMs / 1000);
  const issuedAt = typeof payload.iat === 'number' ? payload.iat : undefined;
  if (issuedAt !== undefined && issuedAt > nowSeconds + limits.clockSkewSeconds) throw new UnauthorizedError('token issued in the future');
  if (payload.exp! - (issuedAt ?? nowSeconds) > limits.maxLifetimeSeconds) throw new UnauthorizedError(`token lifetime over ${limits.maxLifetimeSeconds} seconds`);
  return identityFromClaims(payload, mapping, options.device);
}

/** The mapping of OidcMapping's comment; exported for tests and docs/deploy.md's examples. */
export function identityFromClaims(claims: JWTPayload, mapping: OidcMapping, device?: string): Identity {
  const raw = claims[mapping.uriClaim];
  if (typeof raw !== 'string' || raw.length === 0) throw new UnauthorizedError(`invalid token claim '${mapping.uriClaim}'`);
  const parsed = sipUri.safeParse(raw.toLowerCase().startsWith('sip:') ? raw : `sip:${raw}`);
  if (!parsed.success) throw new UnauthorizedError(`invalid token claim '${mapping.uriClaim}'`);
  const uri = parsed.data;
  const groupsClaim = claims[mapping.groupsClaim];
  const groups = Array.isArray(groupsClaim) ? groupsClaim.filter((group): group is string => typeof group === 'string') : typeof groupsClaim === 'string' ? [groupsClaim] : [];
  const domain = uri.slice(uri.lastIndexOf('@') + 1);
  const named = mapping.kindClaim === undefined ? undefined : claims[mapping.kindClaim];
  const kind = typeof named === 'string' && (identityKinds as readonly string[]).includes(named)
    ? (named as IdentityKind)
    : groups.includes(mapping.adminGroup)
    ? 'admin'
    : groups.includes(mapping.applicationGroup)
      ? 'application'
      : domain === mapping.homeDomain
        ? 'enterprise'
        : 'federated';
  const nameClaim = claims[mapping.nameClaim];
  const name = typeof nameClaim === 'string' && nameClaim.length > 0 ? nameClaim.slice(0, 256) : uri;
  return { uri, kind, name, device: deviceOf(device) };
}

function deviceOf(device: string | undefined): DeviceKind {
  return (deviceKinds as readonly string[]).includes(device ?? '') ? (device as DeviceKind) : 'desktop';
}
