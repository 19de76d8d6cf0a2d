import {
  ConfigResourceTypes,
  Kafka,
  logLevel as KafkaLogLevel,
  Partitioners,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type KafkaConfig,
  type LogEntry,
  type Producer,
} from 'kafkajs';
import type { Logger } from '../logger';
import { ConfigError, errorMessage } from '../errors';
import { silenceKafkajsNegativeTimeoutWarning } from './negative-timeout-warning';
import type { TopicDeclaration } from './topics';

silenceKafkajsNegativeTimeoutWarning();

/**
 * The only module that imports kafkajs. The rest of Bulwark speaks in RawMessage, OutRecord, BatchConsumer
 * and BulwarkProducer, so moving to another client (kafkajs is in maintenance mode) touches this folder only.
 */
export interface RawMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestampMs: number;
  headers: Record<string, string>;
}

export interface OutRecord {
  topic: string;
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, string>;
  partition?: number;
}

/** SASL mechanisms Bulwark accepts; PLAIN only over TLS (libs/config refuses it otherwise). */
export type SaslMechanism = 'scram-sha-256' | 'scram-sha-512' | 'plain';

/** How to reach a secured cluster. Absent parts mean PLAINTEXT and no SASL. */
export interface KafkaSecurity {
  /** TLS to every broker; `ca` (PEM) replaces the system roots when given. */
  tls?: { ca?: string[] };
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  connectionTimeoutMs?: number;
  security?: KafkaSecurity;
}

export class KafkaClient {
  readonly kafka: Kafka;

  constructor(private readonly opts: KafkaClientOptions) {
    const log = opts.logger;
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      connectionTimeout: opts.connectionTimeoutMs ?? 3000,
      ...kafkajsSecurity(opts.security),
      requestTimeout: 30000,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
      logLevel: KafkaLogLevel.WARN,
      logCreator:
        () =>
        ({ level, log: entry }: LogEntry) => {
          const { message, ...rest } = entry;
          if (level <= KafkaLogLevel.ERROR) log.error(rest, message);
          else if (level === KafkaLogLevel.WARN) log.warn(rest, message);
          else log.debug(rest, message);
        },
    });
  }

  producer(): BulwarkProducer {
    return new BulwarkProducer(
      this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      }),
    );
  }

  consumer(opts: BatchConsumerOptions): BatchConsumer {
    return new BatchConsumer(this.kafka, opts, this.opts.logger);
  }

  private sharedAdmin?: Promise<Admin>;

  /**
   * Runs `fn` with one admin connection kept for the client's life (offset checks run every second; a new
   * connection each time would cost more than the request). A failed connection is retried on the next call.
   */
  async admin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    if (!this.sharedAdmin) {
      const admin = this.kafka.admin();
      this.sharedAdmin = admin.connect().then(() => admin);
      this.sharedAdmin.catch(() => {
        this.sharedAdmin = undefined;
      });
    }
    return fn(await this.sharedAdmin);
  }

  /**
   * Closes the shared admin connection, if one was opened. Bounded by `timeoutMs`: after the broker went
   * away or restarted, kafkajs's disconnect can wait for ever, and a CLI must still exit.
   */
  async close(timeoutMs = 5000): Promise<void> {
    const pending = this.sharedAdmin;
    this.sharedAdmin = undefined;
    if (!pending) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      pending.then((a) => a.disconnect()).catch(() => undefined),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs).unref())),
    ]);
    if (timer) clearTimeout(timer);
  }

  /**
   * Creates missing topics; existing ones are left as they are (idempotent), except that one below a
   * declared minimum (a DLQ topic whose max.message.bytes cannot hold a dead letter) is refused with a
   * ConfigError saying how to fix it. Returns the names created.
   */
  async ensureTopics(decls: TopicDeclaration[]): Promise<string[]> {
    return this.admin(async (admin) => {
      const existing = new Set(await admin.listTopics());
      const missing = decls.filter((d) => !existing.has(d.topic));
      if (missing.length > 0) {
        try {
          await admin.createTopics({
            topics: missing.map(({ topic, numPartitions, configEntries }) => ({
              topic,
              numPartitions,
              configEntries,
            })),
            waitForLeaders: true,
          });
        } catch (err) {
          // Another instance may have created them between list and create: that is fine.
          if (!/already exists/i.test(errorMessage(err))) throw err;
        }
      }
      await checkMinimums(
        admin,
        decls.filter((d) => existing.has(d.topic) && d.minimums),
      );
      return missing.map((d) => d.topic);
    });
  }

  /** End offsets (high watermarks) per partition of a topic. */
  async endOffsets(topic: string): Promise<Map<number, string>> {
    return this.admin(async (admin) => {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, o.high]));
    });
  }

  /** Committed offsets of a group per partition of a topic ('-1' where nothing was committed). */
  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    return this.admin(async (admin) => {
      const res = await admin.fetchOffsets({ groupId, topics: [topic] });
      const parts = res.find((r) => r.topic === topic)?.partitions ?? [];
      return new Map(parts.map((p) => [p.partition, p.offset]));
    });
  }

  /**
   * Moves a consumer group's committed offsets on `topics` back to the first message written at or after
   * `timestampMs` (the end where none is). Kafka refuses while the group has members: stop them first.
   * Returns the offsets set, per topic and partition.
   */
  async seekGroupToTime(
    groupId: string,
    topics: string[],
    timestampMs: number,
  ): Promise<Map<string, Map<number, string>>> {
    return this.admin(async (admin) => {
      const out = new Map<string, Map<number, string>>();
      for (const topic of topics) {
        const partitions = await admin.fetchTopicOffsetsByTimestamp(
          topic,
          Math.max(0, Math.floor(timestampMs)),
        );
        await admin.setOffsets({ groupId, topic, partitions });
        out.set(topic, new Map(partitions.map((p) => [p.partition, p.offset])));
      }
      return out;
    });
  }
}

