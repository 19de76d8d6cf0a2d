import { z } from 'zod';
import { DEFAULTS } from '../defaults';
import type { UserFacts } from '../facts';
import type { ApprovalView, Evidence, RuleKindDefinition } from '../rule-kind';
import { positiveMs } from './params';

/**
 * `mfa-reset-withdrawal`: an `mfa.reset` or `mfa.enrolled` in `(t - window, t]` (a change exactly the
 * window before does not count). Decided after the grace period, since the change comes from the auth
 * stream; the newest change in the window is the evidence.
 */
const params = z.strictObject({ windowMs: positiveMs(DEFAULTS.mfaChangeWindowMs) });
type Params = z.output<typeof params>;

export function recentMfaChange(approval: ApprovalView, facts: UserFacts, p: Params): Evidence | null {
  const t = approval.event.occurredAtMs;
  const list = facts.mfaChanges;
  for (let i = list.length - 1; i >= 0; i--) {
    const c = list[i]!;
    if (c.atMs > t) continue;
    if (c.atMs <= t - p.windowMs) return null;
    return {
      change: `mfa.${c.change}`,
      factor: c.factor === '' ? null : c.factor,
      atMs: c.atMs,
      ageMs: t - c.atMs,
      windowMs: p.windowMs,
    };
  }
  return null;
}

export const mfaResetWithdrawal: RuleKindDefinition<Params> = {
  severity: 'high',
  params,
  reads: (p) => ({ mfaChanges: p.windowMs }),
  compile: (rule) => ({
    id: rule.id,
    severity: rule.severity,
    afterGrace: (approval, facts) => recentMfaChange(approval, facts, rule.params),
  }),
};
