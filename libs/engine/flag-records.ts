import type { WithdrawalApproved } from '../events';
import type { Severity } from '../rules';
import type { Flag } from './types';

/**
 * Flags travel between Lua and TypeScript as records (see lua/includes/raiseFlag.lua): JSON
 * `{ e: eventId, r: ruleId, s: severity, t: raisedAtMs, v: evidence JSON text, b: base JSON text }`.
 * The base holds what every flag of one approval repeats; TypeScript writes it once per approval and the
 * scripts store it untouched, so amounts keep every digit.
 */
interface FlagRecord {
  e: string;
  r: string;
  s: Severity;
  t: number;
  v: string;
  b: string;
}

interface FlagBase {
  userId: string;
  withdrawalId: string;
  eventId: string;
  occurredAt: string;
  asset: string;
  amountUsd: number;
}

/** The base JSON text of an approval's flags. */
export function flagBase(e: WithdrawalApproved): string {
  const base: FlagBase = {
    userId: e.userId,
    withdrawalId: e.withdrawalId,
    eventId: e.eventId,
    occurredAt: e.occurredAt,
    asset: e.asset,
    amountUsd: e.amountUsd,
  };
  return JSON.stringify(base);
}

const TIME_KEY = /^(.*(?:at|At|Start|End))Ms$/;

/** Adds an ISO twin to every `...AtMs` / `...StartMs` / `...EndMs` number, at any depth. */
export function withIsoTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withIsoTimes);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = withIsoTimes(v);
    const m = TIME_KEY.exec(k);
    if (m && typeof v === 'number' && Number.isFinite(v)) out[m[1]!] = new Date(v).toISOString();
  }
  return out;
}

/** The Flag a record stands for. */
export function parseFlagRecord(text: string): Flag {
  const rec = JSON.parse(text) as FlagRecord;
  const base = JSON.parse(rec.b) as FlagBase;
  return {
    flagId: `${rec.r}:${base.withdrawalId}`,
    ruleId: rec.r,
    severity: rec.s,
    userId: base.userId,
    withdrawalId: base.withdrawalId,
    eventId: rec.e,
    occurredAt: base.occurredAt,
    raisedAt: new Date(rec.t).toISOString(),
    asset: base.asset,
    amountUsd: base.amountUsd,
    evidence: withIsoTimes(JSON.parse(rec.v)) as Record<string, unknown>,
  };
}
