import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { type Availability, type ChatMessage, type FileView, type RoomSummary, UcError } from '../../client/src';
import { linkify } from './linkify';
import { toSipUri } from './addresses';
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
  PresenceDot,
  shortName,
  Tombstone,
  UnreadBadge,
  useAction,
  useClientEvent,
  useMaxMessageBytes,
  maxFileBytes,
  usePageVisible,
  utf8Bytes,
} from './ui';
import {
  type Invitation,
  type JoinAnswer,
  MAX_ROOM_DESCRIPTION_CHARS,
  type Privacy,
  roomFieldProblems,
  SEARCH_LIMIT,
  useRooms,
} from './use-rooms';

/** How long "Invited bob." stays under the invite field (it also goes when the next invite is typed, or the room closes). */
const INVITE_OUTCOME_MS = 6000;

/**
 * The rooms pane: my rooms, the directory, invitations and the open room (state: use-rooms.ts). On a phone one pane
 * shows at a time (`data-show`, the shell's CSS); `onUnread` tells the shell the unread messages of the rooms followed.
 */
export function Rooms({ session, visible, onUnread }: { session: Session; visible: boolean; onUnread?: (count: number) => void }) {
  const [query, setQuery] = useState('');
  const [newName, setNewName] = useState('');
  const [newDescription, setNewDescription] = useState('');
  const [newPrivacy, setNewPrivacy] = useState<Privacy>('open');
  const pageVisible = usePageVisible();
  const seeing = visible && pageVisible;
  const {
    acceptInvitation,
    close,
    create,
    createErrors,
    createRoom,
    declineInvitation,
    deleteRoom,
    dropInvitation,
    followed,
    found,
    invitations,
    invites,
    leaveRoom,
    list,
    loadMine,
    markRead,
    mine,
    more,
    open,
    openRoom,
    removed,
    search,
    searchMore,
    setCreateErrors,
    setRemoved,
    totalUnread,
    unread,
  } = useRooms(session, seeing);

  useEffect(() => onUnread?.(totalUnread), [totalUnread]);

  // Back to the list: focus returns to the room's entry there (on a phone the list pane shows again).
  const sidebar = useRef<HTMLElement>(null);
  const backToList = () => {
    const roomId = openRoom?.room.roomId;
    close();
    requestAnimationFrame(() => sidebar.current?.querySelector<HTMLButtonElement>(`.room-item[data-room-id="${roomId}"]`)?.focus());
  };

  // A field too long is said while typing; an empty name when Create is tried (createErrors).
  const live = roomFieldProblems(newName, newDescription);
  const nameError = createErrors.name ?? (newName.trim() ? live.name : undefined);
  const descriptionError = createErrors.description ?? live.description;
  const submitNewRoom = (event: Event) => {
    event.preventDefault();
    void createRoom(newName, newDescription, newPrivacy, () => {
      setNewName('');
      setNewDescription('');
    });
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
    <div class="split rooms-split" data-show={openRoom ? 'detail' : 'list'}>
      <aside class="sidebar" ref={sidebar}>
        {removed && (
          <p class="notice removed" role="status" data-testid="room-removed-notice" data-room-id={removed.roomId} data-reason={removed.reason}>
            <span>{removed.text}</span>
            <button class="link" data-testid="room-removed-dismiss" onClick={() => setRemoved(undefined)}>
              Dismiss
            </button>
          </p>
        )}
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
        <h2 id="room-create-heading">New room</h2>
        <form class="stack" onSubmit={submitNewRoom} aria-labelledby="room-create-heading" noValidate>
          <input
            data-testid="room-create-name"
            placeholder="Room name"
            aria-label="Room name"
            value={newName}
            onInput={(e) => {
              setNewName(e.currentTarget.value);
              setCreateErrors({ ...createErrors, name: undefined });
            }}
            aria-invalid={nameError ? 'true' : undefined}
            aria-describedby={nameError ? 'room-create-name-error' : undefined}
          />
          <FieldError text={nameError} id="room-create-name-error" testId="room-create-name-error" />
          <textarea
            data-testid="room-create-description"
            placeholder="Description (optional)"
            aria-label="Description (optional)"
            rows={2}
            value={newDescription}
            onInput={(e) => {
              setNewDescription(e.currentTarget.value);
              setCreateErrors({ ...createErrors, description: undefined });
            }}
            aria-invalid={descriptionError ? 'true' : undefined}
            aria-describedby={descriptionError ? 'room-create-description-error' : undefined}
          />
          <FieldError text={descriptionError} id="room-create-description-error" testId="room-create-description-error" />
          <div class="inline">
            <select data-testid="room-create-privacy" aria-label="Who may join the new room" value={newPrivacy} onChange={(e) => setNewPrivacy(e.currentTarget.value as Privacy)}>
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
            onBack={backToList}
            onLeave={leaveRoom}
            onDelete={deleteRoom}
          />
        ) : (
          <p class="placeholder">Pick a room on the left, or create one.</p>
        )}
      </div>
    </div>
  );
}

