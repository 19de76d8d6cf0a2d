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
  /** The device's newest successful login before this one (null: never seen in the devices window). */
  deviceSeenBeforeMs: number | null;
}

export interface UserFacts {
  /** Normalised address -> newest whitelisting. */
  whitelist: Map<string, number>;
  velocity: VelocityFact[];
  mfaPassed: MfaFact[];
  mfaChanges: MfaChangeFact[];
  sessions: Map<string, SessionLogin>;
  /** deviceId -> newest successful login from it. */
  devices: Map<string, number>;
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

/** At most this many MFA facts or changes are kept per user (the oldest go first): bounds a runaway producer. */
export const MAX_FACTS = 256;

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
      // The newest whitelisting of an address counts: a redelivered older one never hides it.
      const address = normaliseAddress(event.address);
      const at = facts.whitelist.get(address);
      if (at === undefined || at < t) facts.whitelist.set(address, t);
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
      const prev = facts.devices.get(event.deviceId);
      // A sighting at or after this login (one user's logins out of order) says nothing about the window
      // before it: the device counts as seen rather than flag a device the user plainly uses.
      const seenBefore = prev === undefined ? null : Math.min(prev, t);
      if (prev === undefined || prev < t) facts.devices.set(event.deviceId, t);
      const current = facts.sessions.get(event.sessionId);
      // The session's newest login is the one an approval in it follows.
      if (current === undefined || current.atMs < t)
        facts.sessions.set(event.sessionId, {
          atMs: t,
          deviceId: event.deviceId,
          deviceSeenBeforeMs: seenBefore,
        });
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
}

/** How long (event time, ms) each kind of fact must be kept; 0 for facts no enabled rule reads. */
export type FactRetention = Record<FactKind, number>;

/**
 * Drops facts older than their retention behind `trimAtMs` (at most the watermark, so a stream running
 * ahead never drops what a lagging one still reads). Only bounds memory: rules read explicit ranges.
 */
export function trimFacts(facts: UserFacts, keep: FactRetention, trimAtMs: number): void {
  for (const [address, at] of facts.whitelist)
    if (at < trimAtMs - keep.whitelist) facts.whitelist.delete(address);
  if (facts.mfaPassed.length > 0 && facts.mfaPassed[0]!.atMs < trimAtMs - keep.mfaPassed)
    facts.mfaPassed = facts.mfaPassed.filter((f) => f.atMs >= trimAtMs - keep.mfaPassed);
  if (facts.mfaChanges.length > 0 && facts.mfaChanges[0]!.atMs < trimAtMs - keep.mfaChanges)
    facts.mfaChanges = facts.mfaChanges.filter((f) => f.atMs >= trimAtMs - keep.mfaChanges);
  for (const [session, login] of facts.sessions)
    if (login.atMs < trimAtMs - keep.sessions) facts.sessions.delete(session);
  for (const [device, at] of facts.devices) if (at < trimAtMs - keep.devices) facts.devices.delete(device);
}
