import { randomBytes } from 'node:crypto';
import { parseEvent, topicOfType } from '../events';
import type { BreakerConfig } from '../breaker';
import type { KafkaClient, OutRecord, RawMessage, TopicNames } from '../kafka';
import { errorMessage } from '../errors';
import { silentLogger, type Logger } from '../logger';
import { refuseLiveTopics } from './live-topics';
import { Pacer } from './pacer';
import type { ReplayProgress } from './progress';
import { emptyCounts, orderFlags, toReportFlag, type FlagLike, type ReplayReport } from './report';
import { ApprovalLedger } from './response';

export interface KafkaModeOptions {
  kafka: KafkaClient;
  topics: TopicNames;
  speed?: number;
  /** Groups whose progress tells when the running services have caught up with what was published. */
  detectorGroup: string;
  breakerGroup: string;
  /** The breaker's triggers, for the windows of the report's `response` section (as the services run them). */
  breaker: BreakerConfig;
  /** Pending decisions in the live detector's namespace; the replay waits for them to close. */
  pendingCount: () => Promise<number>;
  /** After everything is consumed and nothing is pending, how long no new flag or change must arrive. */
  settleMs?: number;
  timeoutMs?: number;
  /**
   * At speed max, lines published before waiting for the detector to commit them and the breaker to
   * consume the flags they raised (default 0: never wait, the log is one backlog). Not needed for the
   * result: the detector aligns its partitions and the breaker counts flags in event-time order.
   */
  sliceLines?: number;
  logger?: Logger;
  progress?: ReplayProgress;
  /**
   * The partition for a user's events (default: the producer's partitioner by key). For rehearsing an
   * outage's backlog with a chosen skew (the same user always in the same partition, on both topics).
   */
  partitionFor?: (userId: string) => number;
  /** Publish to the live topic names on purpose; without it they are refused (live-topics.ts). */
  live?: boolean;
  /**
   * How long Kafka may go without answering (a call that hangs, or calls that keep failing) before the
   * replay gives up with one line saying what it was waiting for (default 30 s). Every wait is bounded.
   */
  kafkaTimeoutMs?: number;
}

