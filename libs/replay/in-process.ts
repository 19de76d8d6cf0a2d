import { Breaker, MemoryBreaker, type BreakerChange, type BreakerConfig } from '../breaker';
import {
  MemoryWindowStore,
  liveEngine,
  StreamEngine,
  type ApplyResult,
  type Flag,
  type InlineClose,
  type PendingRef,
  type SourcedEvent,
} from '../engine';
import { DEFAULT_EVENT_TIME_BOUNDS, eventTimeRange, parseEvent, type EventTimeBounds } from '../events';
import { silentLogger, type Logger } from '../logger';
import type { Redis } from '../redis';
import type { RulesConfig } from '../rules';
import { MinHeap } from '../simulate/heap';
import { claimNamespace, randomNamespace } from './namespace';
import { Pacer } from './pacer';
import { emptyCounts, orderFlags, toReportFlag, type ReplayReport } from './report';
import { ApprovalLedger } from './response';
import type { ReplayProgress } from './progress';

/** Where the replay keeps its windows (contract section 7): in this process, or in Redis. */
export type ReplayStore = 'memory' | 'redis';

export interface InProcessOptions {
  /** Default `memory`. */
  store?: ReplayStore;
  /** Required with `store: 'redis'`. */
  redis?: Redis;
  rules: RulesConfig;
  breaker: BreakerConfig;
  /**
   * Namespace for this replay's keys; a fresh random one by default. It must be fresh (no keys) and apart
   * from `livePrefix`, so a replay never touches live state (libs/replay/namespace.ts).
   */
  namespace?: string;
  /** The live deployment's key prefix (BULWARK_KEY_PREFIX; default `bulwark`), which a replay never uses. */
  livePrefix?: string;
  keep?: boolean;
  speed?: number;
  batchSize?: number;
  logger?: Logger;
  progress?: ReplayProgress;
  /** Event-time sanity (see eventTimeRange below); defaults to the detector's defaults. */
  eventTime?: EventTimeBounds;
  /** The wall clock, read for the "ahead" bound only; Date.now by default. */
  wallClock?: () => number;
}

export interface InProcessResult {
  report: ReplayReport;
  /** The Redis namespace the replay used; null with the memory store. */
  namespace: string | null;
  flags: Flag[];
  changes: BreakerChange[];
}

/** The source name every in-process event carries: the file is one ordered stream. */
const SOURCE = 'replay';

/** What the replay needs of an engine and a breaker; the memory and the Redis ones both have it. */
interface ReplayEngine {
  applyBatch(
    events: SourcedEvent[],
    opts: { watermarkMs?: number; closes?: InlineClose[] },
  ): Promise<ApplyResult>;
  closeDue(watermarkMs: number): Promise<Flag[]>;
  ackFlags(flags: Flag[]): Promise<void>;
}
interface ReplayBreaker {
  onFlags(flags: Flag[]): Promise<BreakerChange[]>;
}

/**
 * Replays lines through the rules and breaker logic the services run: with the memory store (the default)
 * on windows held in this process, with the Redis store on Redis under a namespace of its own. The file is one stream in arrival order: event time advances with the newest occurredAt seen, a pending
 * decision closes at the line where event time passes its due time (inside the batch's pipeline), and
 * everything still pending closes at the end.
 */
export async function replayInProcess(
  lines: AsyncIterable<string>,
  opts: InProcessOptions,
): Promise<InProcessResult> {
  const logger = opts.logger ?? silentLogger();
  if ((opts.store ?? 'memory') === 'memory') {
    const engine = new StreamEngine(new MemoryWindowStore(), opts.rules);
    const breaker = new MemoryBreaker(opts.breaker, opts.wallClock);
    return { ...(await run(lines, opts, engine, breaker)), namespace: null };
  }
  const redis = opts.redis;
  if (!redis) throw new TypeError('replayInProcess: store redis needs a Redis client');
  const livePrefix = opts.livePrefix ?? 'bulwark';
  const claim = await claimNamespace(redis, opts.namespace ?? randomNamespace(livePrefix), livePrefix);
  const { namespace } = claim;
  let result: Omit<InProcessResult, 'namespace'>;
  try {
    const engine = liveEngine({ redis, prefix: namespace, rules: opts.rules });
    const breaker = await Breaker.create({ redis, prefix: namespace, config: opts.breaker, logger });
    result = await run(lines, opts, engine, breaker);
  } catch (err) {
    // The run's own error says what failed (Redis gone, say); a clean-up failing after it must not hide it.
    await claim.release({ keep: opts.keep ?? false }).catch(() => undefined);
    throw err;
  }
  await claim.release({ keep: opts.keep ?? false });
  return { ...result, namespace };
}

