import { signFields, verifyFields, type ControlKeyring, type SignatureCheck } from './control-keys';
import { isScope } from './scope';
import { neutraliseText } from './text';

/**
 * The breaker's state as data (after opossum): a versioned snapshot per scope, changes as events. The
 * snapshot is what Redis holds, what the control topic carries (signed) and what the guard reads.
 */
export type BreakerState = 'open' | 'halted';

export interface BreakerSnapshot {
  scope: string;
  state: BreakerState;
  /** ISO time the state began: equal to `at`. */
  since: string;
  reason: string;
  trigger: string;
  by: string;
  version: number;
  /**
   * When the change took effect, in event time (contract section 6): for a trip, the newest event time the
   * breaker had processed when it changed the state; for an operator's change, the wall-clock moment of the
   * request, but never earlier than that newest event time (README "at and crossedAt").
   */
  at: string;
  /** Automatic trips: the end of the first window that reached the threshold (`crossedAt <= at`); else null. */
  crossedAt: string | null;
}

export interface BreakerChange extends BreakerSnapshot {
  previous: BreakerState;
}

/** Actions recorded in the audit trail, one entry per request or change. */
export type AuditAction = 'halt' | 'trip' | 'resume-request' | 'resume' | 'restore' | 'request';
export type AuditOutcome = 'changed' | 'pending' | 'refused' | 'no-op' | 'answered';

export interface AuditEntry {
  /** Redis stream id of the sealed entry (not part of the hashed content; it changes after a restore). */
  id: string;
  /** Position in the trail, from 1, without gaps. */
  seq: number;
  /** `hash` of the entry before (64 zeros for the first). */
  prev: string;
  /** HMAC-SHA-256 (key `kid`) or, without a key (in-process replays), SHA-256 of the canonical entry. */
  hash: string;
  kid: string | null;
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
  /** For changes: when the change took effect and, for trips, when the threshold was crossed (event time). */
  at?: string;
  crossedAt?: string | null;
  /** Where an operator request came from: the client address, method and route, and the HTTP status. */
  address?: string;
  method?: string;
  route?: string;
  status?: number;
  previous?: BreakerState;
  /** Operators whose approvals count towards a resume, oldest first. */
  approvals?: string[];
  /** What tripped it: users, withdrawals and the measured value, or why a request was refused. */
  detail?: unknown;
}

/** The signed value written to the control topic for a scope (contract section 6). */
export function controlValue(s: BreakerSnapshot, keys: ControlKeyring): string {
  const { scope, state, since, reason, trigger, by, version, at, crossedAt } = s;
  return JSON.stringify(
    signFields(keys, { scope, state, since, reason, trigger, by, version, at, crossedAt }),
  );
}

export type ControlRejection = Exclude<SignatureCheck, { ok: true }>['reason'] | 'malformed';

export type ControlParse =
  { ok: true; snapshot: BreakerSnapshot } | { ok: false; reason: ControlRejection; scope?: string };

/**
 * Parses and verifies one control-topic message. A message that is not the breaker's signed snapshot is
 * rejected with the reason (and the scope it claims, when it names a real one, for fail-closed restores).
 */
