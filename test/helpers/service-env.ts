import { KAFKA_BROKERS, REDIS_URL, TEST_CONTROL_KEYS } from './env';

/**
 * The environment a test gives a Bulwark service: the real broker and Redis, its own key and topic prefixes
 * and consumer groups, and the test signing key. `keyPrefix` defaults to the topic prefix.
 */
export function serviceEnv(
  topicPrefix: string,
  opts: { partitions?: number; keyPrefix?: string } = {},
): Record<string, string> {
  return {
    BULWARK_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
    BULWARK_REDIS_URL: REDIS_URL,
    BULWARK_KEY_PREFIX: opts.keyPrefix ?? topicPrefix,
    BULWARK_TOPIC_PREFIX: `${topicPrefix}.`,
    BULWARK_PARTITIONS: String(opts.partitions ?? 1),
    BULWARK_BREAKER_GROUP: `${topicPrefix}-breaker`,
    BULWARK_DETECTOR_GROUP: `${topicPrefix}-detector`,
    BULWARK_CONTROL_KEYS: TEST_CONTROL_KEYS,
  };
}
