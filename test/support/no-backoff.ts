import { backoffJitter } from '../../shared/concurrency';

/**
 * Retries without waiting: `retryOnConflict` draws its full-jitter backoff from `backoffJitter`, and a draw of 0
 * resolves at once, so a test of lost races runs in milliseconds (the policy's attempts are unchanged). Only the
 * backoff's draw is stubbed: a constant `Math.random` made source-map's quicksort recurse without end when jest
 * mapped a stack trace (a "Maximum call stack size exceeded" that failed a suite at random).
 */
export function withoutBackoff(): void {
  let draw: jest.SpyInstance<number, []>;
  beforeEach(() => {
    draw = jest.spyOn(backoffJitter, 'draw').mockReturnValue(0);
  });
  afterEach(() => draw.mockRestore());
}
