import type { BulwarkEvent } from '../events';
import { normaliseAddress } from './address';

/**
 * The facts about one user that rules read, as plain data: what the window store keeps per user and what a
 * rule's decision is a function of. Each kind of fact comes from one stream; facts from the auth stream are
 * read by approvals from the wallet stream, which may lag, so they are kept `maxSkewMs` longer.
 *
 * Lists are kept sorted by (time, key) so that every reader sees one order whichever store held them.
 */

export interface MfaFact {
  atMs: number;
  factor: string;
  sessionId: string;
}

export interface MfaChangeFact {
  atMs: number;
  change: 'reset' | 'enrolled';
  /** '' when the event names none. */
  factor: string;
}

export interface VelocityFact {
  /** The withdrawal's first approval. */
  atMs: number;
  amountUsd: number;
  withdrawalId: string;
}

export interface SessionLogin {
  /** The session's newest successful login. */
  atMs: number;
  deviceId: string;
}

export interface UserFacts {
  /** Normalised address -> its whitelistings, ascending (an approval reads the newest at or before it). */
  whitelist: Map<string, number[]>;
  /** Each withdrawal once, at its first approval; kept at least the dedup horizon (see compile.ts). */
  velocity: VelocityFact[];
  mfaPassed: MfaFact[];
  mfaChanges: MfaChangeFact[];
  sessions: Map<string, SessionLogin>;
  /**
   * deviceId -> its successful logins, ascending. Novelty is decided when the approval is, from the
   * sighting just before the session's login, so a login that arrives late still counts.
   */
  devices: Map<string, number[]>;
}

export type FactKind = 'whitelist' | 'velocity' | 'mfaPassed' | 'mfaChanges' | 'sessions' | 'devices';
export const FACT_KINDS: readonly FactKind[] = [
  'whitelist',
  'velocity',
  'mfaPassed',
  'mfaChanges',
  'sessions',
  'devices',
];

/** Facts read across streams (written by the auth stream, read by approvals): kept `maxSkewMs` longer. */
export const CROSS_STREAM_FACTS: ReadonlySet<FactKind> = new Set([
  'mfaPassed',
  'mfaChanges',
  'sessions',
  'devices',
]);

/**
 * At most this many MFA facts, MFA changes or whitelistings of one address are kept per user (the oldest go
 * first): bounds a runaway producer. A device's logins are bounded by thinning instead (trimFacts).
 */
export const MAX_FACTS = 256;
/** At most this many withdrawals are remembered for velocity per user (the oldest go first). */
export const MAX_VELOCITY_FACTS = 1024;

/**
 * Facts that also say what was already counted (velocity: which withdrawals), kept at least the dedup
 * horizon: a re-approval of a withdrawal hours after its first is still the same withdrawal.
 */
export const COUNTED_FACTS: ReadonlySet<FactKind> = new Set(['velocity']);

export function emptyFacts(): UserFacts {
  return {
    whitelist: new Map(),
    velocity: [],
    mfaPassed: [],
    mfaChanges: [],
    sessions: new Map(),
    devices: new Map(),
  };
}

/** The order every fact list is kept in: time, then the fact's text key (what Redis sorts its members by). */
const mfaKey = (f: MfaFact) => `${f.atMs}|${f.factor}|${f.sessionId}`;
const changeKey = (f: MfaChangeFact) => `${f.atMs}|${f.change}|${f.factor}`;
const velocityKey = (f: VelocityFact) => `${String(f.amountUsd)}|${f.withdrawalId}`;

/**
 * Inserts `t` into an ascending list of times (usually a push: events mostly arrive in order), once; past
 * `cap` the oldest go.
 */
function insertTime(list: number[], t: number, cap = Infinity): void {
  let i = list.length;
  while (i > 0 && list[i - 1]! > t) i--;
  if (i > 0 && list[i - 1] === t) return;
  if (i === list.length) list.push(t);
  else list.splice(i, 0, t);
  if (list.length > cap) list.splice(0, list.length - cap);
}

