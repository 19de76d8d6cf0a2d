import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { controlValue, parseSnapshot, type BreakerChange, type BreakerSnapshot } from '../../libs/breaker';
import type { BulwarkProducer, KafkaClient } from '../../libs/kafka';

/** Publishes changes to the compacted control topic, keyed by scope (acks=-1 via BulwarkProducer). */
export function controlPublisher(producer: BulwarkProducer, topic: string) {
  return async (changes: BreakerChange[]): Promise<void> => {
    await producer.send(changes.map((c) => ({ topic, key: c.scope, value: controlValue(c) })));
  };
}

/**
 * Reads the control topic to its end and returns the newest snapshot per scope: what the breaker restores
 * when Redis has lost its state. Uses a throw-away consumer group (its offsets expire with Kafka's
 * offsets retention).
 */
export async function readControlSnapshots(
  kafka: KafkaClient,
  topic: string,
  timeoutMs = 30_000,
): Promise<BreakerSnapshot[]> {
  const end = await kafka.endOffsets(topic);
  const pending = new Map([...end].filter(([, high]) => BigInt(high) > 0n));
  const latest = new Map<string, BreakerSnapshot>();
  if (pending.size === 0) return [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const consumer = kafka.consumer({
    groupId: `bulwark-breaker-restore-${os.hostname()}-${randomBytes(4).toString('hex')}`,
    topics: [topic],
    fromBeginning: true,
    handle: async (batch) => {
      for (const m of batch.messages) {
        const snap = m.value === null ? null : parseSnapshot(m.value.toString('utf8'));
        if (snap && (latest.get(snap.scope)?.version ?? -1) < snap.version) latest.set(snap.scope, snap);
        const high = pending.get(m.partition);
        if (high !== undefined && BigInt(m.offset) + 1n >= BigInt(high)) pending.delete(m.partition);
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
  return [...latest.values()];
}
