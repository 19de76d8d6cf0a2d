import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../libs/config';
import { liveEngine } from '../../libs/engine';
import type { KafkaClient, TopicNames } from '../../libs/kafka';
import { silentLogger } from '../../libs/logger';
import type { ReplayConfig } from '../../libs/replay/config';
import { replayThroughKafka } from '../../libs/replay/kafka-mode';
import { openLog, readLines } from '../../libs/replay/lines';
import type { ReplayReport } from '../../libs/replay/report';
import type { Redis } from '../../libs/redis';
import { breakerEnvSchema } from '../../services/breaker/config';
import { OperatorRegistry } from '../../services/breaker/operators';
import { startBreakerService } from '../../services/breaker/service';
import { startDetector } from './detector';
import { KAFKA_BROKERS, REDIS_URL, TEST_CONTROL_KEYS } from './env';

/** Writes a replay config file (rules YAML) and returns its path. */
export function configFile(name: string, yaml: string): string {
  const file = path.join(os.tmpdir(), `bulwark-${name}-${process.pid}.yaml`);
  fs.writeFileSync(file, yaml);
  return file;
}

/**
 * A live detector and breaker on `prefix` (their own topics and keys), as `bulwark replay --mode kafka`
 * finds them in production, plus a function that replays a file through them.
 */
export async function startReplayStack(
  prefix: string,
  opts: {
    kafka: KafkaClient;
    redis: Redis;
    topics: TopicNames;
    config: ReplayConfig;
    brokers?: string[];
    /** Extra breaker environment (BULWARK_FLAG_ORDER_MAX_HOLD_MS, say). */
    breakerEnv?: Record<string, string>;
  },
) {
  const brokers = (opts.brokers ?? KAFKA_BROKERS).join(',');
  const { detector, registry, started } = startDetector(
    prefix,
    { BULWARK_KAFKA_BROKERS: brokers },
    opts.config.rules,
  );
  await started;
  const breakerEnv = loadConfig(breakerEnvSchema, {
    BULWARK_KAFKA_BROKERS: brokers,
    BULWARK_REDIS_URL: REDIS_URL,
    BULWARK_KEY_PREFIX: prefix,
    BULWARK_TOPIC_PREFIX: `${prefix}.`,
    BULWARK_PARTITIONS: '3',
    BULWARK_BREAKER_PORT: '0',
    BULWARK_BREAKER_GROUP: `${prefix}-breaker`,
    BULWARK_DETECTOR_GROUP: `${prefix}-detector`,
    BULWARK_OPERATORS: '',
    BULWARK_CONTROL_KEYS: TEST_CONTROL_KEYS,
    ...opts.breakerEnv,
  });
  const breaker = await startBreakerService(
    breakerEnv,
    OperatorRegistry.fromEnv(undefined, undefined),
    opts.config.breaker,
    silentLogger(),
  );
  const engine = liveEngine({ redis: opts.redis, prefix, rules: opts.config.rules });
  const replay = async (
    file: string,
    speed: number,
    {
      timeoutMs = 90000,
      sliceLines,
      partitionFor,
    }: { timeoutMs?: number; sliceLines?: number; partitionFor?: (userId: string) => number } = {},
  ): Promise<ReplayReport> =>
    replayThroughKafka(readLines(await openLog(file)), {
      kafka: opts.kafka,
      topics: opts.topics,
      speed,
      detectorGroup: `${prefix}-detector`,
      breakerGroup: `${prefix}-breaker`,
      breaker: opts.config.breaker,
      pendingCount: () => engine.pendingCount(),
      settleMs: 1500,
      timeoutMs,
      ...(sliceLines === undefined ? {} : { sliceLines }),
      ...(partitionFor ? { partitionFor } : {}),
    });
  const stop = async () => {
    await detector.stop();
    await breaker.stop();
  };
  return { replay, stop, detector, registry, breaker };
}
