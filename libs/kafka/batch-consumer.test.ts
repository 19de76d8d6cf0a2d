import type { EachBatchPayload, Kafka } from 'kafkajs';
import { silentLogger } from '../logger';
import { BatchConsumer } from './client';

/**
 * The wrapper's commit policy, driven through kafkajs's eachBatch contract by a stand-in consumer (the
 * real-broker behaviour is in test/integration/kafka-consumer-policy.test.ts and
 * replay-kafka-broker-gone.test.ts). Only what the wrapper decides is checked: what it commits and where
 * it makes kafkajs fetch from.
 */
function harness() {
  let eachBatch: ((p: EachBatchPayload) => Promise<void>) | undefined;
  const seeks: { topic: string; partition: number; offset: string }[] = [];
  const fakeConsumer = {
    events: { CRASH: 'consumer.crash' },
    on: () => undefined,
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (opts: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
      eachBatch = opts.eachBatch;
    },
    seek: (s: { topic: string; partition: number; offset: string }) => seeks.push(s),
    disconnect: async () => undefined,
  };
  const kafka = { consumer: () => fakeConsumer } as unknown as Kafka;
  const committed: string[] = [];
  const failed: unknown[] = [];
  const consumer = new BatchConsumer(
    kafka,
    {
      groupId: 'g',
      topics: ['t'],
      backoffMs: 1,
      maxBackoffMs: 1,
      handle: async () => undefined,
      onCommitted: (_t, _p, next) => committed.push(next),
      onBatchFailed: (_t, _p, err) => failed.push(err),
    },
    silentLogger(),
  );
  const deliver = async (firstOffset: number, count: number, commit: () => Promise<void>) => {
    const messages = Array.from({ length: count }, (_, i) => ({
      offset: String(firstOffset + i),
      key: null,
      value: Buffer.from('{}'),
      timestamp: '0',
      headers: {},
    }));
    const payload = {
      batch: { topic: 't', partition: 0, messages, highWatermark: String(firstOffset + count) },
      resolveOffset: () => undefined,
      commitOffsetsIfNecessary: commit,
      heartbeat: async () => undefined,
      isStale: () => false,
    } as unknown as EachBatchPayload;
    await eachBatch!(payload);
  };
  return { consumer, deliver, seeks, committed, failed };
}

describe('BatchConsumer commits', () => {
  it('a commit that fails (coordinator moved, broker restarting) fails the batch: it is fetched again from its first offset', async () => {
    const h = harness();
    await h.consumer.start();
    // Before: the error escaped eachBatch after resolveOffset had moved the fetch position on, so a
    // partition with no newer input kept its old committed offset for ever.
    await h.deliver(5, 3, () =>
      Promise.reject(new Error('This is not the correct coordinator for this group')),
    );
    expect(h.seeks).toEqual([{ topic: 't', partition: 0, offset: '5' }]);
    expect(h.failed).toHaveLength(1);
    expect(String(h.failed[0])).toMatch(/commit failed: This is not the correct coordinator/);
    expect(h.committed).toEqual([]);

    await h.deliver(5, 3, () => Promise.resolve());
    expect(h.committed).toEqual(['8']);
    expect(h.seeks).toHaveLength(1);
  });
});
