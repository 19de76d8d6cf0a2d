import { FlagWatermark, liveEngine } from '../../libs/engine';
import { windowStoreIndexKeys } from '../../libs/keys';
import { fastRules, publish, readAll, startDetector } from '../helpers/detector';
import { provisionTopics, realStack, waitFor } from '../helpers/env';
import { DAY, MIN, T0, approval, login, mfa } from '../helpers/events';

jest.setTimeout(120000);

/**
 * An unacked-index entry whose flag was already produced and acked (what a commit refused after its index
 * write leaves) must not hold the flag watermark for good: the running detector drops it.
 */
describe('detector: a stale unacked-index entry', () => {
  const { kafka, redis, fresh } = realStack();

  it('stops holding the flag watermark: the detector drops it and the watermark moves past', async () => {
    const prefix = fresh('staleunacked');
    const topics = await provisionTopics(kafka, prefix);
    const { detector, started } = startDetector(prefix);
    await started;
    const victim = `${prefix}-victim`;
    try {
      await publish(kafka, topics, [
        login(victim, 's-old', T0 - DAY, 'd-1'),
        login(victim, 's-v', T0, 'd-1'),
        approval(victim, 'wd-v', 's-v', T0 + MIN),
      ]);
      const flags = await readAll(kafka, [topics.flags], (m) => m.length >= 1, 30000);
      const flag = flags[0]!.value as { flagId: string; raisedAt: string };
      expect(flag.flagId).toBe('mfa-missing:wd-v');
      const engine = liveEngine({ redis, prefix, rules: fastRules() });
      await waitFor(async () => (await engine.unackedFlags()).length === 0, 20000);
      // The entry a refused commit leaves behind: the flag, raised and acked in its state, indexed again.
      const index = windowStoreIndexKeys(prefix).unacked;
      const member = JSON.stringify([victim, flag.flagId]);
      const raisedAtMs = Date.parse(flag.raisedAt);
      await redis.zadd(index, raisedAtMs, member);
      // Event time moves on (an ordinary user), so the detector's ticks try to advance the watermark.
      await publish(kafka, topics, [
        login('u-ok', 's-ok', T0 + 10 * MIN, 'd-1'),
        mfa('u-ok', 's-ok', T0 + 10 * MIN + 1000),
        approval('u-ok', 'wd-ok', 's-ok', T0 + 11 * MIN),
      ]);
      await waitFor(async () => (await redis.zscore(index, member)) === null, 30000);
      const wm = new FlagWatermark(redis, prefix);
      await waitFor(async () => ((await wm.read()) ?? 0) > raisedAtMs, 30000);
    } finally {
      await detector.stop();
    }
  });
});
