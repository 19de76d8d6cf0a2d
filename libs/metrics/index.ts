import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every Prometheus metric Bulwark exports is declared here, so names follow contract section 8 in one place:
 * `bulwark_` prefix, counters end in `_total`, durations are `_seconds` histograms.
 */
export { Registry };

export function createRegistry(service: string, withDefaults = true): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'bulwark_' }); // bulwark_process_*, bulwark_nodejs_*
  return registry;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export function intakeMetrics(registry: Registry) {
  return {
    consumed: new Counter({
      name: 'bulwark_events_consumed_total',
      help: 'Messages consumed from an input topic, valid or not.',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    invalid: new Counter({
      name: 'bulwark_events_invalid_total',
      help: 'Messages that could not be accepted (sent to the dead-letter topic), by reason code.',
      labelNames: ['topic', 'code'] as const,
      registers: [registry],
    }),
    ignored: new Counter({
      name: 'bulwark_events_ignored_total',
      help: 'Well-formed events of a type this version does not know.',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    duplicate: new Counter({
      name: 'bulwark_events_duplicate_total',
      help: 'Events whose eventId was already applied; they change nothing.',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    batchFailures: new Counter({
      name: 'bulwark_batch_failures_total',
      help: 'Consumed batches whose handling failed; nothing was committed and the batch is read again.',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    consumerRestarts: new Counter({
      name: 'bulwark_consumer_restarts_total',
      help: 'Times a consumer crashed and was restarted.',
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'bulwark_dead_letters_total',
      help: 'Messages written to a dead-letter topic.',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'bulwark_consumer_lag',
      help: 'Messages between the last committed offset and the end of the partition.',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    batchDuration: new Histogram({
      name: 'bulwark_batch_duration_seconds',
      help: 'Time to process one consumed batch, from hand-over to commit.',
      labelNames: ['topic'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    paused: new Gauge({
      name: 'bulwark_consumer_paused',
      help: '1 while the consumer is paused because its state store is unreachable.',
      registers: [registry],
    }),
    alignmentPaused: new Gauge({
      name: 'bulwark_detector_partitions_paused_for_alignment',
      help: 'Input partitions this instance holds paused because their event time ran ahead of the watermark.',
      registers: [registry],
    }),
    lastProgress: new Gauge({
      name: 'bulwark_detector_last_progress_timestamp_seconds',
      help: 'Wall-clock time of the last committed batch (the breaker watches it for stalls).',
      registers: [registry],
    }),
  };
}
export type IntakeMetrics = ReturnType<typeof intakeMetrics>;

export function engineMetrics(registry: Registry) {
  return {
    flags: new Counter({
      name: 'bulwark_flags_total',
      help: 'Flags raised, by rule and severity.',
      labelNames: ['rule', 'severity'] as const,
      registers: [registry],
    }),
    decisionLatency: new Histogram({
      name: 'bulwark_decision_latency_seconds',
      help: 'From an event occurredAt (event time) to the wall-clock moment its decision was made.',
      labelNames: ['rule'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    pendingDecisions: new Gauge({
      name: 'bulwark_pending_decisions',
      help: 'Approvals waiting for the grace period to pass before mfa-missing decides.',
      registers: [registry],
    }),
    watermark: new Gauge({
      name: 'bulwark_event_time_watermark_seconds',
      help: 'Event time up to which all non-idle input partitions have progressed (unix seconds).',
      registers: [registry],
    }),
  };
}
export type EngineMetrics = ReturnType<typeof engineMetrics>;

export function breakerMetrics(registry: Registry) {
  return {
    state: new Gauge({
      name: 'bulwark_breaker_state',
      help: 'Breaker state by scope: 1 halted, 0 open.',
      labelNames: ['scope'] as const,
      registers: [registry],
    }),
    changes: new Counter({
      name: 'bulwark_breaker_changes_total',
      help: 'Breaker state changes, by scope and trigger.',
      labelNames: ['scope', 'trigger'] as const,
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'bulwark_operator_auth_failures_total',
      help: 'Operator requests refused for a missing or wrong token.',
      registers: [registry],
    }),
    authLimited: new Counter({
      name: 'bulwark_operator_auth_limited_total',
      help: 'Failed operator authentications answered 429: over the per-client or the global budget.',
      labelNames: ['limit'] as const,
      registers: [registry],
    }),
    jwksErrors: new Counter({
      name: 'bulwark_operator_jwks_errors_total',
      help: 'Bearer JWTs that could not be checked because the JWKS could not be read (answered 503).',
      registers: [registry],
    }),
    operatorReloads: new Counter({
      name: 'bulwark_operator_reloads_total',
      help: 'Reloads of the operators file, by outcome (changed, unchanged, error: the old list stays).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    flagsHeld: new Gauge({
      name: 'bulwark_breaker_flags_held',
      help: 'Flags read but not yet counted: held until the flag watermark passes them (event-time order).',
      registers: [registry],
    }),
    flagsOverdue: new Counter({
      name: 'bulwark_breaker_flags_released_overdue_total',
      help: 'Flags counted because they were held longer than BULWARK_FLAG_ORDER_MAX_HOLD_MS, not by the watermark.',
      registers: [registry],
    }),
    flagWatermark: new Gauge({
      name: 'bulwark_breaker_flag_watermark_seconds',
      help: 'The confirmed flag watermark (event time, Unix seconds): every flag decided before it is counted.',
      registers: [registry],
    }),
    flagsConsumed: new Counter({
      name: 'bulwark_breaker_flags_consumed_total',
      help: 'Flags the breaker consumed from risk.flags.v1.',
      labelNames: ['severity'] as const,
      registers: [registry],
    }),
    changedAt: new Gauge({
      name: 'bulwark_breaker_changed_at_timestamp_seconds',
      help: "Event time (`at`) at which the scope's last change took effect, by scope.",
      labelNames: ['scope'] as const,
      registers: [registry],
    }),
    crossedAt: new Gauge({
      name: 'bulwark_breaker_crossed_at_timestamp_seconds',
      help: "Event time (`crossedAt`) at which the scope's last automatic trip crossed its threshold, by scope.",
      labelNames: ['scope'] as const,
      registers: [registry],
    }),
    controlRejected: new Counter({
      name: 'bulwark_breaker_control_rejected_total',
      help: 'Control or audit topic messages ignored because their signature or hash did not verify, by topic and reason.',
      labelNames: ['topic', 'reason'] as const,
      registers: [registry],
    }),
    detectorProgressAge: new Gauge({
      name: 'bulwark_detector_progress_age_seconds',
      help: 'Seconds since the detector last made progress, as the breaker sees it.',
      registers: [registry],
    }),
  };
}
export type BreakerMetrics = ReturnType<typeof breakerMetrics>;

export function redisMetrics(registry: Registry) {
  return {
    errors: new Counter({
      name: 'bulwark_redis_errors_total',
      help: 'Redis commands or connections that failed.',
      labelNames: ['component'] as const,
      registers: [registry],
    }),
  };
}
export type RedisMetrics = ReturnType<typeof redisMetrics>;

/** Reuses a counter already on `registry` (two servers may share one), else declares it there. */
function counterOnce<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

export function httpMetrics(registry: Registry) {
  return {
    requests: counterOnce(
      registry,
      'bulwark_http_requests_total',
      'HTTP requests answered, by route (the registered path, or "unmatched") and status.',
      ['route', 'status'] as const,
    ),
    clientErrors: counterOnce(
      registry,
      'bulwark_http_client_errors_total',
      'Connections cut for a client fault: malformed, timeout, aborted, headers-too-large, tls.',
      ['reason'] as const,
    ),
    refused: counterOnce(
      registry,
      'bulwark_http_connections_refused_total',
      'Connections refused at accept for the connection cap: total or per-address.',
      ['reason'] as const,
    ),
  };
}
export type HttpMetrics = ReturnType<typeof httpMetrics>;

/** Loss of Redis's data, noticed through the state epoch marker (detector and breaker both watch it). */
export function stateLossMetrics(registry: Registry) {
  return {
    losses: new Counter({
      name: 'bulwark_state_losses_total',
      help: 'Losses of the Redis state (windows, breaker state) this process noticed.',
      registers: [registry],
    }),
    lost: new Gauge({
      name: 'bulwark_state_lost',
      help: '1 while Redis lost its data and operators have not yet resumed global after it; else 0.',
      registers: [registry],
    }),
  };
}
export type StateLossMetrics = ReturnType<typeof stateLossMetrics>;
