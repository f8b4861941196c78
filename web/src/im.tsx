import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { type ConversationSummary, type Person, type ServerEvents, UcError } from '../../client/src';
import { parseAddresses } from './addresses';
import { type Line, lineOf, type MessageLine, mergeLines } from './im-lines';
import { PresenceWatch, usePresenceOf } from './presence-watch';
import type { Session } from './session';
import {
  AVAILABILITY_LABELS,
  EditedMark,
  EditForm,
  ErrorLine,
  formatTime,
  LimitNote,
  limitText,
  MessageMenu,
  PresenceDot,
  shortName,
  Tombstone,
  UnreadBadge,
  useAction,
  useClientEvent,
  useMaxMessageBytes,
  usePageVisible,
  utf8Bytes,
} from './ui';

const TYPING_SEND_INTERVAL_MS = 2000;
const TYPING_SHOWN_MS = 4000;
/** Conversations listed a page at a time (`im.conversations`). */
const LIST_PAGE = 20;

/** The conversation open in this tab, kept across a reload (sessionStorage is per tab, as the sign-in is). */
const openKey = (uri: string) => `uc.im.open.${uri}`;

/** One conversation as the user sees it: it goes on in the same view when the server continues it under a new id. */
interface ConversationView {
  readonly key: string;
  /** The current conversation (none before the first message of a new one). */
  readonly conversationId?: string;
  /** Every id this view has had (continuity: `previousConversationId`, or a new conversation with the same people). */
  readonly ids: readonly string[];
  readonly peers: readonly Person[];
  readonly lines: readonly Line[];
  readonly ended: boolean;
  readonly typing?: { readonly name: string; readonly until: number };
  readonly unread: number;
  /** Messages mentioning me since I last looked (`im.mention`). */
  readonly mentions?: number;
  /** Its history has not been read yet: the first page is read (`im.history`) when it is opened. */
  readonly historyPending?: boolean;
  /** History still to read: the conversation being paged and the cursor of its next (older) page. */
  readonly older?: { readonly conversationId: string; readonly cursor?: string };
  /** Its record is gone from the server: earlier messages cannot be read (a send starts a new conversation). */
  readonly historyGone?: boolean;
  /** Had unread messages while I was offline (`session.resume` `missedConversations`). */
  readonly missed?: boolean;
}

let nextKey = 0;
const newKey = () => `c${++nextKey}`;
const samePeers = (a: readonly Person[], b: readonly Person[]) => a.length === b.length && a.every((person) => b.some((other) => other.uri === person.uri));
const peopleOf = (uris: readonly string[]): Person[] => uris.map((uri) => ({ uri, name: shortName(uri) }));
const namesOf = (peers: readonly Person[]) => peers.map((peer) => peer.name || shortName(peer.uri));

