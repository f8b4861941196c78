import type { Identity } from './auth/identity';

/** Time, so rules are tested with a fake clock. Milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

/** A WebSocket connection (endpoint) of a user, as stored at `$connect`. */
export interface ConnectionRecord extends Identity {
  readonly connectionId: string;
  readonly connectedAt: number;
  /** When the record is no longer trusted (API Gateway's 2-hour limit); TTL removes it days later. */
  readonly expiresAt: number;
}

/**
 * How long after it connected a connection's 410 GoneException may mean "not open yet" rather than "gone": its
 * `$connect` may run until API Gateway's 29-second integration timeout, and API Gateway answers 410 until it returns.
 */
export const CONNECTING_GRACE_MS = 30_000;

/** Where connections are recorded: by id, and by user for delivery to every endpoint of a user. */
export interface ConnectionStore {
  put(record: ConnectionRecord): Promise<void>;
  get(connectionId: string): Promise<ConnectionRecord | undefined>;
  delete(connectionId: string): Promise<void>;
  /**
   * Removes a connection the management API answered 410 GoneException for, unless it connected less than
   * `CONNECTING_GRACE_MS` ago: API Gateway answers 410 for a connection until its `$connect` has returned, and
   * `$connect` records it before that, so a fan-out in between meets a live connection that is not open yet.
   * False when it was kept (connecting, or no record).
   */
  removeGone(connectionId: string): Promise<boolean>;
  /** The user's live connections (expired records are left out). */
  listByUser(uri: string): Promise<ConnectionRecord[]>;
  /** The connection ids of many users at once, for fan-out (a gone one is found and removed on post). */
  connectionIdsOf(uris: readonly string[]): Promise<string[]>;
}

export interface ConnectionStatus {
  readonly connectedAt: number;
  readonly lastActiveAt: number;
}

/** The WebSocket API's management side (`@connections`). */
export interface Connections {
  /** Sends one frame; `gone` when the connection no longer exists (API Gateway's 410 GoneException). */
  post(connectionId: string, payload: unknown): Promise<'delivered' | 'gone'>;
  /** Undefined when the connection is gone. */
  status(connectionId: string): Promise<ConnectionStatus | undefined>;
  disconnect(connectionId: string): Promise<void>;
}

/** A one-time timer: a hint that `rule` may hold for `subject` at `at`, for the subject's `version`. */
export interface TimerRequest {
  readonly rule: string;
  readonly subject: string;
  readonly version: number;
  /** Epoch milliseconds; timers fire to the second, never early. */
  readonly at: number;
}

/** What a timer delivers to the timer function when it fires. */
export interface TimerFiring {
  readonly rule: string;
  readonly subject: string;
  readonly version: number;
}

/** One-time timers per rule, subject and version (EventBridge Scheduler), and recurring jobs. */
export interface Timers {
  /** Creates the timer, or moves it to the new time if it exists. */
  arm(timer: TimerRequest): Promise<void>;
  /** Removes the timer; one already fired or never armed is fine. */
  cancel(timer: TimerFiring): Promise<void>;
  /** A recurring job every `periodSeconds` delivering `input` to the timer function (created or updated). */
  recurring(name: string, periodSeconds: number, input: TimerFiring): Promise<void>;
}

/** An event as a use case hands it to delivery: its name and payload, from the area's own event map (shared/<area>/events.ts). */
export type DomainEvent<Events> = { readonly [E in keyof Events]: { readonly event: E; readonly payload: Events[E] } }[keyof Events];

export interface DeliveryReport {
  readonly delivered: number;
  /** Connections found gone and removed from the store. */
  readonly removed: number;
  readonly failed: number;
}

/**
 * Pushes an area's events to connections. The use cases speak only their own events; the wire envelope is
 * built behind this port (shared/connections/delivery.ts).
 */
export interface EventDelivery<Events> {
  toConnections(connectionIds: readonly string[], event: DomainEvent<Events>): Promise<DeliveryReport>;
  /** Every connection of every listed user, optionally skipping the sender's own connection. */
  toUsers(uris: readonly string[], event: DomainEvent<Events>, exceptConnectionId?: string): Promise<DeliveryReport>;
}

/** A message queue (SQS). Bodies are JSON. */
export interface Queue {
  send(body: unknown): Promise<void>;
  /** Sends all, in as few requests as the service allows; rejects if any could not be sent. */
  sendBatch(bodies: readonly unknown[]): Promise<void>;
}
