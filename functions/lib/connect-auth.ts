import { decodeProtectedHeader, type JWTVerifyGetKey } from 'jose';
import type { Identity } from '../../shared/auth/identity';
import { issuerKeys, type OidcMapping, oidcMappingFromEnv, verifyOidcToken } from '../../shared/auth/oidc';
import { type TokenLimits, verifyToken } from '../../shared/auth/tokens';
import { UnauthorizedError } from '../../shared/errors';

/** How long the authorizer keeps the HS256 secret before reading Secrets Manager again (a rotation's delay). */
export const SECRET_MAX_AGE_SECONDS = 300;

export interface ConnectAuthOptions {
  /** The OIDC issuer and claim mapping (OIDC_* variables); undefined: HS256 development tokens only. */
  readonly oidc?: OidcMapping;
  readonly keys?: JWTVerifyGetKey;
  /** The HS256 secret: AUTH_JWT_SECRET locally, else read at run time from AUTH_JWT_SECRET_ARN (never the environment). */
  readonly hs256Secret?: () => Promise<string | undefined>;
  readonly limits: TokenLimits;
}

/** The authorizer's settings from the environment: the issuer, and where the HS256 secret (if any) is. */
export function connectAuthFromEnv(env: NodeJS.ProcessEnv, limits: TokenLimits): ConnectAuthOptions {
  const oidc = oidcMappingFromEnv(env);
  const secretArn = env.AUTH_JWT_SECRET_ARN;
  const localSecret = env.AUTH_JWT_SECRET;
  // Powertools Parameters and the Secrets Manager client are loaded only where the secret lives there (an OIDC-only
  // or a local authorizer never loads them); where it does, at init, like a static import.
  const getSecret = secretArn
    ? (require('@aws-lambda-powertools/parameters/secrets') as typeof import('@aws-lambda-powertools/parameters/secrets')).getSecret
    : undefined;
  const hs256Secret = secretArn && getSecret
    ? async () => {
        const value = await getSecret(secretArn, { maxAge: SECRET_MAX_AGE_SECONDS });
        return typeof value === 'string' ? value : undefined;
      }
    : localSecret
      ? async () => localSecret
      : undefined;
  if (!oidc && !hs256Secret) throw new Error('invalid configuration: set OIDC_ISSUER (and OIDC_AUDIENCE), or AUTH_JWT_SECRET(_ARN) for development tokens');
  return { oidc, keys: oidc ? issuerKeys(oidc.issuer) : undefined, hs256Secret, limits };
}

/**
 * A connect token: HS256 ones (development, scripts) against the shared secret when one is configured, every
 * other algorithm against the OIDC issuer's JWKS. Each path accepts only its own algorithms.
 */
export async function verifyConnectToken(token: string | undefined, device: string | undefined, options: ConnectAuthOptions, nowMs = Date.now()): Promise<Identity> {
  if (!token) throw new UnauthorizedError('missing token');
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw new UnauthorizedError('invalid token');
  }
  if (alg === 'HS256') {
    const secret = options.hs256Secret ? await options.hs256Secret() : undefined;
    if (!secret) throw new UnauthorizedError('HS256 tokens are not accepted here');
    return verifyToken(token, secret, nowMs, options.limits);
  }
  if (!options.oidc || !options.keys) throw new UnauthorizedError('invalid token');
  return verifyOidcToken(token, options.oidc, options.keys, { nowMs, limits: options.limits, device });
}