/** The kafkajs form of `security`: `ssl` and `sasl` are left out when unused, as kafkajs expects. */
function kafkajsSecurity(security: KafkaSecurity | undefined): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (security?.tls) out.ssl = security.tls.ca ? { ca: security.tls.ca } : true;
  const sasl = security?.sasl;
  if (sasl) {
    const { username, password } = sasl;
    out.sasl =
      sasl.mechanism === 'plain'
        ? { mechanism: 'plain', username, password }
        : sasl.mechanism === 'scram-sha-256'
          ? { mechanism: 'scram-sha-256', username, password }
          : { mechanism: 'scram-sha-512', username, password };
  }
  return out;
}

/** Refuses an existing topic whose numeric settings lie below its declaration's minimums. */
async function checkMinimums(admin: Admin, decls: TopicDeclaration[]): Promise<void> {
  if (decls.length === 0) return;
  const res = await admin
    .describeConfigs({
      includeSynonyms: false,
      resources: decls.map((d) => ({
        type: ConfigResourceTypes.TOPIC,
        name: d.topic,
        configNames: Object.keys(d.minimums ?? {}),
      })),
    })
    .catch((err: unknown) => {
      if (!/authoriz/i.test(errorMessage(err))) throw err;
      throw new ConfigError(
        `cannot read the settings of topics ${decls.map((d) => d.topic).join(', ')} (${errorMessage(err)}); ` +
          'grant this principal DescribeConfigs on them (docs/security.md)',
      );
    });
  const problems: string[] = [];
  for (const d of decls) {
    const entries = res.resources.find((r) => r.resourceName === d.topic)?.configEntries ?? [];
    for (const [name, min] of Object.entries(d.minimums ?? {})) {
      const value = Number(entries.find((e) => e.configName === name)?.configValue);
      if (!Number.isFinite(value) || value < min)
        problems.push(
          `topic ${d.topic} has ${name}=${Number.isFinite(value) ? value : 'unknown'}, below the ${min} it needs; ` +
            `raise it (kafka-configs.sh --alter --entity-type topics --entity-name ${d.topic} --add-config ${name}=${min})`,
        );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
}

export class BulwarkProducer {
  private connected = false;
  constructor(private readonly producer: Producer) {}

  async connect(): Promise<void> {
    if (!this.connected) {
      await this.producer.connect();
      this.connected = true;
    }
  }

  /** Sends all records with acks=-1 (all in-sync replicas); resolves only once the broker has them. */
  async send(records: OutRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byTopic = new Map<string, OutRecord[]>();
    for (const r of records) {
      const list = byTopic.get(r.topic);
      if (list) list.push(r);
      else byTopic.set(r.topic, [r]);
    }
    await this.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, rs]) => ({
        topic,
        messages: rs.map((r) => ({
          key: r.key,
          value: r.value,
          headers: r.headers,
          ...(r.partition === undefined ? {} : { partition: r.partition }),
        })),
      })),
    });
  }

  async disconnect(): Promise<void> {
    if (this.connected) {
      this.connected = false;
      await this.producer.disconnect();
    }
  }
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: RawMessage[];
  /** Offset of the next message the broker will write (end of partition). */
  highWatermark: string;
}

