import { type User, UserManager, WebStorageStateStore } from 'oidc-client-ts';
import { type CommandResult, type IdentityKind, UcClient, type WebSocketLike } from '../../client/src';
import { CURRENT_MEETING_KEY_PREFIX } from './use-meeting';

export interface Me {
  readonly uri: string;
  readonly name: string;
  readonly kind: IdentityKind;
}

export interface Session {
  readonly client: UcClient;
  readonly me: Me;
  /** The first connection's `session.resume` answer (presence subscriptions kept from an earlier page). */
  readonly resumed: CommandResult<'session.resume'>;
}

/**
 * `config.json` next to index.html: written by the deployment (infra/stacks/stateless-stack.ts), served by the
 * local cloud (its own issuer, infra/local/oidc.ts). The same code signs in against Cognito, Entra ID or the local issuer.
 */
interface WebConfig {
  readonly webSocketUrl: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly scope?: string;
}

interface SignInSetup {
  readonly config: WebConfig;
  readonly manager: UserManager;
}

/** The issuer's claim naming the kind outright (the local development issuer's); groups or roles otherwise. */
const KIND_CLAIM = 'uc:kind';
const GROUP_CLAIMS = ['cognito:groups', 'roles', 'groups'];
const IDENTITY_KINDS: readonly IdentityKind[] = ['enterprise', 'federated', 'anonymous', 'pstn', 'application', 'admin'];

/** Set once this tab is signed in (sessionStorage is per tab, so two tabs can be two users): a reload resumes. */
const SIGNED_IN_KEY = 'uc.signedIn';

let setup: Promise<SignInSetup> | undefined;

function signInSetup(): Promise<SignInSetup> {
  setup ??= loadSetup().catch((error: unknown) => {
    setup = undefined;
    throw error;
  });
  return setup;
}

async function loadSetup(): Promise<SignInSetup> {
  let response: Response;
  try {
    response = await fetch('/config.json', { cache: 'no-cache' });
  } catch {
    throw new Error('the server does not answer: is `npm start` running?');
  }
  const config = (await response.json().catch(() => undefined)) as Partial<WebConfig> | undefined;
  if (!response.ok || !config?.webSocketUrl || !config.issuer || !config.clientId) throw new Error(`config.json is missing or incomplete (HTTP ${response.status})`);
  const store = new WebStorageStateStore({ store: window.sessionStorage });
  const manager = new UserManager({
    authority: config.issuer,
    client_id: config.clientId,
    redirect_uri: `${window.location.origin}/`,
    post_logout_redirect_uri: `${window.location.origin}/`,
    response_type: 'code',
    scope: config.scope ?? 'openid email profile',
    // Per tab, both the sign-in in progress and the signed-in user.
    userStore: store,
    stateStore: store,
    loadUserInfo: false,
    automaticSilentRenew: false,
  });
  return { config: config as WebConfig, manager };
}

/** True while the page is the issuer's redirect back (`?code=…&state=…`, or `?error=…`). */
export function isSignInCallback(): boolean {
  const query = new URLSearchParams(window.location.search);
  return query.has('state') && (query.has('code') || query.has('error'));
}

export function wasSignedIn(): boolean {
  return sessionStorage.getItem(SIGNED_IN_KEY) === 'yes';
}

/** Off to the issuer's sign-in page (the local development form, Cognito's or Entra ID's). */
export async function startSignIn(): Promise<void> {
  const { manager } = await signInSetup();
  await manager.signinRedirect();
}

/** The issuer sent the browser back with a code: exchanges it (PKCE), then connects. */
export async function completeSignIn(): Promise<Session> {
  const { config, manager } = await signInSetup();
  try {
    const user = await manager.signinRedirectCallback();
    return await connect(config, manager, user);
  } finally {
    // The code is spent either way: the address bar goes back to the app.
    window.history.replaceState(null, '', '/');
  }
}

/** A reload: the tab's signed-in user connects again (undefined when there is none any more). */
export async function resumeSignIn(): Promise<Session | undefined> {
  const { config, manager } = await signInSetup();
  const user = await manager.getUser();
  if (!user) return undefined;
  return connect(config, manager, user);
}

/** The ID token the authorizer verifies, refreshed (refresh token) when it is about to expire. */
async function idToken(manager: UserManager): Promise<string> {
  let user = await manager.getUser();
  if (user && (user.expires_in ?? 0) < 60) user = await manager.signinSilent().catch(() => null);
  if (!user?.id_token) throw new Error('signed out: sign in again');
  return user.id_token;
}

/**
 * Reconnect backoff of the web app: up to 15 s between attempts (a person waits for the page; "Retry now", the
 * network coming back and the tab shown again try at once), and after 40 attempts (about 7 minutes with the
 * jitter, 9 at most) it stops and says so, with a Reconnect button.
 */
const RECONNECT = { initialDelayMs: 500, maxDelayMs: 15_000, maxAttempts: 40 } as const;

/** Connects with the ID token (`?device=web`) and resumes; every reconnect asks for a fresh token. */
async function connect(config: WebConfig, manager: UserManager, user: User): Promise<Session> {
  const client = new UcClient({
    url: config.webSocketUrl,
    token: () => idToken(manager),
    reconnect: RECONNECT,
    webSocket: (url) => new WebSocket(`${url}&device=web`) as unknown as WebSocketLike,
  });
  try {
    const resumed = await client.connect();
    sessionStorage.setItem(SIGNED_IN_KEY, 'yes');
    return { client, me: meOf(user), resumed };
  } catch (error) {
    client.close();
    throw error;
  }
}

/** Who the ID token says this is, as the authorizer maps it (docs/deploy.md, "Identity mapping"). */
function meOf(user: User): Me {
  const profile = user.profile as Record<string, unknown>;
  const address = String(profile.email ?? profile.preferred_username ?? profile.sub).toLowerCase();
  const uri = address.startsWith('sip:') ? address : `sip:${address}`;
  const named = profile[KIND_CLAIM];
  const groups = GROUP_CLAIMS.flatMap((claim) => {
    const value = profile[claim];
    return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  });
  const kind: IdentityKind =
    typeof named === 'string' && (IDENTITY_KINDS as readonly string[]).includes(named)
      ? (named as IdentityKind)
      : groups.includes('admin')
        ? 'admin'
        : groups.includes('application')
          ? 'application'
          : 'enterprise';
  const name = typeof profile.name === 'string' && profile.name.length > 0 ? profile.name : uri.slice(4, uri.indexOf('@'));
  return { uri, name, kind };
}

export async function signOut(session: Session): Promise<void> {
  sessionStorage.removeItem(SIGNED_IN_KEY);
  // The meeting a reload would take this user back into (use-meeting.ts): not the next person's in this tab.
  sessionStorage.removeItem(`${CURRENT_MEETING_KEY_PREFIX}${session.me.uri}`);
  session.client.close();
  const { manager } = await signInSetup();
  await manager.removeUser();
}
