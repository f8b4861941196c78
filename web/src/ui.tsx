import { useEffect, useRef, useState } from 'preact/hooks';
import type { Availability, ClientEventName, ClientEvents, CommandResult, UcClient } from '../../client/src';
import { sayError } from './words';
import { toSipUri } from './addresses';

/** What a failed command or request says to a person: a plain sentence (words.ts), never protocol text or a stack trace. */
export function errorText(error: unknown): string {
  return sayError(error);
}

/** An inline error line; nothing when there is no error. */
export function ErrorLine({ error, testId }: { error: string | undefined; testId: string }) {
  if (!error) return null;
  return (
    <p class="error" role="alert" data-testid={testId}>
      {error}
    </p>
  );
}

/** Runs an action, keeping its error for an ErrorLine instead of letting it escape. */
export function useAction(): { error: string | undefined; busy: boolean; run: (action: () => Promise<unknown>) => Promise<boolean>; clear: () => void } {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );
  const run = async (action: () => Promise<unknown>) => {
    setError(undefined);
    setBusy(true);
    try {
      await action();
      return true;
    } catch (failure) {
      if (mounted.current) setError(errorText(failure));
      return false;
    } finally {
      if (mounted.current) setBusy(false);
    }
  };
  return { error, busy, run, clear: () => setError(undefined) };
}

/** Listens to a client event for the component's life; the newest handler is always the one called. */
export function useClientEvent<E extends ClientEventName>(client: UcClient, event: E, handler: (payload: ClientEvents[E]) => void): void {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => {
    const off = client.on(event, (payload) => latest.current(payload));
    return () => {
      off();
    };
  }, [client, event]);
}

export { shortName } from './addresses';

