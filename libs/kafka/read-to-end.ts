import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { KafkaClient, RawMessage } from './client';

/**
 * Reads a topic from the beginning to the end offsets it had when called, in offset order per partition
 * (partitions one after the other), with a throw-away consumer group (its offsets expire with Kafka's
 * offsets retention). For the small, compacted or append-only topics the breaker restores from.
 */
export async function readTopicToEnd(
  kafka: KafkaClient,
  topic: string,
  { timeoutMs = 30_000, groupLabel = 'reader' }: { timeoutMs?: number; groupLabel?: string } = {},
): Promise<RawMessage[]> {
  const end = await kafka.endOffsets(topic);
  const pending = new Map([...end].filter(([, high]) => BigInt(high) > 0n));
  if (pending.size === 0) return [];
  const byPartition = new Map<number, RawMessage[]>();
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const consumer = kafka.consumer({
    groupId: `bulwark-${groupLabel}-${os.hostname()}-${randomBytes(4).toString('hex')}`,
    topics: [topic],
    fromBeginning: true,
    handle: async (batch) => {
      for (const m of batch.messages) {
        const high = end.get(m.partition);
        if (high === undefined || BigInt(m.offset) >= BigInt(high)) continue;
        const list = byPartition.get(m.partition) ?? [];
        list.push(m);
        byPartition.set(m.partition, list);
        if (BigInt(m.offset) + 1n >= BigInt(high)) pending.delete(m.partition);
      }
      if (pending.size === 0) done();
    },
  });
  await consumer.start();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`reading ${topic} did not finish in ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.stop();
  }
  return [...byPartition.keys()]
    .sort((a, b) => a - b)
    .flatMap((p) => byPartition.get(p)!.sort((a, b) => Number(BigInt(a.offset) - BigInt(b.offset))));
}
