import { StateStoreError } from '../errors';
import type { EngineMetrics } from '../metrics';
import type { BulwarkEvent, WithdrawalApproved } from '../events';
import {
  addFacts,
  addVelocity,
  compileRules,
  normaliseAddress,
  stateReachMs,
  thinFacts,
  trimFacts,
  type ApprovalView,
  type CompiledRule,
  type CompiledRules,
  type Evidence,
  type RulesConfig,
} from '../rules';
import { withIsoTimes } from './evidence-times';
import type { PendingRef } from './index-members';
import type { StoreCommit, UserState, WindowStore } from './store/window-store';
import type { ApplyOptions, ApplyResult, Flag, InlineClose, SourcedEvent } from './types';

/** At most this many eventIds are remembered per user (the oldest go first): bounds a runaway producer. */
const MAX_EVENTS_PER_USER = 10_000;
/** A user's dedup set and fact lists are trimmed on their first event and then one in this many. */
const TRIM_EVERY = 4;
/** Pending decisions read from the index per page. */
const PAGE = 1000;
/** Attempts at a batch whose users other engines keep changing, before it fails (and is redelivered). */
const MAX_ATTEMPTS = 20;

const refOf = (e: WithdrawalApproved): PendingRef => ({
  userId: e.userId,
  eventId: e.eventId,
  withdrawalId: e.withdrawalId,
});

/** What a batch touched, gathered while it runs and committed at its end. */
class BatchChanges implements StoreCommit {
  readonly touched = new Map<string, UserState>();
  /** Flags first raised by this batch (not handed back): counted once its commit holds. */
  readonly fresh: Flag[] = [];
  readonly pendingAdded: { ref: PendingRef; dueMs: number }[] = [];
  readonly pendingSettled: PendingRef[] = [];
  get users(): UserState[] {
    return [...this.touched.values()];
  }
}

/**
 * The rule engine: events in, flags out. Every decision is a pure rule of `libs/rules` over the user's
 * facts; the state lives in a WindowStore (memory or Redis), read once and written once per batch.
 *
 * Events are applied in order; an approval is decided at once by the rules that read its own stream and,
 * when a rule reads the other stream, kept as a pending decision until the watermark reaches
 * `occurredAt + grace` (closeDue, or an inline close inside a batch).
 */
export interface StreamEngineOptions {
  metrics?: EngineMetrics;
  /** Only for the decision-latency metric; decisions never read the wall clock. */
  wallClock?: () => number;
}

