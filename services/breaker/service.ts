import { Breaker, requireControlKeys, type BreakerConfig } from '../../libs/breaker';
import { httpServerSettings } from '../../libs/config/http';
import { FlagWatermark, StateEpoch } from '../../libs/engine';
import { kafkaSecurity, redisConnection } from '../../libs/config';
import { errorMessage } from '../../libs/errors';
import { DEFAULT_EVENT_TIME_BOUNDS, eventTimeRange } from '../../libs/events';
import { ServiceHttp } from '../../libs/http/server';
import { KafkaClient, topicDeclarations, topicNames, type BatchConsumer } from '../../libs/kafka';
import { componentLogger, type Logger } from '../../libs/logger';
import { breakerKeys } from '../../libs/keys';
import {
  breakerMetrics,
  createRegistry,
  intakeMetrics,
  redisMetrics,
  stateLossMetrics,
} from '../../libs/metrics';
import { createRedis, redisAnswers } from '../../libs/redis';
import { AuthFailureLimiter } from './auth-limiter';
import type { BreakerEnv } from './config';
import { auditPublisher, controlPublisher, readAuditTopic, readControlRestore } from './control-topic';
import { intakeFlags } from './flag-intake';
import { FlagSequencer } from './flag-sequencer';
import { registerConsole } from './console-assets';
import { RecentFlags, readOverview } from './overview';
import type { JwtOperators } from './jwt-operators';
import { OperatorFile } from './operator-file';
import type { OperatorVerifier } from './operators';
import { registerBreakerRoutes } from './routes';
import { StallMonitor } from './stall-watch';

const HOUSEKEEPING_MS = 5000;

/** Applies BULWARK_STALL_MS to the detector-stalled trigger, if the triggers file has one. */
export function withStallOverride(cfg: BreakerConfig, stallMs: number | undefined): BreakerConfig {
  if (stallMs === undefined) return cfg;
  return {
    ...cfg,
    triggers: cfg.triggers.map((t) => (t.kind === 'detector-stalled' ? { ...t, stallMs } : t)),
  };
}

export interface RunningBreakerService {
  port: number;
  breaker: Breaker;
  stop(): Promise<void>;
}

/**
 * Wires the breaker service: restore state from the control topic, then consume flags, watch the detector,
 * serve the API. Start-up order matters: state before traffic, so no request sees a half-restored state.
 */
