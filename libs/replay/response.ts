import type { BreakerConfig } from '../breaker';
import type { WithdrawalApproved } from '../events';
import type { ReportBreakerChange, ReportFlag } from './report';

/** The report's `response` section (contract section 7): what the breaker did to the log's withdrawals. */
export interface ReportResponse {
  halts: ReportHalt[];
  haltedMinutes: number;
}
export interface ReportHalt {
  scope: string;
  at: string;
  crossedAt: string | null;
  resumedAt: string | null;
  /** Flagged withdrawals of the scope approved in the trigger's window before `at`: they got through. */
  flaggedBefore: { count: number; usd: number };
  /** Every withdrawal of the scope approved from `at` until the resume: an obeying service stopped them. */
  blocked: { count: number; usd: number };
}

interface Approval {
  userId: string;
  withdrawalId: string;
  asset: string;
  amountUsd: number;
  atMs: number;
}

/**
 * The log's approved withdrawals, fed line by line by either replay mode, so both compute `response` from
 * the same facts. A withdrawal approved twice counts once, at its first approval (as the rules count it).
 */
export class ApprovalLedger {
  private readonly byId = new Map<string, Approval>();
  /** Newest event time in the log: where a halt never resumed ends for `haltedMinutes`. */
  private endMs = -Infinity;

  seen(occurredAtMs: number): void {
    if (occurredAtMs > this.endMs) this.endMs = occurredAtMs;
  }

  add(e: WithdrawalApproved & { occurredAtMs: number }): void {
    this.seen(e.occurredAtMs);
    const id = key(e.userId, e.withdrawalId);
    if (this.byId.has(id)) return;
    this.byId.set(id, {
      userId: e.userId,
      withdrawalId: e.withdrawalId,
      asset: e.asset,
      amountUsd: e.amountUsd,
      atMs: e.occurredAtMs,
    });
  }

  /** See computeResponse. */
  response(flags: readonly ReportFlag[], changes: readonly ReportBreakerChange[], breaker: BreakerConfig) {
    return computeResponse([...this.byId.values()], flags, changes, triggerWindows(breaker), this.endMs);
  }
}

const key = (userId: string, withdrawalId: string) => `${userId}\u0000${withdrawalId}`;

/**
 * Each window trigger's window by id. A halt with no window of its own (by hand, detector stalled, state
 * lost) looks back over the longest one: the span in which a trigger could have caught what got through.
 */
export function triggerWindows(breaker: BreakerConfig): { byTrigger: Map<string, number>; longest: number } {
  const byTrigger = new Map<string, number>();
  let longest = 0;
  for (const t of breaker.triggers) {
    if (t.kind === 'detector-stalled') continue;
    byTrigger.set(t.id, t.windowMs);
    longest = Math.max(longest, t.windowMs);
  }
  return { byTrigger, longest };
}

const inScope = (scope: string, asset: string) => scope === 'global' || scope === `asset:${asset}`;
const cents = (usd: number) => Math.round(usd * 100) / 100;

/**
 * Pure. Per halt (in the order of the changes): its resume is the next change of the same scope to `open`.
 * `flaggedBefore` counts flagged approvals at `at - window < t < at`, `blocked` every approval at
 * `at <= t < resumedAt` (or to the end of the log). `haltedMinutes` sums each halt's event time from `at`
 * to its resume, or to the log's newest event time when it never resumed.
 */
export function computeResponse(
  approvals: readonly Approval[],
  flags: readonly ReportFlag[],
  changes: readonly ReportBreakerChange[],
  windows: { byTrigger: Map<string, number>; longest: number },
  endMs: number,
): ReportResponse {
  const flagged = new Set(flags.map((f) => key(f.userId, f.withdrawalId)));
  const halts: ReportHalt[] = [];
  let haltedMs = 0;
  changes.forEach((c, i) => {
    if (c.state !== 'halted') return;
    const atMs = Date.parse(c.at);
    const resume = changes.slice(i + 1).find((n) => n.scope === c.scope && n.state === 'open');
    const resumedMs = resume ? Date.parse(resume.at) : Infinity;
    const windowMs = windows.byTrigger.get(c.trigger) ?? windows.longest;
    const flaggedBefore = { count: 0, usd: 0 };
    const blocked = { count: 0, usd: 0 };
    for (const a of approvals) {
      if (!inScope(c.scope, a.asset)) continue;
      if (a.atMs >= atMs && a.atMs < resumedMs) {
        blocked.count++;
        blocked.usd += a.amountUsd;
      } else if (a.atMs < atMs && a.atMs > atMs - windowMs && flagged.has(key(a.userId, a.withdrawalId))) {
        flaggedBefore.count++;
        flaggedBefore.usd += a.amountUsd;
      }
    }
    flaggedBefore.usd = cents(flaggedBefore.usd);
    blocked.usd = cents(blocked.usd);
    const until = Math.min(resumedMs, Number.isFinite(endMs) ? endMs : atMs);
    haltedMs += Math.max(0, until - atMs);
    halts.push({
      scope: c.scope,
      at: c.at,
      crossedAt: c.crossedAt,
      resumedAt: resume ? resume.at : null,
      flaggedBefore,
      blocked,
    });
  });
  return { halts, haltedMinutes: Math.round(haltedMs / 60) / 1000 };
}
