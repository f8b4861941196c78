import { useEffect, useState } from 'preact/hooks';
import { type Presence, type UcClient, UcError } from '../../client/src';
import type { Session } from './session';

/** `presence.subscribe` takes at most this many targets at once. */
const MAX_PER_SUBSCRIBE = 50;

/**
 * The page's presence subscription, shared by Contacts and the IM header: one per client (connection), seeded with
 * the subscriptions `session.resume` re-attached, so a reload subscribes nothing it watches already; targets are
 * added to it 50 at a time, and a new one is made when it has ended. Requests go one after another, so two views
 * asking at once make one subscription, not two (each counts against PRESENCE_MAX_SUBSCRIPTIONS_PER_USER).
 */
export class PresenceWatch {
  private static readonly byClient = new WeakMap<UcClient, PresenceWatch>();

  static of(session: Session): PresenceWatch {
    let watch = PresenceWatch.byClient.get(session.client);
    if (!watch) {
      watch = new PresenceWatch(session);
      PresenceWatch.byClient.set(session.client, watch);
    }
    return watch;
  }

  /** The subscription targets are added to (undefined before the first one). */
  subscriptionId?: string;
  private readonly watched = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly client: UcClient;

  private constructor({ client, resumed }: Session) {
    this.client = client;
    for (const view of resumed.presence.subscriptions) {
      if (view.state === 'terminated') continue;
      this.subscriptionId ??= view.subscriptionId;
      for (const target of view.targets) this.watched.add(target.uri);
    }
    // The client library subscribes again to the targets of a subscription that ended unexpectedly: follow it.
    client.on('presence.resubscribed', (event) => {
      if (event.previousSubscriptionId === this.subscriptionId) this.subscriptionId = event.subscriptionId;
    });
  }

  isWatched(uri: string): boolean {
    return this.watched.has(uri);
  }

  /** Watches these people too (those not watched yet); rejects with the server's refusal (a quota: 403). */
  watch(uris: readonly string[]): Promise<void> {
    const run = this.queue.then(() => this.add(uris));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async add(uris: readonly string[]): Promise<void> {
    const missing = [...new Set(uris)].filter((uri) => !this.watched.has(uri));
    for (let start = 0; start < missing.length; start += MAX_PER_SUBSCRIBE) {
      const chunk = missing.slice(start, start + MAX_PER_SUBSCRIBE);
      await this.subscribe(chunk);
      for (const uri of chunk) this.watched.add(uri);
    }
  }

  private async subscribe(targets: string[]): Promise<void> {
    const fresh = async () => {
      this.subscriptionId = undefined;
      this.subscriptionId = (await this.client.request('presence.subscribe', { targets })).subscriptionId;
    };
    if (!this.subscriptionId) return fresh();
    try {
      const answer = await this.client.request('presence.subscribe', { targets, subscriptionId: this.subscriptionId });
      // An ended subscription (a retry of one that terminated since) is no place for targets: start a new one.
      if (answer.state === 'terminated') await fresh();
    } catch (error) {
      if (!(error instanceof UcError) || (error.status !== 404 && error.status !== 410)) throw error;
      await fresh();
    }
  }
}

/** The presence of these people as this client holds it, live (`presence` events of any subscription of the page). */
export function usePresenceOf(client: UcClient, uris: readonly string[]): Readonly<Record<string, Presence | undefined>> {
  const held = () => Object.fromEntries(uris.map((uri) => [uri, client.presence.get(uri)?.presence]));
  const [presence, setPresence] = useState<Record<string, Presence | undefined>>(held);
  const key = uris.join(' ');
  useEffect(() => {
    setPresence(held());
    return client.on('presence', (target) => {
      if (uris.includes(target.uri)) setPresence((current) => ({ ...current, [target.uri]: target.presence }));
    });
  }, [client, key]);
  return presence;
}
