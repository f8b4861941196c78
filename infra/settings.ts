import type { Node } from 'constructs';

/** Groups (Cognito) or app roles (Entra ID) whose members sign in as these kinds (SPEC §1). */
export const IDENTITY_GROUPS = { admin: 'admin', application: 'application' } as const;

/** An external OpenID Connect issuer in place of the stack's Cognito user pool (docs/deploy.md, "Entra ID"). */
export interface ExternalIssuer {
  /** `iss` of its ID tokens, e.g. `https://login.microsoftonline.com/{tenant}/v2.0`. */
  readonly issuer: string;
  /** The web app's client (application) id: the `aud` of its ID tokens. */
  readonly clientId: string;
}

/** The claim mapping of shared/auth/oidc.ts, passed to the authorizer as OIDC_* variables. */
export interface ClaimMapping {
  readonly uriClaim: string;
  readonly nameClaim: string;
  readonly groupsClaim: string;
}

/** What a deployment chooses through CDK context (`-c key=value` or cdk.json); docs/deploy.md lists every key. */
export interface DeploymentSettings {
  readonly homeDomain: string;
  /** An e-mail address subscribed to the alarm topic. */
  readonly alarmEmail?: string;
  /** Keep HS256 development tokens next to OIDC (the secret in Secrets Manager, read at run time). */
  readonly hs256Tokens: boolean;
  /** Object Lock retention of the compliance archive, in compliance mode: nobody can shorten it. */
  readonly complianceRetentionDays: number;
  /** Reserve each function's concurrency (infra/functions.ts); off for accounts whose quota is below the sum. */
  readonly reservedConcurrency: boolean;
  /** Sets API Gateway's account-wide CloudWatch role (needed once per account and region for access logs). */
  readonly apiGatewayAccountRole: boolean;
  readonly oidc?: ExternalIssuer;
  readonly claims: ClaimMapping;
  readonly cognitoDomainPrefix?: string;
}

const COGNITO_CLAIMS: ClaimMapping = { uriClaim: 'email', nameClaim: 'name', groupsClaim: 'cognito:groups' };
const ENTRA_CLAIMS: ClaimMapping = { uriClaim: 'preferred_username', nameClaim: 'name', groupsClaim: 'roles' };

export function settingsFromContext(node: Node, env: NodeJS.ProcessEnv = process.env): DeploymentSettings {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const flag = (key: string, fallback: boolean) => {
    const value = text(key);
    return value === undefined ? fallback : value === 'true';
  };
  const issuer = text('uc:oidcIssuer');
  const clientId = text('uc:oidcClientId');
  if (issuer && !clientId) throw new Error('uc:oidcIssuer needs uc:oidcClientId (the web app registration)');
  const defaults = issuer ? ENTRA_CLAIMS : COGNITO_CLAIMS;
  const retention = Number(text('uc:complianceRetentionDays') ?? 365);
  if (!Number.isInteger(retention) || retention < 1) throw new Error('uc:complianceRetentionDays must be a whole number of days');
  return {
    homeDomain: text('uc:homeDomain') ?? env.HOME_DOMAIN ?? 'contoso.com',
    alarmEmail: text('uc:alarmEmail'),
    hs256Tokens: flag('uc:hs256Tokens', false),
    complianceRetentionDays: retention,
    reservedConcurrency: flag('uc:reservedConcurrency', true),
    apiGatewayAccountRole: flag('uc:apiGatewayAccountRole', true),
    oidc: issuer && clientId ? { issuer, clientId } : undefined,
    claims: {
      uriClaim: text('uc:oidcUriClaim') ?? defaults.uriClaim,
      nameClaim: text('uc:oidcNameClaim') ?? defaults.nameClaim,
      groupsClaim: text('uc:oidcGroupsClaim') ?? defaults.groupsClaim,
    },
    cognitoDomainPrefix: text('uc:cognitoDomainPrefix'),
  };
}
