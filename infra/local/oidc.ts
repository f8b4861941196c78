import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { identityKinds, type IdentityKind, sipUri } from '../../shared/auth/identity';
import { type EdgeRequest, type EdgeService, isAwsRequest, sendJson } from './edge';
import { isLoopback } from './loopback';

/** Where the issuer lives on the local cloud's endpoint: `{url}/oidc` is its `iss`. */
export const LOCAL_OIDC_PATH = '/oidc';
/** The web app's client id at the local issuer (the `aud` of its tokens). */
export const LOCAL_OIDC_CLIENT_ID = 'uc-web-local';
/** The claim that names the kind chosen on the development form (OIDC_KIND_CLAIM of shared/auth/oidc.ts). */
export const LOCAL_OIDC_KIND_CLAIM = 'uc:kind';
/** ID and access tokens live 15 minutes (capped by TOKEN_MAX_LIFETIME_SECONDS); the web app refreshes them. */
export const LOCAL_OIDC_TOKEN_SECONDS = 900;
const CODE_SECONDS = 60;
type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
const REFRESH_SECONDS = 24 * 3600;
const SCOPES = ['openid', 'email', 'profile'];

interface SignedIn {
  readonly uri: string;
  readonly kind: IdentityKind;
  readonly name: string;
  readonly authTime: number;
}

interface PendingCode extends SignedIn {
  readonly redirectUri: string;
  readonly challenge: string;
  readonly nonce?: string;
  readonly scope: string;
  readonly expiresAt: number;
}

interface Refresh extends SignedIn {
  readonly scope: string;
  readonly expiresAt: number;
}

export interface LocalOidcIssuerOptions {
  /** `iss`: the local cloud's URL + LOCAL_OIDC_PATH. */
  readonly issuer: string;
  readonly clientId?: string;
  readonly tokenSeconds?: number;
  readonly now?: () => number;
}

/**
 * The local cloud's own OpenID Connect issuer, so the web app signs in locally exactly as against Cognito or
 * Entra ID: discovery, JWKS (one RS256 key made at start), the authorization endpoint (code + PKCE S256 only)
 * with a development form that signs in as any user and kind, and the token endpoint (authorization code, refresh
 * token). The form and the token endpoint answer loopback only: they mint any identity, admin included.
 */
export class LocalOidcIssuer implements EdgeService {
  readonly name = 'oidc';
  readonly issuer: string;
  readonly clientId: string;
  private readonly tokenSeconds: number;
  private readonly now: () => number;
  private readonly codes = new Map<string, PendingCode>();
  private readonly refreshTokens = new Map<string, Refresh>();

  private constructor(
    options: LocalOidcIssuerOptions,
    private readonly privateKey: SigningKey,
    private readonly publicJwk: JWK,
  ) {
    this.issuer = options.issuer.replace(/\/$/, '');
    this.clientId = options.clientId ?? LOCAL_OIDC_CLIENT_ID;
    this.tokenSeconds = options.tokenSeconds ?? LOCAL_OIDC_TOKEN_SECONDS;
    this.now = options.now ?? Date.now;
  }

  static async start(options: LocalOidcIssuerOptions): Promise<LocalOidcIssuer> {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const kid = randomUUID();
    const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    return new LocalOidcIssuer(options, privateKey, publicJwk);
  }

