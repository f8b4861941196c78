import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { ConferenceContent, ConferenceMessage, ConferenceRole, DeactivationReason, MeetingSummary, UcClient } from '../../client/src';
import type { Session } from './session';
import { ErrorLine, formatTime, Icon, LimitNote, limitText, MAX_CONTENT_CHARS, shortName, useAction, useClientEvent, useMaxMessageBytes, utf8Bytes } from './ui';
import { JOIN_PATH } from '../../shared/protocol/join-link';
import { type Meeting, remembered, useMeeting } from './use-meeting';

export { confIdOf } from './use-meeting';

/** What each deactivation reason means to a participant (docs/protocol.md, "Lifecycle"). */
export const DEACTIVATION_TEXT: Readonly<Record<DeactivationReason, string>> = {
  ended: 'a presenter ended the meeting for everyone',
  empty: 'everyone had left',
  noEnterprise: 'no one from the organization was left in the meeting',
  inactivity: 'no one had joined for too long',
  deleted: 'the organizer deleted the meeting',
  organizerDeleted: "the organizer's account was removed",
};

type Admission = 'organization' | 'anyone' | 'invited';
const ADMISSION_TEXT: Readonly<Record<Admission, string>> = {
  organization: 'Guests wait in the lobby',
  anyone: 'Everyone enters directly',
  invited: 'Only invitees enter directly',
};

