import { parseBreakerConfig, windowTriggers } from './config';
import type { Flag } from './flag';
import { firstCrossing, matches, targetScope, toCents, windowAdds, type WindowEntry } from './triggers';

const MIN = 60_000;
const cfg = parseBreakerConfig({
  triggers: [
    {
      id: 'users',
      kind: 'distinct-users',
      target: 'global',
      match: { severities: ['critical'] },
      windowMs: 10 * MIN,
      threshold: 3,
    },
    {
      id: 'value',
      kind: 'sum-amount-usd',
      target: 'global',
      match: { severities: ['high', 'critical'] },
      windowMs: 10 * MIN,
      threshold: 250000,
    },
    {
      id: 'per-asset',
      kind: 'distinct-withdrawals',
      target: 'asset:*',
      match: { rules: ['velocity'] },
      windowMs: MIN,
      threshold: 2,
    },
    { id: 'btc', kind: 'sum-amount-usd', target: 'asset:BTC', windowMs: MIN, threshold: 10 },
  ],
});
const [users, value, perAsset, btc] = windowTriggers(cfg) as [never, never, never, never];

const flag = (over: Partial<Flag> = {}): Flag => ({
  flagId: 'mfa-missing:w1',
  ruleId: 'mfa-missing',
  severity: 'critical',
  userId: 'u1',
  withdrawalId: 'w1',
  eventId: 'e1',
  occurredAt: '2022-01-17T00:00:00.000Z',
  raisedAt: '2022-01-17T00:00:00.000Z',
  asset: 'ETH',
  amountUsd: 1.005,
  evidence: {},
  ...over,
});

const e = (member: string, user: string, min: number, usd = 0): WindowEntry => ({
  member,
  user,
  tsMs: min * MIN,
  cents: toCents(usd),
});

describe('trigger matching', () => {
  it("filters by severity, rule and asset, and resolves asset:* to the flag's asset", () => {
    expect(matches(users, flag())).toBe(true);
    expect(matches(users, flag({ severity: 'high' }))).toBe(false);
    expect(matches(value, flag({ severity: 'high' }))).toBe(true);
    expect(matches(perAsset, flag())).toBe(false);
    expect(matches(perAsset, flag({ ruleId: 'velocity' }))).toBe(true);
    expect(targetScope(perAsset, flag({ asset: 'SOL' }))).toBe('asset:SOL');
    expect(matches(btc, flag({ asset: 'ETH' }))).toBe(false);
    expect(matches(btc, flag({ asset: 'BTC' }))).toBe(true);
  });

  it('uses the flagId as member for distinct-users and the withdrawalId otherwise, amounts in cents', () => {
    const adds = windowAdds(
      windowTriggers(cfg),
      flag({ asset: 'BTC', flagId: 'r:w9', withdrawalId: 'w9', amountUsd: 0.125 }),
    );
    expect(adds.map((a) => [a.trigger.id, a.scope, a.member, a.cents])).toEqual([
      ['users', 'global', 'r:w9', 13],
      ['value', 'global', 'w9', 13],
      ['btc', 'asset:BTC', 'w9', 13],
    ]);
    expect(windowAdds(windowTriggers(cfg), flag({ occurredAt: 'not a time' }))).toEqual([]);
  });
});

describe('firstCrossing (the window sweep the Lua mirrors)', () => {
  it('finds the earliest window end that reaches the threshold', () => {
    const entries = [e('a', 'u1', 0), e('b', 'u2', 4), e('c', 'u3', 9), e('d', 'u4', 9.5)];
    expect(firstCrossing('distinct-users', entries, 10 * MIN, 3)).toMatchObject({
      atMs: 9 * MIN,
      measure: 3,
      users: ['u1', 'u2', 'u3'],
    });
  });

  it('uses half-open windows (e - W, e]: exactly 10 min apart is not inside', () => {
    expect(
      firstCrossing('distinct-users', [e('a', 'u1', 0), e('b', 'u2', 5), e('c', 'u3', 10)], 10 * MIN, 3),
    ).toBeNull();
    expect(
      firstCrossing('distinct-users', [e('a', 'u1', 0.01), e('b', 'u2', 5), e('c', 'u3', 10)], 10 * MIN, 3),
    ).not.toBeNull();
  });

  it('counts a user once however many flags they have', () => {
    expect(
      firstCrossing('distinct-users', [e('a', 'u1', 0), e('b', 'u1', 1), e('c', 'u2', 2)], 10 * MIN, 3),
    ).toBeNull();
  });

  it('treats simultaneous entries as one window end', () => {
    const c = firstCrossing(
      'distinct-withdrawals',
      [e('a', 'u1', 1), e('b', 'u2', 1), e('c', 'u3', 1)],
      MIN,
      3,
    );
    expect(c).toMatchObject({ atMs: MIN, measure: 3 });
  });

  it('sums cents exactly', () => {
    const entries = [e('a', 'u', 0, 0.1), e('b', 'u', 0.5, 0.2)];
    expect(firstCrossing('sum-amount-usd', entries, MIN, toCents(0.3))).toMatchObject({
      measure: 30,
      atMs: 0.5 * MIN,
    });
  });

  it('only considers windows containing the given time', () => {
    const entries = [e('a', 'u1', 0), e('b', 'u2', 1), e('c', 'u3', 2), e('d', 'u4', 30)];
    expect(firstCrossing('distinct-users', entries, 10 * MIN, 3, 30 * MIN)).toBeNull();
    expect(firstCrossing('distinct-users', entries, 10 * MIN, 3, 1 * MIN)).toMatchObject({ atMs: 2 * MIN });
  });

  it('does not depend on the order of the entries', () => {
    const entries = [e('a', 'u1', 3), e('b', 'u2', 12), e('c', 'u3', 7), e('d', 'u4', 2), e('e', 'u5', 14)];
    const expected = firstCrossing('distinct-users', entries, 10 * MIN, 3);
    for (let i = 0; i < 20; i++) {
      const shuffled = [...entries].sort(() => Math.random() - 0.5);
      expect(firstCrossing('distinct-users', shuffled, 10 * MIN, 3)).toEqual(expected);
    }
    expect(expected).toMatchObject({ atMs: 7 * MIN, users: ['u4', 'u1', 'u3'] });
  });
});
