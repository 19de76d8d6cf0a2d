import { Breaker, defaultBreakerConfig, parseFlag, type Flag } from '../../libs/breaker';
import { silentLogger } from '../../libs/logger';
import { cleanRedis, testRedis, uniquePrefix } from '../helpers/env';

jest.setTimeout(60000);

const T0 = Date.parse('2022-01-17T00:00:00.000Z');

function flag(withdrawalId: string, amountUsd: number, atMs = T0): Flag {
  return {
    flagId: `new-address-cooldown:${withdrawalId}`,
    ruleId: 'new-address-cooldown',
    severity: 'high',
    userId: 'u-1',
    withdrawalId,
    eventId: `ev-${withdrawalId}`,
    occurredAt: new Date(atMs).toISOString(),
    raisedAt: new Date(atMs).toISOString(),
    asset: 'ETH',
    amountUsd,
    evidence: {},
  };
}

describe('breaker: numbers it cannot count exactly never leave a half-written flag', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('brk-bounds');
  afterAll(async () => {
    await cleanRedis(redis, prefix);
    redis.disconnect();
  });

  it('refuses an amountUsd of 1e300 in the flag schema, naming the field', () => {
    const r = parseFlag(JSON.stringify(flag('wd-x', 1e300)));
    expect(r).toMatchObject({ ok: false, code: 'schema', field: 'amountUsd' });
  });

  it('an absurd amount written past the schema changes nothing, so the real flag still counts', async () => {
    const breaker = await Breaker.create({
      redis,
      prefix,
      config: defaultBreakerConfig(),
      logger: silentLogger(),
    });
    // Straight into the breaker (as a replay or a future caller might): the script must refuse it whole.
    await breaker.onFlags([flag('wd-1', 1e300)]).catch(() => undefined);
    // The same withdrawal with a real amount above the 250,000 USD trigger: before the fix the first call
    // had written the window member and then failed, so this one was a duplicate and never counted.
    const changes = await breaker.onFlags([flag('wd-1', 300_000, T0 + 1000)]);
    expect(changes.map((c) => [c.scope, c.state, c.trigger])).toEqual([
      ['global', 'halted', 'flagged-value'],
    ]);
  });
});
