import type { WithdrawalApproved } from '../../events';
import { emptyFacts, type MfaChangeFact } from '../../rules';
import type { Flag } from '../types';
import type { UserState } from './window-store';

/**
 * One user's state as one compact JSON text, for a store that keeps it outside the process. Positional
 * arrays rather than objects: keys would be repeated on every fact of every user. Event times of the
 * dedup set are whole seconds relative to the newest one (short numbers).
 *
 *   [2, [newestSecond, id, age, id, age, ...], [[flagId, raisedAtMs]...], [Flag...],
 *    [[approval, dueMs, [ruleId...]]...],
 *    [[address, [ms...]]...], [[ms, usd, withdrawalId]...], [[ms, factor, sessionId]...],
 *    [[ms, 'r'|'e', factor]...], [[sessionId, ms, deviceId]...], [[deviceId, [ms...]]...]]
 *
 * Format 1 kept one time per address and device and each login's device novelty: it is read as format 2
 * with what it had (its newest whitelisting and sighting; the session's login), and written as format 2.
 */
const FORMAT = 2;

export function encodeUser(u: UserState): string {
  let newest = 0;
  for (const s of u.events.values()) if (s > newest) newest = s;
  const events: (string | number)[] = [newest];
  for (const [id, s] of u.events) events.push(id, newest - s);
  const f = u.facts;
  return JSON.stringify([
    FORMAT,
    events,
    [...u.raised],
    [...u.unacked.values()],
    u.pending.map((p) => [p.approval, p.dueMs, p.ruleIds]),
    [...f.whitelist],
    f.velocity.map((v) => [v.atMs, v.amountUsd, v.withdrawalId]),
    f.mfaPassed.map((m) => [m.atMs, m.factor, m.sessionId]),
    f.mfaChanges.map((c) => [c.atMs, c.change === 'reset' ? 'r' : 'e', c.factor]),
    [...f.sessions].map(([s, l]) => [s, l.atMs, l.deviceId]),
    [...f.devices],
  ]);
}

type Encoded = [
  number,
  (string | number)[],
  [string, number][],
  Flag[],
  [WithdrawalApproved, number, string[]][],
  [string, number[]][],
  [number, number, string][],
  [number, string, string][],
  [number, string, string][],
  [string, number, string][],
  [string, number[]][],
];

/** The state encoded by `encodeUser`; throws on text of another format (the caller names the key). */
export function decodeUser(userId: string, text: string, version: number): UserState {
  const d = JSON.parse(text) as Encoded;
  if (!Array.isArray(d) || (d[0] !== FORMAT && d[0] !== 1))
    throw new Error(`unknown user state format ${String(d?.[0])}`);
  if (d[0] === 1) fromFormat1(d);
  const [, ev, raised, unacked, pending, wl, vel, mfa, changes, sessions, devices] = d;
  const events = new Map<string, number>();
  const newest = ev[0] as number;
  for (let i = 1; i < ev.length; i += 2) events.set(ev[i] as string, newest - (ev[i + 1] as number));
  const facts = emptyFacts();
  facts.whitelist = new Map(wl);
  facts.velocity = vel.map(([atMs, amountUsd, withdrawalId]) => ({ atMs, amountUsd, withdrawalId }));
  facts.mfaPassed = mfa.map(([atMs, factor, sessionId]) => ({ atMs, factor, sessionId }));
  facts.mfaChanges = changes.map(([atMs, c, factor]): MfaChangeFact => ({
    atMs,
    change: c === 'r' ? 'reset' : 'enrolled',
    factor,
  }));
  facts.sessions = new Map(sessions.map(([s, atMs, deviceId]) => [s, { atMs, deviceId }]));
  facts.devices = new Map(devices);
  return {
    userId,
    version,
    events,
    raised: new Map(raised),
    unacked: new Map(unacked.map((f) => [f.flagId, f])),
    pending: pending.map(([approval, dueMs, ruleIds]) => ({ approval, dueMs, ruleIds })),
    facts,
    seen: 0,
  };
}

/**
 * Format 1's single times become lists. Its devices held only each device's newest login, usually the
 * session's own; the sighting before each session's login (its novelty) goes into the device's list, so a
 * session logged in before the upgrade is decided as it was.
 */
function fromFormat1(d: Encoded): void {
  const v1 = d as unknown as unknown[][];
  v1[5] = (v1[5] as [string, number][]).map(([address, ms]) => [address, [ms]]);
  const sightings = new Map<string, Set<number>>();
  for (const [device, ms] of v1[10] as [string, number][]) sightings.set(device, new Set([ms]));
  for (const [, loginMs, device, seenBefore] of v1[9] as [string, number, string, number | null][]) {
    const times = sightings.get(device) ?? new Set<number>();
    times.add(loginMs);
    if (seenBefore !== null && seenBefore < loginMs) times.add(seenBefore);
    sightings.set(device, times);
  }
  v1[9] = (v1[9] as unknown[][]).map((s) => s.slice(0, 3));
  v1[10] = [...sightings].map(([device, times]) => [device, [...times].sort((a, b) => a - b)]);
}
