import { AuthFailureLimiter } from './auth-limiter';

describe('AuthFailureLimiter', () => {
  it('blocks an address after `limit` failures within the window, until the oldest leaves it', () => {
    const l = new AuthFailureLimiter(3, 60_000);
    for (let i = 0; i < 2; i++) l.recordFailure('a', 1000 + i);
    expect(l.retryAfterSeconds('a', 2000)).toBe(0);
    l.recordFailure('a', 30_000);
    expect(l.retryAfterSeconds('a', 30_000)).toBe(31); // the oldest (1000) leaves the window at 61000
    expect(l.retryAfterSeconds('b', 30_000)).toBe(0);
    expect(l.retryAfterSeconds('a', 61_001)).toBe(0);
  });

  it('forgets the least recently failing addresses beyond its capacity', () => {
    const l = new AuthFailureLimiter(1, 60_000, 2);
    l.recordFailure('a', 1);
    l.recordFailure('b', 2);
    l.recordFailure('c', 3);
    expect(l.retryAfterSeconds('a', 4)).toBe(0);
    expect(l.retryAfterSeconds('c', 4)).toBeGreaterThan(0);
  });
});
