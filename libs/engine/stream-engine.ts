import type { BulwarkEvent, WithdrawalApproved } from '../events';
import {
  addFacts,
  addVelocity,
  compileRules,
  normaliseAddress,
  trimFacts,
  type ApprovalView,
  type CompiledRule,
  type CompiledRules,
  type Evidence,
  type RulesConfig,
} from '../rules';
import { withIsoTimes } from './flag-records';
import type { PendingRef } from './index-members';
import { MAX_EVENTS_PER_USER } from './rule-plan';
import type { InlineClose } from './rule-engine';
import type { StoreCommit, UserState, WindowStore } from './store/window-store';
import type { ApplyResult, Flag, SourcedEvent } from './types';

/** A user's dedup set and fact lists are trimmed on their first event and then one in this many. */
const TRIM_EVERY = 4;
/** Pending decisions read from the index per page. */
const PAGE = 1000;

export interface ApplyOptions {
  /** The newest watermark the caller knows: facts are never trimmed past it. */
  watermarkMs?: number;
  closes?: InlineClose[];
}

/** What a batch touched, gathered while it runs and committed at its end. */
class BatchChanges implements StoreCommit {
  readonly touched = new Map<string, UserState>();
  readonly pendingAdded: { ref: PendingRef; dueMs: number }[] = [];
  readonly pendingSettled: PendingRef[] = [];
  get users(): UserState[] {
    return [...this.touched.values()];
  }
}

/**
 * The rule engine: events in, flags out. Every decision is a pure rule of `libs/rules` over the user's
 * facts; the state lives in a WindowStore (memory or Redis), read once and written once per batch. The
 * API is RuleEngine's, so the replay, the detector and the tests drive either.
 *
 * Events are applied in order; an approval is decided at once by the rules that read its own stream and,
 * when a rule reads the other stream, kept as a pending decision until the watermark reaches
 * `occurredAt + grace` (closeDue, or an inline close inside a batch).
 */
export class StreamEngine {
  private readonly rules: CompiledRules;
  private readonly byId: Map<string, CompiledRule>;

  constructor(
    private readonly store: WindowStore,
    config: RulesConfig,
  ) {
    this.rules = compileRules(config);
    this.byId = new Map(this.rules.rules.map((r) => [r.id, r]));
  }

  async applyBatch(events: readonly SourcedEvent[], opts: ApplyOptions = {}): Promise<ApplyResult> {
    const closes = [...(opts.closes ?? [])].sort((a, b) => a.before - b.before);
    const ids = new Set<string>();
    for (const { event } of events) ids.add(event.userId);
    for (const c of closes) for (const r of c.refs) ids.add(r.userId);
    if (ids.size === 0) return { flags: [], outcomes: [] };
    const users = await this.store.load([...ids]);
    const changes = new BatchChanges();
    const flags = new Map<string, Flag>();
    const outcomes = new Array<'applied' | 'duplicate'>(events.length);
    const take = (raised: Flag[]) => {
      for (const f of raised) if (!flags.has(f.flagId)) flags.set(f.flagId, f);
    };
    let c = 0;
    const closeUpTo = (i: number) => {
      for (; c < closes.length && closes[c]!.before <= i; c++)
        take(this.closeRefs(closes[c]!, users, changes));
    };
    for (let i = 0; i < events.length; i++) {
      closeUpTo(i);
      const event = events[i]!.event;
      const user = users.get(event.userId)!;
      changes.touched.set(user.userId, user);
      outcomes[i] = this.apply(event, user, opts.watermarkMs, changes, take);
    }
    closeUpTo(Infinity);
    await this.store.commit(changes);
    return { flags: [...flags.values()], outcomes };
  }

  /** Decides every pending decision due at or before `watermarkMs`. */
  async closeDue(watermarkMs: number): Promise<Flag[]> {
    if (!(watermarkMs > Number.NEGATIVE_INFINITY)) return [];
    const out: Flag[] = [];
    for (;;) {
      const refs = await this.store.due(watermarkMs, PAGE);
      if (refs.length === 0) break;
      const users = await this.store.load([...new Set(refs.map((r) => r.userId))]);
      const changes = new BatchChanges();
      out.push(...this.closeRefs({ before: 0, watermarkMs, refs }, users, changes));
      await this.store.commit(changes);
      if (refs.length < PAGE) break;
    }
    return out;
  }

