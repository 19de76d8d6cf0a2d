export { Breaker, durationText, type BreakerOptions, type RequestOrigin, type ResumeResult } from './breaker';
export {
  GENESIS,
  entryHash,
  sealEntries,
  verifyTrail,
  type ChainHead,
  type SealedEntry,
  type TrailVerdict,
} from './audit-chain';
export type { RequestRecord } from './audit-sealer';
export {
  canonicalJson,
  controlKeysFromEnv,
  parseControlKeys,
  requireControlKeys,
  signFields,
  verifyFields,
  type ControlKey,
  type ControlKeyring,
} from './control-keys';
export { hasUnsafeChars, neutraliseText } from './text';
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
export { FlagOrderer, decidedAtMs, type OrderEntry, type Release } from './flag-order';
export { WatermarkGate } from './watermark-gate';
export { assetScope, isScope, parseScope, TICKER_PATTERN, type Scope } from './scope';
export {
  chooseRestore,
  controlValue,
  decideAnyStatus,
  decideStatus,
  parseControlMessage,
  parseSnapshot,
  type ControlParse,
  type ControlRejection,
  type RestoreChoice,
  type AuditEntry,
  type BreakerChange,
  type BreakerSnapshot,
  type BreakerState,
  type WithdrawalStatus,
} from './snapshot';
export { firstCrossing, windowAdds, type Crossing, type WindowEntry } from './triggers';
export { MemoryBreaker } from './memory-breaker';
