import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Availability, ChatMessage, FileView, RoomSummary } from '../../client/src';
import type { Session } from './session';
import {
  EditedMark,
  EditForm,
  ErrorLine,
  formatBytes,
  formatTime,
  Icon,
  LimitNote,
  limitText,
  mentionsIn,
  MessageMenu,
  normalizeUri,
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
import { type Invitation, type JoinAnswer, type Privacy, SEARCH_LIMIT, useRooms } from './use-rooms';

/** The rooms pane: my rooms, the directory, invitations and the open room (state: use-rooms.ts). */
export function Rooms({ session, visible }: { session: Session; visible: boolean }) {
  const [query, setQuery] = useState('');
  const [newName, setNewName] = useState('');
  const [newPrivacy, setNewPrivacy] = useState<Privacy>('open');
  const pageVisible = usePageVisible();
  const seeing = visible && pageVisible;
  const { acceptInvitation, create, createRoom, declineInvitation, dropInvitation, followed, found, invitations, invites, list, loadMine, markRead, mine, more, open, openRoom, removed, search, searchMore, setRemoved, unread } =
    useRooms(session, seeing);

  const submitNewRoom = (event: Event) => {
    event.preventDefault();
    void createRoom(newName.trim(), newPrivacy, () => setNewName(''));
  };

  const roomButton = (room: RoomSummary, testId: string) => (
    <li key={room.roomId}>
      <button
        class={`room-item ${openRoom?.room.roomId === room.roomId ? 'active' : ''} ${(unread[room.roomId]?.mentions ?? 0) > 0 ? 'mentioned' : ''} ${(unread[room.roomId]?.unread ?? 0) > 0 ? 'has-unread' : ''}`}
        data-testid={testId}
        data-room-id={room.roomId}
        data-name={room.name}
        onClick={() => open(room)}
      >
        <span class="room-name">{room.name}</span>
        <span class="muted small">{room.privacy}</span>
        <UnreadBadge unread={unread[room.roomId]?.unread ?? 0} mentions={unread[room.roomId]?.mentions ?? 0} />
      </button>
    </li>
  );

  return (
    <div class="split">
      <aside class="sidebar">
        {invitations.length > 0 && (
          <>
            <h2>Invitations</h2>
            <ul class="plain" data-testid="room-invitations">
              {invitations.map((invitation) => (
                <InvitationItem
                  key={invitation.roomId}
                  invitation={invitation}
                  onJoin={() => acceptInvitation(invitation)}
                  onDecline={() => declineInvitation(invitation)}
                  onDismiss={() => dropInvitation(invitation)}
                />
              ))}
            </ul>
          </>
        )}
        <ErrorLine error={invites.error} testId="room-invitations-error" />
        <h2>My rooms</h2>
        <ul class="plain" data-testid="my-rooms">
          {mine.length === 0 && <li class="muted small">None yet: search or create one.</li>}
          {mine.map((room) => roomButton(room, 'my-room'))}
        </ul>
        <h2>Find rooms</h2>
        <form
          class="inline"
          onSubmit={(event) => {
            event.preventDefault();
            void search(query.trim());
          }}
        >
          <input data-testid="room-search" type="search" placeholder="Name starts with…" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
          <button type="submit" data-testid="room-search-submit">
            Search
          </button>
        </form>
        <ul class="plain" data-testid="room-search-results" data-query={found?.query}>
          {found?.rooms.length === 0 && (
            <li class="muted small" data-testid="room-search-empty">
              No rooms found.
            </li>
          )}
          {found?.rooms.map((room) => roomButton(room, 'room-result'))}
        </ul>
        {found?.cursor && (
          <button class="more" data-testid="room-search-more" onClick={() => void searchMore()} disabled={more.busy}>
            {more.busy ? 'Loading…' : 'More rooms'}
          </button>
        )}
        <ErrorLine error={list.error} testId="rooms-error" />
        <ErrorLine error={more.error} testId="room-search-more-error" />
        <h2>New room</h2>
        <form class="stack" onSubmit={submitNewRoom}>
          <input data-testid="room-create-name" placeholder="Room name" value={newName} onInput={(e) => setNewName(e.currentTarget.value)} required />
          <div class="inline">
            <select data-testid="room-create-privacy" value={newPrivacy} onChange={(e) => setNewPrivacy(e.currentTarget.value as Privacy)}>
              <option value="open">Open: anyone joins</option>
              <option value="closed">Closed: members only</option>
              <option value="secret">Secret: unlisted, members only</option>
            </select>
            <button type="submit" data-testid="room-create-submit" disabled={create.busy}>
              Create
            </button>
          </div>
          <ErrorLine error={create.error} testId="room-create-error" />
        </form>
      </aside>
      <div class="pane">
        {removed && (
          <p class="notice removed" role="status" data-testid="room-removed-notice" data-room-id={removed.roomId} data-reason={removed.reason}>
            <span>{removed.text}</span>
            <button class="link" data-testid="room-removed-dismiss" onClick={() => setRemoved(undefined)}>
              Dismiss
            </button>
          </p>
        )}
        {openRoom ? (
          <RoomView
            key={openRoom.room.roomId}
            session={session}
            room={openRoom.room}
            joined={openRoom.joined}
            visible={seeing}
            onRead={(seq) => markRead(openRoom.room.roomId, seq)}
            onJoined={(joined) => {
              followed.current.set(joined.roomId, joined);
              void loadMine();
            }}
          />
        ) : (
          <p class="placeholder">Pick a room on the left, or create one.</p>
        )}
      </div>
    </div>
  );
}

/** An invitation in the sidebar: "Join" joins the room and opens it; "Decline" refuses it on every device; "Dismiss" only forgets it here. */
function InvitationItem({ invitation, onJoin, onDecline, onDismiss }: { invitation: Invitation; onJoin: () => Promise<void>; onDecline: () => Promise<void>; onDismiss: () => void }) {
  const { error, busy, run } = useAction();
  return (
    <li class="invitation" data-testid="room-invitation" data-room-id={invitation.roomId} data-name={invitation.roomName}>
      <div>
        <span class="room-name">{invitation.roomName}</span>
        <span class="muted small"> from {invitation.from.name || shortName(invitation.from.uri)}</span>
      </div>
      <div class="inline">
        <button class="primary" data-testid="room-invitation-join" onClick={() => void run(onJoin)} disabled={busy}>
          {busy ? 'Joining…' : 'Join'}
        </button>
        <button data-testid="room-invitation-decline" onClick={() => void run(onDecline)} disabled={busy} aria-label={`Decline the invitation to ${invitation.roomName}`}>
          Decline
        </button>
        <button class="link" data-testid="room-invitation-dismiss" onClick={onDismiss}>
          Dismiss
        </button>
      </div>
      <ErrorLine error={error} testId="room-invitation-error" />
    </li>
  );
}

interface SearchResults {
  readonly query: string;
  readonly messages: readonly ChatMessage[];
}

/** Words as the server's search sees them (letters and digits, at least 2), for marking them in the results. */
function searchWords(query: string): Set<string> {
  return new Set((query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((word) => word.length >= 2));
}

/** The text with the searched words in <mark>: text nodes only, never HTML. */
function highlighted(text: string, words: ReadonlySet<string>): ComponentChildren {
  if (words.size === 0) return text;
  return text.split(/([\p{L}\p{N}]+)/u).map((part, index) => (index % 2 === 1 && words.has(part.toLowerCase()) ? <mark key={index}>{part}</mark> : part));
}

/**
 * One room: join (follow), the newest history page, "older" paging, live messages, post and attach; message
 * search (`chat.search`); managers invite people (`room.invite`).
 */
function RoomView({
  session,
  room,
  joined,
  visible,
  onRead,
  onJoined,
}: {
  session: Session;
  room: RoomSummary;
  joined?: JoinAnswer;
  visible: boolean;
  onRead: (seq: number) => Promise<void>;
  onJoined: (room: RoomSummary) => void;
}) {
  const { client, me } = session;
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [cursor, setCursor] = useState<string>();
  const [role, setRole] = useState<string>();
  const [details, setDetails] = useState<RoomSummary>(room);
  const [loaded, setLoaded] = useState(false);
  const [text, setText] = useState('');
  const [file, setFile] = useState<File>();
  const [searchText, setSearchText] = useState('');
  const [results, setResults] = useState<SearchResults>();
  const fileInput = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLOListElement>(null);
  const stickToBottom = useRef(true);
  const scrollBeforeSearch = useRef<number | undefined>(undefined);
  const load = useAction();
  const post = useAction();
  const older = useAction();
  const searching = useAction();
  const retracting = useAction();
  const [editing, setEditing] = useState<number>();
  // The newest seq marked read from here (`chat.markread`): only a newer one is sent.
  const markedSeq = useRef(0);
  const maxBytes = useMaxMessageBytes(client);
  // Said next to the field before sending: the server refuses a longer text (`chat.getserverinfo` `maxMessageBytes`).
  const tooLong = limitText(utf8Bytes(text.trim()), maxBytes, 'bytes', 'message');

  const merge = (incoming: readonly ChatMessage[]) =>
    setMessages((current) => {
      const bySeq = new Map(current.map((message) => [message.seq, message]));
      for (const message of incoming) bySeq.set(message.seq, message);
      return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    });

  useEffect(() => {
    void load.run(async () => {
      // Opened from an invitation, the room was joined already.
      const answer = joined ?? (await client.request('chat.join', { roomId: room.roomId }));
      setRole(answer.role);
      setDetails(answer.room);
      onJoined(answer.room);
      const page = await client.request('chat.bccontext', { roomId: room.roomId });
      stickToBottom.current = true;
      merge(page.messages);
      setCursor(page.cursor);
      setLoaded(true);
    });
  }, [room.roomId]);

  useClientEvent(client, 'chat.message', (message) => {
    if (message.roomId !== room.roomId) return;
    stickToBottom.current = true;
    merge([message]);
  });

  // Edited or retracted by anyone who may (live, SPEC §9): the message changes where it is.
  const change = (seq: number, update: (message: ChatMessage) => ChatMessage) =>
    setMessages((current) => current.map((message) => (message.seq === seq ? update(message) : message)));
  useClientEvent(client, 'chat.edited', (event) => {
    if (event.roomId === room.roomId) change(event.seq, (message) => ({ ...message, text: event.text, editedAt: event.editedAt }));
  });
  useClientEvent(client, 'chat.retracted', (event) => {
    if (event.roomId === room.roomId) change(event.seq, retractedMessage(event.by));
  });

  // Open and seen (this tab shown, the Rooms tab chosen): the newest message is read.
  const newestSeq = messages.length > 0 ? messages[messages.length - 1]!.seq : 0;
  useEffect(() => {
    if (!visible || !loaded || newestSeq <= markedSeq.current) return;
    markedSeq.current = newestSeq;
    // A hint to the server: a lost one is made up by the next (the marker never moves back).
    onRead(newestSeq).catch(() => {
      markedSeq.current = 0;
    });
  }, [visible, loaded, newestSeq]);

  const editMessage = (message: ChatMessage, newText: string) =>
    client.editPost(room.roomId, message.messageId, newText).then((answer) => {
      change(message.seq, (held) => ({ ...held, text: newText, editedAt: answer.editedAt }));
      setEditing(undefined);
    });
  const retractMessage = (message: ChatMessage) =>
    retracting.run(async () => {
      const answer = await client.retractPost(room.roomId, message.messageId);
      change(message.seq, retractedMessage(answer.by));
    });

  useLayoutEffect(() => {
    if (stickToBottom.current && list.current) list.current.scrollTop = list.current.scrollHeight;
    stickToBottom.current = false;
  }, [messages]);

  // Back from search results: the history where the reader left it.
  useLayoutEffect(() => {
    if (results || scrollBeforeSearch.current === undefined || !list.current) return;
    list.current.scrollTop = scrollBeforeSearch.current;
    scrollBeforeSearch.current = undefined;
  }, [results === undefined]);

  const loadOlder = () =>
    older.run(async () => {
      if (!cursor) return;
      const page = await client.request('chat.bccontext', { roomId: room.roomId, before: cursor });
      stickToBottom.current = false;
      merge(page.messages);
      setCursor(page.cursor);
    });

  const search = (event: Event) => {
    event.preventDefault();
    const query = searchText.trim();
    if (!query) {
      clearSearch();
      return;
    }
    void searching.run(async () => {
      const answer = await client.request('chat.search', { roomId: room.roomId, query, limit: SEARCH_LIMIT });
      if (!results && list.current) scrollBeforeSearch.current = list.current.scrollTop;
      setResults({ query, messages: answer.messages });
    });
  };

  const clearSearch = () => {
    setSearchText('');
    setResults(undefined);
    searching.clear();
  };

  const send = (event: Event) => {
    event.preventDefault();
    const body = text.trim();
    if ((!body && !file) || tooLong) return;
    void post.run(async () => {
      let attached: FileView | undefined;
      if (file) {
        const uploaded = await client.uploadFile(room.roomId, { name: file.name, type: file.type, size: file.size, body: file });
        attached = { fileId: uploaded.fileId, name: file.name, size: file.size, contentType: file.type || 'application/octet-stream' };
      }
      const messageText = body || `Shared ${attached!.name}`;
      const mentions = mentionsIn(messageText);
      const answer = await client.post(room.roomId, messageText, { ...(attached ? { fileId: attached.fileId } : {}), ...(mentions.length > 0 ? { mentions } : {}) });
      stickToBottom.current = true;
      merge([{ roomId: room.roomId, seq: answer.seq, messageId: answer.messageId, from: { uri: me.uri, name: me.name }, text: messageText, ts: answer.ts, ...(attached ? { fileId: attached.fileId, file: attached } : {}), ...(mentions.length > 0 ? { mentions } : {}) }]);
      setText('');
      setFile(undefined);
      if (fileInput.current) fileInput.current.value = '';
    });
  };

  const messageItem = (message: ChatMessage, testId: string, words?: ReadonlySet<string>) => {
    const mine = message.from.uri === me.uri;
    const live = !words && !message.retracted;
    return (
      <li
        key={message.seq}
        class={`message ${mine ? 'mine' : ''} ${message.mentions?.includes(me.uri) ? 'mentions-me' : ''}`}
        data-testid={testId}
        data-seq={message.seq}
        data-message-id={message.messageId}
        data-retracted={message.retracted ? 'yes' : 'no'}
      >
        <div class="meta">
          <strong data-testid="message-from">{message.from.name || message.from.uri}</strong>
          <span class="muted small">{formatTime(message.ts)}</span>
          {!message.retracted && <EditedMark editedAt={message.editedAt} />}
          {live && (
            <MessageMenu
              label={`Actions for ${mine ? 'your' : `${message.from.name || shortName(message.from.uri)}'s`} message at ${formatTime(message.ts)}`}
              canEdit={mine}
              canRetract={mine || role === 'manager'}
              onEdit={() => setEditing(message.seq)}
              onRetract={() => void retractMessage(message)}
            />
          )}
        </div>
        {message.retracted ? (
          <Tombstone />
        ) : editing === message.seq && !words ? (
          <EditForm initial={message.text} maxBytes={maxBytes} onSave={(newText) => editMessage(message, newText)} onCancel={() => setEditing(undefined)} />
        ) : (
          <div class="text" data-testid="message-text">
            {words ? highlighted(message.text, words) : message.text}
          </div>
        )}
        {message.file && !message.retracted && <FileLink session={session} file={message.file} />}
      </li>
    );
  };

  return (
    <div class="room-view" data-testid="room-view" data-room-id={room.roomId}>
      <div class="pane-header">
        <h2 data-testid="room-title">{details.name}</h2>
        <span class="muted small" data-testid="room-role" data-role={role}>
          {details.privacy} room{role ? ` · you are ${role === 'visitor' ? 'a visitor' : `a ${role}`}` : ''}
        </span>
        <form class="inline room-search" onSubmit={search}>
          <input
            data-testid="room-message-search"
            type="search"
            placeholder="Search messages"
            aria-label="Search messages in this room"
            value={searchText}
            maxLength={256}
            onInput={(e) => setSearchText(e.currentTarget.value)}
          />
          <button type="submit" data-testid="room-message-search-submit" disabled={searching.busy}>
            Search
          </button>
        </form>
      </div>
      {details.description && <p class="muted">{details.description}</p>}
      {role === 'manager' && <InviteForm session={session} roomId={room.roomId} />}
      <OccupantsPanel session={session} roomId={room.roomId} ready={loaded} />
      <ErrorLine error={load.error} testId="room-error" />
      <ErrorLine error={retracting.error} testId="room-retract-error" />
      <ErrorLine error={searching.error} testId="room-message-search-error" />
      {results && (
        <p class="notice search-summary" data-testid="room-message-search-summary" data-count={results.messages.length}>
          {results.messages.length === 0
            ? `No messages match “${results.query}”.`
            : `${results.messages.length === SEARCH_LIMIT ? `The newest ${SEARCH_LIMIT}` : results.messages.length} message${results.messages.length === 1 ? '' : 's'} match “${results.query}”, newest first.`}{' '}
          <button class="link" data-testid="room-message-search-clear" onClick={clearSearch}>
            Back to the room
          </button>
        </p>
      )}
      {results && (
        <ol class="messages" data-testid="room-message-search-results">
          {results.messages.map((message) => messageItem(message, 'room-message-search-result', searchWords(results.query)))}
        </ol>
      )}
      <ol class="messages" ref={list} hidden={results !== undefined} data-testid="room-messages" data-loaded={loaded ? 'yes' : 'no'}>
        {cursor && (
          <li class="older">
            <button data-testid="room-older" onClick={() => void loadOlder()} disabled={older.busy}>
              {older.busy ? 'Loading…' : 'Show older messages'}
            </button>
          </li>
        )}
        {loaded && !cursor && <li class="system small">Beginning of the room's history</li>}
        {messages.map((message) => messageItem(message, 'room-message'))}
      </ol>
      <ErrorLine error={older.error} testId="room-older-error" />
      <form class="composer" onSubmit={send}>
        <input
          data-testid="room-post-text"
          placeholder={`Message ${details.name}`}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          aria-invalid={tooLong ? 'true' : undefined}
          aria-describedby={tooLong ? 'room-post-limit' : undefined}
        />
        <label class="attach" title="Attach a file">
          <Icon name="clip" />
          <input ref={fileInput} type="file" data-testid="room-attach" onChange={(e) => setFile(e.currentTarget.files?.[0])} />
        </label>
        <button type="submit" class="primary" data-testid="room-post-submit" disabled={post.busy || tooLong !== undefined}>
          {post.busy ? 'Sending…' : 'Send'}
        </button>
      </form>
      {file && (
        <p class="small muted" data-testid="room-attachment-pending">
          Attaching {file.name} ({formatBytes(file.size)})
        </p>
      )}
      <LimitNote text={tooLong} testId="room-post-limit" id="room-post-limit" />
      <ErrorLine error={post.error} testId="room-post-error" />
    </div>
  );
}

/** A retracted message as the room shows it: a tombstone at its seq, nothing of its text or file. */
function retractedMessage(by: string): (message: ChatMessage) => ChatMessage {
  return ({ file: _file, fileId: _fileId, editedAt: _editedAt, ...message }) => ({ ...message, text: '', retracted: true, retractedBy: by });
}

/** Who is in the room now (`chat.occupants`: followers with a connection open, and their availability), a page at a time. */
function OccupantsPanel({ session, roomId, ready }: { session: Session; roomId: string; ready: boolean }) {
  const [occupants, setOccupants] = useState<Array<{ uri: string; availability: Availability }>>();
  const [cursor, setCursor] = useState<string>();
  const { error, busy, run } = useAction();
  const load = (after?: string) =>
    run(async () => {
      const page = await session.client.request('chat.occupants', { roomId, ...(after ? { cursor: after } : {}) });
      setOccupants((current) => [...(after ? (current ?? []) : []), ...page.occupants]);
      setCursor(page.cursor);
    });
  useEffect(() => {
    if (ready) void load();
  }, [roomId, ready]);
  return (
    <details class="occupants" open data-testid="room-occupants" data-loaded={occupants ? 'yes' : 'no'}>
      <summary>Here now ({occupants?.length ?? '…'})</summary>
      <ul class="plain">
        {occupants?.length === 0 && <li class="muted small">Nobody else is here.</li>}
        {occupants?.map((occupant) => (
          <li key={occupant.uri} class="occupant" data-testid="room-occupant" data-uri={occupant.uri} data-availability={occupant.availability}>
            <PresenceDot availability={occupant.availability} /> {shortName(occupant.uri)}
            {occupant.uri === session.me.uri && <span class="muted small"> (you)</span>}
          </li>
        ))}
      </ul>
      <div class="inline">
        {cursor && (
          <button class="link" data-testid="room-occupants-more" onClick={() => void load(cursor)} disabled={busy}>
            More
          </button>
        )}
        <button class="link" data-testid="room-occupants-refresh" onClick={() => void load()} disabled={busy}>
          {busy ? 'Loading…' : 'Refresh'}
        </button>
      </div>
      <ErrorLine error={error} testId="room-occupants-error" />
    </details>
  );
}

/** Managers add people to the room (`room.invite`): they become members and get a `chat.invitation`. */
function InviteForm({ session, roomId }: { session: Session; roomId: string }) {
  const [input, setInput] = useState('');
  const [outcome, setOutcome] = useState<string>();
  const { error, busy, run } = useAction();

  const invite = (event: Event) => {
    event.preventDefault();
    const uris = [...new Set(input.split(/[\s,;]+/).filter(Boolean).map(normalizeUri))];
    if (uris.length === 0) return;
    setOutcome(undefined);
    void run(async () => {
      const { invited } = await session.client.request('room.invite', { roomId, uris });
      const already = uris.filter((uri) => !invited.includes(uri));
      setOutcome(
        [invited.length > 0 ? `Invited ${invited.map(shortName).join(', ')}.` : '', already.length > 0 ? `Already members: ${already.map(shortName).join(', ')}.` : '']
          .filter(Boolean)
          .join(' '),
      );
      setInput('');
    });
  };

  return (
    <div class="invite">
      <form class="inline" onSubmit={invite}>
        <input
          data-testid="room-invite-uris"
          placeholder="Invite: sip:bob@contoso.com, carol@contoso.com"
          aria-label="Invite people (SIP URIs)"
          value={input}
          onInput={(e) => setInput(e.currentTarget.value)}
          required
        />
        <button type="submit" data-testid="room-invite-submit" disabled={busy}>
          Invite
        </button>
      </form>
      {outcome && (
        <p class="small muted" data-testid="room-invite-result">
          {outcome}
        </p>
      )}
      <ErrorLine error={error} testId="room-invite-error" />
    </div>
  );
}

/** A file of a message: asks for a fresh presigned URL (`chat.file.download`) when clicked, and downloads it. */
function FileLink({ session, file }: { session: Session; file: FileView }) {
  const { error, busy, run } = useAction();
  const download = () =>
    run(async () => {
      const answer = await session.client.request('chat.file.download', { fileId: file.fileId });
      const anchor = document.createElement('a');
      anchor.href = answer.downloadUrl;
      anchor.download = answer.fileName;
      anchor.rel = 'noopener';
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
    });
  return (
    <div class="file">
      <button class="file-link" data-testid="file-link" data-file-id={file.fileId} onClick={() => void download()} disabled={busy}>
        <Icon name="file" /> {file.name} <span class="muted small">({formatBytes(file.size)})</span>
      </button>
      <ErrorLine error={error} testId="file-error" />
    </div>
  );
}