export class StreamEngine {
  private readonly rules: CompiledRules;
  private readonly metrics: EngineMetrics | undefined;
  private readonly wallClock: () => number;
  private readonly byId: Map<string, CompiledRule>;
  /** Unacked-index entries whose flag their state does not hold, first seen when (settleStaleUnacked). */
  private unknownSince = new Map<string, number>();
  /** The operation running now: calls run one after another, in the order made. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: WindowStore,
    config: RulesConfig,
    opts: StreamEngineOptions = {},
  ) {
    this.metrics = opts.metrics;
    this.wallClock = opts.wallClock ?? Date.now;
    this.rules = compileRules(config);
    this.byId = new Map(this.rules.rules.map((r) => [r.id, r]));
  }

  /**
   * Runs `op` after every call made before it. Events must reach a user's state in stream order; with a
   * remote store an overlapping call could read the state before the previous one wrote it, and the
   * version check would then apply the earlier batch after the later one.
   */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op, op);
    this.tail = run.catch(() => undefined);
    return run;
  }

  applyBatch(events: readonly SourcedEvent[], opts: ApplyOptions = {}): Promise<ApplyResult> {
    return this.serial(() => this.applyNow(events, opts));
  }

  closeDue(watermarkMs: number): Promise<Flag[]> {
    return this.serial(() => this.closeDueNow(watermarkMs));
  }

  ackFlags(flags: readonly Flag[]): Promise<void> {
    return this.serial(() => this.ackNow(flags));
  }

  /** Flags raised and never acked (a crash before they were produced), oldest first. */
  unackedFlags(): Promise<Flag[]> {
    return this.serial(() => this.unackedNow());
  }

  private async applyNow(events: readonly SourcedEvent[], opts: ApplyOptions): Promise<ApplyResult> {
    const closes = [...(opts.closes ?? [])].sort((a, b) => a.before - b.before);
    const outcomes = new Array<'applied' | 'duplicate'>(events.length);
    const flags = await this.retrying(
      () => {
        const ids = new Set<string>();
        for (const { event } of events) ids.add(event.userId);
        for (const c of closes) for (const r of c.refs) ids.add(r.userId);
        return ids;
      },
      (users, changes, raised) => {
        let c = 0;
        const closeUpTo = (i: number) => {
          for (; c < closes.length && closes[c]!.before <= i; c++)
            raised.push(...this.closeRefs(closes[c]!, users, changes));
        };
        for (let i = 0; i < events.length; i++) {
          closeUpTo(i);
          const event = events[i]!.event;
          const user = users.get(event.userId);
          if (!user) continue; // decided in an earlier attempt
          changes.touched.set(user.userId, user);
          outcomes[i] = this.apply(event, user, opts.watermarkMs, changes, raised);
        }
        closeUpTo(Infinity);
      },
    );
    return { flags, outcomes };
  }

  /** Decides every pending decision due at or before `watermarkMs`. */
  private async closeDueNow(watermarkMs: number): Promise<Flag[]> {
    if (!(watermarkMs > Number.NEGATIVE_INFINITY)) return [];
    const out: Flag[] = [];
    for (;;) {
      const refs = await this.store.due(watermarkMs, PAGE);
      if (refs.length === 0) break;
      const close = { before: 0, watermarkMs, refs };
      out.push(
        ...(await this.retrying(
          () => new Set(refs.map((r) => r.userId)),
          (users, changes, raised) => raised.push(...this.closeRefs(close, users, changes)),
        )),
      );
      if (refs.length < PAGE) break;
    }
    if (this.metrics) {
      if (watermarkMs < 8.64e15) this.metrics.watermark.set(watermarkMs / 1000);
      this.metrics.pendingDecisions.set(await this.store.pendingCount());
    }
    return out;
  }

  private async ackNow(flags: readonly Flag[]): Promise<void> {
    if (flags.length === 0) return;
    await this.retrying(
      () => new Set(flags.map((f) => f.userId)),
      (users, changes) => {
        for (const f of flags) {
          const u = users.get(f.userId);
          if (u?.unacked.delete(f.flagId)) changes.touched.set(u.userId, u);
        }
      },
    );
    // The acked flags leave the unacked index now, not with the next batch: the flag watermark reads it.
    await this.store.flush();
  }

  /**
   * Runs `work` on the users it names, loaded in one read, and commits its changes in one write. A user
   * whose state another engine changed meanwhile is refused by the store: the work runs again for those
   * users only, on their new state (users are independent, so the outcome is as if it ran once), and their
   * flags from the refused attempt are dropped.
   */
  private async retrying(
    userIds: () => Set<string>,
    work: (users: Map<string, UserState>, changes: BatchChanges, raised: Flag[]) => void,
  ): Promise<Flag[]> {
    const flags = new Map<string, Flag>();
    let ids = userIds();
    for (let attempt = 1; ids.size > 0; attempt++) {
      const users = await this.store.load([...ids]);
      const changes = new BatchChanges();
      const raised: Flag[] = [];
      work(users, changes, raised);
      const refused = new Set(await this.store.commit(changes));
      for (const f of raised) if (!refused.has(f.userId) && !flags.has(f.flagId)) flags.set(f.flagId, f);
      for (const f of changes.fresh) if (!refused.has(f.userId)) this.observeRaised(f);
      if (refused.size > 0 && attempt >= MAX_ATTEMPTS)
        throw new StateStoreError(
          `rule engine: ${refused.size} users changed by another engine on each of ${MAX_ATTEMPTS} attempts`,
        );
      ids = refused;
    }
    return [...flags.values()];
  }

  private async unackedNow(): Promise<Flag[]> {
    const users = await this.store.load(await this.store.usersWithUnacked());
    const out: Flag[] = [];
    for (const u of users.values()) out.push(...u.unacked.values());
    return out.sort((a, b) => a.raisedAt.localeCompare(b.raisedAt) || a.flagId.localeCompare(b.flagId));
  }

  async pendingCount(): Promise<number> {
    return this.store.pendingCount();
  }

  /**
   * Removes entries of the unacked index that no longer stand for a flag waiting to be produced, which would
   * otherwise hold the flag watermark back for good: at once when the stored state holds the flag raised and
   * acked (a commit refused after its index write, a crash between an ack and its removal) or the member
   * does not parse; after `unknownAgeMs` (wall clock) when the state does not hold the flag at all (a commit
   * in flight writes its index entry first). An entry whose flag is unacked always stays. Looks at the
   * oldest `limit` entries; returns how many went.
   */
  settleStaleUnacked(nowWallMs: number, unknownAgeMs: number, limit = 100): Promise<number> {
    return this.serial(async () => {
      const drop: string[] = [];
      const unknownSince = new Map<string, number>();
      for (const entry of await this.store.unackedIndexHead(limit)) {
        if (entry.status === 'acked' || entry.status === 'invalid') drop.push(entry.member);
        else if (entry.status === 'unknown') {
          const since = this.unknownSince.get(entry.member) ?? nowWallMs;
          if (nowWallMs - since >= unknownAgeMs) drop.push(entry.member);
          else unknownSince.set(entry.member, since);
        }
      }
      this.unknownSince = unknownSince;
      await this.store.dropUnacked(drop);
      return drop.length;
    });
  }

  /**
   * Drops every user's state and both indexes (never the breaker's keys or the epoch marker): the first
   * step of a rebuild after Redis lost its data, while no detector consumes. Returns how many keys went.
   */
  forgetState(): Promise<number> {
    return this.serial(() => this.store.clear());
  }

  private observeRaised(flag: Flag): void {
    if (!this.metrics) return;
    this.metrics.flags.inc({ rule: flag.ruleId, severity: flag.severity });
    const latency = (this.wallClock() - Date.parse(flag.occurredAt)) / 1000;
    if (Number.isFinite(latency))
      this.metrics.decisionLatency.observe({ rule: flag.ruleId }, Math.max(0, latency));
  }

  /** How far back in event time the windows reach: the longest any enabled rule's facts are kept. */
  get lookbackMs(): number {
    return stateReachMs(this.rules);
  }

  private apply(
    event: BulwarkEvent,
    user: UserState,
    watermarkMs: number | undefined,
    changes: BatchChanges,
    raised: Flag[],
  ): 'applied' | 'duplicate' {
    const t = event.occurredAtMs;
    if (user.events.has(event.eventId)) {
      // A redelivered approval hands back what it raised that nobody acked: a crash between deciding and
      // producing loses nothing.
      // Its pending decision goes back into the index too: a crash may have kept it from getting there.
      if (event.type === 'withdrawal.approved') {
        for (const f of user.unacked.values()) if (f.eventId === event.eventId) raised.push(f);
        for (const p of user.pending)
          if (p.approval.eventId === event.eventId)
            changes.pendingAdded.push({ ref: refOf(p.approval), dueMs: p.dueMs });
      }
      return 'duplicate';
    }
    if (user.seen++ % TRIM_EVERY === 0) this.trim(user, t, watermarkMs);
    user.events.set(event.eventId, Math.floor(t / 1000));
    if (event.type === 'withdrawal.approved') raised.push(...this.decideApproval(event, user, changes));
    else addFacts(user.facts, event, this.rules.needs);
    return 'applied';
  }

  private decideApproval(e: WithdrawalApproved, user: UserState, changes: BatchChanges): Flag[] {
    const view: ApprovalView = { event: e, address: normaliseAddress(e.address) };
    const ctx = { graceMs: this.rules.graceMs };
    if (this.rules.needs.has('velocity'))
      addVelocity(
        user.facts,
        { atMs: e.occurredAtMs, amountUsd: e.amountUsd, withdrawalId: e.withdrawalId },
        this.rules.retention.velocity,
      );
    const raised: Flag[] = [];
    const waiting: string[] = [];
    for (const rule of this.rules.rules) {
      const evidence = rule.atApproval?.(view, user.facts, ctx) ?? null;
      if (evidence !== null) {
        const f = this.raise(user, rule, e, e.occurredAtMs, evidence);
        if (f) {
          raised.push(f);
          changes.fresh.push(f);
        }
      } else if (rule.afterGrace) waiting.push(rule.id);
    }
    if (waiting.length > 0) {
      const dueMs = e.occurredAtMs + this.rules.graceMs;
      user.pending.push({ approval: e, dueMs, ruleIds: waiting });
      changes.pendingAdded.push({ ref: refOf(e), dueMs });
    }
    return raised;
  }

  /**
   * Decides the named pending decisions that are due at the close's watermark, each user's in due order.
   * A named decision its user no longer holds (decided elsewhere, or a stale index entry) is settled too.
   */
  private closeRefs(close: InlineClose, users: Map<string, UserState>, changes: BatchChanges): Flag[] {
    const wanted = new Map<string, PendingRef[]>();
    for (const r of close.refs) {
      const list = wanted.get(r.userId);
      if (list) list.push(r);
      else wanted.set(r.userId, [r]);
    }
    const out: Flag[] = [];
    const ctx = { graceMs: this.rules.graceMs };
    for (const [userId, refs] of wanted) {
      const user = users.get(userId);
      if (!user) continue; // decided in an earlier attempt
      const eventIds = new Set(refs.map((r) => r.eventId));
      const decide = user.pending
        .filter((p) => p.dueMs <= close.watermarkMs && eventIds.has(p.approval.eventId))
        .sort((a, b) => a.dueMs - b.dueMs || (a.approval.eventId < b.approval.eventId ? -1 : 1));
      changes.touched.set(userId, user);
      for (const p of decide) {
        const view: ApprovalView = { event: p.approval, address: normaliseAddress(p.approval.address) };
        for (const id of p.ruleIds) {
          const rule = this.byId.get(id);
          const evidence = rule?.afterGrace?.(view, user.facts, ctx) ?? null;
          if (rule && evidence !== null) {
            const f = this.raise(user, rule, p.approval, p.dueMs, evidence);
            if (f) {
              out.push(f);
              changes.fresh.push(f);
            }
          }
        }
      }
      const settled = new Set(decide);
      if (settled.size > 0) user.pending = user.pending.filter((p) => !settled.has(p));
      const still = new Set(user.pending.map((p) => p.approval.eventId));
      for (const r of refs) if (!still.has(r.eventId)) changes.pendingSettled.push(r);
    }
    return out;
  }

  private raise(
    user: UserState,
    rule: CompiledRule,
    e: WithdrawalApproved,
    raisedAtMs: number,
    evidence: Evidence,
  ): Flag | null {
    const flagId = `${rule.id}:${e.withdrawalId}`;
    if (user.raised.has(flagId) || user.unacked.has(flagId)) return null;
    const flag: Flag = {
      flagId,
      ruleId: rule.id,
      severity: rule.severity,
      userId: e.userId,
      withdrawalId: e.withdrawalId,
      eventId: e.eventId,
      occurredAt: e.occurredAt,
      raisedAt: new Date(raisedAtMs).toISOString(),
      asset: e.asset,
      amountUsd: e.amountUsd,
      evidence: withIsoTimes(evidence) as Record<string, unknown>,
    };
    user.raised.set(flagId, raisedAtMs);
    user.unacked.set(flagId, flag);
    return flag;
  }

  /**
   * Bounds a user's memory: facts past their retention and eventIds past the dedup horizon, behind
   * `min(t, watermark)` so a stream running ahead never drops what a lagging one still reads.
   */
  private trim(user: UserState, t: number, watermarkMs: number | undefined): void {
    const at =
      watermarkMs === undefined || !Number.isFinite(watermarkMs) ? 0 : Math.max(0, Math.min(t, watermarkMs));
    const horizon = this.rules.dedupHorizonMs;
    const cutSeconds = Math.floor((at - horizon) / 1000);
    for (const [id, s] of user.events) if (s < cutSeconds) user.events.delete(id);
    if (user.events.size >= MAX_EVENTS_PER_USER) {
      const oldest = [...user.events].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
      for (const [id] of oldest.slice(0, user.events.size - MAX_EVENTS_PER_USER + 1)) user.events.delete(id);
    }
    for (const [id, r] of user.raised) if (r < at - horizon) user.raised.delete(id);
    if (at > 0) trimFacts(user.facts, this.rules.retention, at);
    thinFacts(user.facts, this.rules.thinGaps);
  }
}
