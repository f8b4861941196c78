/** A command answered with an error status. */
export class UcError extends Error {
  constructor(
    readonly action: string,
    readonly status: number,
    readonly code: string,
    /** The server's own message, e.g. "field 'text': must not be empty". */
    readonly serverMessage: string,
    readonly field?: string,
    readonly retryAfterMs?: number,
  ) {
    super(`${action}: ${status} ${code}: ${serverMessage}`);
    this.name = 'UcError';
  }
}

/** The connection closed before a command that cannot be safely re-sent was answered. */
export class ConnectionLostError extends Error {
  constructor(readonly action: string) {
    super(`${action}: the connection closed before the answer; it may or may not have been done`);
    this.name = 'ConnectionLostError';
  }
}