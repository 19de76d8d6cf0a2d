import type { WindowTrigger } from './config';
import type { Flag } from './flag';
import { windowAdds } from './triggers';

/** One trigger's window for one scope, as an operator reads it: how close it is to its threshold. */
export interface WindowView {
  trigger: string;
  kind: WindowTrigger['kind'];
  scope: string;
  windowMs: number;
  threshold: number;
  /** Distinct users, distinct withdrawals, or USD (sum-amount-usd), over the window ending at `endMs`. */
  value: number;
  users: string[];
  withdrawals: number;
  usd: number;
}

/**
 * Every window trigger's current measure over `flags` (each scope a flag of it lands in, plus `global`
 * targets with nothing yet), for the window of event time ending at `endMs`. Pure: the console's view of
 * the flags the breaker counted; the trip itself is decided in Redis (lua/addFlag), not here.
 */
export function windowViews(
  triggers: readonly WindowTrigger[],
  flags: readonly Flag[],
  endMs: number,
): WindowView[] {
  const views = new Map<string, WindowView & { ids: Set<string> }>();
  const viewOf = (t: WindowTrigger, scope: string) => {
    const key = `${t.id}\u0000${scope}`;
    let v = views.get(key);
    if (!v) {
      v = {
        trigger: t.id,
        kind: t.kind,
        scope,
        windowMs: t.windowMs,
        threshold: t.threshold,
        value: 0,
        users: [],
        withdrawals: 0,
        usd: 0,
        ids: new Set(),
      };
      views.set(key, v);
    }
    return v;
  };
  for (const t of triggers) if (!t.target.startsWith('asset:*')) viewOf(t, t.target);
  for (const flag of flags) {
    for (const add of windowAdds([...triggers], flag)) {
      if (add.tsMs > endMs || add.tsMs <= endMs - add.trigger.windowMs) continue;
      const v = viewOf(add.trigger, add.scope);
      if (!v.users.includes(add.user)) v.users.push(add.user);
      if (v.ids.has(flag.withdrawalId)) continue;
      v.ids.add(flag.withdrawalId);
      v.withdrawals++;
      v.usd += add.cents / 100;
    }
  }
  return [...views.values()].map(({ ids: _ids, ...v }) => ({
    ...v,
    usd: Math.round(v.usd * 100) / 100,
    value:
      v.kind === 'distinct-users'
        ? v.users.length
        : v.kind === 'distinct-withdrawals'
          ? v.withdrawals
          : Math.round(v.usd * 100) / 100,
  }));
}
