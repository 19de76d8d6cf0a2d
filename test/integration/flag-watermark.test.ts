import { FlagWatermark } from '../../libs/engine';
import { engineGlobalKeys } from '../../libs/keys';
import { cleanRedis, testRedis, uniquePrefix } from '../helpers/env';

/** The detector's flag watermark on real Redis: what the breaker may trust about flags already in Kafka. */
describe('FlagWatermark', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('flagwm');
  afterAll(async () => {
    await cleanRedis(redis, prefix);
    redis.disconnect();
  });

  it('is null until written, then what the detector closed through', async () => {
    const wm = new FlagWatermark(redis, prefix);
    expect(await wm.read()).toBeNull();
    expect(await wm.advance(1_000_000)).toBe(1_000_000);
    expect(await wm.read()).toBe(1_000_000);
  });

  it('stays below a decision another instance is still closing (its flag registered, not yet acked)', async () => {
    const wm = new FlagWatermark(redis, prefix);
    await redis.zadd(engineGlobalKeys(prefix).unackedIndex, 2_000_000, '["u-1","mfa-missing:w-1"]');
    expect(await wm.advance(5_000_000)).toBe(1_999_999);
    expect(await wm.read()).toBe(1_999_999);
    await redis.zrem(engineGlobalKeys(prefix).unackedIndex, '["u-1","mfa-missing:w-1"]');
    expect(await wm.advance(5_000_000)).toBe(5_000_000);
  });
});
