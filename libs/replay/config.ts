import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { defaultBreakerConfig, parseBreakerConfig, type BreakerConfig } from '../breaker';
import { ConfigError, errorMessage } from '../errors';
import { defaultRulesConfig, parseRulesConfig, type RulesConfig } from '../rules';

export interface ReplayConfig {
  rules: RulesConfig;
  breaker: BreakerConfig;
}

/**
 * A replay's configuration: a rules file (as the detector reads, YAML or JSON), optionally with a `breaker:`
 * section holding breaker triggers (as the breaker reads). Without a file, the contract's defaults.
 */
export function loadReplayConfig(file?: string): ReplayConfig {
  if (file === undefined) return { rules: defaultRulesConfig(), breaker: defaultBreakerConfig() };
  const abs = path.resolve(file);
  let raw: unknown;
  try {
    raw = parseYaml(fs.readFileSync(abs, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read config ${abs}: ${code ?? errorMessage(err)}`);
  }
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw)))
    throw new ConfigError(`config ${abs}: expected a mapping with rules (and optionally breaker)`);
  const { breaker, ...rules } = (raw ?? {}) as Record<string, unknown>;
  return {
    rules: parseRulesConfig(rules, { baseDir: path.dirname(abs), source: `config ${abs}` }),
    breaker:
      breaker === undefined ? defaultBreakerConfig() : parseBreakerConfig(breaker, `config ${abs} (breaker)`),
  };
}
