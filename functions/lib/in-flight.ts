import { UnavailableError } from '../../shared/errors';

/**
 * The configured in-flight limit (SPEC §6 overload): commands running at once in this process. Over it, a
 * command is answered 503 with `retryAfterMs` and the client retries with its client id. On AWS one Lambda
 * instance runs one command at a time, so there the same bound is the functions' reserved concurrency;
 * the local cloud runs every command in one process, where this counter is the bound.
 */
let limit = Number.POSITIVE_INFINITY;
let inFlight = 0;

export const IN_FLIGHT_RETRY_AFTER_MS = 250;

export function configureInFlightLimit(maxInFlight: number): void {
  limit = maxInFlight;
}

/** Runs `work` if there is room, else refuses at once (nothing is written). */
export async function withinInFlightLimit<T>(work: () => Promise<T>): Promise<T> {
  if (inFlight >= limit) throw new UnavailableError(`over ${limit} commands in flight; retry with the same client id`, IN_FLIGHT_RETRY_AFTER_MS);
  inFlight++;
  try {
    return await work();
  } finally {
    inFlight--;
  }
}