  /** Signs claims with the issuer's key (its header names the key's `kid`); tests forge tokens with it. */
  sign(claims: JWTPayload): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: this.publicJwk.kid!, typ: 'JWT' }).sign(this.privateKey);
  }

  async handle(request: EdgeRequest, response: ServerResponse): Promise<boolean> {
    if (!request.path.startsWith(`${LOCAL_OIDC_PATH}/`) || isAwsRequest(request)) return false;
    const route = request.path.slice(LOCAL_OIDC_PATH.length);
    if (request.method === 'OPTIONS') {
      // The browser's preflight of a cross-origin discovery or token request (the app on localhost, the issuer on 127.0.0.1).
      response.writeHead(204, { ...CORS, 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'content-type, authorization', 'access-control-max-age': '600' });
      response.end();
      return true;
    }
    switch (route) {
      case '/.well-known/openid-configuration':
        sendPublicJson(response, 200, this.discovery());
        return true;
      case '/jwks':
        sendPublicJson(response, 200, { keys: [this.publicJwk] });
        return true;
      case '/authorize':
        this.authorize(request, response);
        return true;
      case '/token':
        await this.token(request, response);
        return true;
      default:
        sendPublicJson(response, 404, { error: 'not_found', error_description: `no ${request.path} at the local issuer` });
        return true;
    }
  }

  private discovery() {
    return {
      issuer: this.issuer,
      authorization_endpoint: `${this.issuer}/authorize`,
      token_endpoint: `${this.issuer}/token`,
      jwks_uri: `${this.issuer}/jwks`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      scopes_supported: SCOPES,
      claims_supported: ['sub', 'email', 'name', LOCAL_OIDC_KIND_CLAIM, 'nonce', 'auth_time'],
    };
  }

  /** GET shows the development form; POST (the form) redirects back with a code. */
  private authorize(request: EdgeRequest, response: ServerResponse): void {
    if (!loopbackOnly(request)) {
      sendPage(response, 403, errorPage('The local sign-in answers on loopback only (http://localhost:PORT).'));
      return;
    }
    if (request.method !== 'GET' && request.method !== 'POST') {
      response.setHeader('allow', 'GET, POST');
      sendPage(response, 405, errorPage('GET the form, or POST it.'));
      return;
    }
    const params = request.method === 'POST' ? new URLSearchParams(request.body.toString('utf8')) : request.query;
    const authRequest = this.authorizationRequest(params);
    // An invalid client or redirect is shown, never redirected to (RFC 6749 §4.1.2.1).
    if (typeof authRequest === 'string') {
      sendPage(response, 400, errorPage(authRequest));
      return;
    }
    if (request.method === 'GET') {
      sendPage(response, 200, signInPage(authRequest.params, { uri: params.get('login_hint') ?? '', name: '', kind: 'enterprise' }));
      return;
    }
    const uriText = (params.get('uri') ?? '').trim();
    const uri = sipUri.safeParse(uriText.toLowerCase().startsWith('sip:') ? uriText : `sip:${uriText}`);
    const kind = params.get('kind') ?? '';
    const name = (params.get('name') ?? '').trim().slice(0, 256);
    if (!uri.success || !(identityKinds as readonly string[]).includes(kind)) {
      const problem = uri.success ? `unknown kind '${kind}'` : 'expected a SIP URI like sip:alice@contoso.com';
      sendPage(response, 400, signInPage(authRequest.params, { uri: uriText, name, kind }, problem));
      return;
    }
    const nowMs = this.now();
    this.forgetExpired(nowMs);
    const code = randomBytes(32).toString('base64url');
    this.codes.set(code, {
      uri: uri.data,
      kind: kind as IdentityKind,
      name: name || uri.data.slice(4, uri.data.indexOf('@')),
      authTime: Math.floor(nowMs / 1000),
      redirectUri: authRequest.redirectUri,
      challenge: authRequest.challenge,
      nonce: params.get('nonce') ?? undefined,
      scope: authRequest.scope,
      expiresAt: nowMs + CODE_SECONDS * 1000,
    });
    const back = new URL(authRequest.redirectUri);
    back.searchParams.set('code', code);
    const state = params.get('state');
    if (state !== null) back.searchParams.set('state', state);
    back.searchParams.set('iss', this.issuer);
    response.writeHead(302, { location: back.toString(), 'cache-control': 'no-store' });
    response.end();
  }

  /** The authorization request's parameters checked (a string: why it is refused). */
  private authorizationRequest(params: URLSearchParams): { redirectUri: string; challenge: string; scope: string; params: URLSearchParams } | string {
    if (params.get('client_id') !== this.clientId) return `unknown client_id: this issuer knows '${this.clientId}' only`;
    const redirectUri = params.get('redirect_uri') ?? '';
    let redirect: URL;
    try {
      redirect = new URL(redirectUri);
    } catch {
      return 'redirect_uri must be an absolute URL';
    }
    if (!/^https?:$/.test(redirect.protocol) || !isLoopback(redirect.hostname) || redirect.hash !== '') return 'redirect_uri must be an http(s) URL on this machine (localhost, 127.0.0.1, [::1])';
    if (params.get('response_type') !== 'code') return "response_type must be 'code'";
    const challenge = params.get('code_challenge') ?? '';
    if (params.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) return 'PKCE is required: code_challenge (S256) and code_challenge_method=S256';
    const scope = (params.get('scope') ?? 'openid').split(' ').filter((entry) => SCOPES.includes(entry)).join(' ');
    const kept = new URLSearchParams();
    for (const key of ['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method']) {
      const value = params.get(key);
      if (value !== null) kept.set(key, value);
    }
    return { redirectUri, challenge, scope: scope || 'openid', params: kept };
  }

  private async token(request: EdgeRequest, response: ServerResponse): Promise<void> {
    if (!isLoopback(request.raw.socket.remoteAddress)) {
      sendPublicJson(response, 403, { error: 'access_denied', error_description: 'the local issuer answers on loopback only' });
      return;
    }
    if (request.method !== 'POST') {
      response.setHeader('allow', 'POST');
      sendPublicJson(response, 405, { error: 'invalid_request', error_description: 'POST the token request' });
      return;
    }
    const params = new URLSearchParams(request.body.toString('utf8'));
    const nowMs = this.now();
    this.forgetExpired(nowMs);
    if (params.get('client_id') !== this.clientId) {
      sendPublicJson(response, 401, { error: 'invalid_client', error_description: `unknown client_id: this issuer knows '${this.clientId}' only` });
      return;
    }
    const grant = params.get('grant_type');
    if (grant === 'authorization_code') {
      const code = params.get('code') ?? '';
      const pending = this.codes.get(code);
      // A code is good once, whatever the outcome (RFC 6749 §4.1.2).
      this.codes.delete(code);
      if (!pending || pending.expiresAt <= nowMs) return invalidGrant(response, 'unknown or expired code');
      if (params.get('redirect_uri') !== pending.redirectUri) return invalidGrant(response, 'redirect_uri differs from the authorization request');
      if (!verifierMatches(params.get('code_verifier') ?? '', pending.challenge)) return invalidGrant(response, 'code_verifier does not match the code_challenge (S256)');
      sendPublicJson(response, 200, await this.tokens(pending, pending.scope, nowMs, pending.nonce), { 'cache-control': 'no-store', pragma: 'no-cache' });
      return;
    }
    if (grant === 'refresh_token') {
      const refresh = this.refreshTokens.get(params.get('refresh_token') ?? '');
      if (!refresh || refresh.expiresAt <= nowMs) return invalidGrant(response, 'unknown or expired refresh token');
      sendPublicJson(response, 200, await this.tokens(refresh, refresh.scope, nowMs), { 'cache-control': 'no-store', pragma: 'no-cache' });
      return;
    }
    sendPublicJson(response, 400, { error: 'unsupported_grant_type', error_description: 'authorization_code or refresh_token' });
  }

  /** An ID token (what the WebSocket takes), an access token and a refresh token (kept in memory) for a sign-in. */
  private async tokens(who: SignedIn, scope: string, nowMs: number, nonce?: string) {
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + this.tokenSeconds;
    const common = { iss: this.issuer, sub: who.uri, aud: this.clientId, iat, exp };
    const idToken = await this.sign({
      ...common,
      auth_time: who.authTime,
      email: who.uri.slice('sip:'.length),
      name: who.name,
      [LOCAL_OIDC_KIND_CLAIM]: who.kind,
      // Unique per token: a refresh within the same second as the sign-in still yields a new token.
      jti: randomUUID(),
      ...(nonce ? { nonce } : {}),
    });
    const accessToken = await this.sign({ ...common, client_id: this.clientId, scope, token_use: 'access', jti: randomUUID() });
    const refreshToken = randomBytes(32).toString('base64url');
    this.refreshTokens.set(refreshToken, { uri: who.uri, kind: who.kind, name: who.name, authTime: who.authTime, scope, expiresAt: nowMs + REFRESH_SECONDS * 1000 });
    return { token_type: 'Bearer', id_token: idToken, access_token: accessToken, refresh_token: refreshToken, expires_in: this.tokenSeconds, scope };
  }

  private forgetExpired(nowMs: number): void {
    for (const [code, pending] of this.codes) if (pending.expiresAt <= nowMs) this.codes.delete(code);
    for (const [token, refresh] of this.refreshTokens) if (refresh.expiresAt <= nowMs) this.refreshTokens.delete(token);
  }
}