  async ackFlags(flags: readonly Flag[]): Promise<void> {
    if (flags.length === 0) return;
    const users = await this.store.load([...new Set(flags.map((f) => f.userId))]);
    const changes = new BatchChanges();
    for (const f of flags) {
      const u = users.get(f.userId)!;
      if (u.unacked.delete(f.flagId)) changes.touched.set(u.userId, u);
    }
    await this.store.commit(changes);
  }

  /** Flags raised and never acked (a crash before they were produced), oldest first. */
  async unackedFlags(): Promise<Flag[]> {
    const users = await this.store.load(await this.store.usersWithUnacked());
    const out: Flag[] = [];
    for (const u of users.values()) out.push(...u.unacked.values());
    return out.sort((a, b) => a.raisedAt.localeCompare(b.raisedAt) || a.flagId.localeCompare(b.flagId));
  }

  async pendingCount(): Promise<number> {
    return this.store.pendingCount();
  }

  /** How far back in event time the windows reach: the longest any enabled rule's facts are kept. */
  get lookbackMs(): number {
    return Math.max(this.rules.dedupHorizonMs, ...Object.values(this.rules.retention));
  }

  private apply(
    event: BulwarkEvent,
    user: UserState,
    watermarkMs: number | undefined,
    changes: BatchChanges,
    take: (flags: Flag[]) => void,
  ): 'applied' | 'duplicate' {
    const t = event.occurredAtMs;
    if (user.events.has(event.eventId)) {
      // A redelivered approval hands back what it raised that nobody acked: a crash between deciding and
      // producing loses nothing.
      if (event.type === 'withdrawal.approved') {
        const again: Flag[] = [];
        for (const f of user.unacked.values()) if (f.eventId === event.eventId) again.push(f);
        take(again);
      }
      return 'duplicate';
    }
    if (user.seen++ % TRIM_EVERY === 0) this.trim(user, t, watermarkMs);
    user.events.set(event.eventId, Math.floor(t / 1000));
    if (event.type === 'withdrawal.approved') take(this.decideApproval(event, user, changes));
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
        if (f) raised.push(f);
      } else if (rule.afterGrace) waiting.push(rule.id);
    }
    if (waiting.length > 0) {
      const dueMs = e.occurredAtMs + this.rules.graceMs;
      user.pending.push({ approval: e, dueMs, ruleIds: waiting });
      changes.pendingAdded.push({
        ref: { userId: e.userId, eventId: e.eventId, withdrawalId: e.withdrawalId },
        dueMs,
      });
    }
    return raised;
  }

  /** Decides the named pending decisions of their users that are due at the close's watermark. */
  private closeRefs(close: InlineClose, users: Map<string, UserState>, changes: BatchChanges): Flag[] {
    const wanted = new Map<string, Set<string>>();
    for (const r of close.refs) {
      let s = wanted.get(r.userId);
      if (!s) wanted.set(r.userId, (s = new Set()));
      s.add(r.eventId);
    }
    const out: Flag[] = [];
    const ctx = { graceMs: this.rules.graceMs };
    for (const [userId, eventIds] of wanted) {
      const user = users.get(userId)!;
      const decide = user.pending
        .filter((p) => p.dueMs <= close.watermarkMs && eventIds.has(p.approval.eventId))
        .sort((a, b) => a.dueMs - b.dueMs || (a.approval.eventId < b.approval.eventId ? -1 : 1));
      if (decide.length === 0) continue;
      changes.touched.set(userId, user);
      for (const p of decide) {
        const view: ApprovalView = { event: p.approval, address: normaliseAddress(p.approval.address) };
        for (const id of p.ruleIds) {
          const rule = this.byId.get(id);
          const evidence = rule?.afterGrace?.(view, user.facts, ctx) ?? null;
          if (rule && evidence !== null) {
            const f = this.raise(user, rule, p.approval, p.dueMs, evidence);
            if (f) out.push(f);
          }
        }
        changes.pendingSettled.push({
          userId,
          eventId: p.approval.eventId,
          withdrawalId: p.approval.withdrawalId,
        });
      }
      const settled = new Set(decide);
      user.pending = user.pending.filter((p) => !settled.has(p));
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
  }
}
