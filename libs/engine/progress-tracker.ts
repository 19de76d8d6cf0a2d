import path from 'node:path';
import { StateStoreError, errorMessage } from '../errors';
import { engineGlobalKeys } from '../keys';
import type { Redis } from '../redis';
import { CompiledScripts } from './compiled-scripts';
import { ScriptCode } from './script-codes';
import { computeWatermark, decodeProgress, type SourceProgress } from './watermark';

export interface ProgressUpdate {
  source: string;
  /** Newest occurredAt in the batch (ms); a smaller value than before never moves progress back. */
  maxEventTimeMs: number;
  /** Nothing was waiting on this source after the batch. */
  caughtUp: boolean;
  /** The batch brought messages (default true); false reports only a change of `caughtUp`. */
  arrived?: boolean;
}

/**
 * Event-time progress per input source, kept in one Redis hash so every detector instance computes the
 * same watermark whichever partitions it owns. The watermark logic itself is the pure computeWatermark.
 */
export class ProgressTracker {
  private readonly key: string;
  private readonly scripts: CompiledScripts<'recordProgress'>;
  private readonly idleTimeoutMs: number;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    opts: { idleTimeoutMs: number },
  ) {
    this.key = engineGlobalKeys(prefix).progress;
    this.scripts = new CompiledScripts<'recordProgress'>(path.join(__dirname, 'lua'), ['recordProgress']);
    this.idleTimeoutMs = opts.idleTimeoutMs;
  }

  /** Merges the sources' progress (max event time only grows); `wallNowMs` stamps the arrivals. */
  async record(updates: ProgressUpdate[], wallNowMs: number): Promise<void> {
    if (updates.length === 0) return;
    const args: (string | number)[] = [Math.floor(wallNowMs)];
    for (const u of updates) {
      const t = Number.isFinite(u.maxEventTimeMs) ? Math.floor(u.maxEventTimeMs) : 0;
      args.push(u.source, t, u.caughtUp ? 1 : 0, u.arrived === false ? 0 : 1);
    }
    let code: number;
    try {
      code = await this.scripts.run<number>(this.redis, 'recordProgress', [this.key], args);
    } catch (err) {
      throw new StateStoreError(`progress record: ${errorMessage(err)}`, err);
    }
    if (code === ScriptCode.BadArgument) throw new Error('recordProgress refused its arguments');
  }

  /** Every source's recorded progress. */
  async sources(): Promise<SourceProgress[]> {
    let all: Record<string, string>;
    try {
      all = await this.redis.hgetall(this.key);
    } catch (err) {
      throw new StateStoreError(`progress read: ${errorMessage(err)}`, err);
    }
    const out: SourceProgress[] = [];
    for (const [source, value] of Object.entries(all)) {
      const p = decodeProgress(source, value);
      if (p) out.push(p);
    }
    return out;
  }

  /** The shared watermark at `wallNowMs` (see computeWatermark); null before any source reported. */
  async watermark(wallNowMs: number): Promise<number | null> {
    return (await this.snapshot(wallNowMs)).watermarkMs;
  }

  /** Every source's progress and the watermark they give, from one read. */
  async snapshot(wallNowMs: number): Promise<{ sources: SourceProgress[]; watermarkMs: number | null }> {
    const sources = await this.sources();
    return { sources, watermarkMs: computeWatermark(sources, wallNowMs, this.idleTimeoutMs) };
  }
}