/** Discovery, JWKS and tokens are read by the app's page from another origin when it was opened on localhost. */
const CORS = { 'access-control-allow-origin': '*' };

function sendPublicJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  for (const [name, value] of Object.entries({ ...CORS, ...headers })) response.setHeader(name, value);
  sendJson(response, status, body);
}

function invalidGrant(response: ServerResponse, description: string): void {
  sendPublicJson(response, 400, { error: 'invalid_grant', error_description: description }, { 'cache-control': 'no-store' });
}

function verifierMatches(verifier: string, challenge: string): boolean {
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return false;
  const computed = Buffer.from(createHash('sha256').update(verifier).digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

/** The form mints any identity: for this machine's own requests to a loopback Host only (no DNS rebinding). */
function loopbackOnly(request: EdgeRequest): boolean {
  const host = request.headers.host ?? '';
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  const hostName = bracketed ? bracketed[1] : /^[^:]+(?::\d+)?$/.test(host) ? host.split(':')[0] : undefined;
  return isLoopback(request.raw.socket.remoteAddress) && isLoopback(hostName);
}

function sendPage(response: ServerResponse, status: number, html: string): void {
  const body = Buffer.from(html);
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // No framing (clickjacking of the sign-in); no script at all.
    'x-frame-options': 'DENY',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  });
  response.end(body);
}

