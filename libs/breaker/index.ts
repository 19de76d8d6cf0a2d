export { Breaker, durationText, type BreakerOptions, type ResumeResult } from './breaker';
export {
  breakerConfigSchema,
  defaultBreakerConfig,
  defaultBreakerConfigPath,
  loadBreakerConfig,
  parseBreakerConfig,
  stalledTrigger,
  windowTriggers,
  type BreakerConfig,
  type StalledTrigger,
  type TriggerConfig,
  type WindowTrigger,
} from './config';
export { BreakerError, type BreakerErrorCode } from './errors';
export {
  flagSchema,
  parseFlag,
  SEVERITIES,
  type Flag,
  type FlagInvalidCode,
  type FlagParse,
  type Severity,
} from './flag';
export { assetScope, isScope, parseScope, TICKER_PATTERN, type Scope } from './scope';
export {
  controlValue,
  decideStatus,
  parseSnapshot,
  type AuditEntry,
  type BreakerChange,
  type BreakerSnapshot,
  type BreakerState,
  type WithdrawalStatus,
} from './snapshot';
export { firstCrossing, windowAdds, type Crossing, type WindowEntry } from './triggers';