/** The newest time in the ascending `list` that is at most `at` (`strictly`: less than `at`), or null. */
export function newestAtOrBefore(
  list: readonly number[] | undefined,
  at: number,
  strictly = false,
): number | null {
  if (list === undefined) return null;
  for (let i = list.length - 1; i >= 0; i--) {
    const x = list[i]!;
    if (strictly ? x < at : x <= at) return x;
  }
  return null;
}

/** Inserts into a list sorted by (atMs, key); an equal fact is not added twice. */
function insertSorted<T extends { atMs: number }>(list: T[], fact: T, key: (f: T) => string): void {
  const k = key(fact);
  let i = list.length;
  while (i > 0) {
    const prev = list[i - 1]!;
    if (prev.atMs < fact.atMs) break;
    if (prev.atMs === fact.atMs) {
      const pk = key(prev);
      if (pk === k) return;
      if (pk < k) break;
    }
    i--;
  }
  list.splice(i, 0, fact);
}

/** Which facts an event adds to, given which fact kinds some enabled rule reads. */
export interface FactNeeds {
  has(kind: FactKind): boolean;
}

/**
 * Adds what `event` says to the user's facts (the event is new: dedup happened before). Returns true when a
 * fact changed. Velocity is written by the approval's own decision (it counts the approval it decides).
 */
export function addFacts(facts: UserFacts, event: BulwarkEvent, needs: FactNeeds): boolean {
  const t = event.occurredAtMs;
  switch (event.type) {
    case 'address.whitelisted': {
      if (!needs.has('whitelist')) return false;
      // Every whitelisting is kept: one later than an approval must not hide an earlier one.
      const address = normaliseAddress(event.address);
      const times = facts.whitelist.get(address);
      if (times === undefined) facts.whitelist.set(address, [t]);
      else insertTime(times, t, MAX_FACTS);
      return true;
    }
    case 'mfa.passed':
      if (!needs.has('mfaPassed')) return false;
      insertSorted(facts.mfaPassed, { atMs: t, factor: event.factor, sessionId: event.sessionId }, mfaKey);
      if (facts.mfaPassed.length > MAX_FACTS) facts.mfaPassed.splice(0, facts.mfaPassed.length - MAX_FACTS);
      return true;
    case 'mfa.reset':
    case 'mfa.enrolled': {
      if (!needs.has('mfaChanges')) return false;
      const change = event.type === 'mfa.reset' ? 'reset' : 'enrolled';
      insertSorted(facts.mfaChanges, { atMs: t, change, factor: event.factor ?? '' }, changeKey);
      if (facts.mfaChanges.length > MAX_FACTS)
        facts.mfaChanges.splice(0, facts.mfaChanges.length - MAX_FACTS);
      return true;
    }
    case 'login.succeeded': {
      if (!needs.has('sessions')) return false;
      const times = facts.devices.get(event.deviceId);
      // Not capped: trimming thins a device's logins to the few a decision can need.
      if (times === undefined) facts.devices.set(event.deviceId, [t]);
      else insertTime(times, t);
      const current = facts.sessions.get(event.sessionId);
      // The session's newest login is the one an approval in it follows.
      if (current === undefined || current.atMs < t)
        facts.sessions.set(event.sessionId, { atMs: t, deviceId: event.deviceId });
      return true;
    }
    default:
      return false;
  }
}

/**
 * Counts an approval into the velocity facts: each withdrawal once, at its first approval. Facts older
 * than `keepMs` behind the approval go.
 */