/** What is wrong with a field, said next to it (linked by `aria-describedby`); nothing when nothing is. */
function FieldError({ text, id, testId }: { text: string | undefined; id: string; testId: string }) {
  if (!text) return null;
  return (
    <p class="error field-error" id={id} role="alert" data-testid={testId}>
      {text}
    </p>
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
  onBack,
  onLeave,
  onDelete,
}: {
  session: Session;
  room: RoomSummary;
  joined?: JoinAnswer;
  visible: boolean;
  onRead: (seq: number) => Promise<void>;
  onJoined: (room: RoomSummary) => void;
  onBack: () => void;
  onLeave: (room: RoomSummary) => Promise<void>;
  onDelete: (room: RoomSummary) => Promise<void>;
}) {
  const { client, me } = session;
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [cursor, setCursor] = useState<string>();
  const [role, setRole] = useState<string>();
  const [details, setDetails] = useState<RoomSummary>(room);
  const [loaded, setLoaded] = useState(false);
  const [text, setText] = useState('');
  const [file, setFile] = useState<File>();
  const [fileProblem, setFileProblem] = useState<string>();
  // Why this user may not post here (a closed room they are not a member of, access taken away meanwhile): said
  // instead of a composer whose posts could only fail.
  const [denied, setDenied] = useState<string>();
  const attachButton = useRef<HTMLButtonElement>(null);
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
      let answer: JoinAnswer;
      try {
        // Opened from an invitation, the room was joined already.
        answer = joined ?? (await client.request('chat.join', { roomId: room.roomId }));
      } catch (failure) {
        const why = refusalText(failure, room);
        if (!why) throw failure;
        setDenied(why);
        return;
      }
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

  /** A chosen file is checked against the server's file limit (`chat.getserverinfo` `maxFileBytes`) before anything is uploaded. */
  const choose = async (chosen: File | undefined) => {
    setFileProblem(undefined);
    if (!chosen) return;
    const max = await maxFileBytes(client);
    if (chosen.size > max) {
      setFile(undefined);
      if (fileInput.current) fileInput.current.value = '';
      setFileProblem(`${chosen.name} is ${formatBytes(chosen.size)}: files can be at most ${formatBytes(max)}. Choose a smaller one.`);
      return;
    }
    setFile(chosen);
  };
  const removeFile = () => {
    setFile(undefined);
    setFileProblem(undefined);
    if (fileInput.current) fileInput.current.value = '';
    attachButton.current?.focus();
  };

  const send = (event: Event) => {
    event.preventDefault();
    const body = text.trim();
    if ((!body && !file) || tooLong || denied) return;
    void post.run(async () => {
      try {
        await postNow(body);
      } catch (failure) {
        // Access changed since the room was opened: the reason replaces the composer, not a raw error.
        const why = refusalText(failure, details);
        if (!why) throw failure;
        setDenied(why);
      }
    });
  };
  /** Uploads the pending file (if any), then posts; the message shows at once. */
  const postNow = async (body: string) => {
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
            <MessageText text={message.text} words={words} />
          </div>
        )}
        {message.file && !message.retracted && <FileLink session={session} file={message.file} />}
      </li>
    );
  };

  const isManager = role === 'manager';
  // An auditorium: only presenters post (managers included, SPEC); others read.
  const readOnly = denied ?? (role !== undefined && details.type === 'auditorium' && role !== 'presenter' ? 'Only presenters post in this room: you can read it.' : undefined);

  return (
    <div class="room-view" data-testid="room-view" data-room-id={room.roomId}>
      <div class="pane-header">
        <button class="back" data-testid="rooms-back" aria-label="Back to the list of rooms" onClick={onBack}>
          ← Rooms
        </button>
        <h2 data-testid="room-title">{details.name}</h2>
        <span class="muted small" data-testid="room-role" data-role={role}>
          {details.privacy} room{role ? ` · you are ${role === 'visitor' ? 'a visitor' : `a ${role}`}` : ''}
        </span>
        {loaded && !denied && (
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
        )}
      </div>
      <div class="room-top">
        <RoomDescription session={session} room={details} canEdit={isManager && !denied} onSaved={(description) => setDetails({ ...details, description })} />
        {loaded && <RoomActions room={details} canDelete={isManager} onLeave={() => onLeave(details)} onDelete={() => onDelete(details)} />}
        {isManager && !denied && <InviteForm session={session} roomId={room.roomId} />}
        {loaded && !denied && <OccupantsPanel session={session} roomId={room.roomId} ready={loaded} />}
        <ErrorLine error={load.error} testId="room-error" />
        <ErrorLine error={retracting.error} testId="room-retract-error" />
        <ErrorLine error={searching.error} testId="room-message-search-error" />
      </div>
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
      {(loaded || !denied) && (
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
      )}
      <ErrorLine error={older.error} testId="room-older-error" />
      {readOnly ? (
        <div class="notice denied" role="status" data-testid="room-denied">
          <p>{readOnly}</p>
          <button data-testid="room-denied-back" onClick={onBack}>
            Back to the room list
          </button>
        </div>
      ) : (
        <>
          <form class="composer" onSubmit={send}>
            <input
              data-testid="room-post-text"
              placeholder={`Message ${details.name}`}
              aria-label={`Message ${details.name}`}
              value={text}
              onInput={(e) => setText(e.currentTarget.value)}
              aria-invalid={tooLong ? 'true' : undefined}
              aria-describedby={tooLong ? 'room-post-limit' : fileProblem ? 'room-attach-problem' : undefined}
            />
            <button type="button" ref={attachButton} class="attach" data-testid="room-attach-button" aria-label="Attach a file" title="Attach a file" onClick={() => fileInput.current?.click()}>
              <Icon name="clip" />
            </button>
            <input ref={fileInput} type="file" hidden tabIndex={-1} aria-hidden="true" data-testid="room-attach" onChange={(e) => void choose(e.currentTarget.files?.[0])} />
            <button type="submit" class="primary" data-testid="room-post-submit" disabled={post.busy || tooLong !== undefined}>
              {post.busy ? 'Sending…' : 'Send'}
            </button>
          </form>
          {file && (
            <p class="small muted pending" data-testid="room-attachment-pending">
              <span>
                Attaching {file.name} ({formatBytes(file.size)})
              </span>
              <button type="button" class="link remove" data-testid="room-attachment-remove" aria-label={`Remove the attachment ${file.name}`} title="Remove the attachment" onClick={removeFile} disabled={post.busy}>
                ×
              </button>
            </p>
          )}
          <FieldError text={fileProblem} id="room-attach-problem" testId="room-attach-problem" />
          <LimitNote text={tooLong} testId="room-post-limit" id="room-post-limit" />
          <ErrorLine error={post.error} testId="room-post-error" />
        </>
      )}
    </div>
  );
}

