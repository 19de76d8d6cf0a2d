/**
 * The breaker's state as data (after opossum): a versioned snapshot per scope, changes as events. The
 * snapshot is what Redis holds, what the control topic carries and what the guard reads.
 */
export type BreakerState = 'open' | 'halted';

export interface BreakerSnapshot {
  scope: string;
  state: BreakerState;
  /** ISO time the state began: event time for automatic trips, wall time for operator actions. */
  since: string;
  reason: string;
  trigger: string;
  by: string;
  version: number;
}

export interface BreakerChange extends BreakerSnapshot {
  /** Event time for automatic trips, wall time for operator actions (equal to `since`). */
  at: string;
  previous: BreakerState;
}

/** Actions recorded in the audit trail, one entry per request or change. */
export type AuditAction = 'halt' | 'trip' | 'resume-request' | 'resume' | 'restore';
export type AuditOutcome = 'changed' | 'pending' | 'refused' | 'no-op';

export interface AuditEntry {
  /** Redis stream id; orders the trail. */
  id: string;
  /** Wall time the entry was written. */
  recordedAt: string;
  action: AuditAction;
  outcome: AuditOutcome;
  scope: string;
  /** The operator who asked, or `breaker` for automatic trips. */
  by: string;
  reason: string;
  trigger: string;
  /** State and version after the request. */
  state: BreakerState | 'unknown';
  version: number;
  /** For changes: when the change took effect (event time for trips). */
  at?: string;
  previous?: BreakerState;
  /** Operators whose approvals count towards a resume, oldest first. */
  approvals?: string[];
  /** What tripped it: users, withdrawals and the measured value, or why a request was refused. */
  detail?: unknown;
}

/** The value written to the control topic for a scope (contract section 6). */
export function controlValue(s: BreakerSnapshot): string {
  const { scope, state, since, reason, trigger, by, version } = s;
  return JSON.stringify({ scope, state, since, reason, trigger, by, version });
}

/** Parses a stored snapshot; null when it is missing or not a well-formed snapshot. */
export function parseSnapshot(raw: string | null | undefined): BreakerSnapshot | null {
  if (raw === null || raw === undefined) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  if (
    typeof o.scope !== 'string' ||
    (o.state !== 'open' && o.state !== 'halted') ||
    typeof o.since !== 'string' ||
    typeof o.version !== 'number' ||
    !Number.isInteger(o.version)
  )
    return null;
  return {
    scope: o.scope,
    state: o.state,
    since: o.since,
    reason: typeof o.reason === 'string' ? o.reason : '',
    trigger: typeof o.trigger === 'string' ? o.trigger : '',
    by: typeof o.by === 'string' ? o.by : '',
    version: o.version,
  };
}

export function parseChange(raw: unknown): BreakerChange {
  const o = raw as Record<string, unknown>;
  const snap = parseSnapshot(JSON.stringify(o));
  if (!snap || typeof o.at !== 'string' || (o.previous !== 'open' && o.previous !== 'halted'))
    throw new Error('malformed breaker change from Redis');
  return { ...snap, at: o.at, previous: o.previous };
}

/** What a withdrawal service needs to know for one asset (contract: GET /v1/withdrawals/status). */
export interface WithdrawalStatus {
  allowed: boolean;
  /** The scope that decided: `global` when it is halted or unreadable, else `asset:<TICKER>` (or `global`). */
  scope: string;
  /** `unknown` when the state could not be read: never allowed (fail closed). */
  state: BreakerState | 'unknown';
  since: string | null;
  reason: string;
}

/**
 * Decides from the raw stored snapshots of `global` and the asset's scope. Fails closed: a missing or
 * corrupt global snapshot means the state store lost or never had the breaker's state, so nothing is
 * allowed. A missing asset snapshot is fine (that asset was never halted) once the global one is there.
 */
export function decideStatus(
  globalRaw: string | null,
  assetRaw: string | null,
  asset?: string,
): WithdrawalStatus {
  const global = parseSnapshot(globalRaw);
  if (!global)
    return {
      allowed: false,
      scope: 'global',
      state: 'unknown',
      since: null,
      reason:
        globalRaw === null
          ? 'breaker state not found (fail closed)'
          : 'breaker state unreadable (fail closed)',
    };
  if (global.state === 'halted')
    return { allowed: false, scope: 'global', state: 'halted', since: global.since, reason: global.reason };
  if (asset === undefined)
    return { allowed: true, scope: 'global', state: 'open', since: global.since, reason: global.reason };
  const scope = `asset:${asset}`;
  if (assetRaw === null)
    return { allowed: true, scope, state: 'open', since: global.since, reason: 'never halted' };
  const own = parseSnapshot(assetRaw);
  if (!own)
    return {
      allowed: false,
      scope,
      state: 'unknown',
      since: null,
      reason: 'breaker state unreadable (fail closed)',
    };
  return { allowed: own.state === 'open', scope, state: own.state, since: own.since, reason: own.reason };
}
