import type { PresenceRecord } from './presence';
import type { Subscription, TerminationReason } from './subscription';

/** What the presence use cases push (docs/protocol.md), by event name: the payload beside `type` and `event`. */
export interface PresenceEvents {
  /** No `seq` (SPEC §5): every change of a user's aggregate is one version and is notified to every subscription watching them. */
  'presence.notify': { readonly subscriptionId: string; readonly uri: string } & PresenceRecord;
  /** `announce`: `reason` only when there is one, `expiresAt` unless terminated. */
  'presence.subscriptionState': Pick<Subscription, 'subscriptionId' | 'state'> & { readonly reason?: TerminationReason; readonly expiresAt?: number };
}
