/**
 * The one error hierarchy. Each error carries the status and code of the envelope (SPEC §2);
 * `toErrorResponse` in shared/protocol/envelope.ts maps them to the client in one place.
 */
export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  /** Set on 429 and 503: when the client should retry. */
  readonly retryAfterMs?: number;
}

export class BadRequestError extends AppError {
  readonly status = 400;
  readonly code = 'BadRequest';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'BadRequestError';
  }
}

export class UnauthorizedError extends AppError {
  readonly status = 401;
  readonly code = 'Unauthorized';
  constructor(message = 'authentication required') {
    super(message);
    this.name = 'UnauthorizedError';
  }
}

export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly code = 'Forbidden';
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

export class NotFoundError extends AppError {
  readonly status = 404;
  readonly code = 'NotFound';
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends AppError {
  readonly status = 409;
  readonly code = 'Conflict';
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

export class GoneError extends AppError {
  readonly status = 410;
  readonly code = 'Gone';
  constructor(message: string) {
    super(message);
    this.name = 'GoneError';
  }
}

export class TooLargeError extends AppError {
  readonly status = 413;
  readonly code = 'TooLarge';
  constructor(message: string) {
    super(message);
    this.name = 'TooLargeError';
  }
}

/** A documented quota (followed rooms, rooms per user, files per room, pending invitations) is reached: the message names the limit and its value. */
export class QuotaExceededError extends AppError {
  readonly status = 403;
  readonly code = 'QuotaExceeded';
  constructor(
    readonly limit: string,
    readonly max: number,
    what: string,
  ) {
    super(`quota ${limit} (${max}) reached: ${what}`);
    this.name = 'QuotaExceededError';
  }
}

export class TooManyRequestsError extends AppError {
  readonly status = 429;
  readonly code = 'TooManyRequests';
  override readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super(message);
    this.name = 'TooManyRequestsError';
    this.retryAfterMs = retryAfterMs;
  }
}

export class UnavailableError extends AppError {
  readonly status = 503;
  readonly code = 'Unavailable';
  override readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnavailableError';
    this.retryAfterMs = retryAfterMs;
  }
}

/** What the client is told when a dependency fails after its client's own retries (a 503: retry as it is). */
export const DEPENDENCY_BUSY_MESSAGE = 'the service is busy; retry with the same client id';
/** The `retryAfterMs` of a dependency's 503. */
export const DEPENDENCY_RETRY_AFTER_MS = 500;

/**
 * A dependency (the table, Scheduler, SQS, S3, the management API) still failing after its client's retries
 * for a reason on its side: a 5xx, a timeout, a dropped connection. The command may be retried as it is.
 * The adapters translate the SDK's errors into this at the client (shared/adapters/aws-errors.ts); `cause`
 * keeps the original, for the log.
 */
export class DependencyUnavailableError extends UnavailableError {
  constructor(
    /** Which dependency: 'dynamodb', 'scheduler', 'sqs', 's3', 'management-api'. */
    readonly dependency: string,
    options: ErrorOptions & { readonly retryAfterMs?: number } = {},
  ) {
    super(DEPENDENCY_BUSY_MESSAGE, options.retryAfterMs ?? DEPENDENCY_RETRY_AFTER_MS, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DependencyUnavailableError';
  }
}

/** A dependency still asking us to slow down (throttling) after its client's retries. */
export class DependencyThrottledError extends DependencyUnavailableError {
  constructor(dependency: string, options: ErrorOptions & { readonly retryAfterMs?: number } = {}) {
    super(dependency, options);
    this.name = 'DependencyThrottledError';
  }
}
