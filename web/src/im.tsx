import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Person, ServerEvents } from '../../client/src';
import type { Session } from './session';
import { ErrorLine, formatTime, LimitNote, limitText, normalizeUri, shortName, useAction, useClientEvent, useMaxMessageBytes, utf8Bytes } from './ui';

const TYPING_SEND_INTERVAL_MS = 2000;
const TYPING_SHOWN_MS = 4000;

type Line =
  | { readonly kind: 'message'; readonly id: string; readonly from: Person; readonly text: string; readonly ts: number; readonly mine: boolean }
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
}

let nextKey = 0;
const newKey = () => `c${++nextKey}`;
const samePeers = (a: readonly Person[], b: readonly Person[]) => a.length === b.length && a.every((person) => b.some((other) => other.uri === person.uri));

/** The people of a new conversation: `participants` are SIP URIs; names come from `from` when it is the same person. */
function participantsOf(event: ServerEvents['im.message']): Person[] {
  const listed = event.participants ?? [event.from.uri];
  return listed.map((uri) => ({ uri, name: uri === event.from.uri ? event.from.name : shortName(uri) }));
}

/** IM conversations: start one with a URI, incoming ones open by themselves, typing, and the ended line. */
export function Conversations({ session, visible, onActivity }: { session: Session; visible: boolean; onActivity: () => void }) {
  const { client, me } = session;
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
  const activeRef = useRef<{ key?: string; visible: boolean }>({ visible });
  activeRef.current = { key: activeKey, visible };

  const update = (key: string, change: (view: ConversationView) => ConversationView) =>
    setViews((current) => current.map((view) => (view.key === key ? change(view) : view)));

  const findView = (current: readonly ConversationView[], ...ids: Array<string | undefined>) =>
    current.find((view) => ids.some((id) => id !== undefined && view.ids.includes(id)));

  useClientEvent(client, 'im.message', (event: ServerEvents['im.message']) => {
    const mine = event.from.uri === me.uri;
    const peers = participantsOf(event).filter((person) => person.uri !== me.uri);
    const line: Line = { kind: 'message', id: event.messageId, from: event.from, text: event.text, ts: event.ts, mine };
    const seen = activeRef.current.visible && activeRef.current.key !== undefined;
    let openedKey: string | undefined;
    setViews((current) => {
      const existing =
        findView(current, event.conversationId, event.previousConversationId) ??
        current.find((view) => (view.ended || view.conversationId === undefined) && samePeers(view.peers, peers));
      if (!existing) {
        const key = newKey();
        openedKey = key;
        return [...current, { key, conversationId: event.conversationId, ids: [event.conversationId], peers, lines: [line], ended: false, unread: 1 }];
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
    setActiveKey((current) => current ?? openedKey);
    if (!mine && !activeRef.current.visible) onActivity();
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
    update(key, (view) => ({ ...view, unread: 0 }));
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
  useEffect(() => {
    if (visible && active && active.unread > 0) update(active.key, (view) => ({ ...view, unread: 0 }));
  }, [visible, active?.key, active?.unread]);

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
        <ul class="plain" data-testid="im-conversations">
          {views.map((view) => (
            <li key={view.key}>
              <button
                class={`room-item ${view.key === activeKey ? 'active' : ''}`}
                data-testid="im-conversation-item"
                data-peers={view.peers.map((peer) => peer.uri).join(' ')}
                onClick={() => select(view.key)}
              >
                <span class="room-name">{view.peers.map((peer) => peer.name || shortName(peer.uri)).join(', ') || 'just you'}</span>
                {view.ended && <span class="muted small">ended</span>}
                {view.unread > 0 && <span class="count">{view.unread}</span>}
              </button>
            </li>
          ))}
        </ul>
      </aside>
      <div class="pane">
        {active ? (
          <ConversationPane key={active.key} session={session} view={active} update={(change) => update(active.key, change)} />
        ) : (
          <p class="placeholder">Start a conversation with a SIP URI; incoming messages open one here.</p>
        )}
      </div>
    </div>
  );
}

function ConversationPane({ session, view, update }: { session: Session; view: ConversationView; update: (change: (view: ConversationView) => ConversationView) => void }) {
  const { client, me } = session;
  const [text, setText] = useState('');
  const lastTypingSent = useRef(0);
  const list = useRef<HTMLOListElement>(null);
  const send = useAction();
  const leave = useAction();
  // Said next to the field before sending; `chat.getserverinfo` `maxMessageBytes` (IM's limit is the same by default).
  const tooLong = limitText(utf8Bytes(text.trim()), useMaxMessageBytes(client), 'bytes', 'message');

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
        lines: [...current.lines, { kind: 'message', id: answer.messageId, from: { uri: me.uri, name: me.name }, text: body, ts: answer.ts, mine: true }],
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
            <li key={line.id} class={`message ${line.mine ? 'mine' : ''}`} data-testid="im-message">
              <div class="meta">
                <strong>{line.mine ? 'You' : line.from.name || shortName(line.from.uri)}</strong>
                <span class="muted small">{formatTime(line.ts)}</span>
              </div>
              <div class="text" data-testid="im-message-text">
                {line.text}
              </div>
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
      <ErrorLine error={send.error ?? leave.error} testId="im-error" />
    </div>
  );
}
