import { z } from 'zod';
import { DEFAULTS } from '../defaults';
import { newestAtOrBefore, type UserFacts } from '../facts';
import type { ApprovalView, Evidence, RuleKindDefinition } from '../rule-kind';
import { positiveMs } from './params';

/**
 * `new-address-cooldown`: a whitelisting `w` of the same (normalised) address lies less than the cooldown
 * before the approval, `0 <= t - w < cooldown`; exactly the cooldown before is past it. The newest at or
 * before `t` decides (a whitelisting after the approval says nothing about it).
 */
const params = z.strictObject({ cooldownMs: positiveMs(DEFAULTS.cooldownMs) });
type Params = z.output<typeof params>;

export function freshlyWhitelisted(approval: ApprovalView, facts: UserFacts, p: Params): Evidence | null {
  const t = approval.event.occurredAtMs;
  const at = newestAtOrBefore(facts.whitelist.get(approval.address), t);
  if (at === null || t - at >= p.cooldownMs) return null;
  return { address: approval.address, whitelistedAtMs: at, ageMs: t - at, cooldownMs: p.cooldownMs };
}

export const newAddressCooldown: RuleKindDefinition<Params> = {
  severity: 'high',
  params,
  reads: (p) => ({ whitelist: p.cooldownMs }),
  compile: (rule) => ({
    id: rule.id,
    severity: rule.severity,
    atApproval: (approval, facts) => freshlyWhitelisted(approval, facts, rule.params),
  }),
};