/** Why a refusal means this user may not post here (403 Forbidden), in words; none for any other failure. */
function refusalText(failure: unknown, room: RoomSummary): string | undefined {
  if (!(failure instanceof UcError) || failure.status !== 403 || failure.code !== 'Forbidden') return undefined;
  if (room.type === 'auditorium') return 'Only presenters post in this room.';
  return 'This room is closed: only its members can post. Ask a manager to add you.';
}

/** A message's text with its http and https addresses as links (linkify.ts), searched words marked; text nodes only, never HTML. */
function MessageText({ text, words }: { text: string; words?: ReadonlySet<string> | undefined }) {
  return (
    <>
      {linkify(text).map((part, index) =>
        part.kind === 'link' ? (
          <a key={index} href={part.href} target="_blank" rel="noopener noreferrer" data-testid="message-link">
            {part.text}
          </a>
        ) : (
          <span key={index}>{words ? highlighted(part.text, words) : part.text}</span>
        ),
      )}
    </>
  );
}

/** The room's description; managers edit it in place (`room.update`), checked against its limit before sending. */
function RoomDescription({ session, room, canEdit, onSaved }: { session: Session; room: RoomSummary; canEdit: boolean; onSaved: (description: string) => void }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(room.description);
  const { error, busy, run, clear } = useAction();
  const editButton = useRef<HTMLButtonElement>(null);
  const field = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (editing) field.current?.focus();
  }, [editing]);
  const tooLong = limitText(text.length, MAX_ROOM_DESCRIPTION_CHARS, 'characters', 'description');
  const stop = () => {
    setEditing(false);
    clear();
    requestAnimationFrame(() => editButton.current?.focus());
  };
  const save = (event: Event) => {
    event.preventDefault();
    if (tooLong) return;
    void run(async () => {
      await session.client.request('room.update', { roomId: room.roomId, description: text });
      onSaved(text);
      stop();
    });
  };
  if (editing) {
    return (
      <form class="stack description-form" onSubmit={save} onKeyDown={(event) => event.key === 'Escape' && stop()}>
        <textarea
          data-testid="room-description-text"
          aria-label={`Description of ${room.name}`}
          rows={3}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          aria-invalid={tooLong ? 'true' : undefined}
          aria-describedby={tooLong ? 'room-description-limit' : undefined}
          ref={field}
        />
        <FieldError text={tooLong} id="room-description-limit" testId="room-description-limit" />
        <div class="inline">
          <button type="submit" class="primary" data-testid="room-description-save" disabled={busy || tooLong !== undefined}>
            {busy ? 'Saving…' : 'Save'}
          </button>
          <button type="button" data-testid="room-description-cancel" onClick={stop}>
            Cancel
          </button>
        </div>
        <ErrorLine error={error} testId="room-description-error" />
      </form>
    );
  }
  return (
    <div class="description">
      {room.description ? (
        <p class="muted" data-testid="room-description">
          {room.description}
        </p>
      ) : (
        canEdit && <p class="muted small">No description yet.</p>
      )}
      {canEdit && (
        <button
          ref={editButton}
          class="link"
          data-testid="room-description-edit"
          onClick={() => {
            setText(room.description);
            setEditing(true);
          }}
        >
          Edit description
        </button>
      )}
    </div>
  );
}


