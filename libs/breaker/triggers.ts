import type { WindowTrigger } from './config';
import type { Flag } from './flag';
import type { Scope } from './scope';

/**
 * The pure half of trigger evaluation: which windows a flag goes into, what it adds there, and the
 * window sweep itself. `lua/addFlag-6.lua` runs the same sweep inside Redis (atomic with the add); the
 * TypeScript `firstCrossing` is its specification, checked against the Lua by the integration tests.
 */
export interface WindowAdd {
  trigger: WindowTrigger;
  scope: Scope;
  /** Identity inside the window: the flag for distinct-users, the withdrawal for the others. */
  member: string;
  user: string;
  /** Whole cents, so sums over a sliding window are exact (floats drift when values leave the window). */
  cents: number;
  tsMs: number;
}

export function matches(trigger: WindowTrigger, flag: Flag): boolean {
  const m = trigger.match;
  if (m.severities && !m.severities.includes(flag.severity)) return false;
  if (m.rules && !m.rules.includes(flag.ruleId)) return false;
  if (m.assets && !m.assets.includes(flag.asset)) return false;
  if (
    trigger.target.startsWith('asset:') &&
    trigger.target !== 'asset:*' &&
    trigger.target !== `asset:${flag.asset}`
  )
    return false;
  return true;
}

export function targetScope(trigger: WindowTrigger, flag: Flag): Scope {
  return trigger.target === 'asset:*' ? `asset:${flag.asset}` : (trigger.target as Scope);
}

export function toCents(usd: number): number {
  return Math.round(usd * 100);
}

/** Every window a flag lands in; empty when no trigger matches or its event time is unreadable. */
export function windowAdds(triggers: WindowTrigger[], flag: Flag): WindowAdd[] {
  const tsMs = Date.parse(flag.occurredAt);
  if (!Number.isFinite(tsMs)) return [];
  return triggers
    .filter((t) => matches(t, flag))
    .map((trigger) => ({
      trigger,
      scope: targetScope(trigger, flag),
      member: trigger.kind === 'distinct-users' ? flag.flagId : flag.withdrawalId,
      user: flag.userId,
      cents: toCents(flag.amountUsd),
      tsMs,
    }));
}

/** The measure a trigger compares with its threshold (USD for sums, a count otherwise). */
export function thresholdUnits(trigger: WindowTrigger): number {
  return trigger.kind === 'sum-amount-usd' ? toCents(trigger.threshold) : trigger.threshold;
}

export interface WindowEntry {
  member: string;
  user: string;
  cents: number;
  tsMs: number;
}

export interface Crossing {
  /** Event time at which the threshold was reached: the end of the first window that reaches it. */
  atMs: number;
  /** Distinct users, distinct withdrawals, or cents. */
  measure: number;
  members: string[];
  users: string[];
}

/**
 * The earliest window end `e` (a window is the event-time interval (e - windowMs, e]) whose entries reach
 * the threshold, among windows that contain `containingMs` (omit it to search every window). Entries must
 * be unique by member. Depends only on the set of entries, never on the order they arrived in.
 */
export function firstCrossing(
  kind: WindowTrigger['kind'],
  entries: WindowEntry[],
  windowMs: number,
  threshold: number,
  containingMs = -Infinity,
): Crossing | null {
  const bounded = Number.isFinite(containingMs);
  const list = entries
    .filter((e) => !bounded || (e.tsMs > containingMs - windowMs && e.tsMs < containingMs + windowMs))
    .sort((a, b) => a.tsMs - b.tsMs || (a.member < b.member ? -1 : 1));
  const perUser = new Map<string, number>();
  let start = 0;
  let cents = 0;
  const measure = () => (kind === 'distinct-users' ? perUser.size : kind === 'sum-amount-usd' ? cents : 0);
  for (let j = 0; j < list.length; j++) {
    const add = list[j]!;
    perUser.set(add.user, (perUser.get(add.user) ?? 0) + 1);
    cents += add.cents;
    const end = add.tsMs;
    while (list[start]!.tsMs <= end - windowMs) {
      const gone = list[start]!;
      const n = perUser.get(gone.user)! - 1;
      if (n === 0) perUser.delete(gone.user);
      else perUser.set(gone.user, n);
      cents -= gone.cents;
      start++;
    }
    const last = j === list.length - 1 || list[j + 1]!.tsMs > end;
    if (!last || end < containingMs) continue;
    const value = kind === 'distinct-withdrawals' ? j - start + 1 : measure();
    if (value >= threshold) {
      const inside = list.slice(start, j + 1);
      return {
        atMs: end,
        measure: value,
        members: inside.map((e) => e.member),
        users: [...new Set(inside.map((e) => e.user))],
      };
    }
  }
  return null;
}
