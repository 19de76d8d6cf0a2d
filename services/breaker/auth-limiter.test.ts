import { AuthFailureLimiter, clientKey } from './auth-limiter';

describe('AuthFailureLimiter', () => {
  it('answers over-limit after `perClient` failures within the window, until the oldest leaves it', () => {
    const l = new AuthFailureLimiter({ perClient: 3, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) expect(l.recordFailure('a', 1000 + i)).toBeNull();
    // The 4th failure is over; the oldest of the last four (1000) leaves the window at 61000.
    expect(l.recordFailure('a', 30_000)).toEqual({ limit: 'client', retryAfterSeconds: 31, first: true });
    expect(l.recordFailure('a', 30_001)).toMatchObject({ limit: 'client', first: false });
    expect(l.recordFailure('b', 30_000)).toBeNull();
    // Long after, the address starts afresh.
    expect(l.recordFailure('a', 200_000)).toBeNull();
  });

  it('has a global budget shared by all clients', () => {
    const l = new AuthFailureLimiter({ perClient: 100, global: 5, windowMs: 60_000 });
    for (let i = 0; i < 5; i++) expect(l.recordFailure(`10.0.0.${i}`, 1000)).toBeNull();
    expect(l.recordFailure('10.0.0.99', 2000)).toEqual({
      limit: 'global',
      retryAfterSeconds: 59,
      first: true,
    });
    expect(l.recordFailure('10.0.0.98', 2000)).toMatchObject({ limit: 'global', first: false });
    expect(l.recordFailure('10.0.0.97', 61_001)).toBeNull();
  });

  it('forgets the least recently failing clients beyond its capacity', () => {
    const l = new AuthFailureLimiter({ perClient: 1, maxClients: 2 });
    l.recordFailure('a', 1);
    l.recordFailure('b', 2);
    l.recordFailure('c', 3);
    expect(l.recordFailure('a', 4)).toBeNull(); // forgotten, so this is its first failure again
    expect(l.recordFailure('c', 5)).toMatchObject({ limit: 'client' });
  });
});

describe('clientKey', () => {
  it('keeps IPv4 (also when mapped into IPv6) and groups IPv6 by /64', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey('')).toBe('unknown');
  });
});
