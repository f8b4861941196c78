import type { ActiveSubscription, Presence, SubscriptionView, TargetPresence } from './protocol';

/** What one `presence.notify` means for the client (docs/protocol.md, "Ordering and gaps"). */
export type NotifyDecision =
  /** `version = held + 1`: the next change of that target; apply it. */
  | { readonly kind: 'apply' }
  /** `version` not above the one held: older than what a snapshot or another notification already gave; drop it. */
  | { readonly kind: 'stale' }
  /** `version > held + 1`: a change of that target was missed; refresh the subscription. The notify itself is applied. */
  | { readonly kind: 'gap'; readonly uri: string; readonly expected: number; readonly received: number }
  /** A target no subscription of this client has a snapshot of yet (e.g. before its subscribe answer): applied if newer. */
  | { readonly kind: 'unknown'; readonly changed: boolean };

/**
 * The client's view of presence: per target the newest `version` (SPEC §5: it rises by exactly one per change of the
 * target's presence, and every change is notified to every subscription watching the target, so a jump means a
 * missed change), and which targets each subscription watches. Pure: the client asks it what a notification means
 * and does the refresh itself.
 */
export class PresenceTracker {
  private readonly targets = new Map<string, TargetPresence>();
  /** The targets each held subscription has a snapshot of: only their versions are a baseline for gaps. */
  private readonly watched = new Map<string, Set<string>>();

  /** The newest presence held for `uri`. */
  get(uri: string): TargetPresence | undefined {
    return this.targets.get(uri);
  }

  all(): TargetPresence[] {
    return [...this.targets.values()];
  }

  /** The targets a subscription has a snapshot of (undefined for one this client does not hold). */
  watchedBy(subscriptionId: string): string[] | undefined {
    const uris = this.watched.get(subscriptionId);
    return uris ? [...uris] : undefined;
  }

  /** Applies a snapshot (subscribe, refresh or resume answer); returns the targets whose presence changed. */
  snapshot(view: SubscriptionView): TargetPresence[] {
    if (view.state === 'terminated') {
      this.forget(view.subscriptionId);
      return [];
    }
    const active: ActiveSubscription = view;
    const uris = this.watched.get(active.subscriptionId) ?? new Set<string>();
    for (const target of active.targets) uris.add(target.uri);
    this.watched.set(active.subscriptionId, uris);
    // A snapshot older than what was seen keeps the newer (crossing answers and notifications cannot go back).
    return active.targets.filter((target) => this.apply(target.uri, target.presence, target.version));
  }

  notify(subscriptionId: string, uri: string, presence: Presence, version: number): NotifyDecision {
    const held = this.targets.get(uri);
    if (!held || !this.isBaseline(uri)) {
      const changed = this.apply(uri, presence, version);
      // The subscription watches it from now on: later notifications are checked against this version.
      if (this.watched.has(subscriptionId)) this.watched.get(subscriptionId)!.add(uri);
      return { kind: 'unknown', changed };
    }
    if (version <= held.version) return { kind: 'stale' };
    this.apply(uri, presence, version);
    return version === held.version + 1 ? { kind: 'apply' } : { kind: 'gap', uri, expected: held.version + 1, received: version };
  }

  /** The subscription ended or was dropped: its targets' versions are no longer a baseline unless another one watches them. */
  forget(subscriptionId: string): void {
    this.watched.delete(subscriptionId);
  }

  private isBaseline(uri: string): boolean {
    for (const uris of this.watched.values()) if (uris.has(uri)) return true;
    return false;
  }

  /** Keeps the presence only when its version is newer than the one held. */
  private apply(uri: string, presence: Presence, version: number): boolean {
    const held = this.targets.get(uri);
    if (held && held.version >= version) return false;
    this.targets.set(uri, { uri, presence, version });
    return true;
  }
}
