import { UsageError } from '../errors';

export interface AttackOptions {
  /** ISO time at which the attack starts. */
  at: string;
  /** Distinct existing users whose accounts are drained, one withdrawal each. */
  users: number;
  durationMs: number;
  /** 0..1: share of attacked withdrawals sent to an address the attacker whitelisted minutes before. */
  freshAddressShare: number;
}

export interface SimulateOptions {
  /** Same seed and options give byte-identical output. Any safe integer. */
  seed: number;
  users: number;
  /** ISO start of the span; default '2022-01-15T00:00:00.000Z'. */
  start?: string;
  durationMs: number;
  /** Average requested withdrawals per user per day. */
  withdrawalsPerUserPerDay: number;
  attack?: AttackOptions;
  /**
   * Share of ordinary withdrawals whose mfa.passed arrives after the approval (its occurredAt still before
   * it, and it arrives within 20 s of its own event time). Default 0.05.
   */
  lateMfaShare?: number;
  /** Extra bad lines (not JSON, not an object, schema violations) per valid line. Default 0. */
  invalidShare?: number;
  /** Share of valid lines delivered a second time, identical, 1 s - 2 min later. Default 0. */
  duplicateShare?: number;
}

export const DEFAULT_START = '2022-01-15T00:00:00.000Z';

/**
 * The January 2022 incident: two days of ordinary traffic for 5,000 users, then 483 accounts drained
 * without a second factor within 15 minutes from 2022-01-17T00:00Z.
 */
export const DEFAULT_INCIDENT: Readonly<SimulateOptions> = Object.freeze({
  seed: 20220117,
  users: 5000,
  start: DEFAULT_START,
  durationMs: 2 * 86_400_000,
  withdrawalsPerUserPerDay: 1.5,
  attack: Object.freeze({
    at: '2022-01-17T00:00:00.000Z',
    users: 483,
    durationMs: 15 * 60_000,
    freshAddressShare: 0.7,
  }),
  lateMfaShare: 0.05,
  invalidShare: 0,
  duplicateShare: 0,
});

export interface ResolvedAttack {
  atMs: number;
  endMs: number;
  users: number;
  durationMs: number;
  freshAddressShare: number;
}

export interface ResolvedOptions {
  seed: number;
  users: number;
  startMs: number;
  /** Ordinary traffic stops here: start + duration, stretched to the attack's end so the attack always
   * hides inside ordinary traffic (DEFAULT_INCIDENT's attack begins exactly when its two days end). */
  endMs: number;
  durationMs: number;
  withdrawalsPerUserPerDay: number;
  attack: ResolvedAttack | null;
  lateMfaShare: number;
  invalidShare: number;
  duplicateShare: number;
}

// Above 4 approved withdrawals per user-hour the generator could no longer keep ordinary users under the
// velocity rule, so the average is capped well below that.
const MAX_WITHDRAWALS_PER_DAY = 24;

function parseIso(name: string, value: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)
    ? Date.parse(value)
    : NaN;
  if (!Number.isFinite(ms))
    throw new UsageError(
      `${name} must be an RFC 3339 time such as ${DEFAULT_START}, got ${JSON.stringify(value)}`,
    );
  return ms;
}

function share(name: string, value: number | undefined, def: number): number {
  const v = value ?? def;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1))
    throw new UsageError(`${name} must be a number from 0 to 1, got ${String(v)}`);
  return v;
}

function wholeNumber(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`${name} must be a whole number >= ${min}, got ${String(value)}`);
  }
  return value;
}

export function resolveOptions(opts: SimulateOptions): ResolvedOptions {
  if (typeof opts.seed !== 'number' || !Number.isSafeInteger(opts.seed)) {
    throw new UsageError(`seed must be a safe integer, got ${String(opts.seed)}`);
  }
  const users = wholeNumber('users', opts.users, 1);
  const startMs = parseIso('start', opts.start ?? DEFAULT_START);
  const durationMs = wholeNumber('durationMs', opts.durationMs, 1);
  const rate = opts.withdrawalsPerUserPerDay;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= MAX_WITHDRAWALS_PER_DAY)) {
    throw new UsageError(
      `withdrawalsPerUserPerDay must be from 0 to ${MAX_WITHDRAWALS_PER_DAY}, got ${String(rate)}`,
    );
  }
  let attack: ResolvedAttack | null = null;
  let endMs = startMs + durationMs;
  if (opts.attack !== undefined) {
    const a = opts.attack;
    const atMs = parseIso('attack.at', a.at);
    const attackUsers = wholeNumber('attack.users', a.users, 0);
    if (attackUsers > users)
      throw new UsageError(`attack.users (${attackUsers}) cannot exceed users (${users})`);
    const attackDuration = wholeNumber('attack.durationMs', a.durationMs, 1_000);
    if (atMs < startMs || atMs > startMs + durationMs) {
      throw new UsageError(
        `attack.at must lie within the span (${new Date(startMs).toISOString()} .. ${new Date(startMs + durationMs).toISOString()})`,
      );
    }
    attack = {
      atMs,
      endMs: atMs + attackDuration,
      users: attackUsers,
      durationMs: attackDuration,
      freshAddressShare: share('attack.freshAddressShare', a.freshAddressShare, 0),
    };
    endMs = Math.max(endMs, attack.endMs);
  }
  return {
    seed: opts.seed,
    users,
    startMs,
    endMs,
    durationMs,
    withdrawalsPerUserPerDay: rate,
    attack,
    lateMfaShare: share('lateMfaShare', opts.lateMfaShare, 0.05),
    invalidShare: share('invalidShare', opts.invalidShare, 0),
    duplicateShare: share('duplicateShare', opts.duplicateShare, 0),
  };
}
