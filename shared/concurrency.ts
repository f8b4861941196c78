/**
 * The one concurrency vocabulary of the use cases: "read, decide, write on condition, retry with backoff, then
 * this outcome" (`retryOnConflict`), and bounded parallelism (`inParallel`). One retry policy, tuned here.
 */

/** How optimistic writes are retried when another writer won the race. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** The first backoff's upper bound; each later one doubles, up to `maxDelayMs` (full jitter: 0..bound). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * Twelve attempts with full-jitter backoff from 2 ms to 64 ms (at most ~0.3 s of waiting in all): enough for a
 * meeting's join storm, where every joiner writes the same conference item, and short enough to answer 503 quickly
 * when a single item is hot beyond that.
 */
export const OPTIMISTIC_RETRY: RetryPolicy = { attempts: 12, baseDelayMs: 2, maxDelayMs: 64 };

/** What a step returns when its conditional write lost a race: read again and decide again. */
export const RETRY: unique symbol = Symbol('retry');
export type Retry = typeof RETRY;

/**
 * Runs `step` until it returns something other than `RETRY`, with backoff between attempts; when the policy's
 * attempts run out, throws `exhausted()` (typically a 503 `UnavailableError` naming what kept changing).
 * `step` re-reads the state itself on each attempt: nothing decided on a stale read is ever written.
 */
export async function retryOnConflict<T>(step: (attempt: number) => Promise<T | Retry>, exhausted: () => Error, policy: RetryPolicy = OPTIMISTIC_RETRY): Promise<T> {
  for (let attempt = 0; attempt < policy.attempts; attempt++) {
    if (attempt > 0) await backoff(attempt, policy);
    const outcome = await step(attempt);
    if (outcome !== RETRY) return outcome as T;
  }
  throw exhausted();
}

/**
 * Where the full jitter is drawn from, in [0, 1). Tests of lost races draw 0 here (test/support/no-backoff.ts) so
 * retries interleave without sleeping, rather than making `Math.random` constant for every library in the process.
 */
export const backoffJitter = { draw: (): number => Math.random() };

function backoff(attempt: number, policy: RetryPolicy): Promise<void> {
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const ms = backoffJitter.draw() * bound;
  return ms < 1 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `work` over `items` with at most `concurrency` at a time; results in the items' order. A rejection
 * rejects the whole (callers that must not stop on one failure catch inside `work`).
 */
export async function inParallel<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), items.length) }, worker));
  return results;
}
