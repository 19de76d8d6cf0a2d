import { z } from 'zod';
import { DEFAULTS } from '../defaults';
import type { MfaFact, UserFacts } from '../facts';
import type { ApprovalView, Evidence, RuleKindDefinition } from '../rule-kind';
import { claimsVerdict } from '../second-factor';
import { positiveMs } from './params';

/**
 * `mfa-missing`: no `mfa.passed` of the same user and session with time in `[t - lookback, t + grace]`, or
 * the approval's own claims prove the second factor missing. Claims never clear it: an approval claiming
 * MFA still waits for the auth stream to show one.
 */
const params = z.strictObject({ lookbackMs: positiveMs(DEFAULTS.mfaLookbackMs) });
type Params = z.output<typeof params>;

/** Flags at once when the claims prove it (mfaVerified false, or no second factor listed). */
export function mfaMissingByClaims(approval: ApprovalView): Evidence | null {
  const e = approval.event;
  const verdict = claimsVerdict(e.approval);
  return verdict === null ? null : { reason: verdict, sessionId: e.sessionId, claims: e.approval };
}

const lastOf = (list: readonly MfaFact[], keep: (f: MfaFact) => boolean): MfaFact | undefined => {
  let last: MfaFact | undefined;
  for (const f of list) if (keep(f) && (last === undefined || f.atMs > last.atMs)) last = f;
  return last;
};

/** After the grace period: flags when the session has no MFA in the window. */
export function mfaMissingInWindow(
  approval: ApprovalView,
  facts: UserFacts,
  p: Params,
  graceMs: number,
): Evidence | null {
  const e = approval.event;
  const lo = e.occurredAtMs - p.lookbackMs;
  const hi = e.occurredAtMs + graceMs;
  const list = facts.mfaPassed;
  for (const f of list) if (f.sessionId === e.sessionId && f.atMs >= lo && f.atMs <= hi) return null;
  const session = lastOf(list, (f) => f.sessionId === e.sessionId);
  const user = lastOf(list, (f) => f.atMs <= hi);
  return {
    reason: 'no-mfa-in-window',
    sessionId: e.sessionId,
    lookbackMs: p.lookbackMs,
    graceMs,
    windowStartMs: lo,
    windowEndMs: hi,
    lastMfaForSession: session ? { atMs: session.atMs, factor: session.factor } : null,
    lastMfaForUser: user ? { atMs: user.atMs, factor: user.factor, sessionId: user.sessionId } : null,
    claims: e.approval,
  };
}

export const mfaMissing: RuleKindDefinition<Params> = {
  severity: 'critical',
  params,
  reads: (p) => ({ mfaPassed: p.lookbackMs }),
  compile: (rule) => ({
    id: rule.id,
    severity: rule.severity,
    atApproval: (approval) => mfaMissingByClaims(approval),
    afterGrace: (approval, facts, ctx) => mfaMissingInWindow(approval, facts, rule.params, ctx.graceMs),
  }),
};
