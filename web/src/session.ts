import { type CommandResult, type IdentityKind, UcClient } from '../../client/src';

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

export const KINDS: ReadonlyArray<{ kind: IdentityKind; label: string }> = [
  { kind: 'enterprise', label: 'Enterprise user (of contoso.com)' },
  { kind: 'federated', label: 'Federated partner' },
  { kind: 'anonymous', label: 'Anonymous guest' },
  { kind: 'pstn', label: 'PSTN caller' },
  { kind: 'application', label: 'Trusted application' },
  { kind: 'admin', label: 'Administrator' },
];

/** The last sign-in of this tab (sessionStorage is per tab, so two tabs can be two users). */
const SIGN_IN_KEY = 'uc.signIn';
const SIGNED_IN_KEY = 'uc.signedIn';

export function lastSignIn(): Me | undefined {
  try {
    const stored = JSON.parse(sessionStorage.getItem(SIGN_IN_KEY) ?? 'null') as Me | null;
    return stored && typeof stored.uri === 'string' ? stored : undefined;
  } catch {
    return undefined;
  }
}

export function wasSignedIn(): boolean {
  return sessionStorage.getItem(SIGNED_IN_KEY) === 'yes';
}

interface IssuedToken {
  readonly token: string;
  readonly wsUrl: string;
}

/** The local cloud's development sign-in (docs/operations.md): a token for any user and kind. */
async function requestToken(me: Me): Promise<IssuedToken> {
  let response: Response;
  try {
    response = await fetch('/local/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri: me.uri, kind: me.kind, name: me.name || undefined, device: 'web' }),
    });
  } catch {
    throw new Error('the local cloud does not answer: is `npm start` running?');
  }
  const body = (await response.json().catch(() => ({}))) as Partial<IssuedToken> & { error?: { message?: string } };
  if (!response.ok || !body.token || !body.wsUrl) throw new Error(body.error?.message ?? `sign-in failed (HTTP ${response.status})`);
  return { token: body.token, wsUrl: body.wsUrl };
}

/** Gets a token, connects and resumes; every reconnect asks for a fresh token, so an expired one is replaced. */
export async function signIn(me: Me): Promise<Session> {
  sessionStorage.setItem(SIGN_IN_KEY, JSON.stringify(me));
  const first = await requestToken(me);
  let unused: string | undefined = first.token;
  const client = new UcClient({
    url: first.wsUrl,
    token: async () => {
      const token = unused ?? (await requestToken(me)).token;
      unused = undefined;
      return token;
    },
  });
  try {
    const resumed = await client.connect();
    sessionStorage.setItem(SIGNED_IN_KEY, 'yes');
    return { client, me, resumed };
  } catch (error) {
    client.close();
    throw error;
  }
}

export function signOut(session: Session): void {
  sessionStorage.removeItem(SIGNED_IN_KEY);
  session.client.close();
}
