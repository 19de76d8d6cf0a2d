import { Breaker, defaultBreakerConfig } from '../../libs/breaker';
import { silentLogger } from '../../libs/logger';
import { cleanRedis, testRedis, uniquePrefix } from '../helpers/env';
import { testFlag } from '../helpers/flags';

const T0 = Date.parse('2022-01-17T00:00:00.000Z');
const MIN = 60_000;

/** What the console shows of each trigger: read from the Redis windows the trip is decided on. */
describe('Breaker.windows on real Redis', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('brk-win');
  afterAll(async () => {
    await cleanRedis(redis, prefix);
    redis.disconnect();
  });

  it('measures each trigger over the window ending at its newest flag, and shows them while halted and forgets them after a resume', async () => {
    const breaker = await Breaker.create({
      redis,
      prefix,
      config: defaultBreakerConfig(),
      logger: silentLogger(),
    });
    const empty = await breaker.windows();
    expect(empty.find((w) => w.trigger === 'critical-users')).toMatchObject({
      scope: 'global',
      value: 0,
      endsAt: null,
    });

    await breaker.onFlags([
      testFlag('w-old', T0 - 11 * MIN, { userId: 'u-0', amountUsd: 1000 }), // outside the window ending at T0
      testFlag('w-1', T0 - MIN, { userId: 'u-1', amountUsd: 100 }),
      testFlag('w-2', T0, { userId: 'u-1', amountUsd: 200 }),
      testFlag('w-3', T0, { userId: 'u-2', severity: 'high', amountUsd: 300.5 }),
    ]);
    const views = await breaker.windows();
    const users = views.find((w) => w.trigger === 'critical-users' && w.scope === 'global')!;
    // Critical flags only: u-1 twice is one user; u-2's flag is high.
    expect(users).toMatchObject({
      value: 1,
      threshold: 3,
      users: ['u-1'],
      endsAt: new Date(T0).toISOString(),
    });
    const value = views.find((w) => w.trigger === 'flagged-value' && w.scope === 'global')!;
    expect(value).toMatchObject({ value: 600.5, usd: 600.5, withdrawals: 3, threshold: 250_000 });

    // Halted: the window still shows what led to the halt.
    await breaker.halt('global', 'drill', 'alice');
    const halted = await breaker.windows();
    expect(halted.find((w) => w.trigger === 'critical-users' && w.scope === 'global')).toMatchObject({
      value: 1,
    });
    await breaker.requestResume('global', 'ok', 'alice');
    await breaker.requestResume('global', 'ok', 'bob');
    const after = await breaker.windows();
    expect(after.find((w) => w.trigger === 'critical-users' && w.scope === 'global')).toMatchObject({
      value: 0,
    });
  });
});