export async function startBreakerService(
  env: BreakerEnv,
  operators: OperatorVerifier,
  triggers: BreakerConfig,
  root: Logger,
  /** jwt: operators by OIDC token; onFatal: the flag consumer cannot be restarted (default exit(1)). */
  identity: { jwt?: JwtOperators; onFatal?: (err: unknown) => void } = {},
): Promise<RunningBreakerService> {
  const config = withStallOverride(triggers, env.BULWARK_STALL_MS);
  const httpSettings = httpServerSettings(env); // before any connection: a bad TLS file stops the start
  // Before any connection: a missing or weak key stops the start with the variable's name.
  const keys = requireControlKeys(env);
  const logger = componentLogger('breaker', root);
  const registry = createRegistry('breaker');
  const metrics = breakerMetrics(registry);
  const redisErrors = redisMetrics(registry).errors;
  const intake = intakeMetrics(registry);
  // Declared for the detector; the breaker exporting it (as 0) would confuse the stall alert.
  registry.removeSingleMetric('bulwark_detector_last_progress_timestamp_seconds');

  const redis = createRedis({
    ...redisConnection(env),
    logger: componentLogger('redis', root),
    onError: () => redisErrors.inc({ component: 'breaker' }),
  });
  const kafka = new KafkaClient({
    brokers: env.BULWARK_KAFKA_BROKERS,
    clientId: `${env.BULWARK_KAFKA_CLIENT_ID}-breaker`,
    logger: componentLogger('kafka', root),
    security: kafkaSecurity(env),
  });
  const topics = topicNames(env.BULWARK_TOPIC_PREFIX);
  await kafka.ensureTopics(topicDeclarations(topics, env.BULWARK_PARTITIONS));
  const producer = kafka.producer();
  await producer.connect();

  const readRestore = () => readControlRestore(kafka, topics.control, keys, { logger, metrics });
  const restore = await readRestore();
  // The control topic holds snapshots but Redis has neither the epoch marker nor a global state: Redis lost
  // its data while no breaker ran (checked before Breaker.create writes a fresh global state).
  const epoch = new StateEpoch(redis, env.BULWARK_KEY_PREFIX, 'breaker');
  const heldStateBefore =
    restore.length > 0 && (await redis.exists(breakerKeys(env.BULWARK_KEY_PREFIX).state('global'))) === 0;
  await epoch.check({ heldStateBefore });
  const breaker = await Breaker.create({
    redis,
    prefix: env.BULWARK_KEY_PREFIX,
    config,
    logger,
    metrics,
    keys,
    publish: controlPublisher(producer, topics.control, keys),
    publishAudit: auditPublisher(producer, topics.audit),
    loadAuditTrail: () => readAuditTopic(kafka, topics.audit, { metrics }),
    restore,
  });

  let consumerRunning = false;
  let stopping = false;
  const dlqTopic = topics.dlq(topics.flags);
  const flagWatermark = new FlagWatermark(redis, env.BULWARK_KEY_PREFIX);
  const recent = new RecentFlags();
  let progressAgeSeconds: number | null = null;
  const sequencer = new FlagSequencer({
    endOffsets: () => kafka.endOffsets(topics.flags),
    committedOffsets: () => kafka.committedOffsets(env.BULWARK_BREAKER_GROUP, topics.flags),
    readWatermark: () => flagWatermark.read(),
    count: async (flags) => {
      try {
        await breaker.onFlags(flags);
        recent.add(flags);
        intake.paused.set(0);
      } catch (err) {
        redisErrors.inc({ component: 'breaker' });
        intake.paused.set(1);
        throw err;
      }
    },
    commit: (partition, offset) => consumer.commit(topics.flags, partition, offset),
    maxHoldMs: env.BULWARK_FLAG_ORDER_MAX_HOLD_MS,
    logger: componentLogger('flag-order', logger),
    metrics: { held: metrics.flagsHeld, overdue: metrics.flagsOverdue, watermark: metrics.flagWatermark },
  });
  const consumer: BatchConsumer = kafka.consumer({
    groupId: env.BULWARK_BREAKER_GROUP,
    topics: [topics.flags],
    commits: 'manual',
    handle: async (batch) => {
      const started = process.hrtime.bigint();
      const admitted = await sequencer.admit(batch.partition, batch.messages[0]!.offset);
      if (!admitted.ok) {
        // A seek left over from before a rebalance skipped flags never counted: read from the commit again.
        consumer.seek(batch.topic, batch.partition, admitted.seekTo);
        return;
      }

      intake.consumed.inc({ topic: batch.topic }, batch.messages.length);
      const nowMs = Date.now();
      const sorted = intakeFlags(batch.messages, {
        dlqTopic,
        nowIso: new Date(nowMs).toISOString(),
        // A flag dated beyond maxFutureSkewMs would be dropped by the breaker: dead-letter it, counted.
        eventTime: eventTimeRange(
          { maxAheadMs: config.maxFutureSkewMs, maxBehindMs: DEFAULT_EVENT_TIME_BOUNDS.maxBehindMs },
          {
            aheadRefMs: nowMs,
            latestFrom: 'the wall clock (maxFutureSkewMs)',
            earliestFrom: 'the wall clock',
          },
        ),
      });
      if (sorted.deadLetters.length > 0) {
        await producer.send(sorted.deadLetters);
        for (const code of sorted.invalid) intake.invalid.inc({ topic: batch.topic, code });
        intake.deadLetters.inc({ topic: dlqTopic }, sorted.deadLetters.length);
        logger.warn(
          { count: sorted.deadLetters.length, codes: sorted.invalid },
          'invalid flags dead-lettered',
        );
      }
      sequencer.add(batch.partition, sorted.entries);
      // Counts what the flag watermark lets through, in event-time order; on failure nothing is committed
      // and the batch is read again after a backoff (held flags are not added twice; counting is idempotent).
      await sequencer.pump();
      const lag =
        BigInt(batch.highWatermark) - BigInt(batch.messages[batch.messages.length - 1]!.offset) - 1n;
      intake.consumerLag.set(
        { topic: batch.topic, partition: String(batch.partition) },
        Number(lag < 0n ? 0n : lag),
      );
      intake.batchDuration.observe({ topic: batch.topic }, Number(process.hrtime.bigint() - started) / 1e9);
    },
    onBatchFailed: (topic) => intake.batchFailures.inc({ topic }),
    onRestart: () => {
      consumerRunning = false;
      intake.consumerRestarts.inc();
    },
    ...(identity.onFatal ? { onFatal: identity.onFatal } : {}),
  });

  consumer.on('consumer.group_join', (e) => {
    consumerRunning = !stopping;
    // Partitions may have moved: what was held is read again from the committed offsets.
    const assignment = (e as { payload?: { memberAssignment?: Record<string, number[]> } }).payload
      ?.memberAssignment;
    sequencer.assigned(assignment?.[topics.flags] ?? []);
  });

  const stalled = config.triggers.find((t) => t.kind === 'detector-stalled');
  const monitor = stalled
    ? new StallMonitor({
        kafka,
        groupId: env.BULWARK_DETECTOR_GROUP,
        topics: [topics.auth, topics.wallet],
        stallMs: stalled.stallMs,
        intervalMs: Math.max(100, Math.min(env.BULWARK_STALL_CHECK_MS, Math.floor(stalled.stallMs / 4))),
        logger: componentLogger('stall-watch', root),
        trip: (detail, at) => breaker.tripStalled(detail, at),
        onAge: (s) => {
          progressAgeSeconds = s;
          metrics.detectorProgressAge.set(s);
        },
      })
    : undefined;

  const http = new ServiceHttp({
    port: env.BULWARK_BREAKER_PORT,
    host: env.BULWARK_BREAKER_HOST,
    registry,
    logger: componentLogger('http', root),
    ...httpSettings,
    ready: async () => {
      const reasons: string[] = [];
      if (stopping) reasons.push('stopping');
      if (!consumerRunning) reasons.push('flag consumer not running');
      if (!(await redisAnswers(redis))) reasons.push('redis does not answer');
      if (monitor && !monitor.healthy) reasons.push('cannot read detector offsets');
      return { ready: reasons.length === 0, reasons };
    },
  });
  registerBreakerRoutes(http, {
    breaker,
    operators,
    ...identity,
    limiter: new AuthFailureLimiter({
      perClient: env.BULWARK_AUTH_FAILURES_PER_MIN,
      global: env.BULWARK_AUTH_FAILURES_GLOBAL_PER_MIN,
    }),
    logger: componentLogger('api', root),
    metrics,
    overview: () =>
      readOverview({
        breaker,
        recent,
        nowMs: Date.now(),
        detector: () => ({
          progressAgeSeconds,
          stalled:
            stalled !== undefined &&
            progressAgeSeconds !== null &&
            progressAgeSeconds * 1000 >= stalled.stallMs,
          stallMs: stalled?.stallMs ?? null,
          flagWatermark:
            sequencer.watermarkMs === null ? null : new Date(sequencer.watermarkMs).toISOString(),
          flagsHeld: sequencer.held,
        }),
      }),
  });
  registerConsole(http);
  if (operators instanceof OperatorFile) {
    const opsLog = componentLogger('operators', root);
    operators.watch(env.BULWARK_OPERATORS_RELOAD_MS, (r) => {
      metrics.operatorReloads.inc({ outcome: r.outcome });
      if (r.outcome === 'changed')
        opsLog.warn({ trigger: r.trigger, operators: r.names }, 'operators reloaded');
      else if (r.outcome === 'error')
        opsLog.error(
          { trigger: r.trigger, err: r.error },
          'operators file rejected; the previous list stays',
        );
    });
  }

  // Redis lost its data (the epoch marker vanished or was replaced): count it once, alert while operators
  // have not resumed global after it, and halt global (fail closed) once per loss, after restoring the
  // breaker's state from the control topic so the halt's version is newer than anything there.
  const loss = stateLossMetrics(registry);
  let seenLoss: string | undefined;
  const watchState = async () => {
    const { record } = await epoch.check();
    loss.lost.set(record.lostAt ? 1 : 0);
    if (!record.lostAt) return;
    if (record.lostAt !== seenLoss) {
      seenLoss = record.lostAt;
      loss.losses.inc();
      logger.error(
        { lostAt: record.lostAt, lostBy: record.lostBy, epoch: record.id },
        'Redis lost its data (state epoch marker gone): halting global until operators have looked',
      );
    }
    if (!record.breakerHaltedAt) {
      await breaker.restore(await readRestore());
      await breaker.ensureInitialised();
      await breaker.tripStateLost(
        `noticed by the ${record.lostBy ?? 'breaker'} at ${record.lostAt}`,
        new Date().toISOString(),
      );
      await epoch.mark('breakerHaltedAt');
    } else if ((await breaker.status('global')).state === 'open') {
      // Two operators resumed global after the halt: they have looked.
      await epoch.acknowledge();
      loss.lost.set(0);
      logger.warn({ lostAt: record.lostAt }, 'state loss acknowledged: global was resumed by operators');
    }
  };

  // Housekeeping: the state epoch is checked, gauges follow changes other instances make, failed publishes
  // are retried, and a global snapshot that vanished is restored from the control topic.
  let housekeeping: Promise<void> = Promise.resolve();
  const housekeep = async () => {
    try {
      await watchState();
      const snaps = await breaker.refreshMetrics();
      if (!snaps.some((s) => s.scope === 'global')) {
        logger.error('global breaker state missing in Redis: restoring from the control topic');
        await breaker.restore(await readRestore());
        await breaker.ensureInitialised();
      }
      await breaker.flushOutbox();
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'breaker housekeeping failed');
    }
  };
  const timer = setInterval(() => {
    housekeeping = housekeeping.then(housekeep);
  }, HOUSEKEEPING_MS);

  // A loss noticed at start-up halts before any traffic.
  housekeeping = housekeeping.then(housekeep);
  await housekeeping;
  const port = await http.listen();
  await consumer.start();
  sequencer.start();
  consumerRunning = true;
  monitor?.start();
  logger.info(
    {
      port,
      operators: operators.names,
      jwtOperators: identity.jwt !== undefined,
      triggers: config.triggers.map((t) => t.id),
      restored: restore.length,
    },
    'breaker service started',
  );

  return {
    port,
    breaker,
    stop: async () => {
      stopping = true;
      clearInterval(timer);
      if (operators instanceof OperatorFile) operators.stop();
      await monitor?.stop();
      await sequencer.stop();
      await consumer.stop();
      consumerRunning = false;
      await housekeeping;
      await http.close();
      try {
        await breaker.flushOutbox();
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'final outbox flush failed; the next instance publishes it');
      }
      await producer.disconnect();
      await kafka.close();
      redis.disconnect();
    },
  };
}
