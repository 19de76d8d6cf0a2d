/**
 * When the detector's flag watermark may be trusted by this consumer. The detector records W only after
 * every flag decided at or before W is in Kafka; so once this consumer has read each of its partitions up
 * to the end offsets taken right after W was read, it holds every such flag. Until then W is a candidate.
 * Pure: the caller reads W, then the end offsets, and reports its positions.
 */
export class WatermarkGate {
  private candidates: { watermarkMs: number; ends: Map<number, bigint> }[] = [];
  private confirmedMs: number | null = null;

  /** At most this many candidates wait (see offer). */
  private static readonly MAX_CANDIDATES = 64;

  get confirmed(): number | null {
    return this.confirmedMs;
  }

  /** A watermark read, and the flag topic's end offsets read after it. */
  offer(watermarkMs: number, ends: ReadonlyMap<number, string>): void {
    const last = this.candidates[this.candidates.length - 1]?.watermarkMs ?? this.confirmedMs;
    if (last !== null && watermarkMs <= last) return;
    const e = new Map<number, bigint>();
    for (const [p, o] of ends) e.set(p, BigInt(o));
    // Full (a reader far behind the detector): the newest candidate is replaced, so the oldest ones, the
    // first this reader can reach, stay; dropping those instead would leave only candidates it never reaches.
    if (this.candidates.length >= WatermarkGate.MAX_CANDIDATES) this.candidates.pop();
    this.candidates.push({ watermarkMs, ends: e });
  }

  /**
   * Confirms the newest candidate whose end offsets this consumer has reached on every partition it owns
   * (`positionOf`: the offset after the last message it read, or undefined when it has read none and has
   * nothing committed). Returns the confirmed watermark (null before the first).
   */
  confirm(owned: Iterable<number>, positionOf: (partition: number) => bigint | undefined): number | null {
    const parts = [...owned];
    let hit = -1;
    this.candidates.forEach((c, i) => {
      const reached = parts.every((p) => {
        const end = c.ends.get(p) ?? 0n;
        return end === 0n || (positionOf(p) ?? 0n) >= end;
      });
      if (reached) hit = i;
    });
    if (hit >= 0) {
      this.confirmedMs = this.candidates[hit]!.watermarkMs;
      this.candidates = this.candidates.slice(hit + 1);
    }
    return this.confirmedMs;
  }
}
