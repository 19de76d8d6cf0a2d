import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { ChainableCommander } from 'ioredis';
import { BulwarkError, StateStoreError, errorMessage } from '../errors';
import { engineGlobalKeys, engineUserKeys, type EngineGlobalKeys } from '../keys';
import { componentLogger, type Logger } from '../logger';
import type { EngineMetrics } from '../metrics';
import { execPipeline, type Redis } from '../redis';
import type { RulesConfig } from '../rules';
import { CompiledScripts, isNoScript } from './compiled-scripts';
import {
  USER_SCRIPTS,
  eventCommand,
  userScriptKeys,
  type ScriptName,
  type UserScriptKeys,
} from './event-commands';
import { parseFlagRecord } from './flag-records';
import {
  parsePendingMember,
  parseUnackedMember,
  pendingMember,
  unackedMember,
  type PendingRef,
} from './index-members';
import { compileRulePlan, type RulePlan } from './rule-plan';
import { EngineScriptError, ScriptCode } from './script-codes';
import type { ApplyResult, Flag, SourcedEvent } from './types';

export interface RuleEngineOptions {
  redis: Redis;
  /** Key prefix: one per deployment, replay namespace or test. */
  prefix: string;
  rules: RulesConfig;
  logger: Logger;
  metrics?: EngineMetrics;
  /** Only for latency metrics; decisions never read the wall clock. */
  wallClock?: () => number;
}

/**
 * Pending decisions to decide inside an applyBatch pipeline, right before event `before` of the batch (the
 * batch's length: after its last event), at event time `watermarkMs`. An ordered stream (in-process replay)
 * knows when its event time passes each approval's due time, and deciding there in the same pipeline gives
 * the decision a line-by-line stream would make without a round trip per due time.
 */
export interface InlineClose {
  before: number;
  watermarkMs: number;
  refs: PendingRef[];
}

export interface ApplyOptions {
  /** The newest watermark the caller knows; bounds trimming (see applyBatch). */
  watermarkMs?: number;
  closes?: InlineClose[];
}

interface CloseGroup {
  userId: string;
  refs: PendingRef[];
  candidates: Map<string, { member: string; due: string }>;
  /** Pending-index members of the refs. */
  members: string[];
}

/** A pending decision with its pending-index member and due time (the member's score). */
interface PendingEntry {
  ref: PendingRef;
  member: string;
  due: string;
}

interface CloseOutcome {
  flags: Flag[];
  raised: (string | number)[];
  stale: string[];
  /** Pending-index members decided. */
  members: string[];
}

/** Pending decisions closed per round trip pair in closeDue; unacked flags read per page. */
const PAGE = 1000;
/** closeDue gives up after this many pages in one call (the next call goes on), so one call stays short. */
const MAX_PAGES = 100;
/** Users whose key names are kept built; a cache, so clearing it when full is fine. */
const KEY_CACHE_SIZE = 50_000;

const LUA_DIR = path.join(__dirname, 'lua');

/**
 * The rule engine: per-user state in Redis, changed only by Lua scripts (one atomic call per event, all of
 * one user's keys under one hash tag), one pipeline per batch. Correct under redelivery (eventId dedup in
 * the same script), restarts (all state in Redis) and several instances sharing Redis (scripts are atomic;
 * the engine-wide indexes are only hints that a later visit repairs).
 *
 * Flag delivery: a flag is recorded as unacked by the script that decides it. Flags decided by applyBatch
 * come back when their event is redelivered (the caller commits offsets only after ackFlags); flags decided
 * by closeDue are registered in an unacked index before the deciding script runs and come back from
 * unackedFlags().
 */
