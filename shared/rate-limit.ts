import { TooManyRequestsError } from './errors';
import type { Clock } from './ports';

/** A token bucket: `ratePerSecond` tokens flow in, at most `capacity` are held (the burst). */
export interface BucketPolicy {
  readonly ratePerSecond: number;
  readonly capacity: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets by key, in this process. A key not seen, or whose bucket has refilled, holds `capacity`
 * tokens, so full buckets are forgotten when the map grows: memory follows the keys active right now.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private sweepAbove: number;

  constructor(
    private readonly policy: BucketPolicy,
    private readonly clock: Clock,
    private readonly maxIdleKeys = 10_000,
  ) {
    if (!(policy.ratePerSecond > 0) || !(policy.capacity >= 1)) throw new RangeError('a bucket needs a positive rate and a capacity of at least 1');
    this.sweepAbove = maxIdleKeys;
  }

  /** Milliseconds until `key` holds one token: 0 means a command may run now. */
  waitMs(key: string): number {
    const tokens = this.tokensAt(key, this.clock.now());
    // The epsilon absorbs float noise (0.998 + 0.002 < 1), so waiting the answered time is always enough.
    const missing = 1 - tokens - 1e-9;
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.policy.ratePerSecond);
  }

  /** Takes one token; the caller has checked `waitMs(key) === 0`. */
  take(key: string): void {
    const now = this.clock.now();
    this.buckets.set(key, { tokens: this.tokensAt(key, now) - 1, at: now });
    if (this.buckets.size > this.sweepAbove) this.sweep(now);
  }

  get size(): number {
    return this.buckets.size;
  }

  private tokensAt(key: string, now: number): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return this.policy.capacity;
    // A clock that steps back refills nothing rather than draining the bucket.
    const elapsedMs = Math.max(0, now - bucket.at);
    return Math.min(this.policy.capacity, bucket.tokens + (elapsedMs * this.policy.ratePerSecond) / 1000);
  }

  private sweep(now: number): void {
    for (const key of this.buckets.keys()) {
      if (this.tokensAt(key, now) >= this.policy.capacity) this.buckets.delete(key);
    }
    // Keys still busy after a sweep stay; the next sweep waits until the map has doubled, so inserts stay O(1) amortized.
    this.sweepAbove = Math.max(this.maxIdleKeys, this.buckets.size * 2);
  }
}

export interface RateLimitSettings {
  /** Commands per second per connection, and per user over all their connections (in this process). */
  readonly perConnectionPerSecond: number;
  readonly perUserPerSecond: number;
  /** The bucket holds this many seconds' worth of commands: the burst a client may send at once. */
  readonly burstSeconds: number;
  /** `ping` (the keep-alive) has a bucket of its own per connection, so a limited client can still keep its connection;
   * default: no cap. */
  readonly pingsPerConnectionPerSecond?: number;
  /** Seconds' worth of pings the ping bucket holds (default `burstSeconds`). */
  readonly pingBurstSeconds?: number;
}

/** What makeCommandHandler asks before running a route. */
export interface CommandRateLimiter {
  /** Charges one command to the connection and the user, or throws TooManyRequestsError with `retryAfterMs`. */
  admit(connectionId: string, userUri: string): void;
  /** Charges one `ping` to the connection's own ping bucket, or throws TooManyRequestsError with `retryAfterMs`. */
  admitPing(connectionId: string): void;
}

/** Per-connection and per-user token buckets: a command runs only when both hold a token, and then takes one from each. */
export class TokenBucketRateLimiter implements CommandRateLimiter {
  private readonly connections: TokenBuckets;
  private readonly users: TokenBuckets;
  private readonly pings: TokenBuckets | undefined;

  constructor(settings: RateLimitSettings, clock: Clock) {
    const policy = (ratePerSecond: number, burstSeconds = settings.burstSeconds): BucketPolicy => ({
      ratePerSecond,
      capacity: Math.max(1, ratePerSecond * burstSeconds),
    });
    this.connections = new TokenBuckets(policy(settings.perConnectionPerSecond), clock);
    this.users = new TokenBuckets(policy(settings.perUserPerSecond), clock);
    const pingRate = settings.pingsPerConnectionPerSecond;
    this.pings = pingRate ? new TokenBuckets(policy(pingRate, settings.pingBurstSeconds), clock) : undefined;
  }

  admitPing(connectionId: string): void {
    if (!this.pings) return;
    const wait = this.pings.waitMs(connectionId);
    if (wait > 0) throw new TooManyRequestsError('too many pings from this connection; retry after retryAfterMs', wait);
    this.pings.take(connectionId);
  }

  admit(connectionId: string, userUri: string): void {
    const user = userUri.toLowerCase();
    // Check both before taking from either, so a refused command costs the client nothing.
    const connectionWait = this.connections.waitMs(connectionId);
    const userWait = this.users.waitMs(user);
    if (connectionWait > 0 || userWait > 0) {
      const scope = connectionWait >= userWait ? 'this connection' : 'this user';
      throw new TooManyRequestsError(`too many commands from ${scope}; retry after retryAfterMs`, Math.max(connectionWait, userWait));
    }
    this.connections.take(connectionId);
    this.users.take(user);
  }
}
