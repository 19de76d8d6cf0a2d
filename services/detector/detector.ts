import type { Registry } from 'prom-client';
import { kafkaSecurity, redisConnection } from '../../libs/config';
import { StateStoreError, errorMessage } from '../../libs/errors';
import {
  liveEngine,
  FlagWatermark,
  ProgressTracker,
  StateEpoch,
  partitionOfSource,
  sourcesAhead,
  type Flag,
  type SourceProgress,
  type SourcedEvent,
  type StreamEngine,
} from '../../libs/engine';
import { eventTimeRange, type EventTimeBounds } from '../../libs/events';
import {
  BatchAbandonedError,
  KafkaClient,
  topicDeclarations,
  topicNames,
  type BatchConsumer,
  type BatchContext,
  type BulwarkProducer,
  type ConsumedBatch,
  type OutRecord,
  type TopicNames,
} from '../../libs/kafka';
import { componentLogger, type Logger } from '../../libs/logger';
import {
  engineMetrics,
  intakeMetrics,
  redisMetrics,
  stateLossMetrics,
  type IntakeMetrics,
  type RedisMetrics,
  type StateLossMetrics,
} from '../../libs/metrics';
import { createRedis, redisAnswers, type Redis } from '../../libs/redis';
import type { RulesConfig } from '../../libs/rules';
import type { DetectorConfig } from './config';
import { intakeBatch } from './intake';

/**
 * The detector: consumes auth and wallet events, applies them to the rule engine, produces flags and dead
 * letters, and only then lets the consumer commit. A crash at any point re-delivers events whose effects the
 * engine already holds; the engine treats them as duplicates and hands back their unacknowledged flags, so
 * nothing is lost and nothing counts twice.
 */
/** Thrown inside a batch's Redis work when the state epoch shows a loss: the batch waits for the rebuild. */
class StateLostHold extends Error {}

/** Least wall time between two ticks that batches ask for (the periodic tick runs regardless). */
const BATCH_TICK_GAP_MS = 100;
/** How often a held flag watermark looks for stale unacked-index entries. */
const STALE_CHECK_MS = 5_000;
/** How long an entry whose flag its state does not hold may stand for a commit still in flight. */
const UNKNOWN_ENTRY_AGE_MS = 10 * 60_000;

export interface DetectorDeps {
  config: DetectorConfig;
  rules: RulesConfig;
  registry: Registry;
  logger?: Logger;
  wallClock?: () => number;
  /** The consumer cannot be restarted: the process should exit non-zero (main.ts); default exit(1). */
  onFatal?: (err: unknown) => void;
}

export class Detector {
  private readonly log: Logger;
  private readonly topics: TopicNames;
  private readonly kafka: KafkaClient;
  private readonly redis: Redis;
  private readonly metrics: IntakeMetrics;
  private readonly redisErrors: RedisMetrics;
  private readonly now: () => number;
  private readonly lossMetrics: StateLossMetrics;
  private readonly epoch: StateEpoch;
  /** The lostAt of the last loss this process counted (each loss is counted once per process). */
  private seenLoss?: string;
  private readonly eventTimeBounds: EventTimeBounds;
  private engine?: StreamEngine;
  private progress?: ProgressTracker;
  private flagWatermark?: FlagWatermark;
  private producer?: BulwarkProducer;
  private consumer?: BatchConsumer;
  private ticker?: NodeJS.Timeout;
  private tickInFlight: Promise<void> = Promise.resolve();
  private tickQueued = false;
  private lastTickAt = -Infinity;
  private tickTimer?: NodeJS.Timeout;
  /** A tick failed: flags it decided may sit unacked (the reply lost), so the next tick produces them. */
  private unackedSuspect = false;
  private lastStaleCheckAt = Number.NEGATIVE_INFINITY;
  /** The newest watermark whose due decisions are all made: per-user lists are never trimmed past it. */
  private watermarkMs: number | undefined;
  /** Event-time alignment bound (ms; 0: off) and the partitions this instance holds paused for it. */
  private readonly alignMaxAheadMs: number;
  private readonly alignPaused = new Set<string>();
  private joined = false;
  private pausedForRedis = false;
  private stopping = false;

