import { ConfigError } from '../errors';
import { topicNames, type TopicNames } from '../kafka';

/**
 * Kafka-mode replay publishes to input topics the running services consume: on the live topic names (no
 * BULWARK_TOPIC_PREFIX) its events become real flags and can halt real withdrawals. That needs `--live`.
 */
export function refuseLiveTopics(topics: Pick<TopicNames, 'auth' | 'wallet'>, live: boolean): void {
  const liveNames = topicNames('');
  if (live || (topics.auth !== liveNames.auth && topics.wallet !== liveNames.wallet)) return;
  throw new ConfigError(
    `replay --mode kafka would publish to the live topics ${liveNames.auth} and ${liveNames.wallet} ` +
      '(BULWARK_TOPIC_PREFIX is empty) and could trip the real breaker; set BULWARK_TOPIC_PREFIX to a ' +
      "replay stack's prefix, or pass --live to replay into production on purpose",
  );
}
