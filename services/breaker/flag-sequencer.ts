import { FlagOrderer, WatermarkGate, type Flag, type OrderEntry } from '../../libs/breaker';
import { errorMessage } from '../../libs/errors';
import type { Logger } from '../../libs/logger';

export interface FlagSequencerDeps {
  /** The flag topic's end offsets and this group's committed offsets. */
  endOffsets(): Promise<Map<number, string>>;
  committedOffsets(): Promise<Map<number, string>>;
  /** The detector's flag watermark (libs/engine/flag-watermark.ts), null while none was written. */
  readWatermark(): Promise<number | null>;
  /** Counts flags in the given order; resolves once their effect is durable (Breaker.onFlags). */
  count(flags: Flag[]): Promise<void>;
  commit(partition: number, nextOffset: string): Promise<void>;
  /** Wall-clock bound on holding a flag (0: count every flag as it arrives, in batch order). */
  maxHoldMs: number;
  pollMs?: number;
  now?: () => number;
  logger: Logger;
  metrics?: {
    held: { set(n: number): void };
    overdue: { inc(n: number): void };
    watermark: { set(s: number): void };
  };
}

/**
 * The breaker's intake in event-time order across the flag topic's partitions: flags are held by a
 * FlagOrderer, released once the detector's flag watermark (confirmed by a WatermarkGate against the end
 * offsets) passes them, counted in decision-time order, and only then committed. One pump at a time; it
 * runs after each batch and on a timer while anything is held, so a quiet topic does not hold flags back.
 */
export class FlagSequencer {
  private readonly orderer: FlagOrderer;
  private gate = new WatermarkGate();
  private owned: number[] = [];
  private committedAtJoin?: Map<number, bigint>;
  private readonly pendingCommits = new Map<number, string>();
  private generation = 0;
  private queued = 0;
  private lastOverdueLogMs = -Infinity;
  private chain: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly deps: FlagSequencerDeps) {
    this.orderer = new FlagOrderer({ maxHoldMs: deps.maxHoldMs });
    this.now = deps.now ?? Date.now;
  }

  get held(): number {
    return this.orderer.size;
  }

  /** The confirmed flag watermark, or null before the first. */
  get watermarkMs(): number | null {
    return this.gate.confirmed;
  }

  /** The consumer (re)joined its group with these partitions: they are read again from their commits. */
  assigned(partitions: readonly number[]): void {
    this.generation++;
    this.owned = [...partitions];
    this.orderer.reset();
    this.gate = new WatermarkGate();
    this.committedAtJoin = undefined;
    this.pendingCommits.clear();
    this.deps.metrics?.held.set(0);
  }

  /**
   * Whether a batch of `partition` starting at `firstOffset` may be added. After a (re)join the orderer
   * starts from the group's committed offset: a first batch above it (a seek left over from before the
   * rebalance) would skip flags never counted, so the answer is the offset to seek back to instead.
   */
  async admit(partition: number, firstOffset: string): Promise<{ ok: true } | { ok: false; seekTo: string }> {
    if (this.orderer.position(partition) !== undefined) return { ok: true };
    const committed = (await this.committed()).get(partition);
    if (committed !== undefined && BigInt(firstOffset) > committed)
      return { ok: false, seekTo: committed.toString() };
    this.orderer.startAt(partition, committed ?? BigInt(firstOffset));
    return { ok: true };
  }

  add(partition: number, entries: readonly OrderEntry[]): void {
    this.orderer.add(partition, entries, this.now());
    this.deps.metrics?.held.set(this.orderer.size);
  }

  /** Counts what may be counted and commits what was counted; rejects if counting failed (nothing lost). */
  pump(): Promise<void> {
    this.queued++;
    const run = this.chain.then(() => this.pumpOnce()).finally(() => this.queued--);
    this.chain = run.catch(() => undefined);
    return run;
  }

  start(): void {
    this.timer ??= setInterval(() => {
      // One pump at a time from the timer: slow reads must not pile pumps up behind the batch handler's.
      if (this.queued > 0) return;
      if (this.orderer.size === 0 && this.pendingCommits.size === 0) return;
      this.pump().catch((err: unknown) =>
        this.deps.logger.warn(
          { err: errorMessage(err), held: this.orderer.size },
          'counting held flags failed; retrying',
        ),
      );
    }, this.deps.pollMs ?? 250);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.chain;
  }

  private async pumpOnce(): Promise<void> {
    const generation = this.generation;
    let watermark: number | null = null;
    if (this.deps.maxHoldMs > 0 && this.orderer.size > 0) {
      try {
        await this.committed();
        // W first, then the end offsets: every flag decided by W is before those offsets.
        const w = await this.deps.readWatermark();
        if (w !== null) this.gate.offer(w, await this.deps.endOffsets());
      } catch (err) {
        // Without a fresh reading the last confirmed watermark stands, and the hold bound still applies.
        this.deps.logger.warn({ err: errorMessage(err) }, 'reading the flag watermark failed');
      }
      watermark = this.gate.confirm(this.owned, (p) => this.positionOf(p));
      if (watermark !== null) this.deps.metrics?.watermark.set(watermark / 1000);
    }
    const release = this.orderer.plan(watermark, this.now());
    if (release.flags.length > 0) await this.deps.count(release.flags);
    if (generation !== this.generation) return; // rejoined meanwhile: positions were reset
    this.orderer.settle(release);
    if (release.overdue > 0) {
      this.deps.metrics?.overdue.inc(release.overdue);
      // At most a line a minute: a detector that stopped writing the watermark would log every pump.
      if (this.now() - this.lastOverdueLogMs >= 60000) {
        this.lastOverdueLogMs = this.now();
        this.deps.logger.warn(
          { overdue: release.overdue, maxHoldMs: this.deps.maxHoldMs },
          'flags held past BULWARK_FLAG_ORDER_MAX_HOLD_MS: counted without the flag watermark',
        );
      }
    }
    this.deps.metrics?.held.set(this.orderer.size);
    for (const [p, o] of release.commits) this.pendingCommits.set(p, o);
    for (const [p, o] of [...this.pendingCommits]) {
      try {
        await this.deps.commit(p, o);
        if (this.pendingCommits.get(p) === o) this.pendingCommits.delete(p);
      } catch (err) {
        // Counted already (idempotent): a later pump commits it; a crash first only re-reads the flags.
        this.deps.logger.warn(
          { partition: p, offset: o, err: errorMessage(err) },
          'flag commit failed; retrying',
        );
      }
    }
  }

  /** This group's committed offsets, read once per join (then the orderer tracks what it commits). */
  private async committed(): Promise<Map<number, bigint>> {
    if (!this.committedAtJoin) {
      const generation = this.generation;
      const c = await this.deps.committedOffsets();
      const map = new Map([...c].filter(([, o]) => o !== '-1').map(([p, o]) => [p, BigInt(o)] as const));
      if (generation !== this.generation) return map;
      this.committedAtJoin = map;
    }
    return this.committedAtJoin;
  }

  private positionOf(partition: number): bigint | undefined {
    const read = this.orderer.position(partition);
    const committed = this.committedAtJoin?.get(partition);
    if (read === undefined) return committed;
    return committed === undefined || read > committed ? read : committed;
  }
}
