import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { ChatMessage, FileView, RoomSummary } from '../../client/src';
import type { Session } from './session';
import { ErrorLine, formatBytes, formatTime, Icon, useAction, useClientEvent } from './ui';

/** Persistent chat: my rooms, search, create, and one open room. */
export function Rooms({ session }: { session: Session }) {
  const { client } = session;
  const [mine, setMine] = useState<RoomSummary[]>([]);
  const [query, setQuery] = useState('');
  const [found, setFound] = useState<RoomSummary[]>();
  const [openRoom, setOpenRoom] = useState<RoomSummary>();
  const [unread, setUnread] = useState<Record<string, number>>({});
  const [newName, setNewName] = useState('');
  const [newPrivacy, setNewPrivacy] = useState<'open' | 'closed'>('open');
  const list = useAction();
  const create = useAction();

  // My rooms: those I am a member of, and those I follow from here (an open room joined as a visitor).
  const followed = useRef(new Map<string, RoomSummary>());
  const loadMine = () =>
    list.run(async () => {
      const { rooms } = await client.request('chat.getassociations', {});
      const members = new Set(rooms.map((room) => room.roomId));
      setMine([...rooms, ...[...followed.current.values()].filter((room) => !members.has(room.roomId))].sort((a, b) => a.name.localeCompare(b.name)));
    });
  const search = (text: string) => list.run(async () => setFound((await client.request('chat.chansrch', { query: text })).rooms));

  useEffect(() => {
    void loadMine();
    void search('');
  }, [client]);

  useClientEvent(client, 'chat.message', (message) => {
    if (message.roomId !== openRoom?.roomId) setUnread((current) => ({ ...current, [message.roomId]: (current[message.roomId] ?? 0) + 1 }));
  });
  useClientEvent(client, 'chat.invitation', () => void loadMine());

  const open = (room: RoomSummary) => {
    setOpenRoom(room);
    setUnread((current) => ({ ...current, [room.roomId]: 0 }));
  };

  const createRoom = (event: Event) => {
    event.preventDefault();
    void create.run(async () => {
      const name = newName.trim();
      const { roomId } = await client.request('room.create', { name, privacy: newPrivacy });
      setNewName('');
      open({ roomId, name, description: '', category: 'general', privacy: newPrivacy });
      await loadMine();
    });
  };

  const roomButton = (room: RoomSummary, testId: string) => (
    <li key={room.roomId}>
      <button
        class={`room-item ${openRoom?.roomId === room.roomId ? 'active' : ''}`}
        data-testid={testId}
        data-room-id={room.roomId}
        data-name={room.name}
        onClick={() => open(room)}
      >
        <span class="room-name">{room.name}</span>
        <span class="muted small">{room.privacy}</span>
        {(unread[room.roomId] ?? 0) > 0 && <span class="count">{unread[room.roomId]}</span>}
      </button>
    </li>
  );

  return (
    <div class="split">
      <aside class="sidebar">
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
        <ul class="plain" data-testid="room-search-results">
          {found?.length === 0 && <li class="muted small">No rooms found.</li>}
          {found?.map((room) => roomButton(room, 'room-result'))}
        </ul>
        <ErrorLine error={list.error} testId="rooms-error" />
        <h2>New room</h2>
        <form class="stack" onSubmit={createRoom}>
          <input data-testid="room-create-name" placeholder="Room name" value={newName} onInput={(e) => setNewName(e.currentTarget.value)} required />
          <div class="inline">
            <select data-testid="room-create-privacy" value={newPrivacy} onChange={(e) => setNewPrivacy(e.currentTarget.value as 'open' | 'closed')}>
              <option value="open">Open: anyone joins</option>
              <option value="closed">Closed: members only</option>
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
            key={openRoom.roomId}
            session={session}
            room={openRoom}
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

/** One room: join (follow), the newest history page, "older" paging, live messages, post and attach. */
function RoomView({ session, room, onJoined }: { session: Session; room: RoomSummary; onJoined: (room: RoomSummary) => void }) {
  const { client, me } = session;
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [cursor, setCursor] = useState<string>();
  const [role, setRole] = useState<string>();
  const [details, setDetails] = useState<RoomSummary>(room);
  const [loaded, setLoaded] = useState(false);
  const [text, setText] = useState('');
  const [file, setFile] = useState<File>();
  const fileInput = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLOListElement>(null);
  const stickToBottom = useRef(true);
  const load = useAction();
  const post = useAction();
  const older = useAction();

  const merge = (incoming: readonly ChatMessage[]) =>
    setMessages((current) => {
      const bySeq = new Map(current.map((message) => [message.seq, message]));
      for (const message of incoming) bySeq.set(message.seq, message);
      return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    });

  useEffect(() => {
    void load.run(async () => {
      const joined = await client.request('chat.join', { roomId: room.roomId });
      setRole(joined.role);
      setDetails(joined.room);
      onJoined(joined.room);
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

  useLayoutEffect(() => {
    if (stickToBottom.current && list.current) list.current.scrollTop = list.current.scrollHeight;
    stickToBottom.current = false;
  }, [messages]);

  const loadOlder = () =>
    older.run(async () => {
      if (!cursor) return;
      const page = await client.request('chat.bccontext', { roomId: room.roomId, before: cursor });
      stickToBottom.current = false;
      merge(page.messages);
      setCursor(page.cursor);
    });

  const send = (event: Event) => {
    event.preventDefault();
    const body = text.trim();
    if (!body && !file) return;
    void post.run(async () => {
      let attached: FileView | undefined;
      if (file) {
        const uploaded = await client.uploadFile(room.roomId, { name: file.name, type: file.type, size: file.size, body: file });
        attached = { fileId: uploaded.fileId, name: file.name, size: file.size, contentType: file.type || 'application/octet-stream' };
      }
      const messageText = body || `Shared ${attached!.name}`;
      const answer = await client.post(room.roomId, messageText, attached ? { fileId: attached.fileId } : {});
      stickToBottom.current = true;
      merge([{ roomId: room.roomId, seq: answer.seq, messageId: answer.messageId, from: { uri: me.uri, name: me.name }, text: messageText, ts: answer.ts, ...(attached ? { fileId: attached.fileId, file: attached } : {}) }]);
      setText('');
      setFile(undefined);
      if (fileInput.current) fileInput.current.value = '';
    });
  };

  return (
    <div class="room-view" data-testid="room-view" data-room-id={room.roomId}>
      <div class="pane-header">
        <h2 data-testid="room-title">{details.name}</h2>
        <span class="muted small">
          {details.privacy} room{role ? ` · you are ${role === 'visitor' ? 'a visitor' : `a ${role}`}` : ''}
        </span>
      </div>
      {details.description && <p class="muted">{details.description}</p>}
      <ErrorLine error={load.error} testId="room-error" />
      <ol class="messages" ref={list} data-testid="room-messages" data-loaded={loaded ? 'yes' : 'no'}>
        {cursor && (
          <li class="older">
            <button data-testid="room-older" onClick={() => void loadOlder()} disabled={older.busy}>
              {older.busy ? 'Loading…' : 'Show older messages'}
            </button>
          </li>
        )}
        {loaded && !cursor && <li class="system small">Beginning of the room's history</li>}
        {messages.map((message) => (
          <li key={message.seq} class={`message ${message.from.uri === me.uri ? 'mine' : ''}`} data-testid="room-message" data-seq={message.seq}>
            <div class="meta">
              <strong data-testid="message-from">{message.from.name || message.from.uri}</strong>
              <span class="muted small">{formatTime(message.ts)}</span>
            </div>
            <div class="text" data-testid="message-text">
              {message.text}
            </div>
            {message.file && <FileLink session={session} file={message.file} />}
          </li>
        ))}
      </ol>
      <ErrorLine error={older.error} testId="room-older-error" />
      <form class="composer" onSubmit={send}>
        <input data-testid="room-post-text" placeholder={`Message ${details.name}`} value={text} onInput={(e) => setText(e.currentTarget.value)} maxLength={16384} />
        <label class="attach" title="Attach a file">
          <Icon name="clip" />
          <input ref={fileInput} type="file" data-testid="room-attach" onChange={(e) => setFile(e.currentTarget.files?.[0])} />
        </label>
        <button type="submit" class="primary" data-testid="room-post-submit" disabled={post.busy}>
          {post.busy ? 'Sending…' : 'Send'}
        </button>
      </form>
      {file && (
        <p class="small muted" data-testid="room-attachment-pending">
          Attaching {file.name} ({formatBytes(file.size)})
        </p>
      )}
      <ErrorLine error={post.error} testId="room-post-error" />
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
