import { ProgressTracker } from '../../libs/engine';
import { cleanRedis, testRedis, uniquePrefix } from '../helpers/env';

/** Event-time progress shared through Redis by every detector instance. */

const redis = testRedis();
const prefix = uniquePrefix('engine-progress');
afterAll(async () => {
  await cleanRedis(redis, prefix);
  redis.disconnect();
}, 60_000);

describe('ProgressTracker', () => {
  it('is shared by instances, never moves a source back, and honours idleness', async () => {
    const a = new ProgressTracker(redis, prefix, { idleTimeoutMs: 10_000 });
    const b = new ProgressTracker(redis, prefix, { idleTimeoutMs: 10_000 });
    expect(await a.watermark(0)).toBeNull();

    await a.record([{ source: 'auth/0', maxEventTimeMs: 5000, caughtUp: false }], 1_000);
    await b.record([{ source: 'wallet/0', maxEventTimeMs: 9000, caughtUp: true }], 1_000);
    expect(await a.watermark(1_000)).toBe(5000);
    expect(await b.watermark(1_000)).toBe(5000);

    // A stale batch (a rebalance replaying older events) does not move auth/0 back.
    await b.record([{ source: 'auth/0', maxEventTimeMs: 4000, caughtUp: true }], 2_000);
    expect((await a.sources()).find((s) => s.source === 'auth/0')!.maxEventTimeMs).toBe(5000);

    // auth/0 is caught up now; once both are idle the watermark follows the wall clock from 9000.
    expect(await a.watermark(11_999)).toBe(5000);
    expect(await a.watermark(12_000)).toBe(9000 + 10_000);

    // A status-only update does not count as an arrival.
    await a.record([{ source: 'wallet/0', maxEventTimeMs: 0, caughtUp: true, arrived: false }], 50_000);
    expect(await a.watermark(50_000)).toBe(9000 + 48_000);

    // New input on wallet/0 makes it non-idle again.
    await a.record([{ source: 'wallet/0', maxEventTimeMs: 9500, caughtUp: false }], 60_000);
    expect(await a.watermark(60_000)).toBe(9500);
  });
});
