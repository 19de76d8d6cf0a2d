const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The contract's defaults (section 5), in one place; `config/rules.default.yaml` spells out the same numbers. */
export const DEFAULTS = {
  graceMs: 30_000,
  idleTimeoutMs: 10_000,
  dedupHorizonMs: 2 * DAY,
  maxSkewMs: 6 * HOUR,
  mfaLookbackMs: 10 * MINUTE,
  cooldownMs: DAY,
  mfaChangeWindowMs: DAY,
  deviceUnseenMs: 90 * DAY,
  loginWithinMs: 30 * MINUTE,
  velocityWindowMs: HOUR,
  velocityMaxCount: 5,
  velocityMaxUsd: 100_000,
} as const;
