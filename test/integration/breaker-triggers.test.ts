import { randomInt } from 'node:crypto';
import {
  Breaker,
  defaultBreakerConfig,
  firstCrossing,
  parseBreakerConfig,
  windowAdds,
  type BreakerConfig,
  type Flag,
  type WindowEntry,
} from '../../libs/breaker';
import { silentLogger } from '../../libs/logger';
import { breakerMetrics, createRegistry } from '../../libs/metrics';
import { cleanRedis, testRedis, uniquePrefix } from '../helpers/env';

jest.setTimeout(60000);

const T0 = Date.parse('2022-01-17T00:00:00.000Z');
const min = (n: number) => new Date(T0 + n * 60_000).toISOString();

let seq = 0;
function flag(over: Partial<Flag> & { userId: string; at: string }): Flag {
  seq++;
  const withdrawalId = over.withdrawalId ?? `wd-${seq}`;
  const ruleId = over.ruleId ?? 'mfa-missing';
  return {
    flagId: `${ruleId}:${withdrawalId}`,
    ruleId,
    severity: over.severity ?? 'critical',
    userId: over.userId,
    withdrawalId,
    eventId: `ev-${seq}`,
    occurredAt: over.at,
    raisedAt: over.at,
    asset: over.asset ?? 'ETH',
    amountUsd: over.amountUsd ?? 1000,
    evidence: {},
  };
}

