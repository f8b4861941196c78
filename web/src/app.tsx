import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConnectionState, Presence } from '../../client/src';
import { JOIN_LINK_PATH } from '../../shared/protocol/join-link';
import { Contacts } from './contacts';
import { Conversations } from './im';
import { Meetings } from './meetings';
import { PresenceWatch } from './presence-watch';
import { Rooms } from './rooms';
import { completeSignIn, isSignInCallback, resumeSignIn, type Session, signOut, startSignIn, wasSignedIn } from './session';
import {
  connectionLabel,
  hasPresenceControl,
  imNotice,
  lobbyNotice,
  mentionNotice,
  type Notice,
  ownDotAvailability,
  pageTitle,
  type PresenceChoice,
  presenceChoiceFrom,
  type Tab,
  tabIndexAfterKey,
  tabsFor,
} from './shell';
import { AVAILABILITY_LABELS, ErrorLine, errorText, PresenceDot, useAction, useClientEvent } from './ui';
import { sayClientError, SIGNED_OUT } from './words';

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

/** How long "Reconnected" shows after the connection came back. */
const RECONNECTED_NOTE_MS = 4000;

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { me } = session;
  const tabs = tabsFor(me.kind);
  // Opened from a join link: straight to the meeting (asked once; a reload afterwards is an ordinary start).
  const [joinConfId] = useState(() => {
    const confId = window.sessionStorage.getItem(PENDING_JOIN_KEY) ?? undefined;
    window.sessionStorage.removeItem(PENDING_JOIN_KEY);
    return confId;
  });
  const [tab, setTab] = useState<Tab>(joinConfId || !tabs.some((entry) => entry.tab === 'rooms') ? 'meetings' : 'rooms');
  const [attention, setAttention] = useState<Partial<Record<Tab, boolean>>>({});
  const [unread, setUnread] = useState<{ rooms: number; im: number }>({ rooms: 0, im: 0 });
  const [menuOpen, setMenuOpen] = useState(false);
  const tabButtons = useRef<Partial<Record<Tab, HTMLButtonElement | null>>>({});
  const [startWith, setStartWith] = useState<{ uris: string[]; nonce: number }>();

  const notify = (target: Tab) => {
    if (target !== tab) setAttention((current) => ({ ...current, [target]: true }));
  };
  const open = (target: Tab) => {
    setTab(target);
    setAttention((current) => ({ ...current, [target]: false }));
  };
  const notifications = useNotifications(session, open);

  const total = unread.rooms + unread.im;
  useEffect(() => {
    document.title = pageTitle(total);
  }, [total]);
  useEffect(
    () => () => {
      document.title = pageTitle(0);
    },
    [],
  );

  // Arrow keys, Home and End move between tabs (WAI-ARIA tabs, roving tabindex); the tab focused is opened.
  const tabKey = (event: KeyboardEvent, index: number) => {
    const next = tabIndexAfterKey(event.key, index, tabs.length);
    if (next === undefined) return;
    event.preventDefault();
    const target = tabs[next]!.tab;
    open(target);
    tabButtons.current[target]?.focus();
  };

  const panel = (target: Tab) => {
    switch (target) {
      case 'rooms':
        return <Rooms session={session} visible={tab === 'rooms'} onUnread={(count: number) => setUnread((current) => (current.rooms === count ? current : { ...current, rooms: count }))} />;
      case 'contacts':
        return (
          <Contacts
            session={session}
            onStartIm={(uris: string[]) => {
              setStartWith({ uris, nonce: Date.now() });
              open('im');
            }}
          />
        );
      case 'im':
        return (
          <Conversations
            session={session}
            visible={tab === 'im'}
            onActivity={() => notify('im')}
            onUnread={(count: number) => setUnread((current) => (current.im === count ? current : { ...current, im: count }))}
            startWith={startWith}
          />
        );
      case 'meetings':
        return <Meetings session={session} onActivity={() => notify('meetings')} joinConfId={joinConfId} onOpen={() => open('meetings')} />;
    }
  };

  return (
    <div class="shell">
      <header class={`topbar${menuOpen ? ' expanded' : ''}`} data-testid="topbar">
        <div class="brand">
          <span class="brand-long">UC web</span>
          <span class="brand-short" aria-hidden="true">
            UC
          </span>
        </div>
        <div class="me more">
          <strong data-testid="me-name">{me.name}</strong>
          <span class="muted" data-testid="me-uri">
            {me.uri}
          </span>
          <span class="badge" data-testid="me-kind">
            {me.kind}
          </span>
        </div>
        <Connection session={session} />
        <span class="spacer" />
        {hasPresenceControl(me.kind) && <PresenceControl session={session} />}
        <div class="more header-actions">
          <NotificationsToggle notifications={notifications} />
          <button class="link" data-testid="signout" onClick={onSignOut}>
            Sign out
          </button>
        </div>
        <button
          type="button"
          class="menu-toggle"
          data-testid="header-menu"
          aria-expanded={menuOpen}
          aria-label={menuOpen ? 'Hide your account, note and notifications' : 'Show your account, note and notifications'}
          onClick={() => setMenuOpen(!menuOpen)}
        >
          <span aria-hidden="true">☰</span>
        </button>
      </header>
      <ConnectionBar session={session} />
      <nav class="tabs" role="tablist" aria-label="Views" data-testid="tabs">
        {tabs.map((entry, index) => (
          <button
            key={entry.tab}
            ref={(element) => {
              tabButtons.current[entry.tab] = element;
            }}
            id={`tab-${entry.tab}`}
            role="tab"
            aria-selected={tab === entry.tab}
            aria-controls={`panel-${entry.tab}`}
            tabIndex={tab === entry.tab ? 0 : -1}
            class={tab === entry.tab ? 'active' : ''}
            data-testid={`tab-${entry.tab}`}
            onClick={() => open(entry.tab)}
            onKeyDown={(event) => tabKey(event, index)}
          >
            {entry.label}
            {entry.tab === 'rooms'
              ? unread.rooms > 0 && (
                  <span class="attention" data-testid="tab-rooms-attention" data-unread={unread.rooms}>
                    <span class="visually-hidden">, {unread.rooms} unread</span>
                  </span>
                )
              : attention[entry.tab] && (
                  <span class="attention" data-testid={`tab-${entry.tab}-attention`}>
                    <span class="visually-hidden">, new activity</span>
                  </span>
                )}
          </button>
        ))}
      </nav>
      <main class="content">
        {tabs.map((entry) => (
          <section key={entry.tab} id={`panel-${entry.tab}`} role="tabpanel" aria-labelledby={`tab-${entry.tab}`} data-testid={`panel-${entry.tab}`} hidden={tab !== entry.tab}>
            {panel(entry.tab)}
          </section>
        ))}
      </main>
    </div>
  );
}

