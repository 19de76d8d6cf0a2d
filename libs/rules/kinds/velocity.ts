import { z } from 'zod';
import { DEFAULTS } from '../defaults';
import type { UserFacts } from '../facts';
import type { ApprovalView, Evidence, RuleKindDefinition } from '../rule-kind';
import { positiveMs } from './params';

/**
 * `velocity`: the user's approved withdrawals with first approval in `(t - window, t]`, each withdrawal once
 * (this approval included), flag when their count is more than `maxCount` or their amountUsd sum more than
 * `maxUsd`. Decided at the approval: its facts come from the approval's own stream.
 */
const COUNT = 'expected a whole number >= 0, or null for no count limit';
const USD = 'expected a number >= 0, or null for no USD limit';
const params = z
  .strictObject({
    windowMs: positiveMs(DEFAULTS.velocityWindowMs),
    /** Flags when more than this many withdrawals were approved in the window; null: no count limit. */
    maxCount: z
      .number({ error: COUNT })
      .int({ error: COUNT })
      .min(0, { error: COUNT })
      .nullable()
      .default(DEFAULTS.velocityMaxCount),
    /** Flags when the window's approved amountUsd sums to more than this; null: no USD limit. */
    maxUsd: z.number({ error: USD }).min(0, { error: USD }).nullable().default(DEFAULTS.velocityMaxUsd),
  })
  .refine((p) => p.maxCount !== null || p.maxUsd !== null, {
    error: 'maxCount and maxUsd cannot both be null: the rule would never flag',
  });
type Params = z.output<typeof params>;

/** Reads the velocity facts after the approval was counted into them (engine: `addVelocity`). */
export function overVelocity(approval: ApprovalView, facts: UserFacts, p: Params): Evidence | null {
  const t = approval.event.occurredAtMs;
  let count = 0;
  let sum = 0;
  for (const v of facts.velocity) {
    if (v.atMs > t - p.windowMs && v.atMs <= t) {
      count++;
      sum += v.amountUsd;
    }
  }
  const overCount = p.maxCount !== null && count > p.maxCount;
  const overUsd = p.maxUsd !== null && sum > p.maxUsd;
  if (!overCount && !overUsd) return null;
  return {
    windowMs: p.windowMs,
    windowStartMs: t - p.windowMs,
    count,
    // The decision uses the exact float sum; the evidence shows it without float noise (100000.01, not
    // 100000.01000000001).
    sumUsd: Number(sum.toPrecision(14)),
    maxCount: p.maxCount,
    maxUsd: p.maxUsd,
    exceeded: overCount && overUsd ? 'count+usd' : overCount ? 'count' : 'usd',
  };
}

export const velocity: RuleKindDefinition<Params> = {
  severity: 'medium',
  params,
  reads: (p) => ({ velocity: p.windowMs }),
  compile: (rule) => ({
    id: rule.id,
    severity: rule.severity,
    atApproval: (approval, facts) => overVelocity(approval, facts, rule.params),
  }),
};
