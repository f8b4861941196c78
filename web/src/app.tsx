import { useEffect, useState } from 'preact/hooks';
import type { Availability, ConnectionState, Presence } from '../../client/src';
import { JOIN_LINK_PATH } from '../../shared/protocol/join-link';
import { Contacts } from './contacts';
import { Conversations } from './im';
import { Meetings } from './meetings';
import { Rooms } from './rooms';
import { completeSignIn, isSignInCallback, resumeSignIn, type Session, signOut, startSignIn, wasSignedIn } from './session';
import { AVAILABILITY_LABELS, ErrorLine, errorText, PresenceDot, useAction, useClientEvent } from './ui';

/** Where a meeting's join link (`/join/{confId}`, SPEC §9) is kept across the sign-in round trip, which returns to `/`. */
const PENDING_JOIN_KEY = 'uc.pendingJoin';

/** The meeting a join link opened this tab at, if any: remembered until the app has asked to join it. */
function takeJoinLink(): void {
  const match = JOIN_LINK_PATH.exec(window.location.pathname);
  if (!match) return;
  window.sessionStorage.setItem(PENDING_JOIN_KEY, decodeURIComponent(match[1]!));
  window.history.replaceState(null, '', '/');
}
takeJoinLink();

export function App() {
  const [session, setSession] = useState<Session>();
  const [error, setError] = useState<string>();
  // Back from the issuer (?code=…), or a reload of a signed-in tab: sign in without a click.
  const [resuming, setResuming] = useState(() => isSignInCallback() || wasSignedIn());

  useEffect(() => {
    if (!resuming) return;
    (isSignInCallback() ? completeSignIn() : resumeSignIn())
      .then(setSession)
      .catch((failure: unknown) => setError(errorText(failure)))
      .finally(() => setResuming(false));
  }, []);

  if (session) {
    return (
      <Shell
        session={session}
        onSignOut={() => {
          void signOut(session);
          setSession(undefined);
        }}
      />
    );
  }
  if (resuming) return <p class="loading">Signing in…</p>;
  return <SignIn initialError={error} />;
}

/** The sign-in card: the issuer's own page asks who you are (locally its development form: any user and kind). */
function SignIn({ initialError }: { initialError?: string }) {
  const { error, busy, run } = useAction();

  const submit = (event: Event) => {
    event.preventDefault();
    void run(startSignIn);
  };

  return (
    <main class="signin">
      <form class="card" onSubmit={submit} data-testid="signin-start-form">
        <h1>UC web</h1>
        <p class="muted">Sign in with your organisation's account (OpenID Connect). On the local cloud, its development issuer lets you pick any user and kind.</p>
        <button type="submit" class="primary" data-testid="signin-start" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorLine error={error ?? initialError} testId="signin-error" />
        <p class="muted small">Each browser tab remembers its own user, so two tabs can be two people.</p>
      </form>
    </main>
  );
}

type Tab = 'rooms' | 'contacts' | 'im' | 'meetings';
const TABS: ReadonlyArray<{ tab: Tab; label: string }> = [
  { tab: 'rooms', label: 'Rooms' },
  { tab: 'contacts', label: 'Contacts' },
  { tab: 'im', label: 'IM' },
  { tab: 'meetings', label: 'Meetings' },
];