  constructor(private readonly deps: DetectorDeps) {
    this.log = componentLogger('detector', deps.logger);
    this.topics = topicNames(deps.config.BULWARK_TOPIC_PREFIX);
    this.now = deps.wallClock ?? Date.now;
    this.eventTimeBounds = {
      maxAheadMs: deps.config.BULWARK_EVENT_MAX_AHEAD_MS,
      maxBehindMs: deps.config.BULWARK_EVENT_MAX_BEHIND_MS,
    };
    this.metrics = intakeMetrics(deps.registry);
    this.redisErrors = redisMetrics(deps.registry);
    this.kafka = new KafkaClient({
      brokers: deps.config.BULWARK_KAFKA_BROKERS,
      clientId: `${deps.config.BULWARK_KAFKA_CLIENT_ID}-detector`,
      logger: componentLogger('kafka', this.log),
      security: kafkaSecurity(deps.config),
    });
    this.redis = createRedis({
      ...redisConnection(deps.config),
      logger: componentLogger('redis', this.log),
      onError: () => this.redisErrors.errors.inc({ component: 'detector' }),
    });
    this.alignMaxAheadMs = deps.config.BULWARK_ALIGN_MAX_AHEAD_MS ?? deps.rules.graceMs;
    this.lossMetrics = stateLossMetrics(deps.registry);
    this.epoch = new StateEpoch(this.redis, deps.config.BULWARK_KEY_PREFIX, 'detector');
  }

  async start(): Promise<void> {
    const cfg = this.deps.config;
    await this.kafka.ensureTopics(topicDeclarations(this.topics, cfg.BULWARK_PARTITIONS));
    this.engine = liveEngine({
      redis: this.redis,
      prefix: cfg.BULWARK_KEY_PREFIX,
      rules: this.deps.rules,
      metrics: engineMetrics(this.deps.registry),
      wallClock: this.now,
    });
    this.flagWatermark = new FlagWatermark(this.redis, cfg.BULWARK_KEY_PREFIX);
    this.progress = new ProgressTracker(this.redis, cfg.BULWARK_KEY_PREFIX, {
      idleTimeoutMs: this.deps.rules.idleTimeoutMs,
    });
    this.producer = this.kafka.producer();
    await this.producer.connect();
    // Redis without the epoch marker or our progress, while the group has committed offsets, lost its data
    // while no detector ran: rebuild before consuming.
    const rebuild = await this.withRedisRetry(async () => this.watchState(await this.heldStateBefore()));
    if (rebuild) await this.rebuild();
    // Until a partition with input waiting has been read, it must hold event time back.
    await this.withRedisRetry(() => this.syncPartitions());
    // Flags a crashed instance decided but never produced go out first.
    await this.withRedisRetry(async () => this.emitFlags(await this.engine!.unackedFlags()));
    await this.startConsumer();
    this.ticker = setInterval(() => this.tick(), cfg.BULWARK_TICK_MS);
    this.log.info(
      { topics: [this.topics.auth, this.topics.wallet], group: cfg.BULWARK_DETECTOR_GROUP },
      'detector started',
    );
  }

  private async startConsumer(): Promise<void> {
    const cfg = this.deps.config;
    this.alignPaused.clear();
    this.metrics.alignmentPaused.set(0);
    this.consumer = this.kafka.consumer({
      groupId: cfg.BULWARK_DETECTOR_GROUP,
      topics: [this.topics.auth, this.topics.wallet],
      fromBeginning: true,
      partitionsConsumedConcurrently: cfg.BULWARK_PARTITIONS_CONCURRENCY,
      maxBytesPerPartition: cfg.BULWARK_FETCH_MAX_BYTES_PER_PARTITION,
      handle: (batch, ctx) => this.handleBatch(batch, ctx),
      // Lag is set by syncPartitions from the broker's committed and end offsets (one writer).
      onCommitted: () => this.metrics.lastProgress.set(this.now() / 1000),
      onBatchFailed: (topic) => this.metrics.batchFailures.inc({ topic }),
      onRestart: () => {
        this.joined = false;
        this.metrics.consumerRestarts.inc();
      },
      ...(this.deps.onFatal ? { onFatal: this.deps.onFatal } : {}),
    });
    this.consumer.on('consumer.group_join', () => {
      this.joined = true;
    });
    await this.consumer.start();
  }

