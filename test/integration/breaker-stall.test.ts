import { Breaker, defaultBreakerConfig, type BreakerChange } from '../../libs/breaker';
import type { ConsumedBatch, TopicNames } from '../../libs/kafka';
import { silentLogger } from '../../libs/logger';
import { withStallOverride } from '../../services/breaker/service';
import { StallMonitor } from '../../services/breaker/stall-watch';
import {
  cleanRedis,
  deleteTopicsWithPrefix,
  provisionTopics,
  testKafka,
  testRedis,
  uniquePrefix,
  waitFor,
} from '../helpers/env';

jest.setTimeout(90000);

describe('detector-stalled trigger against a real consumer group', () => {
  const redis = testRedis();
  const kafka = testKafka();
  const topicPrefix = uniquePrefix('brk-stall');
  const keyPrefix = uniquePrefix('brk');
  let topics: TopicNames;
  const producer = kafka.producer();

  beforeAll(async () => {
    topics = await provisionTopics(kafka, topicPrefix, 2);
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await deleteTopicsWithPrefix(kafka, topicPrefix);
    await kafka.close();
    await cleanRedis(redis, keyPrefix);
    redis.disconnect();
  });

  const event = (i: number) => ({
    topic: topics.auth,
    key: `u-${i % 4}`,
    value: JSON.stringify({
      eventId: `e-${i}-${Date.now()}`,
      type: 'login.failed',
      occurredAt: new Date().toISOString(),
      userId: `u-${i % 4}`,
      ip: '203.0.113.1',
      deviceId: 'd',
    }),
  });

  it('halts global once the detector group stops committing while input waits, and not while it keeps up', async () => {
    const config = withStallOverride(defaultBreakerConfig(), 1500);
    const breaker = await Breaker.create({ redis, prefix: keyPrefix, config, logger: silentLogger() });
    const trips: (BreakerChange | null)[] = [];
    const ages: number[] = [];
    const groupId = `${topicPrefix}-detector`;
    const monitor = new StallMonitor({
      kafka,
      groupId,
      topics: [topics.auth, topics.wallet],
      stallMs: 1500,
      intervalMs: 200,
      logger: silentLogger(),
      trip: async (detail, at) => {
        const c = await breaker.tripStalled(detail, at);
        trips.push(c);
        return c;
      },
      onAge: (s) => ages.push(s),
    });

    // A stand-in detector: a real consumer group that commits what it reads.
    let consumed = 0;
    const detector = kafka.consumer({
      groupId,
      topics: [topics.auth, topics.wallet],
      handle: async (batch: ConsumedBatch) => {
        consumed += batch.messages.length;
      },
    });
    await detector.start();
    monitor.start();
    try {
      await producer.send(Array.from({ length: 10 }, (_, i) => event(i)));
      await waitFor(() => consumed >= 10);
      // Keeping up (and then idle with nothing waiting) for well past the stall time: no trip.
      await new Promise((r) => setTimeout(r, 2500));
      expect(trips).toEqual([]);
      expect((await breaker.status('global')).state).toBe('open');

      // The detector stops committing; input keeps arriving.
      await detector.stop();
      await producer.send(Array.from({ length: 5 }, (_, i) => event(100 + i)));
      await waitFor(() => trips.length > 0, 20000);
      const [trip] = trips;
      expect(trip).toMatchObject({
        scope: 'global',
        state: 'halted',
        trigger: 'detector-stalled',
        by: 'breaker',
      });
      expect(trip!.reason).toContain(groupId);
      expect(Math.max(...ages)).toBeGreaterThanOrEqual(1.5);
      // One trip per stall episode: the watch does not keep hammering a halted scope.
      await new Promise((r) => setTimeout(r, 800));
      expect(trips).toHaveLength(1);
      const [audit] = await breaker.audit(1);
      expect(audit).toMatchObject({ action: 'trip', trigger: 'detector-stalled', outcome: 'changed' });
    } finally {
      await monitor.stop();
      await detector.stop();
    }
  });
});
