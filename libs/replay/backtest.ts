import type { InProcessResult } from './in-process';
import { orderFlags, toReportFlag, type ReportFlag } from './report';

export interface BacktestReport {
  a: { config: string; flags: number; breaker: InProcessResult['report']['breaker'] };
  b: { config: string; flags: number; breaker: InProcessResult['report']['breaker'] };
  both: number;
  onlyA: ReportFlag[];
  onlyB: ReportFlag[];
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
  return {
    a: { config: nameA, flags: a.flags.length, breaker: a.report.breaker },
    b: { config: nameB, flags: b.flags.length, breaker: b.report.breaker },
    both: a.flags.filter((f) => inB.has(id(f))).length,
    onlyA: orderFlags(a.flags.filter((f) => !inB.has(id(f)))).map(toReportFlag),
    onlyB: orderFlags(b.flags.filter((f) => !inA.has(id(f)))).map(toReportFlag),
  };
}
