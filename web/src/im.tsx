import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { ConversationSummary, ImMessage, Person, ServerEvents } from '../../client/src';
import type { Session } from './session';
import {
  EditedMark,
  EditForm,
  ErrorLine,
  formatTime,
  LimitNote,
  limitText,
  MessageMenu,
  normalizeUri,
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

type Line =
  | {
      readonly kind: 'message';
      readonly id: string;
      readonly conversationId: string;
      readonly from: Person;
      readonly text: string;
      readonly ts: number;
      readonly mine: boolean;
      readonly editedAt?: number;
      readonly retracted?: boolean;
    }
  | { readonly kind: 'ended'; readonly id: string; readonly reason: 'idle' | 'left' }
  | { readonly kind: 'notice'; readonly id: string; readonly text: string };

/** One conversation as the user sees it: it goes on in the same view when the server continues it under a new id. */
interface ConversationView {
  readonly key: string;
  /** The current conversation (none before the first message of a new one). */
  readonly conversationId?: string;
  /** Every id this view has had (continuity: `previousConversationId`). */
  readonly ids: readonly string[];
  readonly peers: readonly Person[];
  readonly lines: readonly Line[];
  readonly ended: boolean;
  readonly typing?: { readonly name: string; readonly until: number };
  readonly unread: number;
  /** Messages mentioning me since I last looked (`im.mention`). */
  readonly mentions?: number;
  /** Listed from `im.conversations` and not opened yet: its history is read (`im.history`) when it is. */
  readonly historyPending?: boolean;
  /** Had unread messages while I was offline (`session.resume` `missedConversations`). */
  readonly missed?: boolean;
}

let nextKey = 0;
const newKey = () => `c${++nextKey}`;
const samePeers = (a: readonly Person[], b: readonly Person[]) => a.length === b.length && a.every((person) => b.some((other) => other.uri === person.uri));

/** The people of a new conversation: `participants` are SIP URIs; names come from `from` when it is the same person. */
function participantsOf(event: ServerEvents['im.message']): Person[] {
  const listed = event.participants ?? [event.from.uri];
  return listed.map((uri) => ({ uri, name: uri === event.from.uri ? event.from.name : shortName(uri) }));
}

/** A line of an IM message (live, sent, or from history). */
function lineOf(message: ImMessage, me: string): Line {
  return {
    kind: 'message',
    id: message.messageId,
    conversationId: message.conversationId,
    from: message.from,
    text: message.retracted ? '' : message.text,
    ts: message.ts,
    mine: message.from.uri === me,
    ...(message.editedAt !== undefined ? { editedAt: message.editedAt } : {}),
    ...(message.retracted ? { retracted: true } : {}),
  };
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
    ...(missed ? { missed: true } : {}),
  };
}