export function addVelocity(facts: UserFacts, fact: VelocityFact, keepMs: number): void {
  if (!facts.velocity.some((v) => v.withdrawalId === fact.withdrawalId))
    insertSorted(facts.velocity, fact, velocityKey);
  const cut = fact.atMs - keepMs;
  if (facts.velocity.length > 0 && facts.velocity[0]!.atMs <= cut)
    facts.velocity = facts.velocity.filter((v) => v.atMs > cut);
  if (facts.velocity.length > MAX_VELOCITY_FACTS)
    facts.velocity.splice(0, facts.velocity.length - MAX_VELOCITY_FACTS);
}

/** How long (event time, ms) each kind of fact must be kept; 0 for facts no enabled rule reads. */
export type FactRetention = Record<FactKind, number>;
/** The gap a time list may be thinned to without changing a decision (see RuleKindDefinition.thinGaps). */
export type FactGaps = Partial<Record<FactKind, number>>;

/**
 * Drops facts older than their retention behind `trimAtMs` (at most the watermark, so a stream running
 * ahead never drops what a lagging one still reads). Only bounds memory: rules read explicit ranges.
 */
export function trimFacts(facts: UserFacts, keep: FactRetention, trimAtMs: number): void {
  for (const [address, times] of facts.whitelist) {
    const from = firstAtOrAfter(times, trimAtMs - keep.whitelist);
    if (from === times.length) facts.whitelist.delete(address);
    else if (from > 0) facts.whitelist.set(address, times.slice(from));
  }
  if (facts.mfaPassed.length > 0 && facts.mfaPassed[0]!.atMs < trimAtMs - keep.mfaPassed)
    facts.mfaPassed = facts.mfaPassed.filter((f) => f.atMs >= trimAtMs - keep.mfaPassed);
  if (facts.mfaChanges.length > 0 && facts.mfaChanges[0]!.atMs < trimAtMs - keep.mfaChanges)
    facts.mfaChanges = facts.mfaChanges.filter((f) => f.atMs >= trimAtMs - keep.mfaChanges);
  for (const [session, login] of facts.sessions)
    if (login.atMs < trimAtMs - keep.sessions) facts.sessions.delete(session);
  // A sighting is only read as the one just before a kept session's login: of those older than every kept
  // login, the newest is enough.
  const loginsFrom = trimAtMs - keep.sessions;
  for (const [device, times] of facts.devices) {
    let from = firstAtOrAfter(times, loginsFrom);
    if (from > 0 && times[from - 1]! >= trimAtMs - keep.devices) from--;
    if (from === times.length) facts.devices.delete(device);
    else if (from > 0) facts.devices.set(device, times.slice(from));
  }
}

/** Thins the time lists the rules allow (`gaps`); needs no trim point, so it runs before event time has one. */
export function thinFacts(facts: UserFacts, gaps: FactGaps): void {
  const gap = gaps.devices;
  if (gap === undefined) return;
  for (const [device, times] of facts.devices) {
    const thin = thinned(times, gap);
    if (thin !== times) facts.devices.set(device, thin);
  }
}

/**
 * Drops the times of an ascending list that no "newest before x, within gap of x?" question needs: a time
 * goes when the one after it lies within `gap` of the last kept one. For any x the answer is the same (for x
 * up to that next time, the last kept one is within gap too), and a "no" keeps its newest time: a device
 * used every minute keeps a handful of logins, however many it makes.
 */
export function thinned(times: number[], gap: number): number[] {
  // Runs on every trim: nothing is allocated until a time actually goes.
  let out: number[] | null = null;
  let lastKept = times[0]!;
  for (let i = 1; i < times.length - 1; i++) {
    if (times[i + 1]! - lastKept > gap) {
      lastKept = times[i]!;
      out?.push(lastKept);
    } else out ??= times.slice(0, i);
  }
  if (out === null) return times;
  out.push(times[times.length - 1]!);
  return out;
}

/** The index of the first time in the ascending `times` at or after `at` (its length when none). */
function firstAtOrAfter(times: readonly number[], at: number): number {
  let i = 0;
  while (i < times.length && times[i]! < at) i++;
  return i;
}
