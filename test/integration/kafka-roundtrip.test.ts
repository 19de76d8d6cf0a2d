import type { ConsumedBatch } from '../../libs/kafka';
import { deleteTopicsWithPrefix, provisionTopics, testKafka, uniquePrefix, waitFor } from '../helpers/env';

jest.setTimeout(60000);

describe('real Kafka broker', () => {
  const kafka = testKafka();
  const prefix = uniquePrefix('rt');

  afterAll(async () => {
    await deleteTopicsWithPrefix(kafka, prefix);
    await kafka.close();
  });

  it('provisions the contract topics idempotently, control topic compacted', async () => {
    const names = await provisionTopics(kafka, prefix);
    const again = await kafka.ensureTopics([{ topic: names.auth, numPartitions: 3, configEntries: [] }]);
    expect(again).toEqual([]);
    const cfg = await kafka.admin((admin) =>
      admin.describeConfigs({ resources: [{ type: 2, name: names.control }], includeSynonyms: false }),
    );
    const policy = cfg.resources[0]!.configEntries.find((e) => e.configName === 'cleanup.policy');
    expect(policy?.configValue).toBe('compact');
    const meta = await kafka.admin((admin) =>
      admin.fetchTopicMetadata({ topics: [names.auth, names.wallet] }),
    );
    expect(meta.topics.map((t) => t.partitions.length)).toEqual([3, 3]);
  });

  it('produces to auth.events.v1 and reads it back through a consumer group, committing offsets', async () => {
    const names = await provisionTopics(kafka, prefix);
    const producer = kafka.producer();
    await producer.connect();
    const events = Array.from({ length: 20 }, (_, i) => ({
      eventId: `rt-${i}`,
      type: 'login.succeeded',
      occurredAt: new Date(Date.UTC(2022, 0, 17, 0, 0, i)).toISOString(),
      userId: `u-${i % 4}`,
      sessionId: `s-${i}`,
      ip: '203.0.113.7',
      deviceId: 'd-1',
    }));
    await producer.send(events.map((e) => ({ topic: names.auth, key: e.userId, value: JSON.stringify(e) })));
    await producer.disconnect();

    const seen: ConsumedBatch[] = [];
    const groupId = `${prefix}-group`;
    const consumer = kafka.consumer({
      groupId,
      topics: [names.auth],
      handle: async (batch) => {
        seen.push(batch);
      },
    });
    await consumer.start();
    try {
      await waitFor(() => seen.reduce((n, b) => n + b.messages.length, 0) >= events.length);
      const ids = seen.flatMap((b) =>
        b.messages.map((m) => JSON.parse(m.value!.toString()).eventId as string),
      );
      expect(new Set(ids)).toEqual(new Set(events.map((e) => e.eventId)));
      // A user's events share a partition: the key is the userId.
      const partitionsOfUser0 = new Set(
        seen.flatMap((b) => b.messages.filter((m) => m.key?.toString() === 'u-0').map((m) => m.partition)),
      );
      expect(partitionsOfUser0.size).toBe(1);
      // Committed offsets reach the end of every partition once the handler has resolved.
      const end = await kafka.endOffsets(names.auth);
      await waitFor(async () => {
        const committed = await kafka.committedOffsets(groupId, names.auth);
        return [...end].every(([p, high]) => high === '0' || committed.get(p) === high);
      });
    } finally {
      await consumer.stop();
    }
  });
});
