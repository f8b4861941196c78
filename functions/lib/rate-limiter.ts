import { systemClock } from '../../shared/adapters/clock';
import { processConfig } from './compose/config';
import { type CommandRateLimiter, TokenBucketRateLimiter } from '../../shared/rate-limit';

let limiter: CommandRateLimiter | undefined;

/**
 * This process's rate limiter, built from the configuration at the first command (the local cloud sets the
 * environment before it loads a handler). One per process: on AWS one per Lambda instance (docs/reliability.md).
 */
export function processRateLimiter(): CommandRateLimiter {
  if (limiter) return limiter;
  const config = processConfig();
  limiter = new TokenBucketRateLimiter(
    {
      perConnectionPerSecond: config.RATE_LIMIT_PER_CONNECTION,
      perUserPerSecond: config.RATE_LIMIT_PER_USER,
      burstSeconds: config.RATE_LIMIT_BURST_SECONDS,
      pingsPerConnectionPerSecond: config.RATE_LIMIT_PINGS_PER_CONNECTION,
    },
    systemClock,
  );
  return limiter;
}