/** "Bob", "Bob and Carol", "Bob, Carol and Dave". */
function joinNames(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** The people of a new conversation: `participants` are SIP URIs; names come from `from` when it is the same person. */
function participantsOf(event: ServerEvents['im.message']): Person[] {
  const listed = event.participants ?? [event.from.uri];
  return listed.map((uri) => ({ uri, name: uri === event.from.uri ? event.from.name : shortName(uri) }));
}

/** A conversation listed by the server (`im.conversations`, `missedConversations`), not opened yet. */
function viewOf(summary: ConversationSummary, me: string, missed: boolean): ConversationView {
  const peers = summary.participants.filter((uri) => uri !== me).map((uri) => ({ uri, name: uri === summary.lastMessage.from.uri ? summary.lastMessage.from.name : shortName(uri) }));
  return {
    key: newKey(),
    conversationId: summary.conversationId,
    ids: [summary.conversationId],
    peers,
    lines: [],
    ended: summary.status === 'ended',
    unread: summary.unread,
    historyPending: true,
    older: { conversationId: summary.conversationId },
    ...(missed ? { missed: true } : {}),
  };
}

/**
 * IM conversations: start one with one or more addresses (or from a contact: `startWith`), incoming ones open by
 * themselves, the list and each one's history rebuilt from the server on load and after every reconnect, typing,
 * the ended line, the peers' presence. `onUnread` hears the total of unread messages.
 */
export function Conversations({
  session,
  visible,
  onActivity,
  onUnread,
  startWith,
}: {
  session: Session;
  visible: boolean;
  onActivity: () => void;
  onUnread?: (count: number) => void;
  startWith?: { uris: string[]; nonce: number };
}) {
  const { client, me, resumed } = session;
  const pageVisible = usePageVisible();
  const seeing = visible && pageVisible;
  // The views live in a ref (events come faster than renders; each handler must see the one before it).
  const viewsRef = useRef<ConversationView[]>([]);
  const [, setRevision] = useState(0);
  const views = viewsRef.current;
  const setViews = (change: (current: ConversationView[]) => ConversationView[]) => {
    viewsRef.current = change(viewsRef.current);
    setRevision((revision) => revision + 1);
  };
  const [activeKey, setActiveKey] = useState<string>();
  // Back to the list (on a phone): incoming messages then wait in the list instead of opening by themselves.
  const closedByUser = useRef(false);
  const [startUri, setStartUri] = useState('');
  const [startProblem, setStartProblem] = useState<string>();
  const activeRef = useRef<{ key?: string; visible: boolean }>({ visible: seeing });
  activeRef.current = { key: activeKey, visible: seeing };
  const listed = useAction();
  const [listCursor, setListCursor] = useState<string>();
  const [missed, setMissed] = useState<readonly ConversationSummary[]>(() => resumed.missedConversations ?? []);

  const findView = (current: readonly ConversationView[], ...ids: Array<string | undefined>) =>
    current.find((view) => ids.some((id) => id !== undefined && view.ids.includes(id)));

  /** The server's conversations: new ones added, those shown brought in line (unread, ended). */
  const addListed = (summaries: readonly ConversationSummary[], asMissed: boolean) =>
    setViews((current) => {
      let next = current;
      for (const summary of summaries) {
        const held = findView(next, summary.conversationId);
        if (held) {
          const looking = activeRef.current.visible && activeRef.current.key === held.key;
          const isCurrent = held.conversationId === summary.conversationId;
          // A live message newer than the list's last one came after the server read it: this page's count is newer.
          const newerHere = held.lines.some((line) => line.kind === 'message' && line.conversationId === summary.conversationId && line.ts > summary.lastMessage.ts);
          next = next.map((view) =>
            view === held
              ? {
                  ...view,
                  ...(asMissed ? { missed: true } : {}),
                  // The server's count (a reconnect: what came meanwhile); the one I am looking at is being read.
                  ...(isCurrent && !looking && !newerHere ? { unread: summary.unread } : {}),
                  ...(isCurrent && summary.status === 'ended' ? { ended: true } : {}),
                }
              : view,
          );
          continue;
        }
        const fresh = viewOf(summary, me.uri, asMissed);
        // A conversation I was about to start with the same people (nothing sent yet from here) is this one.
        const draft = next.find((view) => view.conversationId === undefined && samePeers(view.peers, fresh.peers));
        next = draft ? next.map((view) => (view === draft ? { ...fresh, key: draft.key } : view)) : [...next, fresh];
      }
      return next;
    });

  /** The first page of my conversations (`im.conversations`, with unread); on load and after every reconnect. */
  const listConversations = () =>
    listed.run(async () => {
      const page = await client.imConversations({ limit: LIST_PAGE });
      addListed(page.conversations, false);
      setListCursor((held) => held ?? page.cursor);
    });

  // My conversations, missed ones first: what arrived while I was away is here at sign-in; the one open before a reload opens again.
  useEffect(() => {
    addListed(resumed.missedConversations ?? [], true);
    void listConversations().then(() => {
      const opened = window.sessionStorage.getItem(openKey(me.uri));
      const view = opened ? findView(viewsRef.current, opened) : undefined;
      if (view) setActiveKey((current) => current ?? view.key);
    });
  }, [client]);
  useClientEvent(client, 'resumed', (answer) => {
    if (!answer.reconnect) return;
    if (answer.missedConversations?.length) {
      addListed(answer.missedConversations, true);
      setMissed(answer.missedConversations);
    }
    // Messages missed during the blip came before this as `im.message` (the client library's imSince); the list's
    // counts and states are the server's again.
    void listConversations();
  });
  const moreConversations = useAction();
  const listMore = () =>
    moreConversations.run(async () => {
      if (!listCursor) return;
      const page = await client.imConversations({ limit: LIST_PAGE, cursor: listCursor });
      addListed(page.conversations, false);
      setListCursor(page.cursor);
    });

  const update = (key: string, change: (view: ConversationView) => ConversationView) =>
    setViews((current) => current.map((view) => (view.key === key ? change(view) : view)));

  useClientEvent(client, 'im.message', (event: ServerEvents['im.message']) => {
    const mine = event.from.uri === me.uri;
    const peers = participantsOf(event).filter((person) => person.uri !== me.uri);
    const line = lineOf(event, me.uri);
    const seen = activeRef.current.visible && activeRef.current.key !== undefined;
    let openedKey: string | undefined;
    let receivedKey: string | undefined;
    setViews((current) => {
      const existing =
        findView(current, event.conversationId, event.previousConversationId) ??
        current.find((view) => (view.ended || view.conversationId === undefined) && samePeers(view.peers, peers)) ??
        // A new conversation with the same people (theirs was gone, or ended): it goes on in the same view.
        (event.participants ? current.find((view) => samePeers(view.peers, peers)) : undefined);
      receivedKey = existing?.key;
      if (!existing) {
        const key = newKey();
        openedKey = key;
        // A message of a conversation that had earlier ones (a resumed one, one not listed): its history too.
        const earlier = (event.n ?? 1) > 1;
        return [
          ...current,
          {
            key,
            conversationId: event.conversationId,
            ids: [event.conversationId],
            peers,
            lines: [line],
            ended: false,
            unread: mine ? 0 : 1,
            ...(earlier ? { historyPending: true, older: { conversationId: event.conversationId } } : {}),
          },
        ];
      }
      return current.map((view) => {
        if (view !== existing) return view;
        if (view.lines.some((held) => held.id === line.id)) return view;
        const isActive = seen && activeRef.current.key === view.key;
        return {
          ...view,
          conversationId: event.conversationId,
          ids: view.ids.includes(event.conversationId) ? view.ids : [...view.ids, event.conversationId],
          lines: mergeLines(view.lines, [line]),
          ended: false,
          // The sender's display name, once known, replaces the one made from the URI.
          peers: view.peers.map((peer) => (peer.uri === event.from.uri && event.from.name ? { ...peer, name: event.from.name } : peer)),
          typing: view.typing && view.typing.name === event.from.name ? undefined : view.typing,
          unread: isActive || mine ? view.unread : view.unread + 1,
        };
      });
    });
    // A first conversation opens by itself (unless I went back to the list); others wait with their unread count.
    if (!closedByUser.current) setActiveKey((current) => current ?? openedKey ?? receivedKey);
    if (!mine && !activeRef.current.visible) onActivity();
  });

  const changeLine = (conversationId: string, messageId: string, change: (line: MessageLine) => Line) =>
    setViews((current) => {
      const view = findView(current, conversationId);
      if (!view) return current;
      return current.map((held) => (held === view ? { ...held, lines: held.lines.map((line) => (line.kind === 'message' && line.id === messageId ? change(line) : line)) } : held));
    });
  useClientEvent(client, 'im.edited', (event) => changeLine(event.conversationId, event.messageId, (line) => ({ ...line, text: event.text, editedAt: event.editedAt })));
  useClientEvent(client, 'im.retracted', (event) => changeLine(event.conversationId, event.messageId, (line) => ({ ...line, text: '', retracted: true })));
  // My read marker moved (here or on another device): the server's count.
  useClientEvent(client, 'im.read', (event) =>
    setViews((current) => current.map((view) => (view.ids.includes(event.conversationId) ? { ...view, unread: event.unread, ...(event.unread === 0 ? { mentions: 0, missed: false } : {}) } : view))),
  );
  useClientEvent(client, 'im.mention', (event) => {
    if (activeRef.current.visible && findView(viewsRef.current, event.conversationId)?.key === activeRef.current.key) return;
    setViews((current) => current.map((view) => (view.ids.includes(event.conversationId) ? { ...view, mentions: (view.mentions ?? 0) + 1 } : view)));
  });

  useClientEvent(client, 'im.typing', (event) => {
    const until = Date.now() + TYPING_SHOWN_MS;
    setViews((current) => {
      const view = findView(current, event.conversationId);
      return view ? current.map((held) => (held === view ? { ...held, typing: { name: event.from.name || shortName(event.from.uri), until } } : held)) : current;
    });
  });

  useClientEvent(client, 'im.ended', (event) => {
    setViews((current) => {
      const view = current.find((held) => held.conversationId === event.conversationId);
      if (!view) return current;
      const ended: Line = { kind: 'ended', id: `ended-${event.conversationId}`, ts: Date.now(), reason: event.reason };
      return current.map((held) => (held === view ? { ...held, ended: true, typing: undefined, lines: mergeLines(held.lines, [ended]) } : held));
    });
  });

  useClientEvent(client, 'im.participantLeft', (event) => {
    setViews((current) => {
      const view = findView(current, event.conversationId);
      if (!view) return current;
      const notice: Line = { kind: 'notice', id: `left-${event.uri}-${Date.now()}`, ts: Date.now(), text: `${shortName(event.uri)} left the conversation` };
      return current.map((held) => (held === view ? { ...held, peers: held.peers.filter((peer) => peer.uri !== event.uri), lines: mergeLines(held.lines, [notice]) } : held));
    });
  });

  // Typing indicators fade after a few seconds without another im.typing.
  useEffect(() => {
    const deadlines = views.flatMap((view) => (view.typing ? [view.typing.until] : []));
    if (deadlines.length === 0) return;
    const timer = setTimeout(
      () => setViews((current) => current.map((view) => (view.typing && view.typing.until <= Date.now() ? { ...view, typing: undefined } : view))),
      Math.max(0, Math.min(...deadlines) - Date.now()) + 20,
    );
    return () => clearTimeout(timer);
  }, [views]);

  const select = (key: string) => {
    closedByUser.current = false;
    setActiveKey(key);
  };
  const back = () => {
    closedByUser.current = true;
    setActiveKey(undefined);
    window.sessionStorage.removeItem(openKey(me.uri));
  };

  /** Opens the conversation with these people: the one shown already, else a new one (started by its first message). */
  const openWith = (uris: readonly string[]) => {
    const peers = peopleOf(uris.filter((uri) => uri !== me.uri));
    if (peers.length === 0) return;
    const existing = viewsRef.current.find((view) => samePeers(view.peers, peers));
    if (existing) return select(existing.key);
    const key = newKey();
    setViews((current) => [...current, { key, ids: [], peers, lines: [], ended: false, unread: 0 }]);
    select(key);
  };
  // Asked from a contact ("Message"): each ask is a new nonce.
  useEffect(() => {
    if (startWith) openWith(startWith.uris);
  }, [startWith?.nonce]);

  const startConversation = (event: Event) => {
    event.preventDefault();
    const parsed = parseAddresses(startUri, me.uri);
    if ('problem' in parsed) {
      setStartProblem(parsed.problem);
      return;
    }
    setStartProblem(undefined);
    openWith(parsed.uris);
    setStartUri('');
  };

  const active = views.find((view) => view.key === activeKey);
  // The open conversation is the one a reload opens again.
  useEffect(() => {
    if (active?.conversationId) window.sessionStorage.setItem(openKey(me.uri), active.conversationId);
  }, [active?.conversationId]);

  // The total of unread messages, for the tab's dot and the page title.
  const totalUnread = views.reduce((sum, view) => sum + view.unread, 0);
  useEffect(() => onUnread?.(totalUnread), [totalUnread]);

  // History (`im.history`, newest first, a page at a time), merged with what came live: each message once.
  const history = useAction();
  const readOlder = (key: string) =>
    history.run(async () => {
      const older = viewsRef.current.find((view) => view.key === key)?.older;
      if (!older) return;
      update(key, (view) => ({ ...view, historyPending: false }));
      try {
        const page = await client.request('im.history', { conversationId: older.conversationId, ...(older.cursor ? { before: older.cursor } : {}) });
        const lines = page.messages.map((message) => lineOf(message, me.uri));
        update(key, (view) => ({ ...view, lines: mergeLines(view.lines, lines), older: page.cursor ? { conversationId: older.conversationId, cursor: page.cursor } : undefined }));
      } catch (error) {
        if (!(error instanceof UcError) || error.status !== 404) throw error;
        // The conversation's record is gone: nothing earlier to read (a send starts a new one with the same people).
        update(key, (view) => ({ ...view, older: undefined, historyGone: true }));
      }
    });
  // Opened for the first time: its latest page.
  useEffect(() => {
    if (active?.historyPending) void readOlder(active.key);
  }, [active?.key, active?.historyPending]);

  // Open and seen: read up to its newest message (`im.markread`; the server counts, on every device).
  const marked = useRef(new Set<string>());
  const newest = active?.lines.findLast((line): line is MessageLine => line.kind === 'message');
  useEffect(() => {
    if (!seeing || !active) return;
    if (active.unread > 0 || active.mentions || active.missed) update(active.key, (view) => ({ ...view, unread: 0, mentions: 0, missed: false }));
    if (!newest || newest.mine || marked.current.has(newest.id)) return;
    marked.current.add(newest.id);
    if (active.missed) setMissed((current) => current.filter((summary) => !active.ids.includes(summary.conversationId)));
    // A hint: a refused one (a conversation from before numbering, or gone) changes nothing shown.
    client.markImRead(newest.conversationId, newest.id).catch(() => undefined);
  }, [seeing, active?.key, newest?.id]);
  const missedViews = views.filter((view) => view.missed);

  return (
    <div class="split im" data-show={active ? 'detail' : 'list'}>
      <aside class="sidebar">
        <h2>Conversations</h2>
        <form class="stack" onSubmit={startConversation} noValidate>
          <label class="small muted" for="im-start-uri">
            Start a conversation with (one or more addresses)
          </label>
          <input
            id="im-start-uri"
            data-testid="im-start-uri"
            placeholder="bob@contoso.com, carol@contoso.com"
            value={startUri}
            onInput={(e) => {
              setStartUri(e.currentTarget.value);
              setStartProblem(undefined);
            }}
            aria-invalid={startProblem ? 'true' : undefined}
            aria-describedby={startProblem ? 'im-start-problem' : undefined}
          />
          <button type="submit" class="primary" data-testid="im-start-submit">
            New conversation
          </button>
        </form>
        {startProblem && (
          <p class="error" id="im-start-problem" role="alert" data-testid="im-start-error">
            {startProblem}
          </p>
        )}
        {missed.length > 0 && missedViews.length > 0 && (
          <p class="notice missed" role="status" data-testid="im-missed-notice">
            {missedViews.length === 1 ? 'A conversation' : `${missedViews.length} conversations`} had messages while you were away.
          </p>
        )}
        <ErrorLine error={listed.error ?? moreConversations.error} testId="im-conversations-error" />
        <ul class="plain" data-testid="im-conversations">
          {views.map((view) => (
            <li key={view.key}>
              <button
                class={`room-item ${view.key === activeKey ? 'active' : ''} ${view.missed ? 'missed' : ''} ${view.mentions ? 'mentioned' : ''}`}
                data-testid="im-conversation-item"
                data-peers={view.peers.map((peer) => peer.uri).join(' ')}
                data-missed={view.missed ? 'yes' : 'no'}
                aria-current={view.key === activeKey ? 'true' : undefined}
                onClick={() => select(view.key)}
              >
                <span class="room-name">{namesOf(view.peers).join(', ') || 'just you'}</span>
                {view.ended && <span class="muted small">ended</span>}
                {view.missed && <span class="muted small">missed</span>}
                <UnreadBadge unread={view.unread} mentions={view.mentions ?? 0} />
              </button>
            </li>
          ))}
        </ul>
        {listCursor && (
          <button class="link" data-testid="im-conversations-more" disabled={moreConversations.busy} onClick={() => void listMore()}>
            Older conversations
          </button>
        )}
      </aside>
      <div class="pane">
        {active ? (
          <ConversationPane
            key={active.key}
            session={session}
            view={active}
            error={history.error}
            loadingOlder={history.busy}
            onOlder={() => void readOlder(active.key)}
            onBack={back}
            update={(change) => update(active.key, change)}
          />
        ) : (
          <p class="placeholder">Start a conversation with one or more addresses, or from a contact; incoming messages open one here.</p>
        )}
      </div>
    </div>
  );
}

function ConversationPane({
  session,
  view,
  error,
  loadingOlder,
  onOlder,
  onBack,
  update,
}: {
  session: Session;
  view: ConversationView;
  error: string | undefined;
  loadingOlder: boolean;
  onOlder: () => void;
  onBack: () => void;
  update: (change: (view: ConversationView) => ConversationView) => void;
}) {
  const { client, me } = session;
  const [text, setText] = useState('');
  const lastTypingSent = useRef(0);
  const list = useRef<HTMLOListElement>(null);
  const send = useAction();
  const leave = useAction();
  const retract = useAction();
  const [editing, setEditing] = useState<string>();
  const maxBytes = useMaxMessageBytes(client);
  // Said next to the field before sending; `chat.getserverinfo` `maxMessageBytes` (IM's limit is the same by default).
  const tooLong = limitText(utf8Bytes(text.trim()), maxBytes, 'bytes', 'message');
  const peerUris = view.peers.map((peer) => peer.uri);
  const presence = usePresenceOf(client, peerUris);
  // The peers' presence, live: watched by the page's subscription (a refusal just leaves it unknown).
  useEffect(() => {
    if (peerUris.length > 0) PresenceWatch.of(session).watch(peerUris).catch(() => undefined);
  }, [peerUris.join(' ')]);

  const changeLine = (id: string, change: (line: MessageLine) => Line) =>
    update((current) => ({ ...current, lines: current.lines.map((line) => (line.kind === 'message' && line.id === id ? change(line) : line)) }));
  const editLine = (line: MessageLine, newText: string) =>
    client.editIm(line.conversationId, line.id, newText).then((answer) => {
      changeLine(line.id, (held) => ({ ...held, text: newText, editedAt: answer.editedAt }));
      setEditing(undefined);
    });
  const retractLine = (line: MessageLine) =>
    retract.run(async () => {
      await client.retractIm(line.conversationId, line.id);
      changeLine(line.id, (held) => ({ ...held, text: '', retracted: true }));
    });

  // New lines at the bottom scroll into view; older ones read above keep what is shown in place.
  const shownEnds = useRef<{ first?: string; last?: string; fromBottom: number }>({ fromBottom: 0 });
  const firstId = view.lines[0]?.id;
  const lastId = view.lines.at(-1)?.id;
  useLayoutEffect(() => {
    const element = list.current;
    if (!element) return;
    const held = shownEnds.current;
    if (held.last === lastId && held.first !== firstId) element.scrollTop = element.scrollHeight - held.fromBottom;
    else element.scrollTop = element.scrollHeight;
    shownEnds.current = { first: firstId, last: lastId, fromBottom: element.scrollHeight - element.scrollTop };
  }, [firstId, lastId, view.typing]);
  const scrolled = () => {
    const element = list.current;
    if (element) shownEnds.current = { ...shownEnds.current, fromBottom: element.scrollHeight - element.scrollTop };
  };

  const typed = (value: string) => {
    setText(value);
    const now = Date.now();
    if (!value || !view.conversationId || view.ended || now - lastTypingSent.current < TYPING_SEND_INTERVAL_MS) return;
    lastTypingSent.current = now;
    // Typing is a hint: a lost or refused one (410 on an ended conversation) is not worth an error.
    client.request('im.typing', { conversationId: view.conversationId }).catch(() => undefined);
  };

  /** Sends to the conversation; when its record is gone (404), to the same people in a new one (no reload needed). */
  const sendText = async (body: string) => {
    const to = () => {
      if (view.peers.length === 0) throw new Error('Nobody else is left in this conversation: start a new one from the list.');
      return view.peers.length === 1 ? view.peers[0]!.uri : view.peers.map((peer) => peer.uri);
    };
    if (!view.conversationId) return { answer: await client.sendIm({ to: to(), text: body }), restarted: false };
    try {
      // On an ended conversation the server opens a new one with the same people and says so.
      return { answer: await client.sendIm({ conversationId: view.conversationId, text: body }), restarted: false };
    } catch (failure) {
      if (!(failure instanceof UcError) || failure.status !== 404) throw failure;
      return { answer: await client.sendIm({ to: to(), text: body }), restarted: true };
    }
  };

  const submit = (event: Event) => {
    event.preventDefault();
    const body = text.trim();
    if (!body || tooLong) return;
    void send.run(async () => {
      const { answer, restarted } = await sendText(body);
      const sent: Line = { kind: 'message', id: answer.messageId, conversationId: answer.conversationId, from: { uri: me.uri, name: me.name }, text: body, ts: answer.ts, mine: true };
      const notice: Line[] = restarted
        ? [{ kind: 'notice', id: `restarted-${answer.conversationId}`, ts: answer.ts - 1, text: 'The earlier conversation is no longer on the server: your message started a new one with the same people.' }]
        : [];
      update((current) => ({
        ...current,
        conversationId: answer.conversationId,
        ids: current.ids.includes(answer.conversationId) ? current.ids : [...current.ids, answer.conversationId],
        ended: false,
        lines: mergeLines(current.lines, [...notice, sent]),
      }));
      setText('');
      lastTypingSent.current = 0;
    });
  };

  const leaveConversation = () =>
    leave.run(async () => {
      if (view.conversationId) await client.request('im.leave', { conversationId: view.conversationId });
    });

  const names = namesOf(view.peers);
  const peerNames = names.join(', ');
  // Someone who shows offline: what the server does with the message (docs/protocol.md, "Missed conversations").
  const offline = view.peers.filter((peer) => presence[peer.uri]?.availability === 'offline');
  const offlineNames = joinNames(namesOf(offline));
  return (
    <div class="conversation" data-testid="im-view" data-conversation-id={view.conversationId ?? ''} data-ended={view.ended ? 'yes' : 'no'}>
      <div class="pane-header">
        <button class="back" data-testid="im-back" aria-label="Back to conversations" onClick={onBack}>
          ‹ Back
        </button>
        <h2 data-testid="im-title">{peerNames || 'Conversation'}</h2>
        {view.conversationId && !view.ended && (
          <button class="link" data-testid="im-leave" onClick={() => void leaveConversation()}>
            Leave
          </button>
        )}
      </div>
      <ul class="plain im-peers" data-testid="im-peers" aria-label="Who is in this conversation">
        {view.peers.map((peer) => {
          const availability = presence[peer.uri]?.availability;
          return (
            <li key={peer.uri} class="im-peer" data-testid="im-peer" data-uri={peer.uri} data-availability={availability ?? 'unknown'} title={peer.uri}>
              {availability && <PresenceDot availability={availability} />}
              <span>{peer.name || shortName(peer.uri)}</span>
              <span class="muted small">{availability ? AVAILABILITY_LABELS[availability] : 'presence unknown'}</span>
            </li>
          );
        })}
      </ul>
      <ol class="messages" ref={list} data-testid="im-messages" onScroll={scrolled} data-history={view.historyPending || loadingOlder ? 'loading' : 'loaded'}>
        {view.older && !view.historyPending && (
          <li class="system">
            <button class="link" data-testid="im-older" disabled={loadingOlder} onClick={onOlder}>
              {loadingOlder ? 'Loading earlier messages…' : 'Earlier messages'}
            </button>
          </li>
        )}
        {view.historyGone && (
          <li class="system small" data-testid="im-history-gone">
            Earlier messages of this conversation are no longer available.
          </li>
        )}
        {view.lines.length === 0 && !view.historyPending && !view.historyGone && <li class="system small">Say hello: the first message starts the conversation.</li>}
        {view.lines.map((line) =>
          line.kind === 'message' ? (
            <li key={line.id} class={`message ${line.mine ? 'mine' : ''}`} data-testid="im-message" data-message-id={line.id} data-retracted={line.retracted ? 'yes' : 'no'}>
              <div class="meta">
                <strong>{line.mine ? 'You' : line.from.name || shortName(line.from.uri)}</strong>
                <span class="muted small">{formatTime(line.ts)}</span>
                {!line.retracted && <EditedMark editedAt={line.editedAt} />}
                {line.mine && !line.retracted && (
                  <MessageMenu
                    label={`Actions for your message at ${formatTime(line.ts)}`}
                    canEdit
                    canRetract
                    onEdit={() => setEditing(line.id)}
                    onRetract={() => void retractLine(line)}
                  />
                )}
              </div>
              {line.retracted ? (
                <Tombstone />
              ) : editing === line.id ? (
                <EditForm initial={line.text} maxBytes={maxBytes} onSave={(newText) => editLine(line, newText)} onCancel={() => setEditing(undefined)} />
              ) : (
                <div class="text" data-testid="im-message-text">
                  {line.text}
                </div>
              )}
            </li>
          ) : line.kind === 'ended' ? (
            <li key={line.id} class="system ended" data-testid="im-ended" data-reason={line.reason}>
              Conversation ended{' '}
              <span class="small">{line.reason === 'idle' ? '— no messages for a while; ' : '— '}a new message starts it again</span>
            </li>
          ) : (
            <li key={line.id} class="system small" data-testid="im-notice">
              {line.text}
            </li>
          ),
        )}
      </ol>
      <p class="typing" data-testid={view.typing ? 'im-typing' : undefined} aria-live="polite">
        {view.typing ? `${view.typing.name} is typing…` : '\u00a0'}
      </p>
      {offline.length > 0 && (
        <p class="notice im-offline" role="status" data-testid="im-offline-warning">
          {offlineNames} {offline.length === 1 ? 'appears' : 'appear'} offline: if signed out, {offline.length === 1 ? 'they' : 'each'} will find your message in
          their conversations at their next sign-in.
        </p>
      )}
      <form class="composer" onSubmit={submit}>
        <input
          data-testid="im-text"
          aria-label={`Message to ${peerNames || 'the conversation'}`}
          placeholder={`Message ${peerNames}`}
          value={text}
          onInput={(e) => typed(e.currentTarget.value)}
          aria-invalid={tooLong ? 'true' : undefined}
          aria-describedby={tooLong ? 'im-limit' : undefined}
        />
        <button type="submit" class="primary" data-testid="im-send" disabled={send.busy || tooLong !== undefined}>
          Send
        </button>
      </form>
      <LimitNote text={tooLong} testId="im-limit" id="im-limit" />
      <ErrorLine error={send.error ?? leave.error ?? retract.error ?? error} testId="im-error" />
    </div>
  );
}