export function parseControlMessage(
  key: string | null,
  value: string | null,
  keys: ControlKeyring,
): ControlParse {
  const claimed = key !== null && isScope(key) ? key : undefined;
  const bad = (reason: ControlRejection): ControlParse =>
    claimed === undefined ? { ok: false, reason } : { ok: false, reason, scope: claimed };
  if (value === null) return bad('malformed');
  let o: unknown;
  try {
    o = JSON.parse(value);
  } catch {
    return bad('malformed');
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return bad('malformed');
  const check = verifyFields(keys, o as Record<string, unknown>);
  if (!check.ok) return bad(check.reason);
  const snap = parseSnapshot(value);
  if (!snap || !isScope(snap.scope) || (claimed !== undefined && claimed !== snap.scope))
    return bad('malformed');
  return { ok: true, snapshot: snap };
}

export interface RestoreChoice {
  snapshot: BreakerSnapshot;
  /** True when the topic gave no trustworthy state for the scope: restored halted, not from the topic. */
  failClosed: boolean;
}

/**
 * What to restore from the control topic's messages (in offset order). Per scope, the highest version whose
 * signature verifies; but when that is open (or missing) and a message that does not verify came after it,
 * the scope is restored halted: compaction may have removed the genuine newest message in favour of the
 * forgery, so the last valid one may be stale. Unverified messages are never restored as they are.
 */
export function chooseRestore(
  messages: { key: string | null; value: string | null }[],
  keys: ControlKeyring,
  nowIso: string,
): { choices: RestoreChoice[]; rejected: { reason: ControlRejection; scope?: string }[] } {
  const valid = new Map<string, { snap: BreakerSnapshot; index: number }>();
  const lastInvalid = new Map<string, number>();
  const rejected: { reason: ControlRejection; scope?: string }[] = [];
  messages.forEach((m, index) => {
    const r = parseControlMessage(m.key, m.value, keys);
    if (r.ok) {
      const cur = valid.get(r.snapshot.scope);
      if (!cur || cur.snap.version < r.snapshot.version)
        valid.set(r.snapshot.scope, { snap: r.snapshot, index });
      else if (cur.snap.version === r.snapshot.version) cur.index = Math.max(cur.index, index);
      return;
    }
    rejected.push(r.scope === undefined ? { reason: r.reason } : { reason: r.reason, scope: r.scope });
    if (r.scope !== undefined) lastInvalid.set(r.scope, index);
  });
  const scopes = new Set([...valid.keys(), ...lastInvalid.keys()]);
  const choices: RestoreChoice[] = [];
  for (const scope of scopes) {
    const v = valid.get(scope);
    const invalidAt = lastInvalid.get(scope) ?? -1;
    if (v && (v.snap.state === 'halted' || invalidAt < v.index)) {
      choices.push({ snapshot: v.snap, failClosed: false });
      continue;
    }
    choices.push({
      failClosed: true,
      snapshot: {
        scope,
        state: 'halted',
        since: nowIso,
        at: nowIso,
        crossedAt: null,
        reason:
          'control topic: the newest message for this scope did not verify; halted (fail closed) until two operators resume',
        trigger: 'control-invalid',
        by: 'breaker',
        version: (v?.snap.version ?? 0) + 1,
      },
    });
  }
  return { choices, rejected };
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
    at: typeof o.at === 'string' ? o.at : o.since,
    crossedAt: typeof o.crossedAt === 'string' ? o.crossedAt : null,
  };
}

export function parseChange(raw: unknown): BreakerChange {
  const o = raw as Record<string, unknown>;
  const snap = parseSnapshot(JSON.stringify(o));
  if (!snap || typeof o.at !== 'string' || (o.previous !== 'open' && o.previous !== 'halted'))
    throw new Error('malformed breaker change from Redis');
  return { ...snap, previous: o.previous };
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
    return {
      allowed: false,
      scope: 'global',
      state: 'halted',
      since: global.since,
      reason: neutraliseText(global.reason),
    };
  if (asset === undefined)
    return {
      allowed: true,
      scope: 'global',
      state: 'open',
      since: global.since,
      reason: neutraliseText(global.reason),
    };
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
  return {
    allowed: own.state === 'open',
    scope,
    state: own.state,
    since: own.since,
    reason: neutraliseText(own.reason),
  };
}

/**
 * The answer when no asset is named: allowed only when no scope at all is halted (fail closed: a caller
 * that omits the asset must not be waved through while `asset:ETH` is halted). `others` are the raw
 * snapshots of every scope the breaker ever wrote; one that vanished or is corrupt is not allowed either.
 */
export function decideAnyStatus(
  globalRaw: string | null,
  others: { scope: string; raw: string | null }[],
): WithdrawalStatus {
  const global = decideStatus(globalRaw, null);
  if (!global.allowed) return global;
  for (const o of others) {
    if (o.scope === 'global') continue;
    const snap = parseSnapshot(o.raw);
    if (!snap)
      return {
        allowed: false,
        scope: o.scope,
        state: 'unknown',
        since: null,
        reason: 'breaker state of a scope missing or unreadable (fail closed)',
      };
    if (snap.state === 'halted')
      return {
        allowed: false,
        scope: o.scope,
        state: 'halted',
        since: snap.since,
        reason: neutraliseText(snap.reason),
      };
  }
  return global;
}
