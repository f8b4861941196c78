import { UcError } from './errors';
import { PresenceTracker } from './presence-tracker';
import type { CommandResults, ServerEvents, SubscriptionView, TerminationReason } from './protocol';
import type { ClientCore } from './requests';

/** `presence.subscribe` takes at most this many targets at once (a subscription holds more, added in steps). */
const MAX_TARGETS_PER_SUBSCRIBE = 50;

/** A presence subscription the client holds: what it watches, since when, and how often its line ended early. */
interface HeldSubscription {
  readonly targets: readonly string[];
  readonly since: number;
  readonly endings: number;
}

/**
 * Presence as this client holds it: the `PresenceTracker` fed from notifications and snapshots, a refresh when a
 * version jumps, and the subscriptions this client holds, subscribed again when one ends unexpectedly.
 */
export class PresenceSync {
  readonly tracker = new PresenceTracker();
  /** Subscriptions with a gap refresh in flight. */
  private readonly refreshing = new Set<string>();
  /** The presence subscriptions this client holds, to subscribe again to their targets if they end unexpectedly. */
  private readonly held = new Map<string, HeldSubscription>();
  /** The waits before subscribing again, each with what it does when it is over. */
  private readonly resubscribeTimers = new Map<ReturnType<typeof setTimeout>, () => void>();
  /**
   * The client gave up reconnecting (`maxAttempts`) and may start again (`reconnectNow()`): what would subscribe
   * again waits in `parked` for the connection instead of being dropped.
   */
  private suspended = false;
  /** Re-subscribes that wait for the connection to open again (after giving up), done by `reopened()`. */
  private readonly parked = new Set<() => void>();

  constructor(private readonly core: ClientCore) {}

  /** A `presence.notify`: emitted unless stale; a version jump refreshes the subscription. */
  notify(notify: ServerEvents['presence.notify']): void {
    const decision = this.tracker.notify(notify.subscriptionId, notify.uri, notify.presence, notify.version);
    if (decision.kind === 'stale' || (decision.kind === 'unknown' && !decision.changed)) return;
    this.core.events.emit('presence', { subscriptionId: notify.subscriptionId, uri: notify.uri, presence: notify.presence, version: notify.version });
    if (decision.kind !== 'gap') return;
    this.core.events.emit('presence.gap', { subscriptionId: notify.subscriptionId, uri: decision.uri, expected: decision.expected, received: decision.received });
    // One refresh at a time per subscription: its answer is a snapshot of every target (applied by `UcClient.afterAnswer`).
    if (this.refreshing.has(notify.subscriptionId)) return;
    this.refreshing.add(notify.subscriptionId);
    this.core.request('presence.refresh', { subscriptionId: notify.subscriptionId })
      .catch((error: unknown) => this.core.events.emit('error', { message: `could not refresh presence subscription ${notify.subscriptionId}`, cause: error }))
      .finally(() => this.refreshing.delete(notify.subscriptionId));
  }

  /** The answer to `presence.subscribe`: its snapshot, and the subscription held with its targets. */
  subscribed(view: CommandResults['presence.subscribe']): void {
    this.snapshots([view]);
    // An answer to added targets carries only those: the subscription watches them and the earlier ones.
    const earlier = this.held.get(view.subscriptionId)?.targets ?? [];
    if (view.state !== 'terminated') this.hold(view.subscriptionId, [...earlier, ...view.targets.map((target) => target.uri)]);
  }

  unsubscribed(subscriptionId: string): void {
    this.tracker.forget(subscriptionId);
    this.held.delete(subscriptionId);
  }

  /** Cancels the waits before subscribing again, and forgets those parked (the client closed for good: `close()`). */
  stop(): void {
    this.suspended = false;
    for (const timer of this.resubscribeTimers.keys()) clearTimeout(timer);
    this.resubscribeTimers.clear();
    this.parked.clear();
  }

  /**
   * The client gave up reconnecting: the subscriptions held are kept, and the waits before subscribing again are
   * parked (with those that end or fail meanwhile), to be done when the connection opens again (`reopened()`).
   */
  suspend(): void {
    this.suspended = true;
    for (const [timer, run] of this.resubscribeTimers) {
      clearTimeout(timer);
      this.parked.add(run);
    }
    this.resubscribeTimers.clear();
  }

  /** The connection is open (and resumed) again: the re-subscribes parked while it was given up are done now. */
  reopened(): void {
    this.suspended = false;
    const runs = [...this.parked];
    this.parked.clear();
    for (const run of runs) run();
  }