export function formatTime(ts: number): string {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

export const AVAILABILITY_LABELS: Readonly<Record<Availability, string>> = {
  online: 'Available',
  busy: 'Busy',
  doNotDisturb: 'Do not disturb',
  beRightBack: 'Be right back',
  away: 'Away',
  offline: 'Offline',
};

export function PresenceDot({ availability }: { availability: Availability | undefined }) {
  const value = availability ?? 'offline';
  return <span class={`dot dot-${value}`} data-testid="presence-dot" data-availability={value} title={AVAILABILITY_LABELS[value]} />;
}

/** Small inline icons (no icon font, no emoji font needed). */
export function Icon({ name }: { name: 'clip' | 'file' | 'lock' }) {
  const paths = {
    clip: 'M16.5 6.5 8.6 14.4a2 2 0 0 0 2.8 2.8l8-8a4 4 0 0 0-5.7-5.6l-8 8a6 6 0 0 0 8.5 8.5l7.3-7.3',
    file: 'M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8zM14 3v5h5M9 13h6M9 17h6',
    lock: 'M7 11V8a5 5 0 0 1 10 0v3M6 11h12a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1v-8a1 1 0 0 1 1-1z',
  } as const;
  return (
    <svg class="icon" viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
      <path d={paths[name]} />
    </svg>
  );
}

/** The server's limits before `chat.getserverinfo` answers (or when it cannot): SPEC's defaults, in bytes of UTF-8. */
export const FALLBACK_MAX_MESSAGE_BYTES = 4000;
/** `conf.content.add` `body`: characters (the command's schema; not in `chat.getserverinfo`). */
export const MAX_CONTENT_CHARS = 4000;

/** SPEC's default file limit (CHAT_MAX_FILE_BYTES) until `chat.getserverinfo` answers. */
export const FALLBACK_MAX_FILE_BYTES = 10 * 1024 * 1024;

type ServerLimits = CommandResult<'chat.getserverinfo'>['limits'];
const serverLimits = new WeakMap<UcClient, Promise<ServerLimits | undefined>>();

/** `chat.getserverinfo`'s limits, asked once per client (connection) for every limit read from them; undefined if it failed. */
function limitsOf(client: UcClient): Promise<ServerLimits | undefined> {
  let asked = serverLimits.get(client);
  if (!asked) {
    asked = client.request('chat.getserverinfo', {}).then(
      (info) => info.limits,
      () => undefined,
    );
    serverLimits.set(client, asked);
  }
  return asked;
}

/** Most bytes of a chat or IM message's text: `chat.getserverinfo`'s `maxMessageBytes`. */
export async function maxMessageBytes(client: UcClient): Promise<number> {
  return (await limitsOf(client))?.maxMessageBytes ?? FALLBACK_MAX_MESSAGE_BYTES;
}

/** Most bytes of a file (`chat.getserverinfo` `limits.maxFileBytes`): a larger file is refused before uploading. */
export async function maxFileBytes(client: UcClient): Promise<number> {
  return (await limitsOf(client))?.maxFileBytes ?? FALLBACK_MAX_FILE_BYTES;
}

/** maxMessageBytes for a component: the fallback until the server has answered. */
export function useMaxMessageBytes(client: UcClient): number {
  const [max, setMax] = useState(FALLBACK_MAX_MESSAGE_BYTES);
  useEffect(() => {
    let current = true;
    void maxMessageBytes(client).then((value) => {
      if (current) setMax(value);
    });
    return () => {
      current = false;
    };
  }, [client]);
  return max;
}

const encoder = new TextEncoder();

/** The text's size as the server counts it: bytes of UTF-8. */
export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

/** What an over-long field says next to it, before anything is sent: "4,100 of 4,000 bytes: shorten the message". */
export function limitText(used: number, max: number, unit: 'bytes' | 'characters', what: 'message' | 'text' | 'description'): string | undefined {
  if (used <= max) return undefined;
  const count = (value: number) => value.toLocaleString('en-US');
  return `${count(used)} of ${count(max)} ${unit}: shorten the ${what}`;
}

/** The over-limit note next to a field; nothing while the text fits. */
export function LimitNote({ text, testId, id }: { text: string | undefined; testId: string; id: string }) {
  if (!text) return null;
  return (
    <p class="limit" id={id} role="status" aria-live="polite" data-testid={testId}>
      {text}
    </p>
  );
}

/** True while the browser tab is shown (`document.visibilityState`): read markers move only for what is seen. */
export function usePageVisible(): boolean {
  const [visible, setVisible] = useState(() => document.visibilityState === 'visible');
  useEffect(() => {
    const changed = () => setVisible(document.visibilityState === 'visible');
    document.addEventListener('visibilitychange', changed);
    return () => document.removeEventListener('visibilitychange', changed);
  }, []);
  return visible;
}

/** The users a message mentions: `@bob@contoso.com` or `@sip:bob@contoso.com` in its text, as SIP URIs. */
export function mentionsIn(text: string): string[] {
  const found = text.match(/(?:^|\s)@(?:sip:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g) ?? [];
  return [...new Set(found.map((token) => toSipUri(token.trim().slice(1))))];
}

/**
 * A message's actions ("Edit", "Retract") behind one button: a menu reachable by keyboard (Enter or Space opens it
 * on its first item, arrow keys move, Escape closes it back on the button). Nothing when no action applies.
 */
export function MessageMenu({ canEdit, canRetract, onEdit, onRetract, label }: { canEdit: boolean; canRetract: boolean; onEdit: () => void; onRetract: () => void; label: string }) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLUListElement>(null);
  useEffect(() => {
    if (open) menu.current?.querySelector<HTMLButtonElement>('[role="menuitem"]')?.focus();
  }, [open]);
  if (!canEdit && !canRetract) return null;
  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  const keys = (event: KeyboardEvent) => {
    const items = [...(menu.current?.querySelectorAll<HTMLButtonElement>('[role="menuitem"]') ?? [])];
    const at = items.indexOf(document.activeElement as HTMLButtonElement);
    if (event.key === 'Escape') {
      event.preventDefault();
      close();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      items[(at + (event.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length]?.focus();
    } else if (event.key === 'Tab') setOpen(false);
  };
  const choose = (action: () => void) => {
    setOpen(false);
    action();
  };
  return (
    <span class="message-menu" onKeyDown={keys}>
      <button ref={button} class="link menu-button" data-testid="message-menu" aria-haspopup="menu" aria-expanded={open} aria-label={label} title={label} onClick={() => setOpen(!open)}>
        ⋯
      </button>
      {open && (
        <ul class="menu" role="menu" ref={menu} aria-label={label}>
          {canEdit && (
            <li role="none">
              <button role="menuitem" data-testid="message-edit" onClick={() => choose(onEdit)}>
                Edit
              </button>
            </li>
          )}
          {canRetract && (
            <li role="none">
              <button role="menuitem" class="danger" data-testid="message-retract" onClick={() => choose(onRetract)}>
                Retract
              </button>
            </li>
          )}
        </ul>
      )}
    </span>
  );
}

/** Editing a message in place: Save sends the new text, Cancel (or Escape) keeps the old one. */
export function EditForm({ initial, maxBytes, onSave, onCancel }: { initial: string; maxBytes: number; onSave: (text: string) => Promise<unknown>; onCancel: () => void }) {
  const [text, setText] = useState(initial);
  const { error, busy, run } = useAction();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const tooLong = limitText(utf8Bytes(text.trim()), maxBytes, 'bytes', 'message');
  const submit = (event: Event) => {
    event.preventDefault();
    const body = text.trim();
    if (!body || tooLong) return;
    if (body === initial) {
      onCancel();
      return;
    }
    void run(() => onSave(body));
  };
  return (
    <form class="edit-form" data-testid="message-edit-form" onSubmit={submit} onKeyDown={(event) => event.key === 'Escape' && onCancel()}>
      <div class="inline">
        <input ref={input} data-testid="message-edit-text" aria-label="Edit the message" value={text} onInput={(e) => setText(e.currentTarget.value)} aria-invalid={tooLong ? 'true' : undefined} />
        <button type="submit" class="primary" data-testid="message-edit-save" disabled={busy || tooLong !== undefined}>
          Save
        </button>
        <button type="button" data-testid="message-edit-cancel" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <LimitNote text={tooLong} testId="message-edit-limit" id="message-edit-limit" />
      <ErrorLine error={error} testId="message-edit-error" />
    </form>
  );
}

/** "edited" after a changed message's time (the time of the change in its tooltip). */
export function EditedMark({ editedAt }: { editedAt: number | undefined }) {
  if (editedAt === undefined) return null;
  return (
    <span class="muted small edited" data-testid="message-edited" title={`Edited at ${formatTime(editedAt)}`}>
      (edited)
    </span>
  );
}

/** What is left of a retracted message. */
export function Tombstone() {
  return (
    <div class="text tombstone" data-testid="message-retracted">
      This message was retracted.
    </div>
  );
}

/** An unread count with a mention marker (`@`), said in words to a screen reader. */
export function UnreadBadge({ unread, mentions }: { unread: number; mentions: number }) {
  if (unread <= 0 && mentions <= 0) return null;
  const words = `${unread} unread${mentions > 0 ? `, ${mentions} mentioning you` : ''}`;
  return (
    <span class={`count ${mentions > 0 ? 'mention' : ''}`} data-testid="unread-badge" data-unread={unread} data-mentions={mentions} aria-label={words} title={words}>
      {mentions > 0 ? `@ ${unread}` : unread}
    </span>
  );
}
