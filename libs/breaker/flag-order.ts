import type { Flag } from './flag';

/** A flag's decision time: a decision that waited for the grace period was made at raisedAt, not occurredAt. */
export function decidedAtMs(flag: Pick<Flag, 'occurredAt' | 'raisedAt'>): number {
  return Math.max(Date.parse(flag.occurredAt), Date.parse(flag.raisedAt) || -Infinity);
}

/** One consumed message of the flag topic: a valid flag, or null for one that was dead-lettered. */
export interface OrderEntry {
  offset: string;
  flag: Flag | null;
}

export interface HeldFlag {
  partition: number;
  offset: bigint;
  flag: Flag | null;
  decidedMs: number;
  heldSinceMs: number;
}

export interface Release {
  /** In decision-time order (then partition, offset): the order in which the breaker must count them. */
  flags: Flag[];
  /** Per partition whose commit point moves: the next offset to commit (everything before it is released). */
  commits: Map<number, string>;
  /** How many of the flags are released by the wall-clock bound, not by the watermark. */
  overdue: number;
  /** For settle(): what leaves the orderer once the flags are counted. */
  readonly taken: ReadonlySet<HeldFlag>;
  readonly throughMs: number;
}

/**
 * Puts flags from several partitions of the flag topic back into event-time order (as a Kafka Streams task
 * merges its partitions by timestamp): flags are held until the detector's flag watermark says nothing
 * earlier can still come, then released sorted by decision time. So after a backlog, when one partition's
 * flags arrive minutes of event time ahead of another's, the breaker still finds the earliest crossing.
 *
 * Nothing is lost: the commit point of a partition never passes a flag still held, so a crash re-reads it.
 * A flag held longer than `maxHoldMs` of wall time is released anyway, with every flag decided before it
 * (order kept), so a watermark that stops moving delays a trip by at most that bound. Pure: no I/O, no clock.
 */
export class FlagOrderer {
  private held: HeldFlag[] = [];
  /** Per partition: the offset after the last message added (the consumer's position as far as we know). */
  private readonly next = new Map<number, bigint>();
  private readonly committed = new Map<number, bigint>();
  /** Released up to this decision time: a flag decided at or before it is late and goes straight through. */
  private releasedThroughMs = -Infinity;

  constructor(private readonly opts: { maxHoldMs: number }) {}

  get size(): number {
    return this.held.length;
  }

  /** The offset after the last message added from `partition`, if any was. */
  position(partition: number): bigint | undefined {
    return this.next.get(partition);
  }

  /** The consumer reads `partition` from `offset` (the group's committed offset): the first commit point. */
  startAt(partition: number, offset: bigint): void {
    if (!this.committed.has(partition)) this.committed.set(partition, offset);
  }

  /**
   * Adds one batch of one partition, in offset order. Messages at or before the partition's position (a
   * redelivery after a failed batch or a restart of the consumer) are ignored: they are held already.
   */
  add(partition: number, entries: readonly OrderEntry[], wallNowMs: number): void {
    const from = this.next.get(partition);
    for (const e of entries) {
      const offset = BigInt(e.offset);
      if (from !== undefined && offset < from) continue;
      // The consumer started here: nothing before it needs committing by this orderer.
      if (!this.committed.has(partition)) this.committed.set(partition, offset);
      this.held.push({
        partition,
        offset,
        flag: e.flag,
        decidedMs: e.flag ? decidedAtMs(e.flag) : -Infinity,
        heldSinceMs: wallNowMs,
      });
      this.next.set(partition, offset + 1n);
    }
  }

  /**
   * What may be counted now: every flag decided at or before `watermarkMs` (null: no watermark yet), and
   * every flag decided at or before the latest one held longer than maxHoldMs. Changes nothing: once the
   * flags are counted (durably), settle() lets them go; if counting fails, the next plan offers them again.
   */
  plan(watermarkMs: number | null, wallNowMs: number): Release {
    const byWatermark = Math.max(this.releasedThroughMs, watermarkMs ?? -Infinity);
    let through = byWatermark;
    for (const h of this.held)
      if (wallNowMs - h.heldSinceMs >= this.opts.maxHoldMs && h.decidedMs > through) through = h.decidedMs;

    const out: HeldFlag[] = [];
    const commits = new Map<number, string>();
    const lowestKept = new Map<number, bigint>();
    for (const h of this.held) {
      if (h.decidedMs <= through) out.push(h);
      else {
        const low = lowestKept.get(h.partition);
        if (low === undefined || h.offset < low) lowestKept.set(h.partition, h.offset);
      }
    }
    out.sort((a, b) => a.decidedMs - b.decidedMs || a.partition - b.partition || Number(a.offset - b.offset));
    for (const [partition, next] of this.next) {
      const point = lowestKept.get(partition) ?? next;
      if (point !== this.committed.get(partition)) commits.set(partition, point.toString());
    }
    const flags: Flag[] = [];
    let overdue = 0;
    for (const h of out) {
      if (!h.flag) continue;
      flags.push(h.flag);
      if (h.decidedMs > byWatermark) overdue++;
    }
    return { flags, commits, overdue, taken: new Set(out), throughMs: byWatermark };
  }

  /** The flags of `release` are counted: they leave the orderer and its commit points move. */
  settle(release: Release): void {
    this.held = this.held.filter((h) => !release.taken.has(h));
    if (release.throughMs > this.releasedThroughMs) this.releasedThroughMs = release.throughMs;
    for (const [partition, point] of release.commits) this.committed.set(partition, BigInt(point));
  }

  /**
   * Forgets everything held and every position (the consumer rejoined its group: partitions may have moved,
   * and the ones kept are fetched again from their committed offsets). The release point is kept.
   */
  reset(): void {
    this.held = [];
    this.next.clear();
    this.committed.clear();
  }
}
