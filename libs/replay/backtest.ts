import type { InProcessResult } from './in-process';
import { orderFlags, toReportFlag, type ReportFlag } from './report';

export interface RuleCounts {
  a: number;
  b: number;
  both: number;
  onlyA: number;
  onlyB: number;
}

export interface BacktestReport {
  a: { config: string; flags: number; breaker: InProcessResult['report']['breaker'] };
  b: { config: string; flags: number; breaker: InProcessResult['report']['breaker'] };
  both: number;
  onlyA: ReportFlag[];
  onlyB: ReportFlag[];
  /** Per rule (sorted by name): flags under each config, in both, and only in one. */
  perRule: Record<string, RuleCounts>;
}

/** Flags are the same when they name the same rule and withdrawal. */
export function diffFlags(
  nameA: string,
  a: InProcessResult,
  nameB: string,
  b: InProcessResult,
): BacktestReport {
  const id = (f: { ruleId: string; withdrawalId: string }) => `${f.ruleId}\u0000${f.withdrawalId}`;
  const inA = new Set(a.flags.map(id));
  const inB = new Set(b.flags.map(id));
  const perRule: Record<string, RuleCounts> = {};
  const countOf = (rule: string) => (perRule[rule] ??= { a: 0, b: 0, both: 0, onlyA: 0, onlyB: 0 });
  for (const f of a.flags) {
    const c = countOf(f.ruleId);
    c.a++;
    if (inB.has(id(f))) c.both++;
    else c.onlyA++;
  }
  for (const f of b.flags) {
    const c = countOf(f.ruleId);
    c.b++;
    if (!inA.has(id(f))) c.onlyB++;
  }
  return {
    a: { config: nameA, flags: a.flags.length, breaker: a.report.breaker },
    b: { config: nameB, flags: b.flags.length, breaker: b.report.breaker },
    both: a.flags.filter((f) => inB.has(id(f))).length,
    onlyA: orderFlags(a.flags.filter((f) => !inB.has(id(f)))).map(toReportFlag),
    onlyB: orderFlags(b.flags.filter((f) => !inA.has(id(f)))).map(toReportFlag),
    perRule: Object.fromEntries(Object.entries(perRule).sort(([x], [y]) => x.localeCompare(y))),
  };
}
