import type { ReportResponse } from './response';

/**
 * The replay report of contract section 7. Other tools read it: the shape is exact. Fields beyond the
 * contract's would be additions old readers ignore; none are added today.
 */
export interface ReportFlag {
  ruleId: string;
  severity: string;
  userId: string;
  withdrawalId: string;
  eventId: string;
  occurredAt: string;
}
export interface ReportBreakerChange {
  scope: string;
  state: 'open' | 'halted';
  /** Effective event time of the change; `crossedAt` for automatic trips, else null (contract section 6). */
  at: string;
  crossedAt: string | null;
  trigger: string;
  reason: string;
}
export interface ReplayReport {
  events: { total: number; valid: number; invalid: number; ignored: number; duplicate: number };
  flags: ReportFlag[];
  breaker: ReportBreakerChange[];
  response: ReportResponse;
}

/** What a flag carries that the report needs, from either the engine (in-process) or risk.flags.v1 (kafka). */
export interface FlagLike extends ReportFlag {
  raisedAt: string;
}

/**
 * "In the order raised" means in the event-time order of the decisions: a flag that waited for the grace
 * period was raised at occurredAt + grace. Ordering by decision event time (then by the approval and rule)
 * makes the report identical whichever mode, batch size or partitioning produced it.
 */
export function orderFlags<T extends FlagLike>(flags: T[]): T[] {
  const key = (f: T) => [f.raisedAt, f.occurredAt, f.userId, f.withdrawalId, f.ruleId];
  return [...flags].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) {
      if (ka[i]! < kb[i]!) return -1;
      if (ka[i]! > kb[i]!) return 1;
    }
    return 0;
  });
}

export function toReportFlag(f: FlagLike): ReportFlag {
  return {
    ruleId: f.ruleId,
    severity: f.severity,
    userId: f.userId,
    withdrawalId: f.withdrawalId,
    eventId: f.eventId,
    occurredAt: f.occurredAt,
  };
}

export function emptyCounts(): ReplayReport['events'] {
  return { total: 0, valid: 0, invalid: 0, ignored: 0, duplicate: 0 };
}