export class RuleEngine {
  private readonly keyCache = new Map<string, UserScriptKeys>();
  /** closeDue call tokens: unique per call, so a call ioredis re-sends recognises its first run's flags. */
  private readonly callPrefix = randomBytes(9).toString('base64url');
  private calls = 0;

  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly plan: RulePlan,
    private readonly scripts: CompiledScripts<ScriptName>,
    private readonly global: EngineGlobalKeys,
    private readonly log: Logger,
    private readonly metrics: EngineMetrics | undefined,
    private readonly wallClock: () => number,
  ) {}

  /** Compiles the rules (reading sanctions lists) and registers the Lua scripts on `redis`. */
  static async create(opts: RuleEngineOptions): Promise<RuleEngine> {
    const plan = compileRulePlan(opts.rules);
    const scripts = new CompiledScripts<ScriptName>(LUA_DIR, plan.specs, USER_SCRIPTS);
    try {
      await scripts.load(opts.redis);
    } catch (err) {
      throw new StateStoreError(`rule engine: loading Lua scripts: ${errorMessage(err)}`, err);
    }
    const log = componentLogger('rule-engine', opts.logger);
    log.info(
      {
        prefix: opts.prefix,
        rules: opts.rules.rules.filter((r) => r.enabled).map((r) => r.id),
        sanctionsAddresses: plan.sanctions.reduce((n, s) => n + s.lists.size, 0),
      },
      'rule engine ready',
    );
    return new RuleEngine(
      opts.redis,
      opts.prefix,
      plan,
      scripts,
      engineGlobalKeys(opts.prefix),
      log,
      opts.metrics,
      opts.wallClock ?? Date.now,
    );
  }

  private keysOf(userId: string): UserScriptKeys {
    let k = this.keyCache.get(userId);
    if (!k) {
      if (this.keyCache.size >= KEY_CACHE_SIZE) this.keyCache.clear();
      k = userScriptKeys(engineUserKeys(this.prefix, userId));
      this.keyCache.set(userId, k);
    }
    return k;
  }

  /**
   * Applies events in order with one pipeline for the whole batch (one script call per event). Returns the
   * flags raised and, for each event, whether it was applied or a duplicate. `watermarkMs` is the newest
   * watermark the caller knows (event time every input has reached): per-user lists are trimmed no further
   * than their retention behind it, so a stream running ahead never drops facts a lagging stream's events
   * will read. Without it only the size caps trim (and the keys' TTLs).
   */
  async applyBatch(events: SourcedEvent[], opts: ApplyOptions = {}): Promise<ApplyResult> {
    if (events.length === 0 && !opts.closes?.length) return { flags: [], outcomes: [] };
    const closes = [...(opts.closes ?? [])].sort((a, b) => a.before - b.before);
    let countAt = -1;
    // Reply positions of each event's script and each inline close, filled by build().
    let eventAt: number[] = [];
    let closeAt: { at: number; users: CloseGroup[] }[] = [];
    const build = (): ChainableCommander => {
      const pipeline = this.redis.pipeline();
      const pending: (string | number)[] = [];
      eventAt = new Array<number>(events.length);
      closeAt = [];
      let n = 0;
      let c = 0;
      const queueCloses = (upTo: number) => {
        for (; c < closes.length && closes[c]!.before <= upTo; c++) {
          const close = closes[c]!;
          const w = String(Math.floor(close.watermarkMs));
          // The caller knows the refs, not their index entries: the watermark stands in for the due time.
          const users = this.groupByUser(
            close.refs.map((ref) => ({ ref, member: pendingMember(ref), due: w })),
          );
          closeAt.push({ at: n, users });
          n += this.queueClose(pipeline, users, w);
        }
      };
      for (let i = 0; i < events.length; i++) {
        queueCloses(i);
        const event = events[i]!.event;
        const cmd = eventCommand(event, this.plan, this.keysOf(event.userId), opts.watermarkMs);
        this.scripts.queue(pipeline, cmd.script, cmd.keys, cmd.args);
        eventAt[i] = n++;
        if (cmd.pending) pending.push(cmd.pending.due, cmd.pending.member);
      }
      queueCloses(Infinity);
      // One index write for the batch, after every script, never before: a closeDue between the two must
      // not see an entry whose decision is not stored yet. Redelivered duplicates write it again, so a
      // crash between the scripts and this write loses nothing.
      if (pending.length > 0) {
        pipeline.zadd(this.global.pendingIndex, ...pending);
        n++;
      }
      if (this.metrics && closes.length === 0) {
        countAt = n++;
        pipeline.zcard(this.global.pendingIndex);
      }
      return pipeline;
    };
    const replies = await this.execScripts(build, 'applyBatch');

    const outcomes = new Array<'applied' | 'duplicate'>(events.length);
    const flags = new Map<string, Flag>();
    const closed: CloseOutcome = { flags: [], raised: [], stale: [], members: [] };
    let nextClose = 0;
    const takeClosesBefore = (at: number) => {
      for (; nextClose < closeAt.length && closeAt[nextClose]!.at <= at; nextClose++) {
        const { at: from, users } = closeAt[nextClose]!;
        const before = closed.flags.length;
        this.readClose(replies, from, users, closed);
        for (const f of closed.flags.slice(before)) if (!flags.has(f.flagId)) flags.set(f.flagId, f);
      }
    };
    for (let i = 0; i < events.length; i++) {
      takeClosesBefore(eventAt[i]!);
      const event = events[i]!.event;
      const reply = replies[eventAt[i]!];
      const code = Array.isArray(reply) ? Number(reply[0]) : Number(reply);
      if (code !== ScriptCode.Applied && code !== ScriptCode.Duplicate) {
        throw new EngineScriptError('apply', code, { eventId: event.eventId, type: event.type });
      }
      outcomes[i] = code === ScriptCode.Applied ? 'applied' : 'duplicate';
      if (!Array.isArray(reply)) continue;
      for (let j = 1; j < reply.length; j++) {
        const flag = parseFlagRecord(String(reply[j]));
        if (flags.has(flag.flagId)) continue;
        flags.set(flag.flagId, flag);
        if (code === ScriptCode.Applied) this.observeRaised(flag, event.occurredAtMs);
      }
    }
    takeClosesBefore(Infinity);
    if (closes.length > 0) await this.finishClose(closed);
    if (countAt >= 0) this.metrics!.pendingDecisions.set(Number(replies[countAt]));
    return { flags: [...flags.values()], outcomes };
  }

  /**
   * Decides every pending decision due at or before `watermarkMs` (event time). Safe to call from several
   * instances at once: each decision is made by one atomic script, and only its caller gets its flags.
   */
  async closeDue(watermarkMs: number): Promise<Flag[]> {
    // No watermark yet (NaN, -Infinity): nothing can be due.
    if (!(watermarkMs > Number.NEGATIVE_INFINITY)) return [];
    if (this.metrics && watermarkMs < 8.64e15) this.metrics.watermark.set(watermarkMs / 1000);
    const w = String(Math.floor(Math.min(watermarkMs, Number.MAX_SAFE_INTEGER)));
    const out: Flag[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const raw = await this.run(
        () => this.redis.zrangebyscore(this.global.pendingIndex, '-inf', w, 'WITHSCORES', 'LIMIT', 0, PAGE),
        'closeDue',
      );
      if (raw.length === 0) break;
      out.push(...(await this.closePage(raw, w)));
      if (raw.length < PAGE * 2) break;
    }
    return out;
  }

  private async closePage(raw: string[], w: string): Promise<Flag[]> {
    const entries: PendingEntry[] = [];
    // Members that are not refs are dropped from the index with the page.
    const unreadable: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const member = raw[i]!;
      const ref = parsePendingMember(member);
      if (ref) entries.push({ ref, member, due: raw[i + 1]! });
      else unreadable.push(member);
    }
    const users = this.groupByUser(entries);
    const replies = await this.execScripts(() => {
      const p1 = this.redis.pipeline();
      this.queueClose(p1, users, w);
      return p1;
    }, 'closeDue');
    const outcome: CloseOutcome = { flags: [], raised: [], stale: [], members: unreadable };
    this.readClose(replies, 0, users, outcome);
    await this.finishClose(outcome);
    return outcome.flags;
  }

  /** Groups pending decisions by user, with every flag each could raise (scored by the decision's due time). */
  private groupByUser(entries: readonly PendingEntry[]): CloseGroup[] {
    const byUser = new Map<string, CloseGroup>();
    for (const { ref, member, due } of entries) {
      let u = byUser.get(ref.userId);
      if (!u)
        byUser.set(ref.userId, (u = { userId: ref.userId, refs: [], candidates: new Map(), members: [] }));
      u.refs.push(ref);
      u.members.push(member);
      for (const ruleId of this.plan.deferredRuleIds) {
        const flagId = `${ruleId}:${ref.withdrawalId}`;
        u.candidates.set(flagId, { member: unackedMember({ userId: ref.userId, flagId }), due });
      }
    }
    return [...byUser.values()];
  }

  /**
   * Queues the decisions of `users` at watermark `w`: every flag they could raise is registered in the
   * unacked index before the deciding script runs, so a crash after the scripts leaves them findable by
   * unackedFlags() (the ones not raised are dropped by finishClose, or by unackedFlags later). Returns the
   * number of replies queued.
   */
  private queueClose(pipeline: ChainableCommander, users: readonly CloseGroup[], w: string): number {
    let n = 0;
    for (const u of users) {
      const scoreMembers: (string | number)[] = [];
      for (const c of u.candidates.values()) scoreMembers.push(c.due, c.member);
      if (scoreMembers.length > 0) {
        pipeline.zadd(this.global.unackedIndex, ...scoreMembers);
        n++;
      }
      this.scripts.queue(pipeline, 'closeDue', this.keysOf(u.userId).close, [
        w,
        this.nextCallToken(),
        ...u.refs.map((r) => r.eventId),
      ]);
      n++;
    }
    return n;
  }

  private nextCallToken(): string {
    return `${this.callPrefix}.${(++this.calls).toString(36)}`;
  }

  /** Reads the replies queueClose queued from position `from` into `out`. */
  private readClose(replies: unknown[], from: number, users: readonly CloseGroup[], out: CloseOutcome): void {
    let r = from;
    for (const u of users) {
      if (u.candidates.size > 0) r++;
      const reply = replies[r++] as unknown[];
      const count = Number(reply[0]);
      if (!(count >= 0)) throw new EngineScriptError('closeDue', count);
      for (let j = 1; j <= count; j++) {
        const flag = parseFlagRecord(String(reply[j]));
        out.flags.push(flag);
        out.raised.push(
          Date.parse(flag.raisedAt),
          unackedMember({ userId: flag.userId, flagId: flag.flagId }),
        );
        this.observeRaised(flag, Date.parse(flag.occurredAt));
      }
      const stillUnacked = new Set(reply.slice(1 + count).map(String));
      for (const [flagId, c] of u.candidates) if (!stillUnacked.has(flagId)) out.stale.push(c.member);
      out.members.push(...u.members);
    }
  }

  /** Index upkeep after decisions: raised flags stay registered, the rest and the decided entries go. */
  private async finishClose(o: CloseOutcome): Promise<void> {
    const p2 = this.redis.pipeline();
    // Raised flags again, in case a concurrent unackedFlags() dropped a registration it saw before the
    // flag existed.
    if (o.raised.length > 0) p2.zadd(this.global.unackedIndex, ...o.raised);
    if (o.stale.length > 0) p2.zrem(this.global.unackedIndex, ...o.stale);
    if (o.members.length > 0) p2.zrem(this.global.pendingIndex, ...o.members);
    p2.zcard(this.global.pendingIndex);
    const after = await this.exec(p2, 'closeDue');
    this.metrics?.pendingDecisions.set(Number(after[after.length - 1]));
  }

  /** Marks flags as durably produced: they are no longer handed back by duplicates or unackedFlags(). */
  async ackFlags(flags: Flag[]): Promise<void> {
    if (flags.length === 0) return;
    const byUser = new Map<string, string[]>();
    for (const f of flags) {
      const ids = byUser.get(f.userId);
      if (ids) ids.push(f.flagId);
      else byUser.set(f.userId, [f.flagId]);
    }
    const pipeline = this.redis.pipeline();
    const members: string[] = [];
    for (const [userId, ids] of byUser) {
      pipeline.hdel(this.keysOf(userId).keys.unacked, ...ids);
      for (const flagId of ids) members.push(unackedMember({ userId, flagId }));
    }
    pipeline.zrem(this.global.unackedIndex, ...members);
    await this.exec(pipeline, 'ackFlags');
  }

  /**
   * Flags decided by closeDue but never acked (a crash before they were produced), oldest first. Flags
   * decided by applyBatch come back through redelivery of their event instead (see the class note).
   */
  async unackedFlags(): Promise<Flag[]> {
    const refs: { member: string; userId: string; flagId: string }[] = [];
    const stale: string[] = [];
    for (let start = 0; ; start += PAGE) {
      const page = await this.run(
        () => this.redis.zrange(this.global.unackedIndex, start, start + PAGE - 1),
        'unackedFlags',
      );
      for (const member of page) {
        const ref = parseUnackedMember(member);
        if (ref) refs.push({ member, ...ref });
        else stale.push(member);
      }
      if (page.length < PAGE) break;
    }
    const flags: Flag[] = [];
    if (refs.length > 0) {
      const pipeline = this.redis.pipeline();
      for (const ref of refs) pipeline.hget(this.keysOf(ref.userId).keys.unacked, ref.flagId);
      const records = await this.exec(pipeline, 'unackedFlags');
      records.forEach((rec, i) => {
        if (typeof rec === 'string') flags.push(parseFlagRecord(rec));
        else stale.push(refs[i]!.member);
      });
    }
    if (stale.length > 0)
      await this.run(() => this.redis.zrem(this.global.unackedIndex, ...stale), 'unackedFlags');
    return flags.sort((a, b) => a.raisedAt.localeCompare(b.raisedAt) || a.flagId.localeCompare(b.flagId));
  }

  /**
   * How far back in event time the windows reach: the longest retention any enabled rule's state needs. A
   * rebuild after Redis lost its data re-reads at least this much of the input.
   */
  get lookbackMs(): number {
    return Math.max(...Object.values(this.plan.retention));
  }

  /**
   * Deletes every key of this engine's prefix (per-user windows, indexes, progress), never the breaker's or
   * the epoch marker: the first step of a rebuild after Redis lost its data, while no detector consumes.
   */
  async forgetState(): Promise<number> {
    const escaped = this.prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
    let deleted = 0;
    for (const pattern of [`${escaped}:{u:*`, `${escaped}:engine:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await this.run(
          () => this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000),
          'forgetState',
        );
        cursor = next;
        if (keys.length > 0) deleted += await this.run(() => this.redis.unlink(...keys), 'forgetState');
      } while (cursor !== '0');
    }
    this.keyCache.clear();
    return deleted;
  }

  /** Pending decisions known to the index (a stale entry of a redelivered approval counts until visited). */
  async pendingCount(): Promise<number> {
    return this.run(() => this.redis.zcard(this.global.pendingIndex), 'pendingCount');
  }

  private observeRaised(flag: Flag, occurredAtMs: number): void {
    if (!this.metrics) return;
    this.metrics.flags.inc({ rule: flag.ruleId, severity: flag.severity });
    const latency = (this.wallClock() - occurredAtMs) / 1000;
    if (Number.isFinite(latency))
      this.metrics.decisionLatency.observe({ rule: flag.ruleId }, Math.max(0, latency));
  }

  private async exec(pipeline: ChainableCommander, op: string): Promise<unknown[]> {
    return this.run(() => execPipeline(pipeline), op);
  }

  /**
   * Runs a pipeline of script calls built by `build`. When Redis has lost its script cache (a restart, a
   * SCRIPT FLUSH) the scripts are loaded again and the whole pipeline is built and run again: every call
   * is idempotent, and events applied by the first attempt are recognised as duplicates by the second.
   */
  private async execScripts(build: () => ChainableCommander, op: string): Promise<unknown[]> {
    try {
      return await execPipeline(build());
    } catch (err) {
      if (!isNoScript(err)) return this.run(() => Promise.reject(err as Error), op);
      this.log.warn({ op }, 'Redis lost the engine scripts: loading them again');
      await this.run(() => this.scripts.load(this.redis), op);
      return this.exec(build(), op);
    }
  }

  /** Redis failures become retriable StateStoreErrors; the engine's own errors pass through. */
  private async run<T>(fn: () => Promise<T>, op: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof BulwarkError) throw err;
      this.log.debug({ op, err: errorMessage(err) }, 'redis call failed');
      throw new StateStoreError(`rule engine ${op}: ${errorMessage(err)}`, err);
    }
  }
}