/** The connection pill in the header: the client's state in words ("Reconnecting… (attempt 3)"). */
function Connection({ session }: { session: Session }) {
  const { client } = session;
  const [state, setState] = useState<{ state: ConnectionState; attempt?: number }>({ state: client.connectionState });
  useClientEvent(client, 'state', (event) => setState(event));
  const label = connectionLabel(state.state, state.attempt);
  return (
    <span class={`conn conn-${state.state}`} data-testid="conn-state" data-state={state.state} title={label}>
      {label}
    </span>
  );
}

/**
 * What the connection needs said below the header: while reconnecting, that it is (and "Retry now"); once back, a
 * short "Reconnected"; if the client gave up, that it did (and "Reconnect"); and an error no command reports (a failed
 * gap fill), which goes when the connection opens again. A failed reconnect attempt is no error: the pill says it.
 */
function ConnectionBar({ session }: { session: Session }) {
  const { client } = session;
  const [state, setState] = useState<ConnectionState>(client.connectionState);
  const [attempt, setAttempt] = useState<number>();
  const [reconnected, setReconnected] = useState(false);
  const [clientError, setClientError] = useState<string>();
  const wasDown = useRef(false);

  useClientEvent(client, 'state', (event) => {
    setState(event.state);
    setAttempt(event.attempt);
    if (event.state === 'reconnecting' || event.state === 'closed') {
      wasDown.current = true;
      setReconnected(false);
    } else if (event.state === 'open') {
      setClientError(undefined);
      if (wasDown.current) setReconnected(true);
      wasDown.current = false;
    }
  });
  useClientEvent(client, 'error', (event) => {
    const text = sayClientError(event);
    // While reconnecting a failed attempt is no news (the pill counts them), unless waiting cannot help: signed out.
    if (client.connectionState === 'open' || text === SIGNED_OUT) setClientError(text);
  });
  useEffect(() => {
    if (!reconnected) return;
    const timer = setTimeout(() => setReconnected(false), RECONNECTED_NOTE_MS);
    return () => clearTimeout(timer);
  }, [reconnected]);
  // The network is back, or the tab is looked at again: no need to wait out the backoff.
  useEffect(() => {
    const now = () => {
      if (document.visibilityState === 'visible') client.reconnectNow();
    };
    window.addEventListener('online', now);
    document.addEventListener('visibilitychange', now);
    return () => {
      window.removeEventListener('online', now);
      document.removeEventListener('visibilitychange', now);
    };
  }, [client]);

  return (
    <>
      <div class="conn-bars" role="status" aria-live="polite" data-testid="conn-status">
        {state === 'reconnecting' && (
          <p class="conn-bar warn" data-testid="conn-reconnecting">
            The connection was lost: reconnecting{attempt ? ` (attempt ${attempt})` : ''}.
            <button type="button" class="link" data-testid="conn-retry" onClick={() => client.reconnectNow()}>
              Retry now
            </button>
          </p>
        )}
        {state === 'closed' && (
          <p class="conn-bar gave-up" data-testid="conn-gave-up">
            The connection was lost and the app stopped trying to reconnect.
            <button type="button" class="link" data-testid="conn-reconnect" onClick={() => client.reconnectNow()}>
              Reconnect
            </button>
          </p>
        )}
        {state === 'open' && reconnected && (
          <p class="conn-bar ok" data-testid="conn-reconnected">
            Reconnected.
          </p>
        )}
      </div>
      {clientError && (
        <p class="error bar" role="alert" data-testid="client-error">
          {clientError}
          <button type="button" class="link" data-testid="client-error-dismiss" onClick={() => setClientError(undefined)}>
            Dismiss
          </button>
        </p>
      )}
    </>
  );
}

