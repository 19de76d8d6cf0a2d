import type { BulwarkEvent } from '../events';
import type { RulesConfig } from '../rules';
import { MemoryWindowStore } from './store/memory-store';
import type { UserState } from './store/window-store';
import { StreamEngine } from './stream-engine';
import type { Flag } from './types';

/**
 * Drives the engine without a broker or Redis (after Kafka Streams' TopologyTestDriver): pipe events in as
 * one ordered stream, advance event time, read the flags and the store.
 *
 *   const driver = new EngineTestDriver(rules);
 *   await driver.pipe(events);        // event time follows the newest occurredAt
 *   await driver.advanceTo(ms);       // decides what is due by then
 *   driver.flags; driver.user('u-1');
 *
 * Like a live stream, a pending decision is decided once event time has passed its due time, right before
 * the event that moved it there; `end()` decides everything still pending.
 */
export class EngineTestDriver {
  readonly store = new MemoryWindowStore();
  readonly engine: StreamEngine;
  /** Every flag raised, in the order raised; each acked at once. */
  readonly flags: Flag[] = [];
  /** Per piped event. */
  readonly outcomes: ('applied' | 'duplicate')[] = [];
  private eventTimeMs = -Infinity;

  constructor(rules: RulesConfig) {
    this.engine = new StreamEngine(this.store, rules);
  }

  /** The newest event time seen. */
  get time(): number {
    return this.eventTimeMs;
  }

  async pipe(events: readonly BulwarkEvent[]): Promise<Flag[]> {
    const raised: Flag[] = [];
    for (const event of events) {
      if (event.occurredAtMs > this.eventTimeMs) raised.push(...(await this.closeBefore(event.occurredAtMs)));
      const res = await this.engine.applyBatch([{ event, source: 'driver' }], {
        watermarkMs: this.eventTimeMs,
      });
      this.outcomes.push(...res.outcomes);
      raised.push(...(await this.take(res.flags)));
    }
    return raised;
  }

  /** Moves event time to `ms` and decides everything due at or before it. */
  async advanceTo(ms: number): Promise<Flag[]> {
    if (ms > this.eventTimeMs) this.eventTimeMs = ms;
    return this.take(await this.engine.closeDue(ms));
  }

  /** End of input: nothing earlier can still arrive, so every pending decision is decided. */
  async end(): Promise<Flag[]> {
    return this.take(await this.engine.closeDue(Number.MAX_SAFE_INTEGER));
  }

  /** What the store holds for one user. */
  user(userId: string): UserState {
    return this.store.user(userId);
  }

  private async closeBefore(t: number): Promise<Flag[]> {
    this.eventTimeMs = t;
    // Due decisions close once event time has moved past them (due < t), as in-process replay does.
    return this.take(await this.engine.closeDue(t - 1));
  }

  private async take(flags: Flag[]): Promise<Flag[]> {
    await this.engine.ackFlags(flags);
    this.flags.push(...flags);
    return flags;
  }
}
