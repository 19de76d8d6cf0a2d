import { errorMessage } from '../../libs/errors';
import type { KafkaClient } from '../../libs/kafka';
import type { Logger } from '../../libs/logger';
import type { BreakerChange } from '../../libs/breaker';

/** One input partition as seen at one poll: the detector group's committed offset and the end offset. */
export interface PartitionProgress {
  topic: string;
  partition: number;
  /** '-1' when the group has committed nothing on it. */
  committed: string;
  end: string;
}

export interface StallVerdict {
  stalled: boolean;
  /** The longest time a partition with waiting input has gone without a commit (0 when none waits). */
  ageMs: number;
  stuck: { topic: string; partition: number; lag: string; forMs: number }[];
}

/**
 * Decides, from successive polls, whether the detector is stalled: some input partition has messages
 * waiting (end > committed) and its committed offset has not moved for `stallMs`. A partition with
 * nothing waiting is never stalled, so an idle detector on a quiet topic is fine. Pure: the clock is an
 * argument.
 */
export class StallWatch {
  private readonly seen = new Map<string, { committed: string; sinceMs: number }>();

  constructor(private readonly stallMs: number) {}

  observe(rows: PartitionProgress[], nowMs: number): StallVerdict {
    const stuck: StallVerdict['stuck'] = [];
    let ageMs = 0;
    for (const r of rows) {
      const key = `${r.topic}/${r.partition}`;
      const committed = BigInt(r.committed) < 0n ? 0n : BigInt(r.committed);
      const lag = BigInt(r.end) - committed;
      const prev = this.seen.get(key);
      // Not waiting, first seen, or moved: progress is "now".
      if (lag <= 0n || !prev || prev.committed !== r.committed) {
        this.seen.set(key, { committed: r.committed, sinceMs: nowMs });
        continue;
      }
      const forMs = nowMs - prev.sinceMs;
      ageMs = Math.max(ageMs, forMs);
      if (forMs >= this.stallMs)
        stuck.push({ topic: r.topic, partition: r.partition, lag: lag.toString(), forMs });
    }
    return { stalled: stuck.length > 0, ageMs, stuck };
  }
}

export interface StallMonitorOptions {
  kafka: KafkaClient;
  groupId: string;
  topics: string[];
  stallMs: number;
  intervalMs: number;
  logger: Logger;
  trip: (detail: string, atIso: string) => Promise<BreakerChange | null>;
  onAge?: (ageSeconds: number) => void;
}

/** Polls the detector group's offsets and trips the breaker once per stall episode. */
export class StallMonitor {
  private readonly watch: StallWatch;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private trippedThisEpisode = false;
  private lastError = 0;
  /** False while offsets cannot be read (reported by /readyz). */
  healthy = true;

  constructor(private readonly opts: StallMonitorOptions) {
    this.watch = new StallWatch(opts.stallMs);
  }

  start(): void {
    const tick = () => {
      this.running = this.poll().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.opts.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One poll; public so tests can drive it without timers. */
  async poll(nowMs = Date.now()): Promise<StallVerdict | null> {
    let rows: PartitionProgress[];
    try {
      rows = await this.read();
      this.healthy = true;
    } catch (err) {
      // Not seeing Kafka says nothing about the detector: do not trip, report unready.
      this.healthy = false;
      if (Date.now() - this.lastError > 30_000) {
        this.lastError = Date.now();
        this.opts.logger.warn({ err: errorMessage(err) }, 'cannot read detector offsets');
      }
      return null;
    }
    const verdict = this.watch.observe(rows, nowMs);
    this.opts.onAge?.(verdict.ageMs / 1000);
    if (!verdict.stalled) {
      this.trippedThisEpisode = false;
      return verdict;
    }
    if (!this.trippedThisEpisode) {
      const detail = verdict.stuck
        .slice(0, 5)
        .map((s) => `${s.topic}[${s.partition}] lag ${s.lag} for ${Math.round(s.forMs / 1000)} s`)
        .join(', ');
      try {
        await this.opts.trip(`group ${this.opts.groupId}: ${detail}`, new Date(nowMs).toISOString());
        this.trippedThisEpisode = true;
      } catch (err) {
        this.opts.logger.error(
          { err: errorMessage(err) },
          'tripping on a stalled detector failed; will retry',
        );
      }
    }
    return verdict;
  }

  private async read(): Promise<PartitionProgress[]> {
    // End offsets first: the committed ones read after can only be later, so lag is never overstated.
    const ends = await Promise.all(this.opts.topics.map((t) => this.opts.kafka.endOffsets(t)));
    const committed = await Promise.all(
      this.opts.topics.map((t) => this.opts.kafka.committedOffsets(this.opts.groupId, t)),
    );
    return this.opts.topics.flatMap((topic, i) =>
      [...ends[i]!].map(([partition, end]) => ({
        topic,
        partition,
        end,
        committed: committed[i]!.get(partition) ?? '-1',
      })),
    );
  }
}