/** Meetings: schedule (enterprise users), join by id or link, roster, lobby, lock, end, and why it ended. */
export function Meetings({
  session,
  onActivity,
  joinConfId,
  onOpen,
}: {
  session: Session;
  onActivity: () => void;
  joinConfId?: string;
  /** Asks the shell to show this view: a reload put the person back in their meeting. */
  onOpen?: () => void;
}) {
  const { client, me } = session;
  const [subject, setSubject] = useState('');
  const [admission, setAdmission] = useState<Admission>('organization');
  const [scheduled, setScheduled] = useState<Array<{ confId: string; joinUrl: string; subject: string }>>([]);
  const [joinInput, setJoinInput] = useState('');
  const schedule = useAction();
  const { meeting, join, act, joinMeeting, resumeMeeting, cancelWait, decide, setLocked, endMeeting, leaveMeeting, eject, setRole } = useMeeting(client, me.uri, onActivity);
  // On a phone one pane shows at a time: the meeting while one is open, unless Back asked for the list.
  const [listAsked, setListAsked] = useState(false);
  const open = (input: string) => {
    setListAsked(false);
    return joinMeeting(input);
  };
  // My meetings (`conf.list`): those I organize or am invited to, so a reload or another device gets back in.
  const [meetings, setMeetings] = useState<readonly MeetingSummary[]>();
  const listing = useAction();
  const loadMeetings = () =>
    listing.run(async () => {
      const answer = await client.request('conf.list', { limit: 20 });
      setMeetings(answer.meetings);
    });
  // Opened from the meeting's join link: join it now (admission decides, as for any join); else, after a reload,
  // back into the meeting this tab was in.
  useEffect(() => {
    if (joinConfId) void open(joinConfId);
    else if (remembered(me.uri)) {
      onOpen?.();
      void resumeMeeting();
    }
  }, [joinConfId]);
  // Read again when I get in or out (the list shows which meetings are in progress), and after a reconnect.
  useEffect(() => {
    void loadMeetings();
  }, [client, meeting?.confId, meeting?.status === 'joined']);
  const wasDown = useRef(false);
  useClientEvent(client, 'state', (event) => {
    if (event.state === 'reconnecting') wasDown.current = true;
    else if (event.state === 'open' && wasDown.current) {
      wasDown.current = false;
      void loadMeetings();
    }
  });

  const scheduleMeeting = (event: Event) => {
    event.preventDefault();
    void schedule.run(async () => {
      const title = subject.trim() || `${me.name}'s meeting`;
      const answer = await client.request('conf.schedule', { subject: title, admission });
      setScheduled((current) => [{ ...answer, subject: title }, ...current]);
      setSubject('');
      void loadMeetings();
    });
  };
  // The meeting's link as the server made it (conf.schedule, conf.list); else this app's own join address for it.
  const linkOf = (confId: string) =>
    scheduled.find((entry) => entry.confId === confId)?.joinUrl ??
    meetings?.find((entry) => entry.confId === confId)?.joinUrl ??
    `${window.location.origin}${JOIN_PATH}${encodeURIComponent(confId)}`;
  const guest = me.kind === 'anonymous';

  return (
    <div class="split meetings" data-show={meeting && !listAsked ? 'detail' : 'list'} data-testid="meetings">
      <aside class="sidebar">
        {meeting && (
          <div class="scheduled current-meeting" data-testid="meeting-current">
            <strong>{meeting.subject ?? 'Your meeting'}</strong>
            <span class="muted small">{STATUS_TEXT[meeting.status]}</span>
            <button class="primary" data-testid="meeting-current-open" onClick={() => setListAsked(false)}>
              Open the meeting
            </button>
          </div>
        )}
        {guest && (
          <p class="muted small" data-testid="meetings-guest-note">
            As a guest you can join a meeting with its link or its ID. Only people from the organization schedule meetings.
          </p>
        )}
        <h2>Join a meeting</h2>
        <form
          class="stack"
          onSubmit={(event) => {
            event.preventDefault();
            void open(joinInput);
          }}
          noValidate
        >
          <label class="visually-hidden" for="conf-join-input">
            Meeting ID or join link
          </label>
          <input
            id="conf-join-input"
            data-testid="conf-join-input"
            placeholder="Meeting ID or join link"
            value={joinInput}
            onInput={(e) => {
              setJoinInput(e.currentTarget.value);
              join.clear();
            }}
            aria-invalid={join.error ? 'true' : undefined}
            aria-describedby={join.error ? 'conf-join-error' : undefined}
          />
          <div id="conf-join-error">
            <ErrorLine error={join.error} testId="conf-join-error" />
          </div>
          <button type="submit" class="primary" data-testid="conf-join-submit" disabled={join.busy}>
            Join
          </button>
        </form>
        {me.kind !== 'enterprise' && !guest && <p class="muted small">Only enterprise users schedule meetings.</p>}
        {me.kind === 'enterprise' && (
          <>
            <h2>Schedule a meeting</h2>
            <form class="stack" onSubmit={scheduleMeeting}>
              <input data-testid="conf-subject" aria-label="Subject" placeholder="Subject" value={subject} onInput={(e) => setSubject(e.currentTarget.value)} />
              <select data-testid="conf-admission" aria-label="Who enters" title="Who enters without waiting" value={admission} onChange={(e) => setAdmission(e.currentTarget.value as Admission)}>
                {(Object.keys(ADMISSION_TEXT) as Admission[]).map((value) => (
                  <option key={value} value={value}>
                    {ADMISSION_TEXT[value]}
                  </option>
                ))}
              </select>
              <button type="submit" class="primary" data-testid="conf-schedule" disabled={schedule.busy}>
                Schedule
              </button>
              <ErrorLine error={schedule.error} testId="conf-schedule-error" />
            </form>
            <ul class="plain" data-testid="conf-scheduled">
              {scheduled.map((entry) => (
                <li key={entry.confId} class="scheduled" data-testid="conf-scheduled-item" data-conf-id={entry.confId}>
                  <strong>{entry.subject}</strong>
                  <JoinLink url={entry.joinUrl} testId="conf-scheduled" subject={entry.subject} />
                  <button data-testid="conf-scheduled-join" onClick={() => void open(entry.confId)} aria-label={`Join ${entry.subject}`}>
                    Join
                  </button>
                </li>
              ))}
            </ul>
          </>
        )}
        {!guest || (meetings?.length ?? 0) > 0 ? (
          <>
            <div class="inline">
              <h2>My meetings</h2>
              <button class="link" data-testid="my-meetings-refresh" onClick={() => void loadMeetings()} disabled={listing.busy} aria-label="Refresh my meetings">
                {listing.busy ? 'Loading…' : 'Refresh'}
              </button>
            </div>
            <ul class="plain" data-testid="my-meetings" data-loaded={meetings ? 'yes' : 'no'}>
              {meetings?.length === 0 && <li class="muted small">No meetings yet.</li>}
              {meetings?.map((entry) => {
                const inIt = meeting?.confId === entry.confId && meeting.status === 'joined';
                const verb = inIt ? 'Open' : entry.state === 'active' ? 'Rejoin' : 'Join';
                return (
                  <li key={entry.confId} class="scheduled" data-testid="my-meeting" data-conf-id={entry.confId} data-state={entry.state}>
                    <strong>{entry.subject || 'Meeting'}</strong>
                    <span class="muted small">
                      {entry.role === 'organizer' ? 'You organize it' : entry.role === 'presenter' ? 'You present' : `Invited by ${shortName(entry.organizer)}`}
                      {' · '}
                      {entry.state === 'active' ? `in progress${entry.participantCount !== undefined ? ` (${entry.participantCount} in)` : ''}` : entry.state === 'scheduled' ? 'not started' : 'ended'}
                    </span>
                    <JoinLink url={entry.joinUrl} testId="my-meeting" subject={entry.subject || 'the meeting'} />
                    <button data-testid="my-meeting-join" onClick={() => (inIt ? setListAsked(false) : void open(entry.confId))} aria-label={`${verb} ${entry.subject || 'the meeting'}`}>
                      {verb}
                    </button>
                  </li>
                );
              })}
            </ul>
            <ErrorLine error={listing.error} testId="my-meetings-error" />
          </>
        ) : null}
      </aside>
      <div class="pane">
        {meeting ? (
          <MeetingView
            client={client}
            meeting={meeting}
            me={me.uri}
            joinUrl={linkOf(meeting.confId)}
            error={act.error}
            onBack={() => setListAsked(true)}
            onDecide={decide}
            onLock={setLocked}
            onEnd={endMeeting}
            onLeave={leaveMeeting}
            onCancelWait={cancelWait}
            onRejoin={() => void open(meeting.confId)}
            onEject={eject}
            onRole={setRole}
          />
        ) : (
          <p class="placeholder">{guest ? 'Join a meeting with its link or its ID.' : 'Schedule a meeting or join one by its ID or link.'}</p>
        )}
      </div>
    </div>
  );
}

