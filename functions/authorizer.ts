import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { verifyToken } from '../shared/auth/tokens';
import { processConfig } from './lib/compose/config';
import { connectAuthFromEnv, verifyConnectToken } from './lib/connect-auth';
import { logger } from './lib/logger';

/** The REQUEST authorizer's event on `$connect`; the token rides in the query string (SPEC §1). */
export interface ConnectAuthorizerEvent {
  readonly methodArn: string;
  readonly queryStringParameters?: Record<string, string | undefined> | null;
}

const config = processConfig();
const tokenLimits = { maxLifetimeSeconds: config.TOKEN_MAX_LIFETIME_SECONDS, clockSkewSeconds: config.TOKEN_CLOCK_SKEW_SECONDS };
// OIDC ID tokens against the issuer's JWKS; HS256 development tokens only where a secret is configured (functions/lib/connect-auth.ts).
const connectAuth = connectAuthFromEnv(process.env, tokenLimits);

/**
 * Verifies the JWT at the upgrade. Throwing `Unauthorized` is how a Lambda authorizer makes API Gateway
 * answer 401; the identity it returns as context reaches every later event of the connection.
 */
export async function handler(event: ConnectAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  let identity: Awaited<ReturnType<typeof verifyToken>>;
  try {
    identity = await verifyConnectToken(event.queryStringParameters?.token ?? undefined, event.queryStringParameters?.device ?? undefined, connectAuth);
  } catch (error) {
    logger.info('connect refused', { reason: (error as Error).message });
    throw new Error('Unauthorized');
  }
  return {
    principalId: identity.uri,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
    },
    context: { uri: identity.uri, kind: identity.kind, name: identity.name, device: identity.device },
  };
}
