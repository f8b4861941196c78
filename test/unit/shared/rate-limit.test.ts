import { TooManyRequestsError } from '../../../shared/errors';
import { TokenBucketRateLimiter, TokenBuckets } from '../../../shared/rate-limit';

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function refusal(admit: () => void): TooManyRequestsError {
  try {
    admit();
  } catch (error) {
    if (error instanceof TooManyRequestsError) return error;
    throw error;
  }
  throw new Error('expected a 429');
}

describe('TokenBuckets', () => {
  it('a new key holds the whole burst, then waits for the refill', () => {
    const clock = fakeClock();
    const buckets = new TokenBuckets({ ratePerSecond: 2, capacity: 3 }, clock);
    for (let n = 0; n < 3; n++) {
      expect(buckets.waitMs('k')).toBe(0);
      buckets.take('k');
    }
    expect(buckets.waitMs('k')).toBe(500);
    clock.advance(499);
    expect(buckets.waitMs('k')).toBe(1);
    clock.advance(1);
    expect(buckets.waitMs('k')).toBe(0);
  });

  it('refills at the rate but never above the capacity', () => {
    const clock = fakeClock();
    const buckets = new TokenBuckets({ ratePerSecond: 10, capacity: 2 }, clock);
    buckets.take('k');
    buckets.take('k');
    clock.advance(60_000);
    buckets.take('k');
    buckets.take('k');
    expect(buckets.waitMs('k')).toBe(100);
  });

  it('keys are independent', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, capacity: 1 }, fakeClock());
    buckets.take('a');
    expect(buckets.waitMs('a')).toBe(1000);
    expect(buckets.waitMs('b')).toBe(0);
  });

  it('a clock stepping back refills nothing and drains nothing', () => {
    const clock = fakeClock();
    const buckets = new TokenBuckets({ ratePerSecond: 1, capacity: 1 }, clock);
    buckets.take('k');
    clock.advance(-5_000);
    expect(buckets.waitMs('k')).toBe(1000);
  });

  it('forgets refilled buckets when the map grows, and keeps busy ones', () => {
    const clock = fakeClock();
    const buckets = new TokenBuckets({ ratePerSecond: 1, capacity: 1 }, clock, 100);
    for (let n = 0; n < 100; n++) buckets.take(`idle-${n}`);
    clock.advance(1_000);
    buckets.take('busy');
    expect(buckets.size).toBe(1);
    expect(buckets.waitMs('busy')).toBe(1000);
  });

  it('refuses a policy that could never admit', () => {
    expect(() => new TokenBuckets({ ratePerSecond: 0, capacity: 1 }, fakeClock())).toThrow(RangeError);
    expect(() => new TokenBuckets({ ratePerSecond: 1, capacity: 0.5 }, fakeClock())).toThrow(RangeError);
  });
});

describe('TokenBucketRateLimiter: per connection and per user', () => {
  it('refuses a connection over its burst with 429 and the wait, and admits it after that wait', () => {
    const clock = fakeClock();
    const limiter = new TokenBucketRateLimiter({ perConnectionPerSecond: 4, perUserPerSecond: 100, burstSeconds: 0.5 }, clock);
    limiter.admit('c1', 'sip:alice@contoso.com');
    limiter.admit('c1', 'sip:alice@contoso.com');
    const refused = refusal(() => limiter.admit('c1', 'sip:alice@contoso.com'));
    expect(refused).toMatchObject({ status: 429, code: 'TooManyRequests', retryAfterMs: 250 });
    expect(refused.message).toContain('this connection');
    clock.advance(refused.retryAfterMs);
    expect(() => limiter.admit('c1', 'sip:alice@contoso.com')).not.toThrow();
  });

  it('limits a user over all their connections, case-insensitively', () => {
    const clock = fakeClock();
    const limiter = new TokenBucketRateLimiter({ perConnectionPerSecond: 100, perUserPerSecond: 1, burstSeconds: 2 }, clock);
    limiter.admit('c1', 'sip:alice@contoso.com');
    limiter.admit('c2', 'sip:Alice@contoso.com');
    const refused = refusal(() => limiter.admit('c3', 'sip:alice@contoso.com'));
    expect(refused.retryAfterMs).toBe(1000);
    expect(refused.message).toContain('this user');
    expect(() => limiter.admit('c3', 'sip:bob@contoso.com')).not.toThrow();
  });

  it('a refused command takes no token from either bucket', () => {
    const clock = fakeClock();
    const limiter = new TokenBucketRateLimiter({ perConnectionPerSecond: 1, perUserPerSecond: 1, burstSeconds: 2 }, clock);
    limiter.admit('c1', 'sip:alice@contoso.com');
    limiter.admit('c2', 'sip:alice@contoso.com');
    // The user's bucket is empty: c3 is refused twice, and neither refusal may charge c3's own bucket.
    refusal(() => limiter.admit('c3', 'sip:alice@contoso.com'));
    refusal(() => limiter.admit('c3', 'sip:alice@contoso.com'));
    clock.advance(2_000);
    limiter.admit('c3', 'sip:alice@contoso.com');
    limiter.admit('c3', 'sip:alice@contoso.com');
    expect(refusal(() => limiter.admit('c3', 'sip:alice@contoso.com')).retryAfterMs).toBe(1000);
  });

  it('a burst smaller than one command still admits one at a time', () => {
    const clock = fakeClock();
    const limiter = new TokenBucketRateLimiter({ perConnectionPerSecond: 0.5, perUserPerSecond: 0.5, burstSeconds: 1 }, clock);
    limiter.admit('c1', 'sip:alice@contoso.com');
    expect(refusal(() => limiter.admit('c1', 'sip:alice@contoso.com')).retryAfterMs).toBe(2000);
  });
});
