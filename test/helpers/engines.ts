import {
  MemoryWindowStore,
  liveEngine,
  StreamEngine,
  type ApplyOptions,
  type ApplyResult,
  type Flag,
} from '../../libs/engine';
import type { SourcedEvent } from '../../libs/engine';
import { windowStoreIndexKeys } from '../../libs/keys';
import type { RedisLike } from '../../libs/redis';
import type { RulesConfig } from '../../libs/rules';

/** What the engine tests drive: the API every engine has. */
export interface Engine {
  applyBatch(events: SourcedEvent[], opts?: ApplyOptions): Promise<ApplyResult>;
  closeDue(watermarkMs: number): Promise<Flag[]>;
  ackFlags(flags: Flag[]): Promise<void>;
  unackedFlags(): Promise<Flag[]>;
  pendingCount(): Promise<number>;
}

/**
 * The engines the behaviour tests run against. Engines created on one prefix share their state, as
 * instances sharing one Redis do (a restart is a new engine on the same prefix).
 */
export interface EngineBackend {
  name: string;
  /** Where the state is in Redis: the key of its pending-decision index (a crash test loses it). */
  pendingIndexKey?: (prefix: string) => string;
  create(prefix: string, rules: RulesConfig): Promise<Engine>;
  /**
   * For a backend in Redis: an engine on the same state through another client (a test's proxy that
   * makes calls fail, as a dying process would).
   */
  createOn?(redis: RedisLike, prefix: string, rules: RulesConfig): Promise<Engine>;
}

/** The engine on the Redis window store; each call is another instance (its own cache) on shared state. */
export function redisStoreEngine(redis: RedisLike, prefix: string, rules: RulesConfig): StreamEngine {
  return liveEngine({ redis, prefix, rules });
}

export function engineBackends(redis: RedisLike): EngineBackend[] {
  const stores = new Map<string, MemoryWindowStore>();
  return [
    {
      name: 'Redis window store',
      pendingIndexKey: (prefix) => windowStoreIndexKeys(prefix).pending,
      create: async (prefix, rules) => redisStoreEngine(redis, prefix, rules),
      createOn: async (client, prefix, rules) => redisStoreEngine(client, prefix, rules),
    },
    {
      name: 'memory store',
      create: async (prefix, rules) => {
        let store = stores.get(prefix);
        if (!store) stores.set(prefix, (store = new MemoryWindowStore()));
        return new StreamEngine(store, rules);
      },
    },
  ];
}
