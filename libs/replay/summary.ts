import type { BacktestReport, RuleCounts } from './backtest';
import type { ReplayReport, ReportFlag } from './report';

/**
 * The few lines a person reads after a replay or backtest (the JSON report is for tools): written to stderr
 * by the CLI unless --quiet. Pure, so the wording is tested on plain reports.
 */
const n = (x: number) => x.toLocaleString('en-US');
const usd = (x: number) =>
  `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

export function flagsPerRule(flags: readonly ReportFlag[]): Map<string, number> {
  const per = new Map<string, number>();
  for (const f of flags) per.set(f.ruleId, (per.get(f.ruleId) ?? 0) + 1);
  return new Map([...per].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

export function replaySummary(report: ReplayReport): string {
  const e = report.events;
  const lines = [
    `events: ${n(e.total)} (valid ${n(e.valid)}, invalid ${n(e.invalid)}, ignored ${n(e.ignored)}, duplicate ${n(e.duplicate)})`,
  ];
  const per = flagsPerRule(report.flags);
  lines.push(
    `flags: ${n(report.flags.length)}${per.size > 0 ? `: ${[...per].map(([r, c]) => `${r} ${n(c)}`).join(', ')}` : ''}`,
  );
  if (report.response.halts.length === 0) lines.push('breaker: no halt');
  for (const h of report.response.halts) {
    const change = report.breaker.find((b) => b.state === 'halted' && b.scope === h.scope && b.at === h.at);
    lines.push(
      `${h.scope} halted at ${h.at}` +
        (h.crossedAt
          ? ` (threshold crossed ${h.crossedAt}${change?.trigger ? `, trigger ${change.trigger}` : ''})`
          : '') +
        (h.resumedAt ? `, resumed ${h.resumedAt}` : ', not resumed'),
    );
    lines.push(
      `  before the halt ${n(h.flaggedBefore.count)} flagged withdrawals (${usd(h.flaggedBefore.usd)}) got through; ` +
        `while halted ${n(h.blocked.count)} withdrawals (${usd(h.blocked.usd)}) were stopped`,
    );
  }
  if (report.response.halts.length > 0)
    lines.push(`halted: ${report.response.haltedMinutes} min of event time`);
  return `${lines.join('\n')}\n`;
}

export function backtestSummary(report: BacktestReport): string {
  const lines = [
    `A ${report.a.config}: ${n(report.a.flags)} flags; B ${report.b.config}: ${n(report.b.flags)} flags; ` +
      `in both ${n(report.both)}, only A ${n(report.onlyA.length)}, only B ${n(report.onlyB.length)}`,
  ];
  const rules = Object.entries(report.perRule);
  if (rules.length > 0) {
    const width = Math.max(4, ...rules.map(([r]) => r.length));
    lines.push(
      `${'rule'.padEnd(width)}  ${['A', 'B', 'both', 'only A', 'only B'].map((h) => h.padStart(7)).join('')}`,
    );
    for (const [rule, c] of rules as [string, RuleCounts][])
      lines.push(
        `${rule.padEnd(width)}  ${[c.a, c.b, c.both, c.onlyA, c.onlyB].map((x) => n(x).padStart(7)).join('')}`,
      );
  }
  const halts = (b: BacktestReport['a']) =>
    b.breaker
      .filter((c) => c.state === 'halted')
      .map((c) => `${c.scope} at ${c.at}`)
      .join(', ') || 'no halt';
  lines.push(`halts: A ${halts(report.a)}; B ${halts(report.b)}`);
  return `${lines.join('\n')}\n`;
}
