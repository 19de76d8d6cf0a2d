import type { EngineMetrics } from '../metrics';
import type { RedisLike } from '../redis';
import { stateReachMs, compileRules, type RulesConfig } from '../rules';
import { RedisWindowStore } from './store/redis-store';
import { StreamEngine } from './stream-engine';

export interface LiveEngineOptions {
  redis: RedisLike;
  /** The deployment's key prefix (BULWARK_KEY_PREFIX): every key the engine writes starts with it. */
  prefix: string;
  rules: RulesConfig;
  metrics?: EngineMetrics;
  /** Only for the decision-latency metric. */
  wallClock?: () => number;
}

/**
 * The engine the detector runs, and what tools and tests open to read its state: the rules over the Redis
 * window store, each user's state kept as long as the longest window any rule reads.
 */
export function liveEngine(opts: LiveEngineOptions): StreamEngine {
  const ttlMs = stateReachMs(compileRules(opts.rules));
  const store = new RedisWindowStore({ redis: opts.redis, prefix: opts.prefix, ttlMs });
  return new StreamEngine(store, opts.rules, {
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.wallClock ? { wallClock: opts.wallClock } : {}),
  });
}
