import { Registry } from 'prom-client';
import { loadConfig } from '../../libs/config';
import type { KafkaClient, OutRecord, TopicNames } from '../../libs/kafka';
import { silentLogger } from '../../libs/logger';
import { loadRulesConfig, type RulesConfig } from '../../libs/rules';
import { detectorEnvSchema, type DetectorConfig } from '../../services/detector/config';
import { Detector } from '../../services/detector/detector';
import { KAFKA_BROKERS, REDIS_URL, waitFor } from './env';
import { isAuth, type Ev } from './events';

/** Rules with a short grace period and idle timeout, so tests wait seconds, not minutes. */
export function fastRules(): RulesConfig {
  return { ...loadRulesConfig(), graceMs: 2000, idleTimeoutMs: 1000 };
}

export function detectorEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    BULWARK_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
    BULWARK_REDIS_URL: REDIS_URL,
    BULWARK_KEY_PREFIX: prefix,
    BULWARK_TOPIC_PREFIX: `${prefix}.`,
    BULWARK_PARTITIONS: '3',
    BULWARK_DETECTOR_GROUP: `${prefix}-detector`,
    BULWARK_DETECTOR_PORT: '0',
    BULWARK_TICK_MS: '200',
    BULWARK_LOG_LEVEL: 'silent',
    ...extra,
  };
}

export function startDetector(prefix: string, extra: Record<string, string> = {}, rules = fastRules()) {
  const config: DetectorConfig = loadConfig(detectorEnvSchema, detectorEnv(prefix, extra));
  const registry = new Registry();
  const detector = new Detector({ config, rules, registry, logger: silentLogger() });
  return { detector, registry, config, started: detector.start() };
}

export async function publish(
  kafka: KafkaClient,
  topics: TopicNames,
  events: (Ev | { raw: Buffer | string | null; topic: 'auth' | 'wallet'; key?: string })[],
) {
  const producer = kafka.producer();
  await producer.connect();
  const records: OutRecord[] = events.map((e) =>
    'raw' in e && (e.topic === 'auth' || e.topic === 'wallet')
      ? {
          topic: e.topic === 'auth' ? topics.auth : topics.wallet,
          key: String(e.key ?? 'u-raw'),
          value: e.raw as string | Buffer | null,
        }
      : {
          topic: isAuth(e as Ev) ? topics.auth : topics.wallet,
          key: String((e as Ev).userId),
          value: JSON.stringify(e),
        },
  );
  await producer.send(records);
  await producer.disconnect();
}

/** Reads every message of the given topics from the beginning, as parsed JSON, until `enough` says so. */
export async function readAll(
  kafka: KafkaClient,
  topics: string[],
  enough: (msgs: { topic: string; value: Record<string, unknown> | null; key: string | null }[]) => boolean,
  timeoutMs = 30000,
) {
  const msgs: { topic: string; value: Record<string, unknown> | null; key: string | null }[] = [];
  const consumer = kafka.consumer({
    groupId: `reader-${Math.random().toString(36).slice(2)}`,
    topics,
    fromBeginning: true,
    handle: async (batch) => {
      for (const m of batch.messages)
        msgs.push({
          topic: m.topic,
          key: m.key?.toString() ?? null,
          value: m.value ? (JSON.parse(m.value.toString()) as Record<string, unknown>) : null,
        });
    },
  });
  await consumer.start();
  try {
    await waitFor(() => enough(msgs), timeoutMs);
  } finally {
    await consumer.stop();
  }
  return msgs;
}

/** Sum of a counter's values matching the labels given. */
export async function counter(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  return data.values
    .filter((v) =>
      Object.entries(labels).every(([k, val]) => String((v.labels as Record<string, unknown>)[k]) === val),
    )
    .reduce((s, v) => s + v.value, 0);
}
