import type { ActiveSubscription, Presence, SubscriptionView, TargetPresence } from './protocol';

/** What one `presence.notify` means for the client (docs/protocol.md, "Ordering and gaps"). */
export type NotifyDecision =
  /** `seq = last + 1`: apply it (`changed` false when the target's version was not newer). */
  | { readonly kind: 'apply'; readonly changed: boolean }
  /** `seq` not above the last one: older than a snapshot already held; drop it. */
  | { readonly kind: 'stale' }
  /** `seq > last + 1`: notifications were missed; refresh the subscription. The notify itself is applied. */
  | { readonly kind: 'gap'; readonly expected: number; readonly received: number; readonly changed: boolean }
  /** A subscription this client does not hold (e.g. before its subscribe answer arrived): versions decide. */
  | { readonly kind: 'unknown'; readonly changed: boolean };

/**
 * The client's view of presence: per subscription the last `seq`, per target the newest `version`. Pure: the
 * client asks it what a notification means and does the refresh itself.
 */
export class PresenceTracker {
  private readonly lastSeq = new Map<string, number>();
  private readonly targets = new Map<string, TargetPresence>();

  /** The newest presence held for `uri`. */
  get(uri: string): TargetPresence | undefined {
    return this.targets.get(uri);
  }

  all(): TargetPresence[] {
    return [...this.targets.values()];
  }

  subscriptionSeq(subscriptionId: string): number | undefined {
    return this.lastSeq.get(subscriptionId);
  }

  /** Applies a snapshot (subscribe, refresh or resume answer); returns the targets whose presence changed. */
  snapshot(view: SubscriptionView): TargetPresence[] {
    if (view.state === 'terminated') {
      this.lastSeq.delete(view.subscriptionId);
      return [];
    }
    const active: ActiveSubscription = view;
    // A snapshot's seq is the number to continue from; one that is older than what was seen keeps the newer.
    this.lastSeq.set(active.subscriptionId, Math.max(active.seq, this.lastSeq.get(active.subscriptionId) ?? 0));
    return active.targets.filter((target) => this.apply(target.uri, target.presence, target.version));
  }

  notify(subscriptionId: string, seq: number, uri: string, presence: Presence, version: number): NotifyDecision {
    const last = this.lastSeq.get(subscriptionId);
    if (last === undefined) return { kind: 'unknown', changed: this.apply(uri, presence, version) };
    if (seq <= last) return { kind: 'stale' };
    this.lastSeq.set(subscriptionId, seq);
    const changed = this.apply(uri, presence, version);
    return seq === last + 1 ? { kind: 'apply', changed } : { kind: 'gap', expected: last + 1, received: seq, changed };
  }

  forget(subscriptionId: string): void {
    this.lastSeq.delete(subscriptionId);
  }

  /** Keeps the presence only when its version is newer than the one held: crossing notifications cannot go back. */
  private apply(uri: string, presence: Presence, version: number): boolean {
    const held = this.targets.get(uri);
    if (held && held.version >= version) return false;
    this.targets.set(uri, { uri, presence, version });
    return true;
  }
}
