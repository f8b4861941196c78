import { useEffect, useState } from 'preact/hooks';
import { type TargetPresence, UcError } from '../../client/src';
import type { Session } from './session';
import { addressProblem, toSipUri } from './addresses';
import { PresenceWatch } from './presence-watch';
import { AVAILABILITY_LABELS, ErrorLine, PresenceDot, shortName, useAction, useClientEvent } from './ui';

/**
 * A `presence.subscribe` refused for a quota (docs/protocol.md, "Quotas"), said in plain words; any other error as it is.
 * The server's message names the quota and its number ("at most 200").
 */
function quotaInWords(error: unknown): unknown {
  if (!(error instanceof UcError)) return error;
  const limit = /at most (\d+)/.exec(error.message)?.[1] ?? 'a limited number of';
  if (error.message.includes('PRESENCE_MAX_TARGETS_PER_SUBSCRIPTION')) {
    return new Error(`Presence is shown for at most ${limit} contacts: remove a contact before adding another.`);
  }
  if (error.message.includes('PRESENCE_MAX_WATCHED_TARGETS_PER_USER')) {
    return new Error(`You already follow the presence of as many people as allowed (${limit}, over all your devices): remove a contact here or elsewhere first.`);
  }
  if (error.message.includes('PRESENCE_MAX_SUBSCRIPTIONS_PER_USER')) {
    return new Error(`Too many apps or tabs follow presence for you (at most ${limit} at once): close one, then try again.`);
  }
  return error;
}

function storageKey(uri: string): string {
  return `uc.contacts.${uri}`;
}

function loadContacts(uri: string): string[] {
  try {
    const stored = JSON.parse(localStorage.getItem(storageKey(uri)) ?? '[]') as unknown;
    return Array.isArray(stored) ? stored.filter((entry): entry is string => typeof entry === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Contacts (kept in this browser per user) with live presence from the page's presence subscription (presence-watch.ts,
 * shared with the IM header); "Message" starts an IM with one (`onStartIm`: the shell opens the IM tab on it).
 */
export function Contacts({ session, onStartIm }: { session: Session; onStartIm?: (uris: string[]) => void }) {
  const { client, me } = session;
  const [contacts, setContacts] = useState<string[]>(() => loadContacts(me.uri));
  const [presence, setPresence] = useState<Record<string, TargetPresence>>(() => Object.fromEntries(client.presence.all().map((target) => [target.uri, target])));
  const [input, setInput] = useState('');
  const [notice, setNotice] = useState<string>();
  const watch = PresenceWatch.of(session);
  const action = useAction();
  // A typed address that is not one, said next to the field before anything is sent.
  const [invalid, setInvalid] = useState<string>();

  const save = (next: string[]) => {
    setContacts(next);
    localStorage.setItem(storageKey(me.uri), JSON.stringify(next));
  };

  /** Watches the presence of these contacts too (the page's one subscription). */
  const subscribe = async (targets: string[]) => {
    try {
      await watch.watch(targets);
    } catch (error) {
      throw quotaInWords(error);
    }
  };

  // At sign-in: subscriptions kept from an earlier page come back with session.resume; subscribe the rest.
  useEffect(() => {
    const missing = contacts.filter((uri) => !watch.isWatched(uri));
    if (missing.length > 0) void action.run(() => subscribe(missing));
  }, [client]);

  useClientEvent(client, 'presence', (target) => setPresence((current) => ({ ...current, [target.uri]: target })));
  // The client library subscribes again to the targets of a subscription that ended unexpectedly: follow it.
  useClientEvent(client, 'presence.resubscribed', (event) => {
    if (event.subscriptionId === watch.subscriptionId || event.previousSubscriptionId === watch.subscriptionId) setNotice(undefined);
  });
  useClientEvent(client, 'presence.subscriptionState', (event) => {
    if (event.subscriptionId !== watch.subscriptionId) return;
    if (event.state === 'terminated') {
      setNotice('Presence updates stopped: starting them again.');
    } else {
      setNotice(event.state === 'terminating' ? 'Presence may be out of date: refreshing it.' : undefined);
    }
  });

  const add = (event: Event) => {
    event.preventDefault();
    const problem = addressProblem(input);
    setInvalid(problem);
    if (problem) return;
    const uri = toSipUri(input);
    if (uri === me.uri) {
      setInvalid('That is your own address: your presence is the one beside your name at the top.');
      return;
    }
    if (contacts.includes(uri)) {
      setInput('');
      return;
    }
    void action.run(async () => {
      await subscribe([uri]);
      save([...contacts, uri]);
      setInput('');
    });
  };

  return (
    <div class="narrow">
      <h2>Contacts</h2>
      <form class="inline" onSubmit={add}>
        <input
          data-testid="contact-add-uri"
          aria-label="Address of the contact to add"
          placeholder="bob@contoso.com"
          value={input}
          onInput={(e) => {
            setInput(e.currentTarget.value);
            setInvalid(undefined);
          }}
          aria-invalid={invalid ? 'true' : undefined}
          aria-describedby={invalid ? 'contact-add-invalid' : undefined}
          required
        />
        <button type="submit" class="primary" data-testid="contact-add-submit" disabled={action.busy}>
          Add contact
        </button>
      </form>
      {invalid && (
        <p class="error" id="contact-add-invalid" role="alert" data-testid="contacts-invalid">
          {invalid}
        </p>
      )}
      <ErrorLine error={action.error} testId="contacts-error" />
      {notice && (
        <p class="notice" data-testid="contacts-notice">
          {notice}
        </p>
      )}
      <ul class="plain contacts" data-testid="contact-list">
        {contacts.length === 0 && <li class="muted">No contacts yet: add someone by SIP URI to see their presence.</li>}
        {contacts.map((uri) => {
          const current = presence[uri]?.presence;
          return (
            <li key={uri} class="contact" data-testid="contact" data-uri={uri} data-availability={current?.availability ?? 'unknown'}>
              <PresenceDot availability={current?.availability} />
              <div class="who">
                <strong>{shortName(uri)}</strong>
                <span class="muted small">{uri}</span>
              </div>
              <div class="status">
                <span data-testid="contact-availability">{current ? AVAILABILITY_LABELS[current.availability] : 'Unknown'}</span>
                {current?.activity && <span class="muted small"> · {current.activity}</span>}
                {current?.note && (
                  <span class="note" data-testid="contact-note">
                    “{current.note}”
                  </span>
                )}
              </div>
              {onStartIm && (
                <button data-testid="contact-message" aria-label={`Send an instant message to ${shortName(uri)}`} onClick={() => onStartIm([uri])}>
                  Message
                </button>
              )}
              <button class="link" data-testid="contact-remove" aria-label={`Remove ${shortName(uri)} from contacts`} onClick={() => save(contacts.filter((entry) => entry !== uri))}>
                Remove
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