export interface BatchContext {
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or this batch's partition was revoked: a retry loop should give up. */
  isActive(): boolean;
}

/**
 * Thrown by a handler that gave up on its batch because the consumer is stopping or the partition was
 * revoked (see BatchContext.isActive): nothing is committed and nothing is counted as a failure.
 */
export class BatchAbandonedError extends Error {
  constructor() {
    super('batch abandoned: the consumer is stopping or the partition was revoked');
    this.name = 'BatchAbandonedError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export interface BatchConsumerOptions {
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxBytesPerPartition?: number;
  partitionsConsumedConcurrently?: number;
  /**
   * Handles one batch of one partition. When it resolves, the wrapper commits the offset after the last
   * message: the handler must have made the batch's state and outputs durable by then. When it rejects,
   * nothing is committed and the batch is fetched again after a backoff.
   */
  handle(batch: ConsumedBatch, ctx: BatchContext): Promise<void>;
  /**
   * `manual`: a resolved batch only moves the fetch position on; the owner commits with commit() once what
   * it holds is durable (a consumer that reorders across partitions holds messages past their batch).
   * Default `batch`: the end of each batch is committed as it resolves.
   */
  commits?: 'batch' | 'manual';
  onCommitted?(topic: string, partition: number, nextOffset: string, highWatermark: string): void;
  /** Told of each failed batch (already logged once here); for a metric. */
  onBatchFailed?(topic: string, partition: number, err: unknown): void;
  /** Told each time the consumer crashed and is being restarted; for a metric and readiness. */
  onRestart?(err: unknown): void;
  /**
   * The consumer crashed and could not be brought back after `maxRestarts` attempts in a row: the process
   * cannot work and should exit non-zero so that its supervisor restarts it. Default: log and exit(1).
   */
  onFatal?(err: unknown): void;
  /** Restarts in a row (without a commit between) before onFatal; default 10 (about 4 minutes). */
  maxRestarts?: number;
  /** Backoff of a failed batch and of a restart: doubles from `backoffMs` up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * One error policy for a consumer: an error in a batch fails that batch (logged once, counted, fetched
 * again after a backoff; other partitions go on); a consumer that crashes is restarted with backoff, also
 * when kafkajs gives up on it (`consumer.crash` with `restart: false`); one that cannot be restarted
 * calls onFatal. A graceful stop lets the batch in hand finish and commits it before disconnecting.
 */
export class BatchConsumer {
  private readonly consumer: Consumer;
  private running = false;
  private stopping = false;
  /** Failures in a row per partition (reset by a commit), for the backoff. */
  private readonly failures = new Map<string, number>();
  private restarts = 0;
  private restartTimer?: NodeJS.Timeout;
  private restarting?: Promise<void>;

  constructor(
    kafka: Kafka,
    private readonly opts: BatchConsumerOptions,
    private readonly logger: Logger,
  ) {
    this.consumer = kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeoutMs ?? 30000,
      heartbeatInterval: opts.heartbeatIntervalMs ?? 3000,
      maxBytesPerPartition: opts.maxBytesPerPartition ?? 1024 * 1024,
      maxWaitTimeInMs: 100,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5000 },
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => this.onCrash(e.payload));
  }