  /** Ready when the consumer has joined its group, Redis answers and nothing is paused. */
  async readiness(): Promise<{ ready: boolean; reasons: string[] }> {
    const reasons: string[] = [];
    if (!this.joined) reasons.push('consumer has not joined its group');
    if (this.pausedForRedis) reasons.push('paused: Redis unreachable');
    if (!(await redisAnswers(this.redis))) reasons.push('Redis does not answer');
    return { ready: reasons.length === 0, reasons };
  }

  private async handleBatch(batch: ConsumedBatch, ctx: BatchContext): Promise<void> {
    const end = this.metrics.batchDuration.startTimer({ topic: batch.topic });
    const isAuth = batch.topic === this.topics.auth;
    const nowMs = this.now();
    const intake = intakeBatch(batch.messages, {
      maxBytes: this.deps.config.BULWARK_MAX_EVENT_BYTES,
      expectedTopic: isAuth ? 'auth' : 'wallet',
      dlqTopic: this.topics.dlq(batch.topic),
      nowIso: new Date(nowMs).toISOString(),
      // Both ends measured from the wall clock, read here in the service layer, never in rule logic.
      eventTime: eventTimeRange(this.eventTimeBounds, {
        aheadRefMs: nowMs,
        latestFrom: 'the wall clock (BULWARK_EVENT_MAX_AHEAD_MS)',
        earliestFrom: 'the wall clock (BULWARK_EVENT_MAX_BEHIND_MS)',
      }),
    });
    const source = `${batch.topic}/${batch.partition}`;
    const valid: SourcedEvent[] = [];
    const deadLetters: OutRecord[] = [];
    let ignored = 0;
    let maxEventTime = -Infinity;
    for (const item of intake) {
      if (item.kind === 'valid') {
        valid.push({ event: item.event, source });
        if (item.event.occurredAtMs > maxEventTime) maxEventTime = item.event.occurredAtMs;
      } else if (item.kind === 'ignored') ignored++;
      else {
        deadLetters.push(item.dlq);
        this.metrics.invalid.inc({ topic: batch.topic, code: item.code });
      }
    }
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug(
        { topic: batch.topic, partition: batch.partition, events: valid.map((v) => v.event) },
        'batch',
      );
    }

    const last = batch.messages[batch.messages.length - 1]!;
    const caughtUp = BigInt(last.offset) + 1n >= BigInt(batch.highWatermark);
    const applied = await this.withRedisRetry(async () => {
      const result =
        valid.length > 0
          ? await this.engine!.applyBatch(valid, { watermarkMs: this.watermarkMs })
          : { flags: [], outcomes: [] };
      await this.progress!.record(
        [{ source, maxEventTimeMs: Number.isFinite(maxEventTime) ? maxEventTime : 0, caughtUp }],
        this.now(),
      );
      // Applied to a Redis that lost its data (the marker is gone)? Then produce nothing: hold for the rebuild.
      if (await this.watchState()) throw new StateLostHold();
      return result;
    }, ctx);
    if (!applied) throw new BatchAbandonedError(); // stopping or revoked: commit nothing
    // Ran ahead of the watermark the last tick closed: hold it before the next fetch (the tick resumes it).
    if (!caughtUp && this.watermarkMs !== undefined && this.alignMaxAheadMs > 0) {
      if (maxEventTime > this.watermarkMs + this.alignMaxAheadMs) this.holdForAlignment(source);
    }

    // Dead letters and flags must be in Kafka before the offsets move past the events that produced them.
    await this.producer!.send(deadLetters);
    await this.emitFlags(applied.flags);

