import { withIsoTimes } from './evidence-times';

const T0 = Date.parse('2022-01-17T00:00:00.000Z');

describe('withIsoTimes', () => {
  it('adds an ISO twin to every ...AtMs, ...StartMs and ...EndMs number, at any depth', () => {
    expect(
      withIsoTimes({
        windowStartMs: T0 - 600_000,
        windowEndMs: T0 + 30_000,
        last: { atMs: T0, factor: 'totp' },
        logins: [{ loginAtMs: T0 - 1000 }, { loginAtMs: T0 }],
        lookbackMs: 600_000,
      }),
    ).toEqual({
      windowStartMs: T0 - 600_000,
      windowStart: '2022-01-16T23:50:00.000Z',
      windowEndMs: T0 + 30_000,
      windowEnd: '2022-01-17T00:00:30.000Z',
      last: { atMs: T0, at: '2022-01-17T00:00:00.000Z', factor: 'totp' },
      logins: [
        { loginAtMs: T0 - 1000, loginAt: '2022-01-16T23:59:59.000Z' },
        { loginAtMs: T0, loginAt: '2022-01-17T00:00:00.000Z' },
      ],
      // A duration, not a time: no twin.
      lookbackMs: 600_000,
    });
  });

  it('leaves what is not a finite time number alone, and never changes its input', () => {
    const input = { atMs: null, startedAtMs: 'soon', windowEndMs: Infinity, seenAtMs: NaN, n: 3, s: 'x' };
    const copy = structuredClone(input);
    expect(withIsoTimes(input)).toEqual(input);
    expect(input).toEqual(copy);
    expect(withIsoTimes(null)).toBeNull();
    expect(withIsoTimes([T0, 'a'])).toEqual([T0, 'a']);
  });
});
