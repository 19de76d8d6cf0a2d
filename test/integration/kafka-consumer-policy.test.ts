import type { BatchConsumer } from '../../libs/kafka';
import { realStack, waitFor } from '../helpers/env';

jest.setTimeout(90000);

/**
 * BatchConsumer's one error policy against the real broker: a failing batch is retried, not fatal; a
 * consumer kafkajs gives up on (`consumer.crash`, restart: false) is restarted; a graceful stop commits the
 * batch in hand.
 */
describe('BatchConsumer error policy', () => {
  const { kafka, fresh } = realStack();

  async function topicWith(label: string, count: number): Promise<{ topic: string; group: string }> {
    const prefix = fresh(label);
    const topic = `${prefix}.input`;
    await kafka.ensureTopics([{ topic, numPartitions: 1, configEntries: [] }]);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send(
      Array.from({ length: count }, (_, i) => ({ topic, key: 'k', value: JSON.stringify({ i }) })),
    );
    await producer.disconnect();
    return { topic, group: `${prefix}-group` };
  }

  const committed = async (group: string, topic: string) =>
    (await kafka.committedOffsets(group, topic)).get(0) ?? '-1';

  it('a batch whose handler throws a non-retriable error is failed, counted and read again; consumption goes on', async () => {
    const { topic, group } = await topicWith('policy-fail', 10);
    const failures: unknown[] = [];
    const seen: number[] = [];
    let thrown = false;
    const consumer: BatchConsumer = kafka.consumer({
      groupId: group,
      topics: [topic],
      backoffMs: 50,
      handle: async (batch) => {
        if (!thrown) {
          thrown = true;
          // A TypeError is what kafkajs treats as unrecoverable: before, it crashed the consumer for good.
          throw new TypeError('boom');
        }
        for (const m of batch.messages) seen.push((JSON.parse(String(m.value)) as { i: number }).i);
      },
      onBatchFailed: (_t, _p, err) => failures.push(err),
    });
    await consumer.start();
    try {
      await waitFor(async () => (await committed(group, topic)) === '10', 30000);
      expect(failures).toHaveLength(1);
      expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      await consumer.stop();
    }
  });

  it('a consumer that crashes with restart: false is restarted and consumes on', async () => {
    const { topic, group } = await topicWith('policy-crash', 5);
    const restarts: unknown[] = [];
    let crashOnce = true;
    let seen = 0;
    const consumer: BatchConsumer = kafka.consumer({
      groupId: group,
      topics: [topic],
      backoffMs: 100,
      handle: async (batch) => {
        seen += batch.messages.length;
      },
      // Thrown outside the handler, after the commit: kafkajs sees an unrecoverable error and stops the
      // consumer (consumer.crash with restart: false), leaving the process up and idle.
      onCommitted: () => {
        if (crashOnce) {
          crashOnce = false;
          throw new TypeError('crash after commit');
        }
      },
      onRestart: (err) => restarts.push(err),
    });
    await consumer.start();
    try {
      await waitFor(async () => (await committed(group, topic)) === '5', 30000);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send([{ topic, key: 'k', value: '{"i":5}' }]);
      await producer.disconnect();
      // Only a restarted consumer reads the message published after the crash.
      await waitFor(async () => (await committed(group, topic)) === '6', 40000);
      expect(restarts.length).toBeGreaterThanOrEqual(1);
      expect(seen).toBeGreaterThanOrEqual(6);
    } finally {
      await consumer.stop();
    }
  });

  it('stop() lets the batch in hand finish and commits it before disconnecting', async () => {
    const { topic, group } = await topicWith('policy-stop', 8);
    let inHand!: () => void;
    const entered = new Promise<void>((r) => (inHand = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let handled = 0;
    const consumer: BatchConsumer = kafka.consumer({
      groupId: group,
      topics: [topic],
      handle: async (batch) => {
        inHand();
        await released;
        handled += batch.messages.length;
      },
    });
    await consumer.start();
    await entered;
    const stopping = consumer.stop();
    // The stop is under way while the batch is still in hand; it finishes only now.
    await new Promise((r) => setTimeout(r, 300));
    release();
    await stopping;
    expect(handled).toBe(8);
    // Before the fix stop() made the batch inactive and its commit was skipped: redelivered after a restart.
    expect(await committed(group, topic)).toBe('8');
  });
});
