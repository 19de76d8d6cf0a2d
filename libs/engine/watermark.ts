/**
 * Event-time progress of the inputs and the watermark derived from it (contract section 4). Pure: a function
 * of the recorded state and the wall clock, so it is unit-tested without Redis; ProgressTracker stores the
 * state in Redis for every instance to share.
 */
export interface SourceProgress {
  source: string;
  /** Newest occurredAt seen on this source (ms). */
  maxEventTimeMs: number;
  /** No input was waiting on this source after its last batch. */
  caughtUp: boolean;
  /** Wall time of the last batch that brought events (ms). */
  lastArrivalWallMs: number;
}

/** True when the source neither has input waiting nor brought any for `idleTimeoutMs` of wall time. */
export function isIdle(p: SourceProgress, wallNowMs: number, idleTimeoutMs: number): boolean {
  return p.caughtUp && wallNowMs - p.lastArrivalWallMs >= idleTimeoutMs;
}

/**
 * The event time up to which every input has progressed: the minimum over non-idle sources of their
 * newest event time. Idle sources do not hold it back. When every source is idle, event time moves on with
 * the wall clock from the newest event time seen (plus the wall time since the last arrival), so a quiet
 * system still closes its pending decisions. Null before any source has reported.
 */
export function computeWatermark(
  sources: readonly SourceProgress[],
  wallNowMs: number,
  idleTimeoutMs: number,
): number | null {
  if (sources.length === 0) return null;
  let min = Infinity;
  let newest = -Infinity;
  let lastArrival = -Infinity;
  for (const p of sources) {
    if (!isIdle(p, wallNowMs, idleTimeoutMs) && p.maxEventTimeMs < min) min = p.maxEventTimeMs;
    if (p.maxEventTimeMs > newest) newest = p.maxEventTimeMs;
    if (p.lastArrivalWallMs > lastArrival) lastArrival = p.lastArrivalWallMs;
  }
  if (min !== Infinity) return min;
  return newest + Math.max(0, wallNowMs - lastArrival);
}

/** One source's progress as stored in the Redis hash: "<maxEventTimeMs>|<caughtUp 0/1>|<lastArrivalWallMs>". */
export function encodeProgress(p: Omit<SourceProgress, 'source'>): string {
  return `${p.maxEventTimeMs}|${p.caughtUp ? 1 : 0}|${p.lastArrivalWallMs}`;
}

export function decodeProgress(source: string, value: string): SourceProgress | null {
  const [max, caught, last] = value.split('|');
  const maxEventTimeMs = Number(max);
  const lastArrivalWallMs = Number(last);
  if (!Number.isFinite(maxEventTimeMs) || !Number.isFinite(lastArrivalWallMs)) return null;
  return { source, maxEventTimeMs, caughtUp: caught === '1', lastArrivalWallMs };
}