/**
 * Leave (`chat.part`, anyone who follows the room) and, for managers, Delete (`room.delete`): each asks first, in
 * place; Cancel (or Escape) keeps the room.
 */
function RoomActions({ room, canDelete, onLeave, onDelete }: { room: RoomSummary; canDelete: boolean; onLeave: () => Promise<void>; onDelete: () => Promise<void> }) {
  const [asking, setAsking] = useState<'leave' | 'delete'>();
  const { error, busy, run, clear } = useAction();
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) cancel.current?.focus();
  }, [asking]);
  const stop = () => {
    setAsking(undefined);
    clear();
  };
  if (asking) {
    const leave = asking === 'leave';
    return (
      <div class="confirm" role="group" aria-labelledby="room-confirm-question" data-testid="room-confirm" data-asking={asking} onKeyDown={(event) => event.key === 'Escape' && stop()}>
        <p id="room-confirm-question">
          {leave
            ? `Leave ${room.name}? Its messages stop coming here and it leaves your rooms; you can find it again under Find rooms.`
            : `Delete ${room.name} for everyone? Its messages go with it, and this cannot be undone.`}
        </p>
        <div class="inline">
          <button class="danger" data-testid="room-confirm-yes" disabled={busy} onClick={() => void run(leave ? onLeave : onDelete)}>
            {busy ? (leave ? 'Leaving…' : 'Deleting…') : leave ? 'Leave the room' : 'Delete the room'}
          </button>
          <button ref={cancel} data-testid="room-confirm-cancel" onClick={stop}>
            Cancel
          </button>
        </div>
        <ErrorLine error={error} testId="room-confirm-error" />
      </div>
    );
  }
  return (
    <div class="inline room-actions">
      <button class="link" data-testid="room-leave" onClick={() => setAsking('leave')}>
        Leave room
      </button>
      {canDelete && (
        <button class="link danger" data-testid="room-delete" onClick={() => setAsking('delete')}>
          Delete room
        </button>
      )}
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
  // "Invited bob." is news for a moment: it goes after a few seconds, or as soon as the next invite is typed.
  useEffect(() => {
    if (!outcome) return;
    const timer = setTimeout(() => setOutcome(undefined), INVITE_OUTCOME_MS);
    return () => clearTimeout(timer);
  }, [outcome]);

  const invite = (event: Event) => {
    event.preventDefault();
    const uris = [...new Set(input.split(/[\s,;]+/).filter(Boolean).map(toSipUri))];
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
          onInput={(e) => {
            setInput(e.currentTarget.value);
            setOutcome(undefined);
          }}
          required
        />
        <button type="submit" data-testid="room-invite-submit" disabled={busy}>
          Invite
        </button>
      </form>
      {outcome && (
        <p class="small muted" role="status" data-testid="room-invite-result">
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
