import type {
  AddressWhitelisted,
  BulwarkEvent,
  LoginSucceeded,
  MfaEnrolled,
  MfaPassed,
  MfaReset,
  WithdrawalApproved,
  WithdrawalCompleted,
  WithdrawalRequested,
} from '../events';
import type { SourcedEvent } from './types';

/**
 * Typed events for the engine's tests and benchmark, built directly (no JSON, no parsing) with both
 * `occurredAt` and `occurredAtMs`, and traffic generators on top. Not used in production paths.
 */

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export interface ApprovalSpec {
  withdrawalId: string;
  sessionId: string;
  address?: string;
  asset?: string;
  amountUsd?: number;
  factors?: string[];
  mfaVerified?: boolean;
  eventId?: string;
}

/** Builds events with unique eventIds (`<prefix>-<n>`) unless one is given. */
export class EventFactory {
  private seq = 0;

  constructor(private readonly prefix = 'e') {}

  private envelope<T extends BulwarkEvent['type']>(type: T, userId: string, atMs: number, eventId?: string) {
    return {
      eventId: eventId ?? `${this.prefix}-${++this.seq}`,
      type,
      userId,
      occurredAt: new Date(atMs).toISOString(),
      occurredAtMs: atMs,
    };
  }

  login(userId: string, atMs: number, sessionId: string, deviceId: string): LoginSucceeded {
    return { ...this.envelope('login.succeeded', userId, atMs), sessionId, deviceId, ip: '203.0.113.7' };
  }

  mfa(userId: string, atMs: number, sessionId: string, factor: MfaPassed['factor'] = 'totp'): MfaPassed {
    return { ...this.envelope('mfa.passed', userId, atMs), sessionId, factor };
  }

  mfaReset(userId: string, atMs: number): MfaReset {
    return { ...this.envelope('mfa.reset', userId, atMs), factor: 'totp' };
  }

  mfaEnrolled(userId: string, atMs: number, factor: MfaEnrolled['factor'] = 'webauthn'): MfaEnrolled {
    return { ...this.envelope('mfa.enrolled', userId, atMs), factor };
  }

  whitelist(userId: string, atMs: number, address: string, asset = 'ETH'): AddressWhitelisted {
    return { ...this.envelope('address.whitelisted', userId, atMs), address, asset };
  }

  requested(userId: string, atMs: number, a: ApprovalSpec): WithdrawalRequested {
    return {
      ...this.envelope('withdrawal.requested', userId, atMs),
      withdrawalId: a.withdrawalId,
      sessionId: a.sessionId,
      asset: a.asset ?? 'ETH',
      amount: '1.5',
      amountUsd: a.amountUsd ?? 4800.5,
      address: a.address ?? '0x00000000000000000000000000000000000000aa',
    };
  }

  approved(userId: string, atMs: number, a: ApprovalSpec): WithdrawalApproved {
    return {
      ...this.envelope('withdrawal.approved', userId, atMs, a.eventId),
      withdrawalId: a.withdrawalId,
      sessionId: a.sessionId,
      asset: a.asset ?? 'ETH',
      amount: '1.5',
      amountUsd: a.amountUsd ?? 4800.5,
      address: a.address ?? '0x00000000000000000000000000000000000000aa',
      approval: { factors: a.factors ?? ['password', 'totp'], mfaVerified: a.mfaVerified ?? true },
    };
  }

  completed(userId: string, atMs: number, withdrawalId: string): WithdrawalCompleted {
    return { ...this.envelope('withdrawal.completed', userId, atMs), withdrawalId };
  }
}

/** Wraps events as one source's stream. */
export function sourced(events: BulwarkEvent[], source = 'replay'): SourcedEvent[] {
  return events.map((event) => ({ event, source }));
}

/** A small deterministic PRNG (mulberry32), so generated traffic is the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DayOptions {
  users: number;
  startMs: number;
  durationMs: number;
  /** Withdrawals per user over the duration (each: login, mfa.passed, requested, approved, completed). */
  withdrawalsPerUser: number;
  /** Share of approvals whose mfa.passed arrives after the approval (still within the grace period). */
  lateMfaShare?: number;
  seed?: number;
  factory?: EventFactory;
}

/**
 * Ordinary traffic: per withdrawal a login (usually from the user's known device), an mfa.passed, the
 * request, the approval and the completion, in arrival order. Arrival is event time, except for late MFAs
 * which arrive 20 s after the approval. Nothing in it should flag (new devices aside, on first logins).
 */
export function ordinaryTraffic(opts: DayOptions): BulwarkEvent[] {
  const rnd = prng(opts.seed ?? 1);
  const f = opts.factory ?? new EventFactory('o');
  const late = opts.lateMfaShare ?? 0;
  const timed: { arrival: number; seq: number; event: BulwarkEvent }[] = [];
  let seq = 0;
  const push = (arrival: number, event: BulwarkEvent) => timed.push({ arrival, seq: seq++, event });
  for (let u = 0; u < opts.users; u++) {
    const userId = `user-${u}`;
    for (let w = 0; w < opts.withdrawalsPerUser; w++) {
      const t0 = opts.startMs + Math.floor(rnd() * (opts.durationMs - 10 * MINUTE));
      const sessionId = `s-${u}-${w}`;
      const withdrawalId = `wd-${u}-${w}`;
      const spec: ApprovalSpec = { withdrawalId, sessionId, amountUsd: Math.round(rnd() * 5000 * 100) / 100 };
      push(t0, f.login(userId, t0, sessionId, `dev-${u}`));
      const approvedAt = t0 + 3 * MINUTE;
      const mfaAt = t0 + MINUTE;
      const mfa = f.mfa(userId, mfaAt, sessionId);
      push(rnd() < late ? approvedAt + 20_000 : mfaAt, mfa);
      push(t0 + 2 * MINUTE, f.requested(userId, t0 + 2 * MINUTE, spec));
      push(approvedAt, f.approved(userId, approvedAt, spec));
      push(t0 + 5 * MINUTE, f.completed(userId, t0 + 5 * MINUTE, withdrawalId));
    }
  }
  timed.sort((a, b) => a.arrival - b.arrival || a.seq - b.seq);
  return timed.map((x) => x.event);
}