describe('breaker triggers on real Redis', () => {
  const redis = testRedis();
  const prefixes: string[] = [];
  const config = defaultBreakerConfig();

  async function breaker(cfg: BreakerConfig = config) {
    const prefix = uniquePrefix('brk');
    prefixes.push(prefix);
    const registry = createRegistry('test', false);
    const metrics = breakerMetrics(registry);
    const b = await Breaker.create({ redis, prefix, config: cfg, logger: silentLogger(), metrics });
    return { b, registry };
  }

  afterAll(async () => {
    for (const p of prefixes) await cleanRedis(redis, p);
    redis.disconnect();
  });

  it('halts global when three distinct users have critical flags within 10 min of event time', async () => {
    const { b, registry } = await breaker();
    expect(await b.onFlags([flag({ userId: 'u1', at: min(0) }), flag({ userId: 'u2', at: min(4) })])).toEqual(
      [],
    );
    expect((await b.status('global')).state).toBe('open');
    const changes = await b.onFlags([flag({ userId: 'u3', at: min(9) })]);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      scope: 'global',
      state: 'halted',
      previous: 'open',
      trigger: 'critical-users',
      by: 'breaker',
      at: min(9),
      since: min(9),
      version: 1,
    });
    expect(changes[0]!.reason).toContain('3 distinct users');
    expect(await b.status('global')).toMatchObject({
      state: 'halted',
      version: 1,
      trigger: 'critical-users',
    });
    expect(await registry.getSingleMetricAsString('bulwark_breaker_state')).toMatch(
      /bulwark_breaker_state{scope="global"[^}]*} 1/,
    );
    const [trip] = await b.audit(1);
    expect(trip).toMatchObject({
      action: 'trip',
      outcome: 'changed',
      by: 'breaker',
      trigger: 'critical-users',
    });
    expect((trip!.detail as { users: string[] }).users.sort()).toEqual(['u1', 'u2', 'u3']);
  });

  it('does not halt for two users, nor for three spread over more than 10 min, nor for one user thrice', async () => {
    const { b } = await breaker();
    expect(await b.onFlags([flag({ userId: 'u1', at: min(0) }), flag({ userId: 'u2', at: min(1) })])).toEqual(
      [],
    );
    expect(await b.onFlags([flag({ userId: 'u3', at: min(10) })])).toEqual([]); // u1 left the window exactly at 10
    expect(
      await b.onFlags([flag({ userId: 'u4', at: min(25) }), flag({ userId: 'u4', at: min(26) })]),
    ).toEqual([]);
    expect(await b.onFlags([flag({ userId: 'u4', at: min(27) })])).toEqual([]);
    expect((await b.status('global')).state).toBe('open');
  });

  it('ignores a redelivered flag (same flagId) and medium/low flags', async () => {
    const { b } = await breaker();
    const f1 = flag({ userId: 'u1', at: min(0) });
    const f2 = flag({ userId: 'u2', at: min(1) });
    expect(await b.onFlags([f1, f2, f1, f2, { ...f1 }])).toEqual([]);
    expect(await b.onFlags([flag({ userId: 'u3', at: min(2), severity: 'medium' })])).toEqual([]);
    expect(await b.onFlags([flag({ userId: 'u4', at: min(2), severity: 'low' })])).toEqual([]);
    expect((await b.status('global')).state).toBe('open');
  });

  it('gives the same crossing, at the same event time, whatever the arrival order; at is what was processed', async () => {
    const flags = [
      flag({ userId: 'u1', at: min(0) }),
      flag({ userId: 'u2', at: min(5) }),
      flag({ userId: 'u3', at: min(9) }),
      flag({ userId: 'u4', at: min(30) }),
      flag({ userId: 'u5', at: min(45) }),
    ];
    const orders = [
      [0, 1, 2, 3, 4],
      [4, 3, 2, 1, 0],
      [2, 0, 4, 1, 3],
      [3, 4, 1, 2, 0],
    ];
    for (const order of orders) {
      const { b } = await breaker();
      const changes = [];
      const seen: number[] = [];
      for (const i of order) {
        seen.push(i);
        const got = await b.onFlags([flags[i]!]);
        // Effective when it tripped: the newest event time processed by then.
        if (got.length > 0) expect(got[0]!.at).toBe(flags[Math.max(...seen)]!.occurredAt);
        changes.push(...got);
      }
      expect(changes.map((c) => ({ crossedAt: c.crossedAt, trigger: c.trigger }))).toEqual([
        { crossedAt: min(9), trigger: 'critical-users' },
      ]);
    }
  });

  it('counts a late flag in the window it belongs to, not when it arrived', async () => {
    const { b } = await breaker();
    // u1 at 0 and u2 at 12: never three in 10 min. A late u3 at 5 makes (0..5] hold u1,u3 and (5..12] u3,u2: still no.
    await b.onFlags([flag({ userId: 'u1', at: min(0) }), flag({ userId: 'u2', at: min(12) })]);
    expect(await b.onFlags([flag({ userId: 'u3', at: min(5) })])).toEqual([]);
    // A late u4 at 3 makes (-7..3] u1,u4 and (-5..5] u1,u4,u3: three users, reached at minute 5.
    const [change] = await b.onFlags([flag({ userId: 'u4', at: min(3) })]);
    // Crossed at minute 5, effective at minute 12: the newest event time the breaker had processed.
    expect(change).toMatchObject({
      crossedAt: min(5),
      at: min(12),
      since: min(12),
      trigger: 'critical-users',
    });
  });

  it('flagged-value halts at 250,000 USD of high/critical flags, each withdrawal counted once', async () => {
    const { b } = await breaker();
    const big = (
      userId: string,
      withdrawalId: string,
      amountUsd: number,
      at: string,
      ruleId = 'new-address-cooldown',
    ) => flag({ userId, withdrawalId, amountUsd, at, ruleId, severity: 'high' });
    // One withdrawal flagged by three rules: 100,000 once, not 300,000.
    const w1 = [
      big('u1', 'w1', 100_000, min(0)),
      big('u1', 'w1', 100_000, min(0), 'mfa-reset-withdrawal'),
      flag({ userId: 'u1', withdrawalId: 'w1', amountUsd: 100_000, at: min(0), ruleId: 'mfa-missing' }),
    ];
    expect(await b.onFlags(w1)).toEqual([]);
    expect(await b.onFlags([big('u2', 'w2', 100_000, min(3))])).toEqual([]);
    // Medium flags never count towards the value.
    expect(
      await b.onFlags([
        flag({ userId: 'u3', withdrawalId: 'w3', amountUsd: 90_000, at: min(4), severity: 'medium' }),
      ]),
    ).toEqual([]);
    const changes = await b.onFlags([big('u4', 'w4', 49_999.99, min(6))]);
    expect(changes).toEqual([]);
    const [trip] = await b.onFlags([big('u5', 'w5', 0.01, min(7))]);
    expect(trip).toMatchObject({ trigger: 'flagged-value', at: min(7), state: 'halted' });
    expect(trip!.reason).toContain('250000.00 USD');
  });

  it("an asset:* trigger halts the flag's own asset only, with no code change", async () => {
    const cfg = parseBreakerConfig({
      triggers: [
        {
          id: 'asset-value',
          kind: 'sum-amount-usd',
          target: 'asset:*',
          match: { severities: ['high'] },
          windowMs: 600000,
          threshold: 1000,
        },
      ],
    });
    const { b } = await breaker(cfg);
    const [c] = await b
      .onFlags([
        flag({ userId: 'u1', asset: 'BTC', amountUsd: 600, at: min(0), severity: 'high' }),
        flag({ userId: 'u2', asset: 'ETH', amountUsd: 600, at: min(0), severity: 'high' }),
        flag({ userId: 'u3', asset: 'BTC', amountUsd: 600, at: min(1), severity: 'high' }),
      ])
      .then((x) => x);
    expect(c).toMatchObject({ scope: 'asset:BTC', trigger: 'asset-value' });
    expect(await b.statusForAsset('BTC')).toMatchObject({
      allowed: false,
      scope: 'asset:BTC',
      state: 'halted',
    });
    expect(await b.statusForAsset('ETH')).toMatchObject({ allowed: true });
    expect((await b.status('global')).state).toBe('open');
  });

  it('flags seen before a resume do not count again after it', async () => {
    const { b } = await breaker();
    await b.onFlags([
      flag({ userId: 'u1', at: min(0) }),
      flag({ userId: 'u2', at: min(1) }),
      flag({ userId: 'u3', at: min(2) }),
    ]);
    expect((await b.status('global')).state).toBe('halted');
    await b.requestResume('global', 'checked', 'alice');
    await b.requestResume('global', 'checked too', 'bob');
    expect((await b.status('global')).state).toBe('open');
    // One more critical user inside the same 10 min: the old three are not counted again.
    expect(await b.onFlags([flag({ userId: 'u4', at: min(3) })])).toEqual([]);
    expect(await b.onFlags([flag({ userId: 'u5', at: min(4) })])).toEqual([]);
    const resumedAt = (await b.status('global')).at;
    const [again] = await b.onFlags([flag({ userId: 'u6', at: min(5) })]);
    expect(again).toMatchObject({ state: 'halted', version: 3, crossedAt: min(5) });
    // It cannot take effect before the resume it follows (wall-clock time here, as an operator's).
    expect(again!.at).toBe(resumedAt);
  });

  it('drops flags older than the window plus the allowed lateness, and counts them within it', async () => {
    const late = [
      flag({ userId: 'u2', at: min(80) }),
      flag({ userId: 'u3', at: min(81) }),
      flag({ userId: 'u4', at: min(82) }),
    ];
    // Newest flag at minute 100; with 1 min of lateness anything before minute 89 is dropped.
    const strict = await breaker(parseBreakerConfig({ ...config, allowedLatenessMs: 60_000 }));
    await strict.b.onFlags([flag({ userId: 'u1', at: min(100) })]);
    expect(await strict.b.onFlags(late)).toEqual([]);
    expect((await strict.b.status('global')).state).toBe('open');
    // With the default hour of lateness the same three late flags halt, at their own event time.
    const lenient = await breaker();
    await lenient.b.onFlags([flag({ userId: 'u1', at: min(100) })]);
    const [change] = await lenient.b.onFlags(late.map((f) => ({ ...f })));
    expect(change).toMatchObject({ crossedAt: min(82), at: min(100), trigger: 'critical-users' });
  });

  it('does not count a flag dated far in the future, so it cannot blind the windows', async () => {
    const { b } = await breaker();
    const future = new Date(Date.now() + 10 * 365 * 86_400_000).toISOString();
    expect(await b.onFlags([flag({ userId: 'u0', at: future })])).toEqual([]);
    const [c] = await b.onFlags(['u1', 'u2', 'u3'].map((userId) => flag({ userId, at: min(1) })));
    expect(c).toMatchObject({ trigger: 'critical-users', at: min(1) });
  });

  // The Lua skips its sweep when an upper bound says no window can cross; these configs put thresholds near
  // the flags' density so the bounds are exercised on both sides.
  const stress = parseBreakerConfig({
    allowedLatenessMs: 4 * 3_600_000, // nothing in the 90 min span is too late, as in the reference
    triggers: [
      { id: 'sum', kind: 'sum-amount-usd', target: 'global', windowMs: 600000, threshold: 9000 },
      {
        id: 'wds',
        kind: 'distinct-withdrawals',
        target: 'global',
        match: { severities: ['critical'] },
        windowMs: 300000,
        threshold: 5,
      },
      {
        id: 'users',
        kind: 'distinct-users',
        target: 'global',
        match: { severities: ['high'] },
        windowMs: 420000,
        threshold: 4,
      },
    ],
  });
  for (const [name, cfg, users, spanMin, maxUsd, n] of [
    ['the default triggers', config, 6, 60, 120_000, 16],
    ["triggers near the flags' density", stress, 8, 90, 1500, 30],
  ] as const) {
    it(`matches the TypeScript reference sweep on random flags in random orders (${name})`, async () => {
      for (let round = 0; round < 15; round++) {
        const flags: Flag[] = [];
        const count = 4 + randomInt(n);
        for (let i = 0; i < count; i++)
          flags.push(
            flag({
              userId: `u${randomInt(users)}`,
              at: new Date(T0 + randomInt(spanMin * 60) * 1000).toISOString(),
              severity: randomInt(2) === 0 ? 'high' : 'critical',
              amountUsd: randomInt(maxUsd) + randomInt(100) / 100,
            }),
          );
        const order = [...flags].sort(() => randomInt(3) - 1);
        // In random batches: the trip (if any) must be what one-at-a-time arrival gives.
        const { b } = await breaker(cfg);
        const batched = [];
        for (let i = 0; i < order.length;) {
          const size = 1 + randomInt(4);
          batched.push(...(await b.onFlags(order.slice(i, i + size))));
          i += size;
        }
        const { b: b2 } = await breaker(cfg);
        let tripped: { at: string; trigger: string } | undefined;
        const seen: Flag[] = [];
        for (const f of order) {
          seen.push(f);
          const [c] = await b2.onFlags([f]);
          if (c) {
            tripped = { at: c.crossedAt!, trigger: c.trigger };
            // Effective at the newest event time processed, never before the crossing.
            expect(c.at).toBe(new Date(Math.max(...seen.map((x) => Date.parse(x.occurredAt)))).toISOString());
            break;
          }
        }
        // Reference: on the arrival prefix that tripped, the earliest crossing of a window holding the last flag.
        if (tripped) expect(referenceTrip(cfg, seen)).toEqual(tripped);
        else for (let k = 1; k <= order.length; k++) expect(referenceTrip(cfg, order.slice(0, k))).toBeNull();
        expect(batched.map((c) => ({ at: c.crossedAt, trigger: c.trigger }))).toEqual(
          tripped ? [tripped] : [],
        );
        for (const c of batched) expect(c.at >= c.crossedAt!).toBe(true);
      }
    });
  }
});

/** The trip the TypeScript reference predicts for the last flag of `flags`, given all of them. */
function referenceTrip(cfg: BreakerConfig, flags: Flag[]): { at: string; trigger: string } | null {
  const last = flags[flags.length - 1]!;
  const triggers = cfg.triggers.filter((t) => t.kind !== 'detector-stalled');
  for (const t of triggers) {
    const entries = new Map<string, WindowEntry>();
    for (const f of flags)
      for (const a of windowAdds([t as never], f)) if (!entries.has(a.member)) entries.set(a.member, a);
    const own = windowAdds([t as never], last)[0];
    if (!own) continue;
    const threshold = t.kind === 'sum-amount-usd' ? Math.round(t.threshold * 100) : t.threshold;
    const c = firstCrossing(t.kind, [...entries.values()], t.windowMs, threshold, own.tsMs);
    if (c) return { at: new Date(c.atMs).toISOString(), trigger: t.id };
  }
  return null;
}
