import fs from 'node:fs';
import { parseEvent } from '../../libs/events';
import { openLog, readLines } from '../../libs/replay/lines';
import type { ReplayReport } from '../../libs/replay/report';

/**
 * For the demo: reads the simulated log and the replay report and says when the global halt came relative to
 * the first unauthorised withdrawal, and how much of the stolen value was approved after it (value a halt
 * would have stopped). Attack withdrawals are the simulator's `wd-atk-` ids: the demo's own ground truth.
 */
export interface DemoSummary {
  attackWithdrawals: number;
  attackUsd: number;
  firstAttackAt: string | null;
  /** Effective (the first moment a withdrawal service could see it) and when the threshold was crossed. */
  haltAt: string | null;
  haltCrossedAt: string | null;
  haltTrigger: string | null;
  secondsFromFirstAttackToHalt: number | null;
  usdBeforeHalt: number;
  usdAfterHalt: number;
  attackFlagged: number;
  ordinaryFlaggedMfaMissing: number;
  /** The report's response section for the global halt: flagged value that got through, value blocked. */
  response: {
    flaggedBeforeUsd: number;
    blockedUsd: number;
    blockedCount: number;
    haltedMinutes: number;
  } | null;
}

export async function summarise(logFile: string, report: ReplayReport): Promise<DemoSummary> {
  const attacks: { t: number; usd: number; id: string }[] = [];
  for await (const line of readLines(await openLog(logFile))) {
    const p = parseEvent(line);
    if (
      p.kind === 'valid' &&
      p.event.type === 'withdrawal.approved' &&
      p.event.withdrawalId.startsWith('wd-atk-')
    )
      attacks.push({ t: p.event.occurredAtMs, usd: p.event.amountUsd, id: p.event.withdrawalId });
  }
  attacks.sort((a, b) => a.t - b.t);
  const halt = report.breaker.find((c) => c.scope === 'global' && c.state === 'halted');
  const haltMs = halt ? Date.parse(halt.at) : Infinity;
  const first = attacks[0];
  const attackIds = new Set(attacks.map((a) => a.id));
  const mfaMissing = report.flags.filter((f) => f.ruleId === 'mfa-missing');
  return {
    attackWithdrawals: attacks.length,
    attackUsd: round(attacks.reduce((s, a) => s + a.usd, 0)),
    firstAttackAt: first ? new Date(first.t).toISOString() : null,
    haltAt: halt?.at ?? null,
    haltCrossedAt: halt?.crossedAt ?? null,
    haltTrigger: halt?.trigger ?? null,
    secondsFromFirstAttackToHalt: first && halt ? (haltMs - first.t) / 1000 : null,
    usdBeforeHalt: round(attacks.filter((a) => a.t < haltMs).reduce((s, a) => s + a.usd, 0)),
    usdAfterHalt: round(attacks.filter((a) => a.t >= haltMs).reduce((s, a) => s + a.usd, 0)),
    attackFlagged: new Set(mfaMissing.filter((f) => attackIds.has(f.withdrawalId)).map((f) => f.withdrawalId))
      .size,
    ordinaryFlaggedMfaMissing: mfaMissing.filter((f) => !attackIds.has(f.withdrawalId)).length,
    response: responseOf(report),
  };
}

function responseOf(report: ReplayReport): DemoSummary['response'] {
  const h = report.response?.halts.find((x) => x.scope === 'global');
  if (!h) return null;
  return {
    flaggedBeforeUsd: h.flaggedBefore.usd,
    blockedUsd: h.blocked.usd,
    blockedCount: h.blocked.count,
    haltedMinutes: report.response.haltedMinutes,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;
const usd = (n: number) => `$${n.toLocaleString('en-US', { maximumFractionDigits: 0 })}`;

export function describe(s: DemoSummary): string {
  const lines = [
    `attack: ${s.attackWithdrawals} unauthorised withdrawals worth ${usd(s.attackUsd)}, the first at ${s.firstAttackAt ?? '-'}`,
    `flagged by mfa-missing: ${s.attackFlagged} of ${s.attackWithdrawals} attack withdrawals; ordinary withdrawals flagged by it: ${s.ordinaryFlaggedMfaMissing}`,
  ];
  if (s.haltAt === null) lines.push('global halt: none (the breaker did not trip)');
  else {
    lines.push(
      `global halt: effective ${s.haltAt} (trigger ${s.haltTrigger}, threshold crossed ${s.haltCrossedAt ?? '-'}), ${s.secondsFromFirstAttackToHalt} s of event time after the first unauthorised withdrawal`,
    );
    lines.push(
      `stolen value approved before the halt: ${usd(s.usdBeforeHalt)}; after it, and so stopped by the halt: ${usd(s.usdAfterHalt)}`,
    );
    if (s.response) {
      lines.push(
        `response (report): flagged value that got through in the trigger window before the halt ${usd(s.response.flaggedBeforeUsd)}; ` +
          `${s.response.blockedCount} withdrawals worth ${usd(s.response.blockedUsd)} stopped while halted; ${s.response.haltedMinutes} min of event time halted`,
      );
    }
  }
  return lines.join('\n');
}

if (require.main === module) {
  const [logFile, reportFile] = process.argv.slice(2);
  if (!logFile || !reportFile) {
    process.stderr.write('usage: demo-summary LOG REPORT\n');
    process.exit(2);
  }
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as ReplayReport;
  summarise(logFile, report).then(
    (s) => process.stdout.write(`${describe(s)}\n`),
    (err: unknown) => {
      process.stderr.write(`demo-summary: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