/** Kafka went away during a replay: the message is the one line the CLI prints. */
export class KafkaUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KafkaUnavailableError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** `fn()`, or a KafkaUnavailableError once `ms` have passed without an answer. */
async function bounded<T>(ms: number, what: string, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new KafkaUnavailableError(`Kafka did not answer within ${ms / 1000} s while ${what}`)),
          ms,
        );
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * Publishes the log to the input topics, paced by event time, and lets the running detector and breaker do
 * the work; then reads the flags (those raised by this log's approvals) and the breaker changes back from
 * Kafka and writes the same report as in-process mode. Counts of invalid, ignored and duplicate lines are
 * taken locally with the same parser the detector runs.
 */
export async function replayThroughKafka(
  lines: AsyncIterable<string>,
  opts: KafkaModeOptions,
): Promise<ReplayReport> {
  refuseLiveTopics(opts.topics, opts.live ?? false);
  const logger = opts.logger ?? silentLogger();
  const { kafka, topics } = opts;
  const counts = emptyCounts();
  // Events are identified by (userId, eventId): the same eventId under another user is another event.
  const approvals = new Set<string>();
  const seen = new Set<string>();
  const ledger = new ApprovalLedger();
  const flagsById = new Map<string, FlagLike & { flagId: string }>();
  const changes: { message: RawMessage; value: Record<string, unknown> }[] = [];
  const pacer = new Pacer(opts.speed ?? Infinity);
  const paced = Number.isFinite(opts.speed ?? Infinity);

  const kafkaMs = opts.kafkaTimeoutMs ?? 30000;
  const call = <T>(what: string, fn: () => Promise<T>) => bounded(kafkaMs, what, fn);
  const flagStart = await call('reading the flag topic offsets', () => kafka.endOffsets(topics.flags));
  const controlStart = await call('reading the control topic offsets', () =>
    kafka.endOffsets(topics.control),
  );
  let readerFailed: unknown;
  let lastArrival = Date.now();
  const reader = kafka.consumer({
    groupId: `bulwark-replay-${randomBytes(6).toString('hex')}`,
    topics: [topics.flags, topics.control],
    fromBeginning: true,
    handle: async (batch) => {
      const start = (batch.topic === topics.flags ? flagStart : controlStart).get(batch.partition) ?? '0';
      for (const m of batch.messages) {
        if (BigInt(m.offset) < BigInt(start) || m.value === null) continue;
        let value: Record<string, unknown>;
        try {
          value = JSON.parse(m.value.toString('utf8')) as Record<string, unknown>;
        } catch {
          continue;
        }
        lastArrival = Date.now();
        if (batch.topic === topics.control) changes.push({ message: m, value });
        else if (
          typeof value.eventId === 'string' &&
          typeof value.userId === 'string' &&
          approvals.has(eventKey(value.userId, value.eventId))
        ) {
          const f = value as unknown as FlagLike & { flagId: string };
          flagsById.set(f.flagId, f);
        }
      }
    },
    // The reader could not be brought back: the replay fails (it never exits the process itself).
    onFatal: (err) => {
      readerFailed = err;
    },
    maxRestarts: 3,
  });
  await call('starting the consumer of flags and breaker changes', () => reader.start());

  const producer = kafka.producer();
  await call('connecting the producer', () => producer.connect());
  /**
   * `fn` within the call bound, tried again every 500 ms while Kafka fails (a broker restarting), until the
   * failures have lasted kafkaTimeoutMs: then one KafkaUnavailableError saying what it was doing.
   */
  const retrying = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const failingSince = Date.now();
    for (;;) {
      try {
        return await call(what, fn);
      } catch (err) {
        if (err instanceof KafkaUnavailableError) throw err;
        if (Date.now() - failingSince >= kafkaMs)
          throw new KafkaUnavailableError(
            `Kafka kept failing for ${kafkaMs / 1000} s while ${what}: ${errorMessage(err)}`,
          );
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  /** Polls `cond` until it holds; Kafka errors are retried as `retrying` says. */
  const until = async (
    deadline: number,
    what: string,
    cond: () => Promise<boolean> | boolean,
    pollMs = 200,
  ) => {
    for (;;) {
      if (readerFailed !== undefined)
        throw new KafkaUnavailableError(
          `the consumer of flags stopped while waiting for ${what}: ${errorMessage(readerFailed)}`,
        );
      if (await retrying(`waiting for ${what}`, async () => cond())) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  };
  let out: OutRecord[] = [];
  let eventTime = -Infinity;
  const sliceLines = paced ? 0 : (opts.sliceLines ?? 0);
  const timeoutMs = opts.timeoutMs ?? 300000;
  const send = async () => {
    const batch = out;
    // Events are identified by (userId, eventId): a batch sent again after a failure is deduplicated.
    await retrying('publishing events', () => producer.send(batch));
    out = [];
    opts.progress?.update(counts.total, eventTime);
  };
  /** Waits until the detector has committed everything published so far. */
  const detectorCaughtUp = async (deadline: number, pollMs?: number) => {
    const inputEnd = await call('reading the input topic offsets', () =>
      Promise.all([kafka.endOffsets(topics.auth), kafka.endOffsets(topics.wallet)]),
    );
    await until(
      deadline,
      'the detector to consume the published events',
      async () => {
        const committed = await Promise.all([
          kafka.committedOffsets(opts.detectorGroup, topics.auth),
          kafka.committedOffsets(opts.detectorGroup, topics.wallet),
        ]);
        return inputEnd.every((end, i) => caughtUp(end, committed[i]!));
      },
      pollMs,
    );
  };
  /** Waits until the breaker has read every flag produced so far. */
  const breakerCaughtUp = async (deadline: number, pollMs?: number) => {
    const flagsEnd = await call('reading the flag topic offsets', () => kafka.endOffsets(topics.flags));
    await until(
      deadline,
      'the breaker to consume the flags',
      async () => caughtUp(flagsEnd, await kafka.committedOffsets(opts.breakerGroup, topics.flags)),
      pollMs,
    );
  };
  /** One slice: the services have consumed everything published so far. */
  const drain = async () => {
    const deadline = Date.now() + timeoutMs;
    await detectorCaughtUp(deadline, 10);
    await breakerCaughtUp(deadline, 10);
  };
  let sliced = 0;
  try {
    for await (const raw of lines) {
      if (raw.trim() === '') continue;
      counts.total++;
      const parsed = parseEvent(raw);
      if (parsed.kind === 'valid') {
        const e = parsed.event;
        const id = eventKey(e.userId, e.eventId);
        if (seen.has(id)) counts.duplicate++;
        else {
          seen.add(id);
          counts.valid++;
          if (e.type === 'withdrawal.approved') ledger.add(e);
          else ledger.seen(e.occurredAtMs);
        }
        if (e.type === 'withdrawal.approved') approvals.add(id);
        if (paced) {
          await send();
          await pacer.wait(e.occurredAtMs);
        }
        if (e.occurredAtMs > eventTime) eventTime = e.occurredAtMs;
        out.push({
          topic: topicFor(topics, topicOfType(e.type)!),
          key: e.userId,
          value: raw,
          ...(opts.partitionFor ? { partition: opts.partitionFor(e.userId) } : {}),
        });
      } else if (parsed.kind === 'ignored') {
        counts.ignored++;
      } else {
        counts.invalid++;
        // Where the line names a known type, the detector should see it and dead-letter it as it would live.
        const peek = peekTopicAndKey(raw);
        if (peek) out.push({ topic: topicFor(topics, peek.topic), key: peek.key, value: raw });
      }
      if (out.length >= 500) await send();
      if (sliceLines > 0 && ++sliced >= sliceLines) {
        await send();
        await drain();
        sliced = 0;
      }
    }
    await send();
    opts.progress?.done(counts.total, eventTime);
    logger.debug({ lines: counts.total }, 'published; waiting for the detector');

    const deadline = Date.now() + timeoutMs;
    await detectorCaughtUp(deadline);
    logger.debug('detector caught up; waiting for pending decisions');
    await until(deadline, 'pending decisions to close', async () => (await opts.pendingCount()) === 0);
    logger.debug('no decision pending; waiting for the breaker');
    await breakerCaughtUp(deadline);
    const settle = opts.settleMs ?? 2000;
    await until(deadline, 'flags and breaker changes to settle', () => Date.now() - lastArrival >= settle);
  } finally {
    logger.debug('stopping the producer and the reader');
    // Bounded too: after Kafka went away a disconnect can wait for ever.
    await call('disconnecting the producer', () => producer.disconnect()).catch(() => undefined);
    await reader.stop(kafkaMs);
    logger.debug('stopped');
  }
  logger.debug({ flags: flagsById.size, changes: changes.length }, 'kafka replay collected');
  const flags = orderFlags([...flagsById.values()]).map(toReportFlag);
  const breaker: ReplayReport['breaker'] = changes
    .sort((a, b) => Number(BigInt(a.message.offset) - BigInt(b.message.offset)))
    .map(({ value }) => ({
      scope: String(value.scope),
      state: value.state === 'halted' ? 'halted' : 'open',
      at: String(value.at ?? value.since),
      crossedAt: typeof value.crossedAt === 'string' ? value.crossedAt : null,
      trigger: String(value.trigger ?? ''),
      reason: String(value.reason ?? ''),
    }));
  return { events: counts, flags, breaker, response: ledger.response(flags, breaker, opts.breaker) };
}

const eventKey = (userId: string, eventId: string) => `${userId}\u0000${eventId}`;

function topicFor(topics: TopicNames, which: 'auth' | 'wallet'): string {
  return which === 'auth' ? topics.auth : topics.wallet;
}

/** Where an invalid line names a known type (and a user), the topic and key it would have been sent with. */
function peekTopicAndKey(raw: string): { topic: 'auth' | 'wallet'; key: string | null } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const { type, userId } = v as { type?: unknown; userId?: unknown };
  const topic = typeof type === 'string' ? topicOfType(type) : undefined;
  return topic ? { topic, key: typeof userId === 'string' ? userId : null } : undefined;
}

function caughtUp(end: Map<number, string>, committed: Map<number, string>): boolean {
  for (const [p, high] of end) {
    if (high === '0') continue;
    const c = committed.get(p);
    if (c === undefined || c === '-1' || BigInt(c) < BigInt(high)) return false;
  }
  return true;
}