  get events() {
    return this.consumer.events;
  }

  on(event: string, listener: (e: unknown) => void): void {
    this.consumer.on(event as never, listener as never);
  }

  async start(): Promise<void> {
    this.running = true;
    await this.run();
  }

  private async run(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: this.opts.topics,
      fromBeginning: this.opts.fromBeginning ?? true,
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  private backoff(attempt: number): number {
    const base = this.opts.backoffMs ?? 1000;
    return Math.min(base * 2 ** Math.max(0, attempt - 1), this.opts.maxBackoffMs ?? 30000);
  }

  /**
   * kafkajs restarts a consumer itself after a retriable crash; after any other (a non-retriable error,
   * a broker gone for longer than its retries) it stays down with the process up: restart it here.
   */
  private onCrash(payload: { error: Error; restart: boolean }): void {
    if (!this.running || this.stopping) return;
    this.opts.onRestart?.(payload.error);
    if (payload.restart) {
      this.logger.warn({ err: errorMessage(payload.error) }, 'consumer crashed; kafkajs restarts it');
      return;
    }
    this.scheduleRestart(payload.error);
  }

  private scheduleRestart(cause: unknown): void {
    this.restarts++;
    const max = this.opts.maxRestarts ?? 10;
    if (this.restarts > max) {
      this.logger.error(
        { err: errorMessage(cause), restarts: this.restarts - 1 },
        'consumer cannot be restarted: giving up',
      );
      const fatal =
        this.opts.onFatal ??
        (() => {
          process.exitCode = 1;
          process.exit(1);
        });
      fatal(cause);
      return;
    }
    const wait = this.backoff(this.restarts);
    this.logger.error(
      { err: errorMessage(cause), attempt: this.restarts, inMs: wait },
      'consumer crashed and stopped: restarting it',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.running || this.stopping) return;
      this.restarting = this.consumer
        .disconnect()
        .catch(() => undefined)
        .then(() => (this.running && !this.stopping ? this.run() : undefined))
        .catch((err: unknown) => this.scheduleRestart(err))
        .finally(() => {
          this.restarting = undefined;
        });
    }, wait);
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const messages: RawMessage[] = batch.messages.map((m) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: m.offset,
      key: m.key ?? null,
      value: m.value ?? null,
      timestampMs: Number(m.timestamp),
      headers: decodeHeaders(m.headers),
    }));
    // A graceful stop does not make the batch in hand inactive: it finishes and is committed.
    const ctx: BatchContext = {
      heartbeat: () => payload.heartbeat(),
      isActive: () => this.running && !this.stopping && !payload.isStale(),
    };
    const partitionKey = `${batch.topic}/${batch.partition}`;
    try {
      await this.opts.handle(
        { topic: batch.topic, partition: batch.partition, messages, highWatermark: batch.highWatermark },
        ctx,
      );
    } catch (err) {
      if (err instanceof BatchAbandonedError || this.stopping || payload.isStale()) return;
      await this.failBatch(payload, messages[0]!.offset, partitionKey, err);
      return;
    }
    // Revoked while in hand: the new owner reads the batch again; committing now could fail the rebalance.
    if (payload.isStale()) return;
    const last = messages[messages.length - 1]!;
    const next = (BigInt(last.offset) + 1n).toString();
    payload.resolveOffset(last.offset);
    if (this.opts.commits === 'manual') {
      this.failures.delete(partitionKey);
      this.restarts = 0;
      return;
    }
    try {
      // Through the batch's own payload: consumer.commitOffsets silently skips once a stop has begun, and
      // the batch in hand of a graceful stop must be committed.
      await payload.commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
      });
    } catch (err) {
      // resolveOffset has moved the fetch position on: left alone, a partition with no newer input would
      // keep its old committed offset for ever (lag that never clears, a watermark held, a false stall).
      // A failed commit fails the batch: it is fetched again from its first offset and committed then.
      if (this.stopping || payload.isStale()) return;
      await this.failBatch(
        payload,
        messages[0]!.offset,
        partitionKey,
        new Error(`commit failed: ${errorMessage(err)}`),
      );
      return;
    }
    this.failures.delete(partitionKey);
    this.restarts = 0;
    this.opts.onCommitted?.(batch.topic, batch.partition, next, batch.highWatermark);
  }

  /** Logs and counts the failure once, waits (heartbeating), then has the batch fetched again. */
  private async failBatch(
    payload: EachBatchPayload,
    firstOffset: string,
    partitionKey: string,
    err: unknown,
  ): Promise<void> {
    const { topic, partition } = payload.batch;
    const attempt = (this.failures.get(partitionKey) ?? 0) + 1;
    this.failures.set(partitionKey, attempt);
    const wait = this.backoff(attempt);
    this.logger.error(
      { topic, partition, offset: firstOffset, attempt, retryInMs: wait, err: errorMessage(err) },
      'batch failed: nothing committed, it is read again after a backoff',
    );
    this.opts.onBatchFailed?.(topic, partition, err);
    const until = Date.now() + wait;
    while (Date.now() < until && this.running && !this.stopping && !payload.isStale()) {
      await new Promise((r) => setTimeout(r, Math.min(1000, until - Date.now())));
      await payload.heartbeat().catch(() => undefined);
    }
    if (this.stopping || payload.isStale()) return;
    // Not resolved, not committed: the next fetch of this partition starts at the failed batch again.
    this.consumer.seek({ topic, partition, offset: firstOffset });
  }

  /** Commits `nextOffset` for a partition (commits: 'manual'); rejects when the broker refuses it. */
  async commit(topic: string, partition: number, nextOffset: string): Promise<void> {
    await this.consumer.commitOffsets([{ topic, partition, offset: nextOffset }]);
  }

  /** Moves a partition's position (call after start); the next batch starts at `offset`. */
  seek(topic: string, partition: number, offset: string): void {
    this.consumer.seek({ topic, partition, offset });
  }

  pause(topic: string, partitions?: number[]): void {
    this.consumer.pause([partitions ? { topic, partitions } : { topic }]);
  }

  resume(topic: string, partitions?: number[]): void {
    this.consumer.resume([partitions ? { topic, partitions } : { topic }]);
  }

  /**
   * Graceful stop: no new batch starts, the batches in hand finish and are committed, then the consumer
   * leaves its group and disconnects. `timeoutMs` bounds the wait (then it disconnects anyway).
   */
  async stop(timeoutMs = 30000): Promise<void> {
    if (!this.running || this.stopping) return;
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    let timer: NodeJS.Timeout | undefined;
    try {
      // A restart in progress (reconnecting to a broker that went away) is waited for within the bound too.
      await Promise.race([
        (async () => {
          await this.restarting;
          await this.consumer.disconnect();
        })(),
        new Promise<void>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`consumer did not stop within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'consumer disconnect failed');
    } finally {
      if (timer) clearTimeout(timer);
      this.running = false;
    }
  }
}

function decodeHeaders(h: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of Object.entries(h)) {
    if (Buffer.isBuffer(v)) out[k] = v.toString('utf8');
    else if (typeof v === 'string') out[k] = v;
  }
  return out;
}
