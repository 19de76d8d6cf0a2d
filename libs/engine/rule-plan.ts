import type { Spec } from './compiled-scripts';
import { rulesOfKind, sanctionsListsFor, type RuleOf, type RulesConfig, type SanctionsLists } from '../rules';

/** At most this many eventIds are remembered per user (the oldest go first): bounds a runaway producer. */
export const MAX_EVENTS_PER_USER = 10_000;

/** How long (ms, event time; the same length as a PEXPIRE) each kind of per-user state matters. */
export interface Retention {
  /** Dedup set and the raised-flags record. */
  horizon: number;
  whitelist: number;
  velocity: number;
  mfaPassed: number;
  mfaChanges: number;
  sessions: number;
  devices: number;
  /** A pending decision not closed within this is dropped with its key (the watermark stalled for days). */
  pending: number;
}

/**
 * The rules config compiled for the engine: which rules run where, the constants baked into the Lua scripts
 * (once, not per event), and the retention of every piece of state.
 */
export interface RulePlan {
  graceMs: number;
  retention: Retention;
  sanctions: { rule: RuleOf<'sanctioned-destination'>; lists: SanctionsLists }[];
  mfaMissing: RuleOf<'mfa-missing'>[];
  cooldown: RuleOf<'new-address-cooldown'>[];
  velocity: RuleOf<'velocity'>[];
  mfaChange: RuleOf<'mfa-reset-withdrawal'>[];
  newDevice: RuleOf<'new-device-withdrawal'>[];
  /** Ids of every rule decided by closeDue, for registering their possible flags before deciding. */
  deferredRuleIds: string[];
  /** The SPEC baked into each script that reads one. */
  specs: Record<
    | 'recordEvent'
    | 'applyWhitelist'
    | 'applyMfa'
    | 'applyMfaChange'
    | 'applyLogin'
    | 'applyApproval'
    | 'closeDue',
    Spec
  >;
}

const max = (xs: number[]): number => xs.reduce((a, b) => Math.max(a, b), 0);

/** Compiles `config`; reads each sanctions folder once (cached per process). */
export function compileRulePlan(config: RulesConfig): RulePlan {
  const grace = config.graceMs;
  const skew = config.maxSkewMs;
  const mfaMissing = rulesOfKind(config, 'mfa-missing');
  const cooldown = rulesOfKind(config, 'new-address-cooldown');
  const velocity = rulesOfKind(config, 'velocity');
  const mfaChange = rulesOfKind(config, 'mfa-reset-withdrawal');
  const newDevice = rulesOfKind(config, 'new-device-withdrawal');
  const sanctions = rulesOfKind(config, 'sanctioned-destination').map((rule) => ({
    rule,
    lists: sanctionsListsFor(rule.params.listsDir, `${rule.id}.params.listsDir`),
  }));

  // Wallet-stream state is read by the same ordered stream that writes it: window + grace is enough.
  // Auth facts are read by approvals from the other stream, which may lag: window + grace + max skew.
  const retention: Retention = {
    horizon: config.dedupHorizonMs,
    whitelist: max(cooldown.map((r) => r.params.cooldownMs)) + grace,
    velocity: max(velocity.map((r) => r.params.windowMs)) + grace,
    mfaPassed: max(mfaMissing.map((r) => r.params.lookbackMs)) + grace + skew,
    mfaChanges: max(mfaChange.map((r) => r.params.windowMs)) + grace + skew,
    sessions: max(newDevice.map((r) => r.params.loginWithinMs)) + grace + skew,
    devices: max(newDevice.map((r) => r.params.unseenMs)) + grace + skew,
    pending: config.dedupHorizonMs + grace,
  };

  const dedup = { h: retention.horizon, cap: MAX_EVENTS_PER_USER };
  const specs: RulePlan['specs'] = {
    recordEvent: dedup,
    applyWhitelist: { ...dedup, keep: retention.whitelist },
    applyMfa: { ...dedup, keep: retention.mfaPassed },
    applyMfaChange: { ...dedup, keep: retention.mfaChanges },
    applyLogin: { ...dedup, ss: retention.sessions, dv: retention.devices },
    applyApproval: {
      ...dedup,
      cd: cooldown.map((r) => [r.id, r.severity, r.params.cooldownMs]),
      cdKeep: retention.whitelist,
      vel: velocity.map((r) => [
        r.id,
        r.severity,
        r.params.windowMs,
        r.params.maxCount ?? -1,
        r.params.maxUsd ?? -1,
      ]),
      velKeep: retention.velocity,
      g: grace,
      pdKeep: retention.pending,
    },
    closeDue: {
      h: retention.horizon,
      g: grace,
      mm: mfaMissing.map((r) => [r.id, r.severity, r.params.lookbackMs]),
      mc: mfaChange.map((r) => [r.id, r.severity, r.params.windowMs]),
      nd: newDevice.map((r) => [r.id, r.severity, r.params.loginWithinMs, r.params.unseenMs]),
    },
  };

  return {
    graceMs: grace,
    retention,
    sanctions,
    mfaMissing,
    cooldown,
    velocity,
    mfaChange,
    newDevice,
    deferredRuleIds: [...mfaMissing, ...mfaChange, ...newDevice].map((r) => r.id),
    specs,
  };
}