  /**
   * Applies snapshots; with `track`, also what they say of the subscriptions: an active one is attached to this
   * connection (this client holds it, with those targets), a terminated one this client held has ended.
   */
  snapshots(views: readonly SubscriptionView[], track = false): void {
    for (const view of views) {
      for (const target of this.tracker.snapshot(view)) this.core.events.emit('presence', { ...target, subscriptionId: view.subscriptionId });
      if (!track) continue;
      if (view.state !== 'terminated') this.hold(view.subscriptionId, view.targets.map((target) => target.uri));
      else if (this.held.has(view.subscriptionId)) this.ended(view.subscriptionId, view.reason);
    }
  }

  private hold(subscriptionId: string, targets: readonly string[]): void {
    const held = this.held.get(subscriptionId);
    this.held.set(subscriptionId, { targets: [...new Set(targets)], since: held?.since ?? Date.now(), endings: held?.endings ?? 0 });
  }

  /**
   * A subscription this client holds ended. Unless its owner ended it (`unsubscribed`), its targets are subscribed
   * again after a backoff that doubles while the replacements keep ending soon (the seed presence-connectivity-failures:
   * a subscription that terminates unexpectedly does not recover by itself).
   */
  ended(subscriptionId: string, reason: TerminationReason | undefined): void {
    const held = this.held.get(subscriptionId);
    this.held.delete(subscriptionId);
    if (!held || reason === 'unsubscribed' || this.core.options.resubscribe === false || this.closedForGood()) return;
    const settings = this.core.options.resubscribe ?? {};
    const maxDelayMs = settings.maxDelayMs ?? 60_000;
    // One that lived longer than the longest wait ended on its own account: start the backoff over.
    const endings = Date.now() - held.since > maxDelayMs ? 1 : held.endings + 1;
    const run = (tries: number): void => {
      if (this.core.state() === 'closed') {
        // Given up reconnecting: done when the connection is back. Closed for good: dropped.
        if (this.suspended) this.parked.add(() => run(tries));
        return;
      }
      this.subscribeAgain(subscriptionId, reason ?? 'expired', held.targets, endings).then(
        (done) => (done ? undefined : attempt(tries + 1)),
        (error: unknown) => {
          this.core.events.emit('error', { message: `could not subscribe again to the targets of presence subscription ${subscriptionId}`, cause: error });
          // A refusal (403, 400) will not change by waiting; anything else (503, a drop, a timeout) is tried again.
          if (error instanceof UcError && error.status >= 400 && error.status < 500 && error.status !== 429) return;
          attempt(tries + 1);
        },
      );
    };
    const attempt = (tries: number): void => {
      if (this.closedForGood()) return;
      const base = Math.min(maxDelayMs, (settings.initialDelayMs ?? 1000) * 2 ** (endings + tries - 1));
      const timer = setTimeout(
        () => {
          this.resubscribeTimers.delete(timer);
          run(tries);
        },
        base / 2 + Math.random() * (base / 2),
      );
      this.resubscribeTimers.set(timer, () => run(tries));
    };
    attempt(0);
  }

  /** Closed by `close()`, not given up (`suspend()`): nothing is subscribed again. */
  private closedForGood(): boolean {
    return this.core.state() === 'closed' && !this.suspended;
  }

  /** A new subscription on the targets of one that ended (50 targets a command); false if it answered terminated. */
  private async subscribeAgain(previousSubscriptionId: string, reason: TerminationReason, targets: readonly string[], endings: number): Promise<boolean> {
    const first = await this.core.request('presence.subscribe', { targets: targets.slice(0, MAX_TARGETS_PER_SUBSCRIBE) });
    if (first.state === 'terminated') return false;
    // Held with every target from now on, so that if it ends too, all of them are subscribed again.
    this.held.set(first.subscriptionId, { targets, since: Date.now(), endings });
    for (let start = MAX_TARGETS_PER_SUBSCRIBE; start < targets.length; start += MAX_TARGETS_PER_SUBSCRIBE) {
      const chunk = targets.slice(start, start + MAX_TARGETS_PER_SUBSCRIBE);
      // Not a reason to subscribe anew (that would make two): the rest of the targets are reported and go on.
      await this.core.request('presence.subscribe', { subscriptionId: first.subscriptionId, targets: chunk }).catch((error: unknown) =>
        this.core.events.emit('error', { message: `could not add ${chunk.length} targets to presence subscription ${first.subscriptionId}`, cause: error }),
      );
    }
    this.core.events.emit('presence.resubscribed', { previousSubscriptionId, subscriptionId: first.subscriptionId, reason, targets: [...targets] });
    return true;
  }
}
