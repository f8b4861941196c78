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

/** Where connections are recorded: by id, and by user for delivery to every endpoint of a user. */
export interface ConnectionStore {
  put(record: ConnectionRecord): Promise<void>;
  get(connectionId: string): Promise<ConnectionRecord | undefined>;
  delete(connectionId: string): Promise<void>;
  /** The user's live connections (expired records are left out). */
  listByUser(uri: string): Promise<ConnectionRecord[]>;
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