const STATUS_TEXT: Readonly<Record<Meeting['status'], string>> = {
  joining: 'Joining…',
  lobby: 'Waiting in the lobby',
  joined: 'You are in the meeting',
  denied: 'Not let in',
  deactivated: 'The meeting has ended',
  left: 'You left',
  ejected: 'You were removed',
};

/** A meeting's join link with a Copy button ("Copied" said to screen readers too); the link is shown to select by hand. */
function JoinLink({ url, testId, subject }: { url: string; testId: string; subject: string }) {
  const [copied, setCopied] = useState<boolean>();
  useEffect(() => {
    if (copied === undefined) return;
    const timer = setTimeout(() => setCopied(undefined), COPIED_NOTE_MS);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <span class="join-link">
      <code class="small" data-testid={`${testId}-url`}>
        {url}
      </code>
      <span class="inline">
        <button type="button" class="link" data-testid={`${testId}-copy`} aria-label={`Copy link to ${subject}`} onClick={() => void copyText(url).then(setCopied)}>
          Copy link
        </button>
        <span role="status" class="small muted" data-testid={`${testId}-copied`}>
          {copied === true ? 'Copied' : copied === false ? 'Could not copy: select the link and copy it.' : ''}
        </span>
      </span>
    </span>
  );
}

/** How long "Copied" shows. */
const COPIED_NOTE_MS = 4000;

/** The clipboard API where the page may use it; else a selected text area and the copy command (older browsers, plain http). */
async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Refused (no permission, not a secure page): try the old way.
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    area.remove();
  }
}

