import type { z } from 'zod';
import type { WithdrawalApproved } from '../events';
import type { FactKind, UserFacts } from './facts';

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What a rule decides about: the approval, with its destination as its chain compares it. */
export interface ApprovalView {
  event: WithdrawalApproved;
  /** `normaliseAddress(event.address)`. */
  address: string;
}

/** Why a rule flags: rule-specific facts; times as `...AtMs` numbers (flags get ISO twins). */
export type Evidence = Record<string, unknown>;

/** What a decision may read besides the approval and its user's facts. */
export interface DecisionContext {
  graceMs: number;
}

/**
 * One rule instance compiled from its params: pure functions of the approval and its user's facts, no I/O,
 * no clock. `atApproval` decides at the approval's own event time; `afterGrace` once event time has passed
 * `occurredAt + grace` (it waits for facts from the other stream) and runs only when `atApproval` did not
 * flag.
 */
export interface CompiledRule {
  id: string;
  severity: Severity;
  atApproval?: (approval: ApprovalView, facts: UserFacts, ctx: DecisionContext) => Evidence | null;
  afterGrace?: (approval: ApprovalView, facts: UserFacts, ctx: DecisionContext) => Evidence | null;
}

/** How far back (event time, ms) a rule reads each fact kind, before grace and skew are added. */
export type FactReach = Partial<Record<FactKind, number>>;

/**
 * A rule kind: its params schema (with the contract's defaults), default severity, the facts it reads and
 * for how long, and its decision. One file per kind under `kinds/`; `registry.ts` lists them.
 */
export interface RuleKindDefinition<P, Compiled = P> {
  severity: Severity;
  params: z.ZodType<P, unknown>;
  reads(params: Compiled): FactReach;
  /**
   * For time lists this rule reads only as "the newest time before x, and is it within gap of x": a time
   * whose neighbours lie at most `gap` apart can go without changing its decision (trimFacts thins them).
   * A rule that reads a list and does not name a gap keeps the list whole.
   */
  thinGaps?(params: Compiled): FactReach;
  /** `Compiled` is `P` with what config loading resolves (the sanctions folder: an absolute path). */
  compile(rule: { id: string; severity: Severity; params: Compiled }): CompiledRule;
}