const CHOICES: readonly PresenceChoice[] = ['auto', 'online', 'busy', 'doNotDisturb', 'beRightBack', 'away', 'offline'];

/** The choice this browser last made for the user (per user: two tabs can be two people); the server keeps the rest. */
const choiceKey = (uri: string) => `uc.presenceChoice:${uri}`;

function rememberedChoice(uri: string): PresenceChoice | undefined {
  const value = window.localStorage.getItem(choiceKey(uri));
  return (CHOICES as readonly (string | null)[]).includes(value) ? (value as PresenceChoice) : undefined;
}

/**
 * The user's own presence: an explicit state (or automatic) and a note, published with `presence.publish`. Both
 * persist on the server (docs/protocol.md, "Persistent presence"), so after a reload or a reconnect the control shows
 * them from the user's own presence (the page watches its own URI) rather than "Automatic". The dot is grey while
 * this page is not connected.
 */
function PresenceControl({ session }: { session: Session }) {
  const { client, me } = session;
  const held = () => client.presence.get(me.uri)?.presence;
  const [own, setOwn] = useState<Presence | undefined>(held);
  const [choice, setChoice] = useState<PresenceChoice>(() => presenceChoiceFrom(held(), rememberedChoice(me.uri)));
  const [note, setNote] = useState(() => held()?.note ?? '');
  const [connection, setConnection] = useState<ConnectionState>(client.connectionState);
  // A note being typed is not replaced by the server's until it is saved.
  const noteEdited = useRef(false);
  // Counts keystrokes in the note: a publish's answer marks the note saved only if nothing was typed meanwhile.
  const noteEdits = useRef(0);
  const { error, run } = useAction();

  const learn = (presence: Presence) => {
    setOwn(presence);
    setChoice(presenceChoiceFrom(presence, rememberedChoice(me.uri)));
    // Appearing offline hides the note from everyone, its owner's own view included: keep what is shown.
    if (!noteEdited.current && presence.availability !== 'offline') setNote(presence.note ?? '');
  };
  useClientEvent(client, 'state', (event) => setConnection(event.state));
  useClientEvent(client, 'presence', (target) => {
    if (target.uri === me.uri) learn(target.presence);
  });
  useEffect(() => {
    const current = held();
    if (current) learn(current);
    // Watching one's own URI: the snapshot answers the persisted choice and note; a reconnect's resume answers it again.
    PresenceWatch.of(session)
      .watch([me.uri])
      .catch(() => undefined);
  }, [client]);

  const publish = (nextChoice: PresenceChoice, nextNote: string) =>
    run(async () => {
      window.localStorage.setItem(choiceKey(me.uri), nextChoice);
      const editsBefore = noteEdits.current;
      const answer = await client.request('presence.publish', {
        ...(nextChoice === 'auto' ? { reset: true as const } : { availability: nextChoice }),
        note: nextNote,
      });
      // Typed while the publish was on its way: that text stays, unsaved, rather than the answer's note.
      if (noteEdits.current === editsBefore) noteEdited.current = false;
      learn(answer.presence);
    });

  const dot = ownDotAvailability(connection, own, choice);
  return (
    <>
      <div class="presence-control" data-testid="me-presence" data-availability={dot} data-choice={choice} data-note={own?.note ?? ''}>
        <PresenceDot availability={dot} />
        <select
          data-testid="presence-select"
          value={choice}
          aria-label="My presence"
          onChange={(e) => {
            const next = e.currentTarget.value as PresenceChoice;
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
        <ErrorLine error={error} testId="presence-error" />
      </div>
      <form
        class="inline more presence-note"
        onSubmit={(e) => {
          e.preventDefault();
          void publish(choice, note);
        }}
      >
        <input
          data-testid="presence-note"
          aria-label="My note"
          value={note}
          placeholder="What's happening?"
          maxLength={512}
          onInput={(e) => {
            noteEdited.current = true;
            noteEdits.current += 1;
            setNote(e.currentTarget.value);
          }}
        />
        <button type="submit" data-testid="presence-note-save">
          Set note
        </button>
      </form>
    </>
  );
}

/** Browser notifications: asked for only when the user turns them on here (never on load), remembered per browser. */
const NOTIFICATIONS_KEY = 'uc.notifications';

type NotificationState = 'unsupported' | 'off' | 'on' | 'blocked';

interface Notifications {
  readonly state: NotificationState;
  enable(): Promise<void>;
  disable(): void;
}

function notificationState(): NotificationState {
  if (typeof Notification === 'undefined') return 'unsupported';
  if (Notification.permission === 'denied') return 'blocked';
  return Notification.permission === 'granted' && window.localStorage.getItem(NOTIFICATIONS_KEY) === 'on' ? 'on' : 'off';
}

/**
 * While the page is hidden, a notification for a new IM, a room message mentioning the user, and someone waiting in
 * a lobby (to its presenters); clicking one brings the page back on that view.
 */
function useNotifications(session: Session, openTab: (tab: Tab) => void): Notifications {
  const { client, me } = session;
  const [state, setState] = useState<NotificationState>(notificationState);
  const roomNames = new Map((session.resumed.rooms ?? []).map((room) => [room.roomId, room.name]));

  const show = (notice: Notice | undefined) => {
    if (!notice || document.visibilityState !== 'hidden' || notificationState() !== 'on') return;
    try {
      const shown = new Notification(notice.title, { body: notice.body, tag: notice.tag });
      shown.onclick = () => {
        window.focus();
        openTab(notice.tab);
        shown.close();
      };
    } catch {
      // Some browsers show notifications only from a service worker (Chrome on Android): the tab's badges remain.
    }
  };
  useClientEvent(client, 'im.message', (message) => show(imNotice(message, me.uri)));
  useClientEvent(client, 'chat.message', (message) => show(mentionNotice(message, me.uri, roomNames.get(message.roomId))));
  useClientEvent(client, 'conf.lobby', (event) => show(lobbyNotice(event)));

  return {
    state,
    enable: async () => {
      const permission = await Notification.requestPermission();
      if (permission === 'granted') window.localStorage.setItem(NOTIFICATIONS_KEY, 'on');
      setState(notificationState());
    },
    disable: () => {
      window.localStorage.setItem(NOTIFICATIONS_KEY, 'off');
      setState(notificationState());
    },
  };
}

function NotificationsToggle({ notifications }: { notifications: Notifications }) {
  switch (notifications.state) {
    case 'unsupported':
      return null;
    case 'blocked':
      return (
        <span class="muted small" data-testid="notifications-blocked">
          Notifications are blocked in this browser's settings.
        </span>
      );
    case 'on':
      return (
        <button type="button" class="link notifications on" data-testid="notifications-disable" title="Turn off notifications" onClick={notifications.disable}>
          <BellIcon />
          <span class="notifications-text">Turn off notifications</span>
        </button>
      );
    case 'off':
      return (
        <button type="button" class="link notifications" data-testid="notifications-enable" title="Enable notifications" onClick={() => void notifications.enable()}>
          <BellIcon />
          <span class="notifications-text">Enable notifications</span>
        </button>
      );
  }
}

/** A bell (on the desktop the notifications switch shows only it; its words are there for screen readers and phones). */
function BellIcon() {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
      <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9M10.3 21a1.94 1.94 0 0 0 3.4 0" />
    </svg>
  );
}