interface MeetingViewProps {
  readonly client: UcClient;
  readonly meeting: Meeting;
  readonly me: string;
  /** The meeting's join link, shown with a Copy button. */
  readonly joinUrl: string;
  readonly error: string | undefined;
  /** On a phone: back to the list (the meeting goes on). */
  onBack(): void;
  onCancelWait(): void;
  onDecide(uri: string, decision: 'conf.admit' | 'conf.deny'): void;
  onLock(locked: boolean): void;
  onEnd(): void;
  onLeave(): void;
  onRejoin(): void;
  onEject(uri: string): void;
  onRole(uri: string, role: ConferenceRole): void;
}

function MeetingView({ client, meeting, me, joinUrl, error, onBack, onCancelWait, onDecide, onLock, onEnd, onLeave, onRejoin, onEject, onRole }: MeetingViewProps) {
  const presenter = meeting.status === 'joined' && meeting.role === 'presenter';
  return (
    <div class="meeting" data-testid="meeting-view" data-conf-id={meeting.confId} data-status={meeting.status}>
      <div class="pane-header">
        <button type="button" class="back" data-testid="meetings-back" aria-label="Back to meetings" onClick={onBack}>
          <span aria-hidden="true">‹ </span>Back
        </button>
        <h2 data-testid="meeting-subject">{meeting.subject ?? 'Meeting'}</h2>
        <code class="small muted meeting-id">{meeting.confId}</code>
        {meeting.status === 'joined' && (
          <span class="badge" data-testid="meeting-role">
            {meeting.role}
          </span>
        )}
        {meeting.locked && meeting.status === 'joined' && (
          <span class="badge warn" data-testid="meeting-locked">
            <Icon name="lock" /> locked
          </span>
        )}
      </div>
      {meeting.status === 'joined' && (
        <div class="meeting-link" data-testid="meeting-link">
          <span class="small muted">Invite others with this link:</span>
          <JoinLink url={joinUrl} testId="meeting-link" subject={meeting.subject ?? 'this meeting'} />
        </div>
      )}
      {meeting.status === 'deactivated' && meeting.reason && (
        <div class="banner" role="alert" data-testid="meeting-deactivated" data-reason={meeting.reason}>
          <strong>Meeting ended:</strong> {DEACTIVATION_TEXT[meeting.reason]}.
        </div>
      )}
      {meeting.status === 'deactivated' && meeting.reason !== 'deleted' && meeting.reason !== 'organizerDeleted' && (
        <p class="small muted">
          Joining again starts it anew.{' '}
          <button class="link" data-testid="meeting-rejoin" onClick={onRejoin}>
            Join again
          </button>
        </p>
      )}
      {meeting.status === 'joining' && <p class="notice">Joining…</p>}
      {meeting.status === 'lobby' && (
        <div class="notice lobby-wait" data-testid="meeting-lobby-wait" data-presenter-present={meeting.presenterPresent === false ? 'no' : 'yes'} role="status">
          <p>
            {meeting.presenterPresent === false
              ? "No presenter is in the meeting right now. You'll be let in when one joins."
              : 'Waiting in the lobby: a presenter will let you in.'}
          </p>
          <button type="button" data-testid="meeting-lobby-cancel" onClick={onCancelWait}>
            Leave the lobby
          </button>
        </div>
      )}
      {meeting.status === 'denied' && (
        <p class="banner" data-testid="meeting-denied">
          A presenter did not let you into this meeting.
        </p>
      )}
      {meeting.status === 'ejected' && (
        <p class="banner" role="alert" data-testid="meeting-ejected">
          {meeting.ejectedBy ? shortName(meeting.ejectedBy) : 'A presenter'} removed you from this meeting.{' '}
          <button class="link" data-testid="meeting-ejected-rejoin" onClick={onRejoin}>
            Ask to join again
          </button>
        </p>
      )}
      {meeting.status === 'left' && (
        <p class="notice" data-testid="meeting-left">
          {meeting.leftLobby ? 'You left the lobby.' : 'You left the meeting.'}{' '}
          <button class="link" data-testid="meeting-left-rejoin" onClick={onRejoin}>
            Join again
          </button>
        </p>
      )}
      {meeting.status === 'joined' && (
        <div class="toolbar">
          {presenter && (
            <button data-testid="meeting-lock" onClick={() => onLock(!meeting.locked)}>
              {meeting.locked ? 'Unlock' : 'Lock'}
            </button>
          )}
          {presenter && (
            <button class="danger" data-testid="meeting-end" onClick={onEnd}>
              End meeting
            </button>
          )}
          <button data-testid="meeting-leave" onClick={onLeave}>
            Leave
          </button>
        </div>
      )}
      <ErrorLine error={error} testId="meeting-error" />
      {meeting.status === 'joined' && (
        <div class="columns">
          <div>
            <h3>In the meeting ({meeting.roster.length})</h3>
            <ul class="plain roster" data-testid="roster">
              {meeting.roster.map((entry) => {
                const name = entry.name || shortName(entry.uri);
                return (
                  <li key={entry.uri} data-testid="roster-entry" data-uri={entry.uri} data-role={entry.role}>
                    <span class="who">
                      <strong>{name}</strong>
                      {entry.uri === me && <span class="muted small"> (you)</span>}
                      <span class="badge" data-testid="roster-role">
                        {entry.role}
                      </span>
                    </span>
                    {presenter && entry.uri !== me && (
                      <span class="inline roster-actions">
                        {entry.role === 'attendee' ? (
                          <button data-testid="roster-promote" aria-label={`Make ${name} a presenter`} onClick={() => onRole(entry.uri, 'presenter')}>
                            Make presenter
                          </button>
                        ) : (
                          <button data-testid="roster-demote" aria-label={`Make ${name} an attendee`} onClick={() => onRole(entry.uri, 'attendee')}>
                            Make attendee
                          </button>
                        )}
                        <button class="danger" data-testid="roster-eject" aria-label={`Remove ${name} from the meeting`} onClick={() => onEject(entry.uri)}>
                          Remove
                        </button>
                      </span>
                    )}
                  </li>
                );
              })}
            </ul>
            {presenter && (
              <>
                <h3>Lobby ({meeting.lobby.length})</h3>
                <ul class="plain lobby" data-testid="lobby">
                  {meeting.lobby.length === 0 && <li class="muted small">Nobody is waiting.</li>}
                  {meeting.lobby.map((waiting) => (
                    <li key={waiting.uri} data-testid="lobby-entry" data-uri={waiting.uri}>
                      <span>
                        <strong>{waiting.name || shortName(waiting.uri)}</strong> <span class="muted small">{waiting.kind}</span>
                      </span>
                      <span class="inline">
                        <button class="primary" data-testid="lobby-admit" onClick={() => onDecide(waiting.uri, 'conf.admit')}>
                          Admit
                        </button>
                        <button data-testid="lobby-deny" onClick={() => onDecide(waiting.uri, 'conf.deny')}>
                          Deny
                        </button>
                      </span>
                    </li>
                  ))}
                </ul>
              </>
            )}
          </div>
          <MeetingChat key={meeting.confId} client={client} confId={meeting.confId} me={me} entries={meeting.entries} />
        </div>
      )}
      {meeting.status === 'joined' && <ContentPanel key={meeting.confId} client={client} confId={meeting.confId} canAdd={presenter} entries={meeting.entries} />}
    </div>
  );
}

