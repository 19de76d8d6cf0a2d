import path from 'node:path';
import { defaultBreakerConfig, parseBreakerConfig, type BreakerConfig } from '../breaker';
import { readYamlFile } from '../config/yaml';
import { ConfigError } from '../errors';
import { defaultRulesConfig, parseRulesConfig, type RulesConfig } from '../rules';

export interface ReplayConfig {
  rules: RulesConfig;
  breaker: BreakerConfig;
}

/**
 * A replay's configuration: a rules file (as the detector reads, YAML or JSON), optionally with a `breaker:`
 * section holding breaker triggers (as the breaker reads). Without a file, the contract's defaults. Both parts
 * are validated strictly, so a typo is refused with its path and never replays the defaults instead.
 */
export function loadReplayConfig(file?: string): ReplayConfig {
  if (file === undefined) return { rules: defaultRulesConfig(), breaker: defaultBreakerConfig() };
  const abs = path.resolve(file);
  const raw = readYamlFile(abs, `config ${abs}`);
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw)))
    throw new ConfigError(`config ${abs}: expected a mapping with rules (and optionally breaker)`);
  const { breaker, ...rules } = (raw ?? {}) as Record<string, unknown>;
  return {
    rules: parseRulesConfig(rules, { baseDir: path.dirname(abs), source: `config ${abs}` }),
    breaker:
      breaker === undefined
        ? defaultBreakerConfig()
        : parseBreakerConfig(breaker, `config ${abs} (breaker section)`),
  };
}