const STATE_LABELS: Readonly<Record<ConnectionState, string>> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
};

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { client, me } = session;
  // Opened from a join link: straight to the meeting (asked once; a reload afterwards is an ordinary start).
  const [joinConfId] = useState(() => {
    const confId = window.sessionStorage.getItem(PENDING_JOIN_KEY) ?? undefined;
    window.sessionStorage.removeItem(PENDING_JOIN_KEY);
    return confId;
  });
  const [tab, setTab] = useState<Tab>(joinConfId ? 'meetings' : 'rooms');
  const [connection, setConnection] = useState<ConnectionState>(client.connectionState);
  const [clientError, setClientError] = useState<string>();
  const [attention, setAttention] = useState<Partial<Record<Tab, boolean>>>({});
  useClientEvent(client, 'state', (event) => setConnection(event.state));
  useClientEvent(client, 'error', (event) => setClientError(event.message));

  const notify = (target: Tab) => {
    if (target !== tab) setAttention((current) => ({ ...current, [target]: true }));
  };
  const open = (target: Tab) => {
    setTab(target);
    setAttention((current) => ({ ...current, [target]: false }));
  };

  return (
    <div class="shell">
      <header class="topbar">
        <div class="brand">UC web</div>
        <div class="me">
          <strong data-testid="me-name">{me.name}</strong>
          <span class="muted" data-testid="me-uri">
            {me.uri}
          </span>
          <span class="badge" data-testid="me-kind">
            {me.kind}
          </span>
        </div>
        <span class={`conn conn-${connection}`} data-testid="conn-state" data-state={connection}>
          {STATE_LABELS[connection]}
        </span>
        <PresenceControl session={session} />
        <button class="link" data-testid="signout" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      {clientError && (
        <p class="error bar" data-testid="client-error" onClick={() => setClientError(undefined)}>
          {clientError} (click to dismiss)
        </p>
      )}
      <nav class="tabs" role="tablist">
        {TABS.map((entry) => (
          <button
            key={entry.tab}
            role="tab"
            aria-selected={tab === entry.tab}
            class={tab === entry.tab ? 'active' : ''}
            data-testid={`tab-${entry.tab}`}
            onClick={() => open(entry.tab)}
          >
            {entry.label}
            {attention[entry.tab] && <span class="attention" data-testid={`tab-${entry.tab}-attention`} />}
          </button>
        ))}
      </nav>
      <main class="content">
        <section hidden={tab !== 'rooms'}>
          <Rooms session={session} visible={tab === 'rooms'} />
        </section>
        <section hidden={tab !== 'contacts'}>
          <Contacts session={session} />
        </section>
        <section hidden={tab !== 'im'}>
          <Conversations session={session} visible={tab === 'im'} onActivity={() => notify('im')} />
        </section>
        <section hidden={tab !== 'meetings'}>
          <Meetings session={session} onActivity={() => notify('meetings')} joinConfId={joinConfId} />
        </section>
      </main>
    </div>
  );
}

const CHOICES: ReadonlyArray<Availability | 'auto'> = ['auto', 'online', 'busy', 'doNotDisturb', 'beRightBack', 'away', 'offline'];

/** The user's own presence: an explicit state (or automatic) and a note, published with `presence.publish`. */
function PresenceControl({ session }: { session: Session }) {
  const { client } = session;
  const [choice, setChoice] = useState<Availability | 'auto'>('auto');
  const [note, setNote] = useState('');
  const [shown, setShown] = useState<Presence>({ availability: 'online' });
  const { error, run } = useAction();

  const publish = (nextChoice: Availability | 'auto', nextNote: string) =>
    run(async () => {
      const answer = await client.request('presence.publish', {
        ...(nextChoice === 'auto' ? { reset: true as const } : { availability: nextChoice }),
        note: nextNote,
      });
      setShown(answer.presence);
    });

  return (
    <div class="presence-control">
      <PresenceDot availability={shown.availability} />
      <select
        data-testid="presence-select"
        value={choice}
        aria-label="My presence"
        onChange={(e) => {
          const next = e.currentTarget.value as Availability | 'auto';
          setChoice(next);
          void publish(next, note);
        }}
      >
        {CHOICES.map((value) => (
          <option key={value} value={value}>
            {value === 'auto' ? 'Automatic' : value === 'offline' ? 'Appear offline' : AVAILABILITY_LABELS[value]}
          </option>
        ))}
      </select>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void publish(choice, note);
        }}
      >
        <input data-testid="presence-note" value={note} placeholder="What's happening?" maxLength={512} onInput={(e) => setNote(e.currentTarget.value)} />
        <button type="submit" data-testid="presence-note-save">
          Set note
        </button>
      </form>
      <ErrorLine error={error} testId="presence-error" />
    </div>
  );
}