/** IM conversations: start one with a URI, incoming ones open by themselves, typing, and the ended line. */
export function Conversations({ session, visible, onActivity }: { session: Session; visible: boolean; onActivity: () => void }) {
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
  const [startUri, setStartUri] = useState('');
  const start = useAction();
  const activeRef = useRef<{ key?: string; visible: boolean }>({ visible: seeing });
  activeRef.current = { key: activeKey, visible: seeing };
  const listed = useAction();
  const [missed, setMissed] = useState<readonly ConversationSummary[]>(() => resumed.missedConversations ?? []);

  /** Adds the server's conversations not shown yet (a live message may have opened one first). */
  const addListed = (summaries: readonly ConversationSummary[], asMissed: boolean) =>
    setViews((current) => {
      const fresh = summaries.filter((summary) => !current.some((view) => view.ids.includes(summary.conversationId)));
      const marked = current.map((view) => (asMissed && summaries.some((summary) => view.ids.includes(summary.conversationId)) ? { ...view, missed: true } : view));
      return [...marked, ...fresh.map((summary) => viewOf(summary, me.uri, asMissed))];
    });
  // My conversations (`im.conversations`), missed ones first: what arrived while I was away is here at sign-in.
  useEffect(() => {
    addListed(resumed.missedConversations ?? [], true);
    void listed.run(async () => addListed((await client.imConversations({ limit: 20 })).conversations, false));
  }, [client]);
  useClientEvent(client, 'resumed', (answer) => {
    if (!answer.reconnect || !answer.missedConversations?.length) return;
    addListed(answer.missedConversations, true);
    setMissed(answer.missedConversations);
  });

  const update = (key: string, change: (view: ConversationView) => ConversationView) =>
    setViews((current) => current.map((view) => (view.key === key ? change(view) : view)));

  const findView = (current: readonly ConversationView[], ...ids: Array<string | undefined>) =>
    current.find((view) => ids.some((id) => id !== undefined && view.ids.includes(id)));

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
        current.find((view) => (view.ended || view.conversationId === undefined) && samePeers(view.peers, peers));
      receivedKey = existing?.key;
      if (!existing) {
        const key = newKey();
        openedKey = key;
        return [...current, { key, conversationId: event.conversationId, ids: [event.conversationId], peers, lines: [line], ended: false, unread: mine ? 0 : 1 }];
      }
      return current.map((view) => {
        if (view !== existing) return view;
        if (view.lines.some((held) => held.id === line.id)) return view;
        const isActive = seen && activeRef.current.key === view.key;
        return {
          ...view,
          conversationId: event.conversationId,
          ids: view.ids.includes(event.conversationId) ? view.ids : [...view.ids, event.conversationId],
          lines: [...view.lines, line],
          ended: false,
          // The sender's display name, once known, replaces the one made from the URI.
          peers: view.peers.map((peer) => (peer.uri === event.from.uri && event.from.name ? { ...peer, name: event.from.name } : peer)),
          typing: view.typing && view.typing.name === event.from.name ? undefined : view.typing,
          unread: isActive || mine ? view.unread : view.unread + 1,
        };
      });
    });
    // A first conversation opens by itself; others wait in the list with their unread count.
    setActiveKey((current) => current ?? openedKey ?? receivedKey);
    if (!mine && !activeRef.current.visible) onActivity();
  });

  const changeLine = (conversationId: string, messageId: string, change: (line: Extract<Line, { kind: 'message' }>) => Line) =>
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
      return current.map((held) =>
        held === view ? { ...held, ended: true, typing: undefined, lines: [...held.lines, { kind: 'ended', id: `ended-${event.conversationId}`, reason: event.reason }] } : held,
      );
    });
  });

  useClientEvent(client, 'im.participantLeft', (event) => {
    setViews((current) => {
      const view = findView(current, event.conversationId);
      if (!view) return current;
      return current.map((held) =>
        held === view
          ? { ...held, peers: held.peers.filter((peer) => peer.uri !== event.uri), lines: [...held.lines, { kind: 'notice', id: `left-${event.uri}-${Date.now()}`, text: `${shortName(event.uri)} left the conversation` }] }
          : held,
      );
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
    setActiveKey(key);
  };

  const startConversation = (event: Event) => {
    event.preventDefault();
    void start.run(async () => {
      const uri = normalizeUri(startUri);
      if (uri === me.uri) throw new Error('start a conversation with someone else');
      const peers = [{ uri, name: shortName(uri) }];
      const existing = views.find((view) => samePeers(view.peers, peers));
      if (existing) select(existing.key);
      else {
        const key = newKey();
        setViews((current) => [...current, { key, ids: [], peers, lines: [], ended: false, unread: 0 }]);
        setActiveKey(key);
      }
      setStartUri('');
    });
  };

  const active = views.find((view) => view.key === activeKey);

  // A listed conversation opened: its history (`im.history`, newest first), before anything that came live.
  const history = useAction();
  useEffect(() => {
    if (!active?.historyPending || !active.conversationId) return;
    const { key, conversationId } = active;
    update(key, (view) => ({ ...view, historyPending: false }));
    void history.run(async () => {
      const page = await client.request('im.history', { conversationId, limit: 50 });
      const older = [...page.messages].reverse().map((message) => lineOf(message, me.uri));
      update(key, (view) => ({ ...view, lines: [...older.filter((line) => !view.lines.some((held) => held.id === line.id)), ...view.lines] }));
    });
  }, [active?.key, active?.historyPending]);

  // Open and seen: read up to its newest message (`im.markread`; the server counts, on every device).
  const marked = useRef(new Set<string>());
  const newest = active?.lines.findLast((line): line is Extract<Line, { kind: 'message' }> => line.kind === 'message');
  useEffect(() => {
    if (!seeing || !active) return;
    if (active.unread > 0 || active.mentions || active.missed) update(active.key, (view) => ({ ...view, unread: 0, mentions: 0, missed: false }));
    if (!newest || newest.mine || marked.current.has(newest.id)) return;
    marked.current.add(newest.id);
    if (active.missed) setMissed((current) => current.filter((summary) => !active.ids.includes(summary.conversationId)));
    // A hint: a refused one (a conversation from before numbering) changes nothing shown.
    client.markImRead(newest.conversationId, newest.id).catch(() => undefined);
  }, [seeing, active?.key, newest?.id]);
  const missedViews = views.filter((view) => view.missed);

  return (
    <div class="split">
      <aside class="sidebar">
        <h2>Conversations</h2>
        <form class="stack" onSubmit={startConversation}>
          <input data-testid="im-start-uri" placeholder="sip:bob@contoso.com" value={startUri} onInput={(e) => setStartUri(e.currentTarget.value)} required />
          <button type="submit" class="primary" data-testid="im-start-submit">
            New conversation
          </button>
        </form>
        <ErrorLine error={start.error} testId="im-start-error" />
        {missed.length > 0 && missedViews.length > 0 && (
          <p class="notice missed" role="status" data-testid="im-missed-notice">
            {missedViews.length === 1 ? 'A conversation' : `${missedViews.length} conversations`} had messages while you were away.
          </p>
        )}
        <ErrorLine error={listed.error} testId="im-conversations-error" />
        <ul class="plain" data-testid="im-conversations">
          {views.map((view) => (
            <li key={view.key}>
              <button
                class={`room-item ${view.key === activeKey ? 'active' : ''} ${view.missed ? 'missed' : ''} ${view.mentions ? 'mentioned' : ''}`}
                data-testid="im-conversation-item"
                data-peers={view.peers.map((peer) => peer.uri).join(' ')}
                data-missed={view.missed ? 'yes' : 'no'}
                onClick={() => select(view.key)}
              >
                <span class="room-name">{view.peers.map((peer) => peer.name || shortName(peer.uri)).join(', ') || 'just you'}</span>
                {view.ended && <span class="muted small">ended</span>}
                {view.missed && <span class="muted small">missed</span>}
                <UnreadBadge unread={view.unread} mentions={view.mentions ?? 0} />
              </button>
            </li>
          ))}
        </ul>
      </aside>
      <div class="pane">
        {active ? (
          <ConversationPane key={active.key} session={session} view={active} error={history.error} update={(change) => update(active.key, change)} />
        ) : (
          <p class="placeholder">Start a conversation with a SIP URI; incoming messages open one here.</p>
        )}
      </div>
    </div>
  );
}

function ConversationPane({
  session,
  view,
  error,
  update,
}: {
  session: Session;
  view: ConversationView;
  error: string | undefined;
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
  const changeLine = (id: string, change: (line: Extract<Line, { kind: 'message' }>) => Line) =>
    update((current) => ({ ...current, lines: current.lines.map((line) => (line.kind === 'message' && line.id === id ? change(line) : line)) }));
  const editLine = (line: Extract<Line, { kind: 'message' }>, newText: string) =>
    client.editIm(line.conversationId, line.id, newText).then((answer) => {
      changeLine(line.id, (held) => ({ ...held, text: newText, editedAt: answer.editedAt }));
      setEditing(undefined);
    });
  const retractLine = (line: Extract<Line, { kind: 'message' }>) =>
    retract.run(async () => {
      await client.retractIm(line.conversationId, line.id);
      changeLine(line.id, (held) => ({ ...held, text: '', retracted: true }));
    });

  useLayoutEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [view.lines.length, view.typing]);

  const typed = (value: string) => {
    setText(value);
    const now = Date.now();
    if (!value || !view.conversationId || view.ended || now - lastTypingSent.current < TYPING_SEND_INTERVAL_MS) return;
    lastTypingSent.current = now;
    // Typing is a hint: a lost or refused one (410 on an ended conversation) is not worth an error.
    client.request('im.typing', { conversationId: view.conversationId }).catch(() => undefined);
  };

  const submit = (event: Event) => {
    event.preventDefault();
    const body = text.trim();
    if (!body || tooLong) return;
    void send.run(async () => {
      // On an ended conversation the server opens a new one with the same people and says so.
      const answer = await client.sendIm(
        view.conversationId ? { conversationId: view.conversationId, text: body } : { to: view.peers.length === 1 ? view.peers[0]!.uri : view.peers.map((peer) => peer.uri), text: body },
      );
      update((current) => ({
        ...current,
        conversationId: answer.conversationId,
        ids: current.ids.includes(answer.conversationId) ? current.ids : [...current.ids, answer.conversationId],
        ended: false,
        lines: current.lines.some((line) => line.id === answer.messageId)
          ? current.lines
          : [...current.lines, { kind: 'message', id: answer.messageId, conversationId: answer.conversationId, from: { uri: me.uri, name: me.name }, text: body, ts: answer.ts, mine: true }],
      }));
      setText('');
      lastTypingSent.current = 0;
    });
  };

  const leaveConversation = () =>
    leave.run(async () => {
      if (view.conversationId) await client.request('im.leave', { conversationId: view.conversationId });
    });

  const peerNames = view.peers.map((peer) => peer.name || shortName(peer.uri)).join(', ');
  return (
    <div class="conversation" data-testid="im-view" data-conversation-id={view.conversationId ?? ''} data-ended={view.ended ? 'yes' : 'no'}>
      <div class="pane-header">
        <h2 data-testid="im-title">{peerNames || 'Conversation'}</h2>
        <span class="muted small">{view.peers.map((peer) => peer.uri).join(', ')}</span>
        {view.conversationId && !view.ended && (
          <button class="link" data-testid="im-leave" onClick={() => void leaveConversation()}>
            Leave
          </button>
        )}
      </div>
      <ol class="messages" ref={list} data-testid="im-messages">
        {view.lines.length === 0 && <li class="system small">Say hello: the first message starts the conversation.</li>}
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
              Conversation ended ({line.reason}){' '}
              <span class="small">{line.reason === 'idle' ? '— no messages for a while; ' : '— '}a new message starts it again</span>
            </li>
          ) : (
            <li key={line.id} class="system small">
              {line.text}
            </li>
          ),
        )}
      </ol>
      <p class="typing" data-testid={view.typing ? 'im-typing' : undefined} aria-live="polite">
        {view.typing ? `${view.typing.name} is typing…` : '\u00a0'}
      </p>
      <form class="composer" onSubmit={submit}>
        <input
          data-testid="im-text"
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
