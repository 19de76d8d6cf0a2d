import { randomBytes } from 'node:crypto';
import { createRedis, deleteByPrefix, type Redis } from '../../libs/redis';
import { KafkaClient, topicDeclarations, topicNames, type TopicNames } from '../../libs/kafka';
import { silentLogger } from '../../libs/logger';

/** Where the real services the integration tests talk to are (started by scripts/stack.sh up). */
export const KAFKA_BROKERS = (process.env.BULWARK_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const REDIS_URL = process.env.BULWARK_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh prefix per test so topics, groups and keys never collide with another test's. */
export function uniquePrefix(label = 't'): string {
  return `${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function testKafka(): KafkaClient {
  return new KafkaClient({ brokers: KAFKA_BROKERS, clientId: 'bulwark-test', logger: silentLogger() });
}

export async function provisionTopics(
  kafka: KafkaClient,
  prefix: string,
  partitions = 3,
): Promise<TopicNames> {
  const names = topicNames(`${prefix}.`);
  await kafka.ensureTopics(topicDeclarations(names, partitions));
  return names;
}

export async function deleteTopicsWithPrefix(kafka: KafkaClient, prefix: string): Promise<void> {
  await kafka.admin(async (admin) => {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10000 });
  });
}

export function testRedis(): Redis {
  return createRedis({ url: REDIS_URL, logger: silentLogger() });
}

export async function cleanRedis(redis: Redis, prefix: string): Promise<void> {
  await deleteByPrefix(redis, prefix);
}

/** Polls until `fn` returns a truthy value or the time runs out (tests never assert on timing). */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs = 20000, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * The real broker and Redis for one test file, and fresh prefixes whose topics and keys are deleted once the
 * file's tests are done. Call it in a describe body.
 */
export function realStack(): { kafka: KafkaClient; redis: Redis; fresh: (label: string) => string } {
  const kafka = testKafka();
  const redis = testRedis();
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) {
      await deleteTopicsWithPrefix(kafka, p);
      await cleanRedis(redis, p);
    }
    await kafka.close();
    redis.disconnect();
  });
  const fresh = (label: string): string => {
    const p = uniquePrefix(label);
    prefixes.push(p);
    return p;
  };
  return { kafka, redis, fresh };
}

/** A fresh breaker signing key line (`kid:base64secret`) for a test; never passed on a command line. */
export function testControlKeyLine(kid = 'test'): string {
  return `${kid}:${randomBytes(32).toString('base64')}`;
}

/** One signing key per test process, as BULWARK_CONTROL_KEYS would hold it. */
export const TEST_CONTROL_KEYS = testControlKeyLine();
