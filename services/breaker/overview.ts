import type { AuditEntry, Breaker, BreakerSnapshot, Flag } from '../../libs/breaker';
import type { DetectorHealth, PendingResume, WindowView } from '../../libs/breaker/api-schemas';

/** The newest flags this instance counted (as many as the console shows), for its live feed. */
export class RecentFlags {
  private readonly items: Flag[] = [];
  constructor(private readonly max = 50) {}

  add(flags: readonly Flag[]): void {
    this.items.push(...flags);
    if (this.items.length > this.max) this.items.splice(0, this.items.length - this.max);
  }

  list(): readonly Flag[] {
    return this.items;
  }
}

export interface Overview {
  scopes: BreakerSnapshot[];
  windows: WindowView[];
  pending: PendingResume[];
  flags: Flag[];
  audit: AuditEntry[];
  detector: DetectorHealth;
}

/**
 * Pending four-eyes approvals of each halted scope, from the audit trail: the distinct operators whose
 * resume request for the scope's current halt (same version) is still inside the approval window (as
 * lua/requestResume counts them: the first approval of each operator; `audit` newest first).
 */
export function pendingResumes(
  scopes: readonly BreakerSnapshot[],
  audit: readonly AuditEntry[],
  resume: { approvalsRequired: number; approvalWindowMs: number },
  nowMs: number,
): PendingResume[] {
  const out: PendingResume[] = [];
  for (const s of scopes) {
    if (s.state !== 'halted') continue;
    const seen = new Set<string>();
    const approvals: PendingResume['approvals'] = [];
    for (const e of [...audit].reverse()) {
      if (
        e.scope !== s.scope ||
        e.action !== 'resume-request' ||
        e.outcome !== 'pending' ||
        e.version !== s.version
      )
        continue;
      const at = Date.parse(e.recordedAt);
      if (!(nowMs - at <= resume.approvalWindowMs) || seen.has(e.by)) continue;
      seen.add(e.by);
      approvals.push({
        operator: e.by,
        reason: e.reason,
        at: e.recordedAt,
        expiresAt: new Date(at + resume.approvalWindowMs).toISOString(),
      });
    }
    out.push({
      scope: s.scope,
      version: s.version,
      required: resume.approvalsRequired,
      approvals,
      needed: Math.max(0, resume.approvalsRequired - approvals.length),
    });
  }
  return out;
}

/** Everything the console shows, read in one go. */
export async function readOverview(deps: {
  breaker: Breaker;
  recent: RecentFlags;
  detector: () => DetectorHealth;
  nowMs: number;
}): Promise<Overview> {
  const { breaker } = deps;
  const scopes = await breaker.refreshMetrics();
  const audit = await breaker.audit(200);
  return {
    scopes,
    windows: await breaker.windows(),
    pending: pendingResumes(scopes, audit, breaker.config.resume, deps.nowMs),
    flags: [...deps.recent.list()].slice(-50).reverse(),
    audit: audit.slice(0, 50),
    detector: deps.detector(),
  };
}