    this.metrics.consumed.inc({ topic: batch.topic }, batch.messages.length);
    if (ignored > 0) this.metrics.ignored.inc({ topic: batch.topic }, ignored);
    if (deadLetters.length > 0)
      this.metrics.deadLetters.inc({ topic: this.topics.dlq(batch.topic) }, deadLetters.length);
    const dups = applied.outcomes.filter((o) => o === 'duplicate').length;
    if (dups > 0) this.metrics.duplicate.inc({ topic: batch.topic }, dups);
    end();
    this.tickAfterBatch();
  }

  /**
   * A batch may have moved event time: tick now, or once BATCH_TICK_GAP_MS has passed since the last tick.
   * Each tick asks the broker for four offset lists, so one per batch would load the broker while it
   * serves a backlog; decisions wait for a grace period of seconds anyway.
   */
  private tickAfterBatch(): void {
    const wait = this.lastTickAt + BATCH_TICK_GAP_MS - this.now();
    if (wait <= 0) return this.tick();
    this.tickTimer ??= setTimeout(() => {
      this.tickTimer = undefined;
      this.tick();
    }, wait);
  }

  /**
   * The flag watermark is held by an unacked flag: usually one being produced right now, but an index entry
   * left by a refused commit or a crash would hold it for good. Checked at most every STALE_CHECK_MS, after
   * the tick's work, and its failure fails nothing else.
   */
  private async settleStaleUnacked(): Promise<void> {
    const now = this.now();
    if (now - this.lastStaleCheckAt < STALE_CHECK_MS) return;
    this.lastStaleCheckAt = now;
    try {
      const dropped = await this.engine!.settleStaleUnacked(now, UNKNOWN_ENTRY_AGE_MS);
      if (dropped > 0) this.log.warn({ dropped }, 'dropped unacked-index entries of no unacked flag');
    } catch (err) {
      // Only housekeeping: the tick's own work is done, and the next check tries again.
      this.redisErrors.errors.inc({ component: 'detector-unacked-index' });
      this.log.warn({ err: errorMessage(err) }, 'checking the unacked index failed; will retry');
    }
  }

  /** Produces flags (acks=-1) keyed by userId, then tells the engine they are durable. */
  private async emitFlags(flags: Flag[]): Promise<void> {
    if (flags.length === 0) return;
    await this.producer!.send(
      flags.map((f) => ({
        topic: this.topics.flags,
        key: f.userId,
        value: JSON.stringify(f),
        headers: { 'bulwark-flag-id': f.flagId },
      })),
    );
    await this.engine!.ackFlags(flags);
  }

  /**
   * Compares every input partition's committed offset with its end, right before each watermark: a partition
   * with input waiting is marked not caught up, so it holds event time back even before any instance has
   * fetched from it (a decision must not close while a partition that may carry the awaited event is behind);
   * one whose commits reach the end is caught up and may go idle. Returns false until every input partition
   * is known, so no decision is made on a partial view. Committed offsets are the group's, so every instance
   * sees the same. Also sets the lag metric.
   */
  private async syncPartitions(): Promise<boolean> {
    const group = this.deps.config.BULWARK_DETECTOR_GROUP;
    const updates: { source: string; maxEventTimeMs: number; caughtUp: boolean; arrived: boolean }[] = [];
    for (const topic of [this.topics.auth, this.topics.wallet]) {
      const [end, committed] = await Promise.all([
        this.kafka.endOffsets(topic),
        this.kafka.committedOffsets(group, topic),
      ]);
      if (end.size === 0) return false;
      for (const [partition, high] of end) {
        const c = committed.get(partition);
        const done = c === undefined || c === '-1' ? 0n : BigInt(c);
        const lag = BigInt(high) - done;
        this.metrics.consumerLag.set({ topic, partition: String(partition) }, lag > 0n ? Number(lag) : 0);
        updates.push({
          source: `${topic}/${partition}`,
          maxEventTimeMs: 0,
          caughtUp: lag <= 0n,
          arrived: false,
        });
      }
    }
    await this.progress!.record(updates, this.now());
    return true;
  }

  /** Closes pending decisions the watermark has passed. One tick at a time; requests made meanwhile coalesce. */
  private tick(): void {
    if (this.stopping || !this.engine || !this.progress || this.tickQueued) return;
    this.tickQueued = true;
    this.tickInFlight = this.tickInFlight
      .then(async () => {
        this.tickQueued = false;
        this.lastTickAt = this.now();
        // Redis lost its data: no decision on empty windows; re-read the input instead.
        if (await this.watchState()) return await this.rebuild();
        if (this.unackedSuspect) {
          await this.emitFlags(await this.engine!.unackedFlags());
          this.unackedSuspect = false;
        }
        if (!(await this.syncPartitions())) return;
        const { sources, watermarkMs: wm } = await this.progress!.snapshot(this.now());
        if (wm === null) return;
        this.align(sources, wm);
        // Decisions close once event time has moved past their due time (due < watermark).
        const flags = await this.engine!.closeDue(wm - 1);
        await this.emitFlags(flags);
        // Those flags are in Kafka: the breaker may count every flag decided up to here, in event-time order.
        const flagWm = await this.flagWatermark!.advance(wm - 1);
        // Only now may batches trim behind this watermark: until every decision due before it is made, the
        // facts those decisions read must stay (the watermark can jump hours ahead in one tick on a backlog).
        this.watermarkMs = wm;
        if (flagWm < wm - 1) await this.settleStaleUnacked();
      })
      .catch((err: unknown) => {
        this.tickQueued = false;
        this.unackedSuspect = true;
        this.redisErrors.errors.inc({ component: 'detector-tick' });
        this.log.warn({ err: errorMessage(err) }, 'closing pending decisions failed; will retry');
      });
  }

  /**
   * Event-time alignment: pauses this instance's fetching of every partition that runs more than the bound
   * past the shared watermark and resumes those the others have caught up with (sourcesAhead says why this
   * cannot deadlock). Pausing a partition another instance owns does nothing here; it is applied again
   * every tick, so a consumer restart or a rebalance that forgot it is mended on the next one.
   */
  private align(sources: readonly SourceProgress[], watermarkMs: number): void {
    if (!this.consumer) return;
    const ahead = sourcesAhead(sources, watermarkMs, this.alignMaxAheadMs);
    for (const source of ahead) this.holdForAlignment(source);
    for (const source of [...this.alignPaused]) {
      if (ahead.has(source)) continue;
      const tp = partitionOfSource(source);
      try {
        if (tp) this.consumer.resume(tp.topic, [tp.partition]);
        this.alignPaused.delete(source);
      } catch (err) {
        this.log.warn({ source, err: errorMessage(err) }, 'resuming an aligned partition failed; next tick');
      }
    }
    this.metrics.alignmentPaused.set(this.alignPaused.size);
  }

  private holdForAlignment(source: string): void {
    const tp = partitionOfSource(source);
    if (!tp || !this.consumer) return;
    if (tp.topic !== this.topics.auth && tp.topic !== this.topics.wallet) return;
    try {
      this.consumer.pause(tp.topic, [tp.partition]); // idempotent
      if (!this.alignPaused.has(source)) {
        this.alignPaused.add(source);
        this.log.debug({ source }, 'partition ahead of the watermark: paused for alignment');
      }
    } catch (err) {
      // The consumer is between runs (restarting): the next tick pauses it again.
      this.log.debug({ source, err: errorMessage(err) }, 'pausing a partition for alignment failed');
    }
    this.metrics.alignmentPaused.set(this.alignPaused.size);
  }

  /**
   * Checks the state epoch marker: counts and logs a loss once, keeps the lost gauge, and says whether this
   * detector must rebuild the windows (a loss nobody has rebuilt from yet). `heldStateBefore`: evidence from
   * outside Redis that it held our state (read at start-up, when this process has seen no marker yet).
   */
  private async watchState(heldStateBefore = false): Promise<boolean> {
    const { status, record } = await this.epoch.check({
      heldStateBefore,
      nowIso: new Date(this.now()).toISOString(),
    });
    this.lossMetrics.lost.set(record.lostAt ? 1 : 0);
    if (record.lostAt && record.lostAt !== this.seenLoss) {
      this.seenLoss = record.lostAt;
      this.lossMetrics.losses.inc();
      this.log.error(
        { status, lostAt: record.lostAt, lostBy: record.lostBy, epoch: record.id },
        'Redis lost its data (state epoch marker gone): the windows are empty, every rule is unreliable until they are rebuilt from Kafka',
      );
    }
    return record.lostAt !== undefined && record.rebuiltAt === undefined;
  }

  /** Our progress hash is in Redis, or the group committed nothing yet: then a missing marker is a first start. */
  private async heldStateBefore(): Promise<boolean> {
    if ((await this.progress!.sources()).length > 0) return false;
    const group = this.deps.config.BULWARK_DETECTOR_GROUP;
    for (const topic of [this.topics.auth, this.topics.wallet]) {
      const committed = await this.kafka.committedOffsets(group, topic);
      if ([...committed.values()].some((o) => BigInt(o) > 0n)) return true;
    }
    return false;
  }

  /**
   * Rebuilds the windows after a loss: stops consuming, moves the group's offsets back by the longest
   * window the rules read (Kafka refuses while any member is in the group, so every instance stops; the
   * first one through seeks), forgets event-time progress, and consumes again. Re-read events are applied
   * as new (their dedup entries were lost too); their flags carry the same flagIds as before, so consumers
   * recognise them.
   */
  private async rebuild(): Promise<void> {
    const cfg = this.deps.config;
    const windowMs = cfg.BULWARK_REBUILD_WINDOW_MS ?? this.engine!.lookbackMs;
    const fromMs = this.now() - windowMs;
    this.log.error(
      { group: cfg.BULWARK_DETECTOR_GROUP, from: new Date(fromMs).toISOString(), windowMs },
      'rebuilding the windows: seeking the detector group back by the longest window the rules read',
    );
    await this.consumer?.stop();
    this.consumer = undefined;
    this.joined = false;
    let delay = 200;
    let logged = false;
    while (!this.stopping) {
      if ((await this.epoch.check()).record.rebuiltAt) break; // another instance got through first
      try {
        const set = await this.kafka.seekGroupToTime(
          cfg.BULWARK_DETECTOR_GROUP,
          [this.topics.auth, this.topics.wallet],
          fromMs,
        );
        // What was applied between the loss and now is dropped with the rest: re-read from the start of the
        // window, no event finds a duplicate (with its flags) from a batch applied to the empty windows.
        await this.engine!.forgetState();
        await this.epoch.mark('rebuiltAt', new Date(this.now()).toISOString());
        this.log.warn(
          { offsets: Object.fromEntries([...set].map(([t, m]) => [t, Object.fromEntries(m)])) },
          'detector group sought back: re-reading the input to rebuild the windows',
        );
        break;
      } catch (err) {
        if (!logged) {
          logged = true;
          this.log.warn({ err: errorMessage(err) }, 'seeking the detector group back failed; retrying');
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
    }
    this.watermarkMs = undefined;
    if (!this.stopping) await this.startConsumer();
  }

  /**
   * Runs `fn` until it succeeds. While Redis is unreachable the batch in hand waits (heartbeating so the
   * group keeps the partition), readiness is false and nothing is committed; it resumes by itself.
   */
  private async withRedisRetry<T>(fn: () => Promise<T>, ctx?: BatchContext): Promise<T | undefined> {
    let delay = 200;
    const pause = async () => {
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
      if (ctx) await ctx.heartbeat().catch(() => undefined);
    };
    for (let failed = false; ; failed = true) {
      // After an outage Redis may be back without its data: then the batch must not be applied to empty
      // windows. It waits (uncommitted) until the tick's rebuild stops the consumer.
      if (ctx && failed) {
        const rebuild = await this.watchState().catch(() => undefined);
        if (rebuild !== false) {
          if (this.stopping || !ctx.isActive()) return undefined;
          await pause();
          continue;
        }
      }
      try {
        const v = await fn();
        if (this.pausedForRedis) {
          this.pausedForRedis = false;
          this.metrics.paused.set(0);
          this.log.info('state store reachable again: resuming');
        }
        return v;
      } catch (err) {
        if (err instanceof StateLostHold) continue; // the loop's top holds the batch
        // Start-up also reads offsets from the broker through here; only Redis failures count as Redis's.
        const store = err instanceof StateStoreError;
        if (store) this.redisErrors.errors.inc({ component: 'detector' });
        if (!this.pausedForRedis) {
          this.pausedForRedis = true;
          this.metrics.paused.set(1);
          this.log.error(
            { err: errorMessage(err) },
            store ? 'state store failed: pausing until it answers' : 'broker call failed: retrying',
          );
        }
        if (this.stopping || (ctx && !ctx.isActive())) return undefined;
        await pause();
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.ticker) clearInterval(this.ticker);
    if (this.tickTimer) clearTimeout(this.tickTimer);
    await this.consumer?.stop();
    await this.tickInFlight;
    await this.producer?.disconnect();
    await this.kafka.close();
    this.redis.disconnect();
    this.log.info('detector stopped');
  }
}
