import {
  MemoryWindowStore,
  RuleEngine,
  StreamEngine,
  type ApplyResult,
  type Flag,
  type InlineClose,
} from '../../libs/engine';
import type { SourcedEvent } from '../../libs/engine';
import { silentLogger } from '../../libs/logger';
import type { Redis } from '../../libs/redis';
import type { RulesConfig } from '../../libs/rules';

/** What the engine tests drive: the API every engine has. */
export interface Engine {
  applyBatch(
    events: SourcedEvent[],
    opts?: { watermarkMs?: number; closes?: InlineClose[] },
  ): Promise<ApplyResult>;
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
  /** True where the state lives in Redis (tests that break Redis itself run only there). */
  redisLua: boolean;
  create(prefix: string, rules: RulesConfig): Promise<Engine>;
}

export function engineBackends(redis: Redis): EngineBackend[] {
  const stores = new Map<string, MemoryWindowStore>();
  return [
    {
      name: 'Redis (Lua scripts)',
      redisLua: true,
      create: (prefix, rules) => RuleEngine.create({ redis, prefix, rules, logger: silentLogger() }),
    },
    {
      name: 'memory store',
      redisLua: false,
      create: async (prefix, rules) => {
        let store = stores.get(prefix);
        if (!store) stores.set(prefix, (store = new MemoryWindowStore()));
        return new StreamEngine(store, rules);
      },
    },
  ];
}