/** The URL of a link content when it is http(s), normalized; anything else (`javascript:`, `data:`, not a URL) is shown as text. */
function safeLinkUrl(body: string): string | undefined {
  try {
    const url = new URL(body.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The meeting's IM beside the roster (`conf.messages` when it opens and each time I get in again after a
 * reconnect, then `conf.message` events; sent with `conf.message`).
 */
function MeetingChat({ client, confId, me, entries }: { client: UcClient; confId: string; me: string; entries: number }) {
  const [messages, setMessages] = useState<readonly ConferenceMessage[]>([]);
  const [text, setText] = useState('');
  const load = useAction();
  const send = useAction();
  const list = useRef<HTMLOListElement>(null);
  const tooLong = limitText(utf8Bytes(text.trim()), useMaxMessageBytes(client), 'bytes', 'message');
  const merge = (incoming: readonly ConferenceMessage[]) =>
    setMessages((current) => {
      const byId = new Map(current.map((message) => [message.messageId, message]));
      for (const message of incoming) byId.set(message.messageId, message);
      return [...byId.values()].sort((a, b) => a.ts - b.ts);
    });
  useEffect(() => {
    void load.run(async () => merge((await client.request('conf.messages', { confId, limit: 50 })).messages));
  }, [confId, entries]);
  useClientEvent(client, 'conf.message', (message) => {
    if (message.confId === confId) merge([message]);
  });
  useLayoutEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [messages.length]);
  const submit = (event: Event) => {
    event.preventDefault();
    const body = text.trim();
    if (!body || tooLong) return;
    void send.run(async () => {
      const answer = await client.request('conf.message', { confId, text: body });
      merge([{ confId, activationInstance: answer.activationInstance, messageId: answer.messageId, from: { uri: me, name: '' }, text: body, ts: answer.ts }]);
      setText('');
    });
  };
  return (
    <div class="meeting-chat" data-testid="meeting-chat">
      <h3>Meeting chat</h3>
      <ol class="messages" ref={list} data-testid="meeting-chat-messages" aria-live="polite">
        {messages.length === 0 && <li class="system small">No messages yet: only people in the meeting see them.</li>}
        {messages.map((message) => (
          <li key={message.messageId} class={`message ${message.from.uri === me ? 'mine' : ''}`} data-testid="meeting-chat-message">
            <div class="meta">
              <strong>{message.from.uri === me ? 'You' : message.from.name || shortName(message.from.uri)}</strong>
              <span class="muted small">{formatTime(message.ts)}</span>
            </div>
            <div class="text" data-testid="meeting-chat-text">
              {message.text}
            </div>
          </li>
        ))}
      </ol>
      <form class="composer" onSubmit={submit}>
        <input data-testid="meeting-chat-text-input" aria-label="Message everyone in the meeting" placeholder="Message everyone in the meeting" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <button type="submit" class="primary" data-testid="meeting-chat-send" disabled={send.busy || tooLong !== undefined}>
          Send
        </button>
      </form>
      <LimitNote text={tooLong} testId="meeting-chat-limit" id="meeting-chat-limit" />
      <ErrorLine error={load.error ?? send.error} testId="meeting-chat-error" />
    </div>
  );
}

/**
 * The meeting's shared content (`conf.content.list`; presenters add with `conf.content.add`), kept current by
 * `conf.content` events (Refresh reads the list again). Bodies are text, never HTML.
 */
function ContentPanel({ client, confId, canAdd, entries }: { client: UcClient; confId: string; canAdd: boolean; entries: number }) {
  const [content, setContent] = useState<readonly ConferenceContent[]>();
  const [title, setTitle] = useState('');
  const [kind, setKind] = useState<ConferenceContent['kind']>('link');
  const [body, setBody] = useState('');
  const load = useAction();
  const add = useAction();
  // `conf.content.add` takes at most MAX_CONTENT_CHARS characters of body: said next to the field before sharing.
  const tooLong = limitText((kind === 'link' ? body.trim() : body).length, MAX_CONTENT_CHARS, 'characters', 'text');

  const read = async () => {
    const answer = await client.request('conf.content.list', { confId });
    setContent([...answer.content].sort((a, b) => a.addedAt - b.addedAt));
  };
  const refresh = () => load.run(read);
  useEffect(() => {
    void refresh();
  }, [confId, entries]);
  useClientEvent(client, 'conf.content', (event) => {
    if (event.confId !== confId) return;
    setContent((current) => (current?.some((item) => item.contentId === event.content.contentId) ? current : [...(current ?? []), event.content].sort((a, b) => a.addedAt - b.addedAt)));
  });

  const submit = (event: Event) => {
    event.preventDefault();
    if (tooLong) return;
    void add.run(async () => {
      const text = kind === 'link' ? body.trim() : body;
      if (kind === 'link' && !safeLinkUrl(text)) throw new Error('A link must start with http:// or https://.');
      await client.request('conf.content.add', { confId, title: title.trim(), kind, body: text });
      setTitle('');
      setBody('');
      load.clear();
      await read();
    });
  };

  return (
    <div class="content-panel" data-testid="content-panel">
      <div class="inline">
        <h3>Shared content ({content?.length ?? 0})</h3>
        <button class="link" data-testid="content-refresh" onClick={() => void refresh()} disabled={load.busy}>
          {load.busy ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      <ErrorLine error={load.error} testId="content-error" />
      <ul class="plain content-list" data-testid="content-list" data-loaded={content ? 'yes' : 'no'}>
        {content?.length === 0 && (
          <li class="muted small" data-testid="content-empty">
            Nothing shared yet.
          </li>
        )}
        {content?.map((item) => {
          const href = item.kind === 'link' ? safeLinkUrl(item.body) : undefined;
          return (
            <li key={item.contentId} class="content-item" data-testid="content-item" data-content-id={item.contentId} data-kind={item.kind}>
              <div class="meta">
                <span class="badge">{item.kind}</span>
                {href ? (
                  <a data-testid="content-link" href={href} target="_blank" rel="noopener noreferrer">
                    {item.title}
                  </a>
                ) : (
                  <strong data-testid="content-title">{item.title}</strong>
                )}
                <span class="muted small">
                  {shortName(item.addedBy)} · {formatTime(item.addedAt)}
                </span>
              </div>
              {item.kind === 'link' ? (
                <code class="small muted" data-testid="content-url" data-safe={href ? 'yes' : 'no'}>
                  {item.body}
                  {!href && ' (not an http(s) link: not opened from here)'}
                </code>
              ) : (
                <pre data-testid="content-document">{item.body}</pre>
              )}
            </li>
          );
        })}
      </ul>
      {canAdd && (
        <form class="stack content-add" data-testid="content-add" onSubmit={submit}>
          <div class="inline">
            <input data-testid="content-add-title" placeholder="Title" value={title} maxLength={256} onInput={(e) => setTitle(e.currentTarget.value)} required />
            <select data-testid="content-add-kind" aria-label="Kind of content" value={kind} onChange={(e) => setKind(e.currentTarget.value as ConferenceContent['kind'])}>
              <option value="link">Link</option>
              <option value="document">Document (text)</option>
            </select>
          </div>
          {kind === 'link' ? (
            <input
              data-testid="content-add-body"
              type="url"
              placeholder="https://…"
              value={body}
              onInput={(e) => setBody(e.currentTarget.value)}
              aria-invalid={tooLong ? 'true' : undefined}
              aria-describedby={tooLong ? 'content-add-limit' : undefined}
              required
            />
          ) : (
            <textarea
              data-testid="content-add-body"
              rows={4}
              placeholder="Text to share"
              value={body}
              onInput={(e) => setBody(e.currentTarget.value)}
              aria-invalid={tooLong ? 'true' : undefined}
              aria-describedby={tooLong ? 'content-add-limit' : undefined}
              required
            />
          )}
          <LimitNote text={tooLong} testId="content-add-limit" id="content-add-limit" />
          <button type="submit" class="primary" data-testid="content-add-submit" disabled={add.busy || tooLong !== undefined}>
            {add.busy ? 'Sharing…' : 'Share'}
          </button>
          <ErrorLine error={add.error} testId="content-add-error" />
        </form>
      )}
    </div>
  );
}
