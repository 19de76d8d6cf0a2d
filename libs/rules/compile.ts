import type { RuleInstance, RulesConfig } from './config';
import {
  COUNTED_FACTS,
  CROSS_STREAM_FACTS,
  FACT_KINDS,
  type FactGaps,
  type FactKind,
  type FactNeeds,
  type FactRetention,
} from './facts';
import { RULE_REGISTRY } from './registry';
import type { CompiledRule, RuleKindDefinition } from './rule-kind';

/**
 * The enabled rules of a config, compiled once at start-up: the decisions, and how long each kind of fact
 * must be kept for them. Whoever keeps the facts (a window store) reads the retention from here.
 */
export interface CompiledRules {
  graceMs: number;
  dedupHorizonMs: number;
  /** Every enabled rule, in file order. */
  rules: CompiledRule[];
  /** The rules with a decision after the grace period: an approval waits only when there is one. */
  deferred: CompiledRule[];
  /**
   * How long each fact kind is kept (event time): the longest reach of any rule reading it, plus grace, plus
   * `maxSkewMs` for facts read across streams, and at least the dedup horizon for counted facts; 0 for
   * facts no rule reads (they are not kept at all).
   */
  retention: FactRetention;
  /** Per time list, the gap it may be thinned to (the smallest any reader names); absent: kept whole. */
  thinGaps: FactGaps;
  needs: FactNeeds;
}

// The registry's entries differ in their params type; one place takes them as the shape they all share.
const definitionOf = (rule: RuleInstance) =>
  RULE_REGISTRY[rule.kind] as unknown as RuleKindDefinition<unknown, RuleInstance['params']>;

export function compileRules(config: RulesConfig): CompiledRules {
  const enabled = config.rules.filter((r) => r.enabled);
  const reach: Record<FactKind, number> = {
    whitelist: 0,
    velocity: 0,
    mfaPassed: 0,
    mfaChanges: 0,
    sessions: 0,
    devices: 0,
  };
  const read = new Set<FactKind>();
  const rules: CompiledRule[] = [];
  const gaps: FactGaps = {};
  const unthinned = new Set<FactKind>();
  for (const rule of enabled) {
    const def = definitionOf(rule);
    const thin = def.thinGaps?.(rule.params) ?? {};
    for (const [kind, ms] of Object.entries(def.reads(rule.params)) as [FactKind, number][]) {
      read.add(kind);
      reach[kind] = Math.max(reach[kind], ms);
      const gap = thin[kind];
      if (gap === undefined) unthinned.add(kind);
      else gaps[kind] = Math.min(gaps[kind] ?? Infinity, gap);
    }
    rules.push(def.compile(rule));
  }
  for (const kind of unthinned) delete gaps[kind];
  const retention = {} as FactRetention;
  for (const kind of FACT_KINDS) {
    if (!read.has(kind)) {
      retention[kind] = 0;
      continue;
    }
    const keep = reach[kind] + config.graceMs + (CROSS_STREAM_FACTS.has(kind) ? config.maxSkewMs : 0);
    retention[kind] = COUNTED_FACTS.has(kind) ? Math.max(keep, config.dedupHorizonMs) : keep;
  }
  return {
    graceMs: config.graceMs,
    dedupHorizonMs: config.dedupHorizonMs,
    rules,
    deferred: rules.filter((r) => r.afterGrace !== undefined),
    retention,
    thinGaps: gaps,
    needs: read,
  };
}

/** How far back in event time the state reaches: the longest any fact or eventId is kept. */
export function stateReachMs(compiled: CompiledRules): number {
  return Math.max(compiled.dedupHorizonMs, ...Object.values(compiled.retention));
}
