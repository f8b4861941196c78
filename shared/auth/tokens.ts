import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { UnauthorizedError } from '../errors';
import { deviceKinds, type Identity, identityKinds, sipUri } from './identity';

const claimsSchema = z.object({
  sub: sipUri,
  kind: z.enum(identityKinds),
  name: z.string().max(256).default(''),
  device: z.enum(deviceKinds).default('desktop'),
});

function secretKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/**
 * Verifies a connect token (SPEC §1): HS256 only (so `alg: none` and any other algorithm are refused),
 * signature, `exp` required and in the future, and the claims' shapes. Every failure is a 401.
 */
export async function verifyToken(token: string | undefined, secret: string, nowMs: number = Date.now()): Promise<Identity> {
  if (!token) throw new UnauthorizedError('missing token');
  try {
    const { payload } = await jwtVerify(token, secretKey(secret), {
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'sub'],
      currentDate: new Date(nowMs),
    });
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
