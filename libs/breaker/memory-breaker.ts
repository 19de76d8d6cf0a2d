import { durationText, defaultLabel } from './breaker';
import { windowTriggers, type BreakerConfig, type WindowTrigger } from './config';
import type { Flag } from './flag';
import { decidedAtMs } from './flag-order';
import type { BreakerChange } from './snapshot';
import { firstCrossing, thresholdUnits, windowAdds, type WindowEntry } from './triggers';

const MAX_EXACT = Number.MAX_SAFE_INTEGER;
const MAX_CENTS = 1e14;

interface Member extends WindowEntry {
  /** The scope's version the flag arrived under: after a change, earlier flags no longer count. */
  version: number;
}

interface ScopeState {
  state: 'open' | 'halted';
  version: number;
  at: string;
}

/**
 * The breaker's automatic trips held in this process, for `bulwark replay --store memory`: the same
 * windows, thresholds and crossing search (`firstCrossing`) as the Redis breaker's `addFlag` script, with
 * the same `at` and `crossedAt`, so both stores give one report. No operators, outbox or audit: a replay
 * only ever trips.
 */
export class MemoryBreaker {
  private readonly triggers: WindowTrigger[];
  private readonly windows = new Map<string, Map<string, Member>>();
  private readonly scopes = new Map<string, ScopeState>();
  private eventTimeMs = -Infinity;

  constructor(
    private readonly config: BreakerConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.triggers = windowTriggers(config);
  }

  async onFlags(flags: readonly Flag[]): Promise<BreakerChange[]> {
    const latest = this.now() + this.config.maxFutureSkewMs;
    const changes: BreakerChange[] = [];
    for (const flag of flags) {
      const adds = windowAdds(this.triggers, flag);
      // A flag dated in the future is not counted (the Redis breaker logs it).
      if (adds.length > 0 && adds[0]!.tsMs > latest) continue;
      const decided = decidedAtMs(flag);
      if (Number.isFinite(decided)) this.eventTimeMs = Math.max(this.eventTimeMs, Math.min(decided, latest));
      const effective = new Date(this.eventTimeMs).toISOString();
      for (const add of adds) {
        const change = this.add(add.trigger, add.scope, { ...add, version: 0 }, effective);
        if (change) changes.push(change);
      }
    }
    return changes;
  }

  private add(t: WindowTrigger, scope: string, entry: Member, effectiveIso: string): BreakerChange | null {
    if (!Number.isInteger(entry.cents) || entry.cents < 0 || entry.cents >= MAX_CENTS) return null;
    if (!(Math.abs(entry.tsMs) <= MAX_EXACT)) return null;
    const key = `${t.id}\u0000${scope}`;
    let window = this.windows.get(key);
    if (!window) this.windows.set(key, (window = new Map()));
    let newest = entry.tsMs;
    for (const m of window.values()) if (m.tsMs > newest) newest = m.tsMs;
    const horizon = newest - t.windowMs - this.config.allowedLatenessMs;
    if (entry.tsMs < horizon) return null;
    for (const [k, m] of window) if (m.tsMs < horizon) window.delete(k);
    if (window.has(entry.member)) return null;

    const cur = this.scopes.get(scope);
    const version = cur?.version ?? 0;
    window.set(entry.member, { ...entry, version });
    if (cur?.state === 'halted') return null;

    const counted = [...window.values()].filter((m) => m.version === version);
    const crossing = firstCrossing(t.kind, counted, t.windowMs, thresholdUnits(t), entry.tsMs);
    if (!crossing) return null;
    const shown =
      t.kind === 'sum-amount-usd' ? (crossing.measure / 100).toFixed(2) : String(crossing.measure);
    const threshold = t.kind === 'sum-amount-usd' ? t.threshold.toFixed(2) : String(t.threshold);
    const reason = `${t.id}: ${shown} ${t.label ?? defaultLabel(t)} within ${durationText(t.windowMs)} (threshold ${threshold})`;
    const crossedAt = new Date(crossing.atMs).toISOString();
    let at = effectiveIso < crossedAt ? crossedAt : effectiveIso;
    // A change never takes effect before the scope's previous change.
    if (cur && cur.version > 0 && at < cur.at) at = cur.at;
    const next: ScopeState = { state: 'halted', version: version + 1, at };
    this.scopes.set(scope, next);
    return {
      scope,
      state: 'halted',
      since: at,
      reason,
      trigger: t.id,
      by: 'breaker',
      version: next.version,
      at,
      crossedAt,
      previous: cur?.state ?? 'open',
    };
  }
}
