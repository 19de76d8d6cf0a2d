import type { SourceProgress } from './watermark';

/**
 * Event-time alignment (as Flink's watermark alignment): a source whose newest event time runs more than
 * `maxAheadMs` past the shared watermark, while it still has input waiting, should be paused until the
 * others catch up, so that after a backlog partitions move through event time together and decisions and
 * flags come out in (nearly) event-time order. Pure, so the rule is unit-tested without Kafka or Redis.
 *
 * No deadlock: the source that sets the watermark is never ahead of it, so it is never paused; idle sources
 * do not hold the watermark (computeWatermark), and once the unpaused ones go idle the watermark is the
 * slowest paused source's, which is then not ahead and resumes. A source with nothing waiting is never
 * paused: there is nothing to hold back, and new input on it must not wait for a tick.
 */
export function sourcesAhead(
  sources: readonly SourceProgress[],
  watermarkMs: number | null,
  maxAheadMs: number,
): Set<string> {
  const ahead = new Set<string>();
  if (watermarkMs === null || maxAheadMs <= 0) return ahead;
  for (const s of sources) {
    if (!s.caughtUp && s.maxEventTimeMs > watermarkMs + maxAheadMs) ahead.add(s.source);
  }
  return ahead;
}

/** "<topic>/<partition>" back to its parts; undefined for a source that is not a partition ("replay"). */
export function partitionOfSource(source: string): { topic: string; partition: number } | undefined {
  const slash = source.lastIndexOf('/');
  if (slash <= 0) return undefined;
  const partition = Number(source.slice(slash + 1));
  if (!Number.isInteger(partition) || partition < 0) return undefined;
  return { topic: source.slice(0, slash), partition };
}