async function run(
  lines: AsyncIterable<string>,
  opts: InProcessOptions,
  engine: ReplayEngine,
  breaker: ReplayBreaker,
): Promise<Omit<InProcessResult, 'namespace'>> {
  const pacer = new Pacer(opts.speed ?? Infinity);
  const paced = Number.isFinite(opts.speed ?? Infinity);
  const batchSize = opts.batchSize ?? 500;
  const counts = emptyCounts();
  const ledger = new ApprovalLedger();
  const flags: Flag[] = [];
  const changes: BreakerChange[] = [];
  let batch: SourcedEvent[] = [];
  let closes: InlineClose[] = [];
  let watermark = -Infinity;
  // Due times of approvals fed in. When event time passes one, its decision is queued right there in the
  // batch (before the line that moved event time past it), exactly as a line-by-line stream would decide it,
  // and the whole batch still goes to Redis in one pipeline.
  const dues = new MinHeap<{ t: number; seq: number; ref: PendingRef }>();
  let seq = 0;

  // Flags by flagId: an approval repeated in the next batch can hand back a flag this replay has not acked
  // yet (batches overlap, below); the report holds each flag once.
  const seenFlags = new Set<string>();
  const onFlags = async (raised: Flag[]) => {
    const fresh = raised.filter((f) => !seenFlags.has(f.flagId));
    if (fresh.length === 0) return;
    for (const f of fresh) seenFlags.add(f.flagId);
    await engine.ackFlags(fresh);
    flags.push(...fresh);
    changes.push(...(await breaker.onFlags(fresh)));
  };
  // Two batches in flight: the next batch's pipeline is written while Redis still works on this one (Redis
  // runs one connection's commands in order, so the effect is that of running them one after the other),
  // and results are taken in batch order. Otherwise Node and Redis would take turns idling.
  let previous: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (batch.length === 0 && closes.length === 0) return;
    const applying = engine.applyBatch(batch, { watermarkMs: watermark, closes });
    const reached = watermark;
    batch = [];
    closes = [];
    const before = previous;
    const done = (async () => {
      const result = await applying;
      await before;
      for (const o of result.outcomes) {
        if (o === 'duplicate') counts.duplicate++;
        else counts.valid++;
      }
      await onFlags(result.flags);
      opts.progress?.update(counts.total, reached);
    })();
    // A failure surfaces from whichever await sees it first; the other must not be left unhandled.
    done.catch(() => undefined);
    previous = done;
    await before;
  };
  const drain = async () => {
    await flush();
    await previous;
  };

  const bounds = opts.eventTime ?? DEFAULT_EVENT_TIME_BOUNDS;
  const wallClock = opts.wallClock ?? Date.now;
  for await (const raw of lines) {
    if (raw.trim() === '') continue;
    counts.total++;
    // As live, an occurredAt too far ahead of the wall clock is invalid. "Too far behind" is measured
    // from the replay's own newest event time, not the wall clock: a recorded log of past years is
    // normal here, a line decades before the rest of its log is not. Neither moves event time.
    const parsed = parseEvent(raw, {
      eventTime: eventTimeRange(bounds, {
        aheadRefMs: wallClock(),
        behindRefMs: Number.isFinite(watermark) ? watermark : Number.NEGATIVE_INFINITY,
        latestFrom: 'the wall clock',
        earliestFrom: "the replay's newest event time",
      }),
    });
    if (parsed.kind === 'invalid') {
      counts.invalid++;
      continue;
    }
    if (parsed.kind === 'ignored') {
      counts.ignored++;
      continue;
    }
    const e = parsed.event;
    const t = e.occurredAtMs;
    if (e.type === 'withdrawal.approved') ledger.add(e);
    else ledger.seen(t);
    if (paced) {
      // Paced: hand over what we have before waiting, so decisions happen at the paced moment.
      await drain();
      await pacer.wait(t);
    }
    if (t > watermark) {
      watermark = t;
      // Decisions close once event time has moved past their due time (due < watermark), before this line.
      const refs: PendingRef[] = [];
      while ((dues.peek()?.t ?? Infinity) < t) refs.push(dues.pop()!.ref);
      if (refs.length > 0) closes.push({ before: batch.length, watermarkMs: t - 1, refs });
    }
    batch.push({ event: e, source: SOURCE });
    if (e.type === 'withdrawal.approved') {
      dues.push({
        t: t + opts.rules.graceMs,
        seq: seq++,
        ref: { userId: e.userId, eventId: e.eventId, withdrawalId: e.withdrawalId },
      });
    }
    if (batch.length >= batchSize) await flush();
  }
  await drain();
  // End of input: nothing earlier can still arrive, so every pending decision closes now.
  await onFlags(await engine.closeDue(Number.MAX_SAFE_INTEGER));
  opts.progress?.done(counts.total, watermark);
  const reportFlags = orderFlags(flags).map(toReportFlag);
  const reportChanges: ReplayReport['breaker'] = changes.map((c) => ({
    scope: c.scope,
    state: c.state,
    at: c.at,
    crossedAt: c.crossedAt,
    trigger: c.trigger,
    reason: c.reason,
  }));
  const report: ReplayReport = {
    events: counts,
    flags: reportFlags,
    breaker: reportChanges,
    response: ledger.response(reportFlags, reportChanges, opts.breaker),
  };
  return { report, flags, changes };
}