const KIND_LABELS: Readonly<Record<IdentityKind, string>> = {
  enterprise: 'Enterprise user (of contoso.com)',
  federated: 'Federated partner',
  anonymous: 'Anonymous guest',
  pstn: 'PSTN caller',
  application: 'Trusted application',
  admin: 'Administrator',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

// The look of the web app's sign-in card (web/src/styles.css), inline: the page runs no script and loads nothing.
const PAGE_STYLE = `
:root { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; font-size: 15px; color: #1d2433; background: #f4f6f9; }
* { box-sizing: border-box; }
body { margin: 0; }
h1 { font-size: 1.6rem; margin: 0 0 0.25rem; }
.muted { color: #667085; }
.small { font-size: 0.82rem; }
input, select, button { font: inherit; }
input, select { border: 1px solid #dde2ea; border-radius: 6px; padding: 0.45rem 0.6rem; background: #fff; min-width: 0; color: #1d2433; }
input:focus, select:focus { outline: 2px solid #e7ecff; border-color: #3b5bdb; }
button { border: 1px solid #3b5bdb; border-radius: 6px; padding: 0.45rem 0.8rem; background: #3b5bdb; color: #fff; cursor: pointer; }
.error { color: #c92a2a; background: #fff0f0; border: 1px solid #f5c2c2; border-radius: 6px; padding: 0.4rem 0.6rem; margin: 0.5rem 0; font-size: 0.88rem; }
.signin { display: flex; justify-content: center; padding: 6vh 1rem; }
.card { background: #fff; border: 1px solid #dde2ea; border-radius: 12px; padding: 1.75rem; width: 100%; max-width: 26rem; display: flex; flex-direction: column; gap: 0.8rem; box-shadow: 0 4px 18px rgba(20, 30, 60, 0.06); }
.card label { display: flex; flex-direction: column; gap: 0.3rem; font-size: 0.88rem; color: #667085; }
`;

function signInPage(params: URLSearchParams, values: { uri: string; name: string; kind: string }, error?: string): string {
  const hidden = [...params].map(([key, value]) => `<input type="hidden" name="${escapeHtml(key)}" value="${escapeHtml(value)}">`).join('\n      ');
  const options = identityKinds
    .map((kind) => `<option value="${kind}"${kind === values.kind ? ' selected' : ''}>${escapeHtml(KIND_LABELS[kind])}</option>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in: local issuer</title><style>${PAGE_STYLE}</style></head>
<body><main class="signin">
  <form class="card" method="post" action="${LOCAL_OIDC_PATH}/authorize" data-testid="signin-form">
      ${hidden}
      <h1>UC web</h1>
      <p class="muted">Development sign-in at the local cloud's OpenID Connect issuer: pick any user and kind.</p>
      <label>SIP URI <input name="uri" data-testid="signin-uri" value="${escapeHtml(values.uri)}" placeholder="sip:alice@contoso.com" required></label>
      <label>Display name <input name="name" data-testid="signin-name" value="${escapeHtml(values.name)}" placeholder="Alice"></label>
      <label>Kind <select name="kind" data-testid="signin-kind">${options}</select></label>
      <button type="submit" data-testid="signin-submit">Sign in</button>
      ${error ? `<p class="error" data-testid="signin-error">${escapeHtml(error)}</p>` : ''}
      <p class="muted small">Each browser tab remembers its own user, so two tabs can be two people. On AWS this page is Cognito's or Entra ID's.</p>
  </form>
</main></body></html>
`;
}

function errorPage(message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in refused</title><style>${PAGE_STYLE}</style></head>
<body><main class="signin"><div class="card"><h1>Sign-in refused</h1><p class="error" data-testid="signin-error">${escapeHtml(message)}</p></div></main></body></html>
`;
}
