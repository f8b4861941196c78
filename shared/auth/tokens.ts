import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
// zod/mini, not the full zod: the authorizer runs at every connect (docs/performance.md, "Bundles and init").
import * as z from 'zod/mini';
import { UnauthorizedError } from '../errors';
import { deviceKinds, type Identity, identityKinds, sipUri } from './identity';

const claimsSchema = z.object({
  sub: sipUri,
  kind: z.enum(identityKinds),
  name: z._default(z.string().check(z.maxLength(256)), ''),
  device: z._default(z.enum(deviceKinds), 'desktop'),
});

function secretKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** How long a token may live (`exp - iat`, or `exp - now` without `iat`) and how far ahead `iat` may be. */
export interface TokenLimits {
  readonly maxLifetimeSeconds: number;
  readonly clockSkewSeconds: number;
}

/** TOKEN_MAX_LIFETIME_SECONDS and TOKEN_CLOCK_SKEW_SECONDS's defaults (shared/config.ts). */
export const DEFAULT_TOKEN_LIMITS: TokenLimits = { maxLifetimeSeconds: 24 * 3600, clockSkewSeconds: 60 };

/**
 * Verifies a connect token (SPEC §1): HS256 only (so `alg: none` and any other algorithm are refused),
 * signature, `exp` required and in the future, a lifetime within `limits.maxLifetimeSeconds` (a token valid for
 * a century is a leaked credential for a century), `iat` not ahead of the clock by more than the skew, and the
 * claims' shapes. Every failure is a 401.
 */
export async function verifyToken(
  token: string | undefined,
  secret: string,
  nowMs: number = Date.now(),
  limits: TokenLimits = DEFAULT_TOKEN_LIMITS,
): Promise<Identity> {
  if (!token) throw new UnauthorizedError('missing token');
  try {
    const { payload } = await jwtVerify(token, secretKey(secret), {
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'sub'],
      currentDate: new Date(nowMs),
    });
    const nowSeconds = Math.floor(nowMs / 1000);
    const issuedAt = typeof payload.iat === 'number' ? payload.iat : undefined;
    if (issuedAt !== undefined && issuedAt > nowSeconds + limits.clockSkewSeconds) throw new UnauthorizedError('token issued in the future');
    if (payload.exp! - (issuedAt ?? nowSeconds) > limits.maxLifetimeSeconds) {
      throw new UnauthorizedError(`token lifetime over ${limits.maxLifetimeSeconds} seconds`);
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) {
      const field = claims.error.issues[0]?.path.join('.') ?? 'claims';
      throw new UnauthorizedError(`invalid token claim '${field}'`);
    }
    const { sub, kind, name, device } = claims.data;
    return { uri: sub.toLowerCase(), kind, name: name || sub, device };
  } catch (error) {
    if (error instanceof UnauthorizedError) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new UnauthorizedError('token expired');
    throw new UnauthorizedError('invalid token');
  }
}

export interface TokenRequest {
  readonly uri: string;
  readonly kind: Identity['kind'];
  readonly name?: string;
  readonly device?: Identity['device'];
  readonly ttlSeconds?: number;
}

/** Signs a token; used by the local cloud's development sign-in and by tests. */
export async function issueToken(request: TokenRequest, secret: string, nowMs: number = Date.now()): Promise<string> {
  const issuedAt = Math.floor(nowMs / 1000);
  return new SignJWT({ kind: request.kind, name: request.name ?? request.uri, device: request.device ?? 'desktop' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(request.uri)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + (request.ttlSeconds ?? 12 * 3600))
    .sign(secretKey(secret));
}
