import type { Flag } from '../../libs/breaker';

/**
 * A valid flag as the detector writes it: `id` names the withdrawal (flagId `<rule>:<id>`), decided at
 * `decidedMs` (raisedAt; occurredAt too unless given). Overrides for anything else.
 */
export function testFlag(id: string, decidedMs: number, overrides: Partial<Flag> = {}): Flag {
  const iso = new Date(decidedMs).toISOString();
  const ruleId = overrides.ruleId ?? 'mfa-missing';
  return {
    flagId: `${ruleId}:${id}`,
    ruleId,
    severity: 'critical',
    userId: `u-${id}`,
    withdrawalId: id,
    eventId: `e-${id}`,
    occurredAt: iso,
    raisedAt: iso,
    asset: 'ETH',
    amountUsd: 100,
    evidence: {},
    ...overrides,
  };
}
