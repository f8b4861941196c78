import { useEffect, useRef, useState } from 'preact/hooks';
import { type TargetPresence, UcError } from '../../client/src';
import type { Session } from './session';
import { AVAILABILITY_LABELS, ErrorLine, normalizeUri, PresenceDot, shortName, useAction, useClientEvent } from './ui';

const MAX_PER_SUBSCRIBE = 50;

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

/** Contacts (kept in this browser per user) with live presence from one `presence.subscribe` subscription. */
export function Contacts({ session }: { session: Session }) {
  const { client, me } = session;
  const [contacts, setContacts] = useState<string[]>(() => loadContacts(me.uri));
  const [presence, setPresence] = useState<Record<string, TargetPresence>>(() => Object.fromEntries(client.presence.all().map((target) => [target.uri, target])));
  const [input, setInput] = useState('');
  const [notice, setNotice] = useState<string>();
  const subscriptionId = useRef<string | undefined>(undefined);
  const action = useAction();

  const save = (next: string[]) => {
    setContacts(next);
    localStorage.setItem(storageKey(me.uri), JSON.stringify(next));
  };

  /** Adds targets to our subscription (a new one when there is none or it has ended). */
  const subscribe = async (targets: string[]) => {
    try {
      await subscribeChunks(targets);
    } catch (error) {
      throw quotaInWords(error);
    }
  };
  const subscribeChunks = async (targets: string[]) => {
    for (let start = 0; start < targets.length; start += MAX_PER_SUBSCRIBE) {
      const chunk = targets.slice(start, start + MAX_PER_SUBSCRIBE);
      try {
        const answer = await client.request('presence.subscribe', { targets: chunk, ...(subscriptionId.current ? { subscriptionId: subscriptionId.current } : {}) });
        // An ended subscription (a retry of one that terminated since) is no place for targets: start a new one.
        subscriptionId.current =
          answer.state === 'terminated' ? (await client.request('presence.subscribe', { targets: chunk })).subscriptionId : answer.subscriptionId;
      } catch (error) {
        if (!(error instanceof UcError) || !subscriptionId.current || (error.status !== 404 && error.status !== 410)) throw error;
        subscriptionId.current = undefined;
        subscriptionId.current = (await client.request('presence.subscribe', { targets: chunk })).subscriptionId;
      }
    }
  };

  // At sign-in: subscriptions kept from an earlier page come back with session.resume; subscribe the rest.
  useEffect(() => {
    const covered = new Set<string>();
    for (const view of session.resumed.presence.subscriptions) {
      if (view.state === 'terminated') continue;
      subscriptionId.current ??= view.subscriptionId;
      for (const target of view.targets) covered.add(target.uri);
    }
    const missing = contacts.filter((uri) => !covered.has(uri));
    if (missing.length > 0) void action.run(() => subscribe(missing));
  }, [client]);

  useClientEvent(client, 'presence', (target) => setPresence((current) => ({ ...current, [target.uri]: target })));
  // The client library subscribes again to the targets of a subscription that ended unexpectedly: follow it.
  useClientEvent(client, 'presence.resubscribed', (event) => {
    if (event.previousSubscriptionId !== subscriptionId.current) return;
    subscriptionId.current = event.subscriptionId;
    setNotice(undefined);
  });
  useClientEvent(client, 'presence.subscriptionState', (event) => {
    if (event.subscriptionId !== subscriptionId.current) return;
    if (event.state === 'terminated') {
      setNotice(`Presence subscription ended (${event.reason ?? 'unknown'}); subscribing again.`);
    } else {
      setNotice(event.state === 'terminating' ? `Presence may be out of date (${event.reason ?? 'refresh failing'})…` : undefined);
    }
  });

  const add = (event: Event) => {
    event.preventDefault();
    const uri = normalizeUri(input);
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
        <input data-testid="contact-add-uri" placeholder="sip:bob@contoso.com" value={input} onInput={(e) => setInput(e.currentTarget.value)} required />
        <button type="submit" class="primary" data-testid="contact-add-submit" disabled={action.busy}>
          Add contact
        </button>
      </form>
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
              <button class="link" data-testid="contact-remove" onClick={() => save(contacts.filter((entry) => entry !== uri))}>
                Remove
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
