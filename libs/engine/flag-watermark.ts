import { StateStoreError, errorMessage } from '../errors';
import { engineGlobalKeys, windowStoreIndexKeys } from '../keys';
import type { Redis } from '../redis';

/**
 * The flag watermark: an event time W such that every flag decided at or before W is already in Kafka, so
 * a reader of the flag topic that has read up to the end offsets taken after W holds all of them (the
 * breaker counts flags in event-time order with it, libs/breaker/flag-order.ts).
 *
 * The detector advances it after each tick has produced the flags of the decisions it closed. A flag any
 * instance raised and has not yet produced (in the window store's unacked index, not yet acked) holds it
 * below that flag's decision time. Plain commands on one key each (no script), so it runs unchanged on
 * Redis Cluster.
 */
export class FlagWatermark {
  private readonly key: string;
  private readonly unackedIndex: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = engineGlobalKeys(prefix).flagWatermark;
    this.unackedIndex = windowStoreIndexKeys(prefix).unacked;
  }

  /** Every decision due at or before `closedThroughMs` has been made and its flags produced. */
  async advance(closedThroughMs: number): Promise<number> {
    try {
      const oldest = await this.redis.zrange(this.unackedIndex, 0, 0, 'WITHSCORES');
      const held = oldest.length === 2 ? Number(oldest[1]) - 1 : Infinity;
      const w = Math.floor(Math.min(closedThroughMs, held));
      if (Number.isFinite(w)) await this.redis.set(this.key, String(w));
      return w;
    } catch (err) {
      throw new StateStoreError(`flag watermark advance: ${errorMessage(err)}`, err);
    }
  }

  /** The newest flag watermark, or null while no detector has written one. */
  async read(): Promise<number | null> {
    let raw: string | null;
    try {
      raw = await this.redis.get(this.key);
    } catch (err) {
      throw new StateStoreError(`flag watermark read: ${errorMessage(err)}`, err);
    }
    const n = raw === null ? NaN : Number(raw);
    return Number.isFinite(n) ? n : null;
  }
}
