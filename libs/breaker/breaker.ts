import path from 'node:path';
import { StateStoreError, errorMessage } from '../errors';
import { breakerKeys, type BreakerKeys } from '../keys/breaker';
import type { Logger } from '../logger';
import type { BreakerMetrics } from '../metrics';
import { Scripts, execPipeline, type Redis } from '../redis';
import { AuditSealer, type RequestRecord } from './audit-sealer';
import type { SealedEntry } from './audit-chain';
import { stalledTrigger, windowTriggers, type BreakerConfig, type WindowTrigger } from './config';
import type { ControlKeyring } from './control-keys';
import { BreakerError } from './errors';
import type { Flag } from './flag';
import { decidedAtMs } from './flag-order';
import { assetScope, parseScope, type Scope } from './scope';
import {
  decideAnyStatus,
  decideStatus,
  parseChange,
  parseSnapshot,
  type AuditEntry,
  type BreakerChange,
  type BreakerSnapshot,
  type RestoreChoice,
  type WithdrawalStatus,
} from './snapshot';
import { hasUnsafeChars } from './text';
import type { WindowView } from './api-schemas';
import { thresholdUnits, windowAdds } from './triggers';

type ScriptName =
  'addFlag' | 'halt' | 'requestResume' | 'init' | 'restore' | 'ackOutbox' | 'sealAudit' | 'restoreTrail';

/** Where an operator's request came from, recorded with its audit entries. */
export interface RequestOrigin {
  address: string;
  method: string;
  route: string;
}

export interface BreakerOptions {
  redis: Redis;
  /** Key prefix: the deployment's, or a replay's or test's own namespace. */
  prefix: string;
  config: BreakerConfig;
  logger: Logger;
  metrics?: BreakerMetrics;
  /**
   * Publishes changes to the control topic. Changes wait in a Redis outbox until it resolves, so a change
   * is published even if the process dies between the state change and the send.
   */
  publish?: (changes: BreakerChange[]) => Promise<void>;
  /** What to restore from the control topic (`chooseRestore`: verified snapshots, or fail-closed halts). */
  restore?: RestoreChoice[];
  /**
   * The signing keys: the audit chain is an HMAC with the current one. Without keys (in-process replays)
   * the chain is plain SHA-256.
   */
  keys?: ControlKeyring;
  /** Publishes sealed audit entries to withdrawals.audit.v1 (they wait in a Redis outbox until it resolves). */
  publishAudit?: (entries: SealedEntry[]) => Promise<void>;
  /** Reads withdrawals.audit.v1 back, to rebuild the trail when Redis lost it. */
  loadAuditTrail?: () => Promise<Record<string, unknown>[]>;
  /** Wall clock, for operator actions and audit times (tests may pin it). */
  now?: () => Date;
}

export type ResumeResult =
  | { status: 'pending'; approvals: string[]; required: number; repeated: boolean }
  | { status: 'resumed'; change: BreakerChange };

/** Operator names appear in `by` joined by commas: keep them to a safe alphabet. */
const OPERATOR_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const MAX_REASON = 500;

/**
 * The platform-wide withdrawal breaker. All state lives in Redis and every change is one atomic Lua script
 * (read, check, bump the version, write, audit, outbox), so any number of instances, the service's and a
 * replay's, can share it. The same class runs in the service and in-process in `bulwark replay`.
 */
export class Breaker {
  private readonly keys: BreakerKeys;
  private readonly scripts: Scripts<ScriptName>;
  private readonly triggers: WindowTrigger[];
  private readonly now: () => Date;
  private readonly sealer: AuditSealer;
  /** The newest event time this instance has processed (flags' decision times): a trip's `at`. */
  private eventTimeMs = -Infinity;

  private constructor(private readonly opts: BreakerOptions) {
    this.keys = breakerKeys(opts.prefix);
    this.scripts = new Scripts<ScriptName>(opts.redis, path.join(__dirname, 'lua'));
    this.triggers = windowTriggers(opts.config);
    this.now = opts.now ?? (() => new Date());
    this.sealer = new AuditSealer({
      redis: opts.redis,
      keys: this.keys,
      chainKeys: opts.keys,
      run: (name, keys, args) => this.store(() => this.scripts.run(name, keys, args)),
      logger: opts.logger,
      ...(opts.publishAudit ? { publish: opts.publishAudit } : {}),
      ...(opts.loadAuditTrail ? { load: opts.loadAuditTrail } : {}),
    });
  }

  static async create(opts: BreakerOptions): Promise<Breaker> {
    const b = new Breaker(opts);
    if (opts.restore && opts.restore.length > 0) await b.restore(opts.restore);
    await b.ensureInitialised();
    await b.refreshMetrics();
    await b.sealAuditQuietly();
    return b;
  }

  get config(): BreakerConfig {
    return this.opts.config;
  }

  /**
   * Counts a batch of flags into their windows and trips any scope whose threshold is reached. One
   * pipelined round trip for the batch (plus the outbox flush when something changed); resolves only once
   * the changes are published, so the caller may then commit the flags' offsets.
   */
  async onFlags(flags: Flag[]): Promise<BreakerChange[]> {
    if (flags.length === 0) return [];
    const now = this.now();
    const nowIso = now.toISOString();
    const latest = now.getTime() + this.opts.config.maxFutureSkewMs;
    const pipeline = this.opts.redis.pipeline();
    const queued: { flagId: string; trigger: string; scope: string }[] = [];
    for (const flag of flags) {
      const adds = windowAdds(this.triggers, flag);
      if (adds.length > 0 && adds[0]!.tsMs > latest) {
        this.opts.logger.warn(
          { flagId: flag.flagId, occurredAt: flag.occurredAt },
          'flag dated in the future: not counted',
        );
        continue;
      }
      const decided = decidedAtMs(flag);
      if (Number.isFinite(decided)) this.eventTimeMs = Math.max(this.eventTimeMs, Math.min(decided, latest));
      const effectiveIso = new Date(this.eventTimeMs).toISOString();
      for (const add of adds) {
        const t = add.trigger;
        this.scripts.queue(
          pipeline,
          'addFlag',
          [
            this.keys.window(t.id, add.scope),
            this.keys.windowData(t.id, add.scope),
            this.keys.windowBuckets(t.id, add.scope),
            this.keys.windowUserFirst(t.id, add.scope),
            this.keys.windowUserLast(t.id, add.scope),
            this.keys.state(add.scope),
            this.keys.audit,
            this.keys.outbox,
            this.keys.scopes,
          ],
          [
            t.kind,
            add.member,
            add.user,
            add.cents,
            add.tsMs,
            new Date(add.tsMs).toISOString(),
            t.windowMs,
            this.opts.config.allowedLatenessMs,
            thresholdUnits(t),
            t.id,
            add.scope,
            nowIso,
            t.label ?? defaultLabel(t),
            durationText(t.windowMs),
            flag.flagId,
            t.kind === 'sum-amount-usd' ? t.threshold.toFixed(2) : String(t.threshold),
            effectiveIso,
          ],
        );
        queued.push({ flagId: flag.flagId, trigger: t.id, scope: add.scope });
      }
    }
    if (this.opts.publish) pipeline.hgetall(this.keys.outbox);
    const results = await this.exec(pipeline);
    const changes: BreakerChange[] = [];
    queued.forEach((q, i) => {
      const r = JSON.parse(String(results[i])) as { r: string; change?: unknown; field?: string };
      if (r.r === 'tripped') changes.push(parseChange(r.change));
      else if (r.r === 'late')
        this.opts.logger.warn(q, 'flag older than its window allows (allowedLatenessMs): not counted');
      else if (r.r === 'invalid')
        this.opts.logger.error({ ...q, field: r.field }, 'flag cannot be counted exactly: not counted');
    });
    for (const f of flags) this.opts.metrics?.flagsConsumed.inc({ severity: f.severity });
    this.recordChanges(changes);
    if (this.opts.publish) await this.publishOutbox(results[queued.length] as Record<string, string>);
    if (changes.length > 0) await this.sealAudit();
    return changes;
  }

  /**
   * An operator's (or a replay's) halt. Null when the scope was already halted (recorded in the audit).
   * It takes effect at `atIso` (a replay's event time) or now, never earlier than the newest event time
   * processed.
   */
  async halt(
    scope: string,
    reason: string,
    operator: string,
    atIso?: string,
    origin?: RequestOrigin,
  ): Promise<BreakerChange | null> {
    const s = parseScope(scope);
    const why = checkReason(reason);
    checkOperator(operator);
    const now = this.now();
    if (atIso !== undefined && Number.isNaN(Date.parse(atIso)))
      throw new BreakerError('EBADREQUEST', 'at must be an ISO timestamp');
    const at = this.effectiveAt(atIso === undefined ? now.getTime() : Date.parse(atIso));
    return this.runHalt(s, why, 'manual', operator, at, null, now.toISOString(), true, undefined, origin);
  }

  /** Records an operator request that reached no script (refused before it, or a read) in the audit trail. */
  async recordRequest(record: RequestRecord): Promise<void> {
    await this.sealer.append(record, this.now().toISOString());
    await this.sealAuditQuietly();
  }

  /**
   * One operator's request to resume. The request that makes `approvalsRequired` distinct operators
   * (within the approval window, for the current halt) resumes; the same operator twice counts once.
   * Throws `ENOTHALTED` when the scope is open.
   */
  async requestResume(
    scope: string,
    reason: string,
    operator: string,
    origin?: RequestOrigin,
  ): Promise<ResumeResult> {
    const s = parseScope(scope);
    const why = checkReason(reason);
    checkOperator(operator);
    const now = this.now();
    const { approvalsRequired, approvalWindowMs } = this.opts.config.resume;
    const raw = await this.store(() =>
      this.scripts.run<string>('requestResume', this.scopeKeys(s), [
        s,
        operator,
        why,
        now.getTime(),
        now.toISOString(),
        approvalWindowMs,
        approvalsRequired,
        this.effectiveAt(now.getTime()),
        origin ? JSON.stringify(origin) : '',
      ]),
    );
    const r = JSON.parse(raw) as { r: string; change?: unknown; approvals?: unknown };
    const approvals = Array.isArray(r.approvals) ? r.approvals.map(String) : [];
    await this.sealAuditQuietly();
    if (r.r === 'not-halted') throw new BreakerError('ENOTHALTED', `${s} is not halted`);
    if (r.r === 'resumed') {
      const change = parseChange(r.change);
      this.recordChanges([change]);
      this.opts.logger.warn({ scope: s, by: change.by, version: change.version }, 'breaker resumed');
      await this.flushQuietly();
      return { status: 'resumed', change };
    }
    this.opts.logger.info({ scope: s, operator, approvals, repeated: r.r === 'repeated' }, 'resume approval');
    return { status: 'pending', approvals, required: approvalsRequired, repeated: r.r === 'repeated' };
  }

  /**
   * The detector made no progress while input waited: halts the detector-stalled trigger's scope. Null
   * when already halted or when the config has no such trigger.
   */
  async tripStalled(detail: string, atIso: string): Promise<BreakerChange | null> {
    const t = stalledTrigger(this.opts.config);
    if (!t) return null;
    const scope = parseScope(t.target);
    const reason = `${t.id}: detector made no progress for ${durationText(t.stallMs)} while input waits (${detail})`;
    if (Number.isNaN(Date.parse(atIso))) throw new BreakerError('EBADREQUEST', 'at must be an ISO timestamp');
    // The stall was seen (crossed) at atIso; it takes effect then, or later if event time is already ahead.
    const crossed = new Date(atIso).toISOString();
    return this.runHalt(
      scope,
      reason.slice(0, MAX_REASON),
      t.id,
      'breaker',
      this.effectiveAt(Date.parse(atIso)),
      crossed,
      this.now().toISOString(),
      false,
      { detail },
      undefined,
    );
  }

  /**
   * Redis lost its data (the state epoch marker vanished): every rule reads empty windows until the detector
   * has rebuilt them, so global halts (fail closed) until two operators resume it. Null when already halted.
   */
  async tripStateLost(detail: string, atIso: string): Promise<BreakerChange | null> {
    const reason = `state-lost: Redis lost its data (${detail}); every rule is unreliable until the windows are rebuilt from Kafka`;
    return this.runHalt(
      parseScope('global'),
      reason.slice(0, MAX_REASON),
      'state-lost',
      'breaker',
      this.effectiveAt(Date.parse(atIso)),
      new Date(atIso).toISOString(),
      this.now().toISOString(),
      false,
      { detail },
      undefined,
    );
  }

  /** A scope's snapshot. A missing global snapshot reads as halted: the state was lost (fail closed). */
  async status(scope: string): Promise<BreakerSnapshot> {
    const s = parseScope(scope);
    const [globalRaw, ownRaw] = await this.store(() =>
      this.opts.redis.mget(this.keys.state('global'), this.keys.state(s)),
    );
    const own = parseSnapshot(ownRaw);
    if (own) return own;
    const global = parseSnapshot(globalRaw);
    if (ownRaw !== null || !global) {
      const nowIso = this.now().toISOString();
      return {
        scope: s,
        state: 'halted',
        since: nowIso,
        reason: 'breaker state missing or unreadable in Redis (fail closed)',
        trigger: 'state-missing',
        by: 'breaker',
        version: 0,
        at: nowIso,
        crossedAt: null,
      };
    }
    return {
      scope: s,
      state: 'open',
      since: global.since,
      reason: 'never halted',
      trigger: 'init',
      by: 'breaker',
      version: 0,
      at: global.since,
      crossedAt: null,
    };
  }

  /**
   * Whether withdrawals of `asset` may proceed: global and the asset's scope in one read. Without an asset,
   * allowed only when no scope at all is halted (fail closed; `decideAnyStatus`).
   */
  async statusForAsset(asset?: string): Promise<WithdrawalStatus> {
    if (asset === undefined) {
      const scopes = await this.store(() => this.opts.redis.smembers(this.keys.scopes));
      const all = ['global', ...scopes.filter((x) => x !== 'global')];
      const raws = await this.store(() => this.opts.redis.mget(...all.map((x) => this.keys.state(x))));
      return decideAnyStatus(
        raws[0] ?? null,
        all.slice(1).map((scope, i) => ({ scope, raw: raws[i + 1] ?? null })),
      );
    }
    const scope = assetScope(asset);
    const [globalRaw, assetRaw] = await this.store(() =>
      this.opts.redis.mget(this.keys.state('global'), this.keys.state(scope)),
    );
    return decideStatus(globalRaw ?? null, assetRaw ?? null, asset);
  }

  /**
   * The sealed audit trail, newest first; `before` (an entry's id) pages back. Pending entries are sealed
   * first; if sealing fails (the audit topic cannot be read to restore a lost trail) the sealed part is
   * still served.
   */
  async audit(limit = 100, before?: string): Promise<AuditEntry[]> {
    await this.sealAuditQuietly();
    return this.sealer.read(limit, before);
  }

  /** Seals pending audit entries into the chain and publishes them; throws what it meets. */
  async sealAudit(): Promise<number> {
    return this.sealer.seal();
  }

  private async sealAuditQuietly(): Promise<void> {
    try {
      await this.sealer.seal();
    } catch (err) {
      // The entries stay in the inbox; housekeeping or the next request seals them.
      this.opts.logger.error({ err: errorMessage(err) }, 'sealing the audit trail failed; will retry');
    }
  }

  /**
   * Restores what `chooseRestore` picked from the control topic: a verified snapshot where Redis has none
   * or an older version; a fail-closed halt only where Redis has no readable state for the scope.
   */
  async restore(choices: RestoreChoice[]): Promise<number> {
    const nowIso = this.now().toISOString();
    let restored = 0;
    let failClosed = 0;
    for (const { snapshot: s, failClosed: fc } of choices) {
      if (!parseSnapshot(JSON.stringify(s))) continue;
      const scope = parseScope(s.scope);
      const snap = JSON.stringify({
        scope,
        state: s.state,
        since: s.since,
        reason: s.reason,
        trigger: s.trigger,
        by: s.by,
        version: s.version,
        at: s.at,
        crossedAt: s.crossedAt,
      });
      const keys = [this.keys.state(scope), this.keys.audit, this.keys.scopes, this.keys.outbox];
      const n = await this.store(() =>
        this.scripts.run<number>('restore', keys, [snap, nowIso, fc ? '1' : '0']),
      );
      restored += n;
      if (fc && n > 0) {
        failClosed++;
        this.opts.metrics?.state.set({ scope }, 1);
        this.opts.logger.error({ scope }, 'no trustworthy control message for this scope: restored halted');
      }
    }
    if (restored > 0)
      this.opts.logger.warn({ restored, failClosed }, 'breaker state restored from the control topic');
    if (failClosed > 0) await this.flushQuietly();
    if (restored > 0) await this.sealAuditQuietly();
    return restored;
  }

  /** Writes the open global snapshot if there is none; true when it had to (a fresh or emptied Redis). */
  async ensureInitialised(): Promise<boolean> {
    const created = await this.store(() =>
      this.scripts.run<number>(
        'init',
        [this.keys.state('global'), this.keys.scopes],
        ['global', this.now().toISOString()],
      ),
    );
    return created === 1;
  }

  /** Sets the state gauge of every known scope from Redis (another instance may have changed it). */
  async refreshMetrics(): Promise<BreakerSnapshot[]> {
    const scopes = await this.store(() => this.opts.redis.smembers(this.keys.scopes));
    if (!scopes.includes('global')) scopes.push('global');
    const raws = await this.store(() => this.opts.redis.mget(...scopes.map((s) => this.keys.state(s))));
    const snaps = scopes.map((scope, i) => {
      const snap = parseSnapshot(raws[i]);
      // Missing or corrupt state reads as halted: that is how the guard treats it.
      this.opts.metrics?.state.set({ scope }, snap?.state === 'open' ? 0 : 1);
      return snap;
    });
    return snaps.filter((s): s is BreakerSnapshot => s !== null);
  }

  /**
   * Each window trigger's measure per scope, read from the windows the trip is decided on: over the window
   * ending at the newest flag counted there, members of the scope's current version only (after a resume,
   * flags seen before it do not count again), as lua/addFlag counts them; while a scope is halted, also the
   * version the halt ended (every change bumps it by one), so the console shows what led to the halt.
   */
  async windows(): Promise<WindowView[]> {
    const known = await this.store(() => this.opts.redis.smembers(this.keys.scopes));
    const scopes = [...new Set(['global', ...known])];
    const pairs = this.triggers.flatMap((t) =>
      scopes
        .filter((sc) => t.target === sc || (t.target === 'asset:*' && sc.startsWith('asset:')))
        .map((scope) => ({ t, scope })),
    );
    // One round trip: each window's members and data whole (they are trimmed to a window plus lateness).
    const pipeline = this.opts.redis.pipeline();
    for (const { t, scope } of pairs)
      pipeline
        .zrange(this.keys.window(t.id, scope), 0, -1, 'WITHSCORES')
        .hgetall(this.keys.windowData(t.id, scope));
    pipeline.mget(...scopes.map((sc) => this.keys.state(sc)));
    const replies = await this.exec(pipeline);
    const states = replies[replies.length - 1] as (string | null)[];
    const counted = new Map(
      scopes.map((sc, i) => {
        const snap = parseSnapshot(states[i] ?? null);
        const v = snap?.version ?? 0;
        return [sc, new Set(snap?.state === 'halted' ? [v, v - 1] : [v])] as const;
      }),
    );
    const views = pairs.map(({ t, scope }, i): WindowView => {
      const ranked = replies[2 * i] as string[];
      const data = replies[2 * i + 1] as Record<string, string>;
      const end = ranked.length >= 2 ? Number(ranked[ranked.length - 1]) : NaN;
      let cents = 0;
      let withdrawals = 0;
      const users = new Set<string>();
      for (let k = 0; k < ranked.length; k += 2) {
        if (!(Number(ranked[k + 1]) > end - t.windowMs)) continue;
        let d: { u?: unknown; c?: unknown; v?: unknown };
        try {
          d = JSON.parse(data[ranked[k]!] ?? '') as typeof d;
        } catch {
          continue;
        }
        if (!counted.get(scope)?.has(Number(d.v))) continue;
        withdrawals++;
        cents += Number(d.c) || 0;
        if (typeof d.u === 'string') users.add(d.u);
      }
      const usd = cents / 100;
      const value =
        t.kind === 'distinct-users' ? users.size : t.kind === 'distinct-withdrawals' ? withdrawals : usd;
      return {
        trigger: t.id,
        kind: t.kind,
        scope,
        windowMs: t.windowMs,
        threshold: t.threshold,
        value,
        users: [...users],
        withdrawals,
        usd,
        endsAt: Number.isFinite(end) ? new Date(end).toISOString() : null,
      };
    });
    return views;
  }

  /**
   * Publishes whatever the outboxes hold (changes, audit entries) and seals pending audit entries; the
   * service calls it periodically to retry failed publishes.
   */
  async flushOutbox(): Promise<number> {
    await this.sealer.seal();
    if (!this.opts.publish) return 0;
    const raw = await this.store(() => this.opts.redis.hgetall(this.keys.outbox));
    return this.publishOutbox(raw);
  }

  /** `at` of a change made at `ms`: never earlier than the newest event time processed. */
  private effectiveAt(ms: number): string {
    return new Date(Math.max(ms, this.eventTimeMs)).toISOString();
  }

  private async publishOutbox(raw: Record<string, string>): Promise<number> {
    const entries = Object.entries(raw ?? {});
    if (entries.length === 0 || !this.opts.publish) return 0;
    const changes = entries.map(([, json]) => parseChange(JSON.parse(json)));
    changes.sort((a, b) => a.scope.localeCompare(b.scope) || a.version - b.version);
    await this.opts.publish(changes);
    await this.store(() => this.scripts.run('ackOutbox', [this.keys.outbox], entries.flat()));
    return changes.length;
  }

  private async flushQuietly(): Promise<void> {
    try {
      await this.flushOutbox();
    } catch (err) {
      // The state is already in Redis (what guards read); the outbox keeps the change for the next flush.
      this.opts.logger.error({ err: errorMessage(err) }, 'publishing a breaker change failed; will retry');
    }
  }

  private async runHalt(
    scope: Scope,
    reason: string,
    trigger: string,
    by: string,
    atIso: string,
    crossedIso: string | null,
    nowIso: string,
    auditNoop: boolean,
    detail: Record<string, unknown> | undefined,
    origin: RequestOrigin | undefined,
  ): Promise<BreakerChange | null> {
    const raw = await this.store(() =>
      this.scripts.run<string>('halt', this.scopeKeys(scope), [
        scope,
        reason,
        trigger,
        by,
        atIso,
        nowIso,
        auditNoop ? '1' : '0',
        detail ? JSON.stringify(detail) : '',
        origin ? JSON.stringify(origin) : '',
        crossedIso ?? '',
      ]),
    );
    const r = JSON.parse(raw) as { r: string; change?: unknown };
    if (auditNoop || r.r === 'changed') await this.sealAuditQuietly();
    if (r.r !== 'changed') return null;
    const change = parseChange(r.change);
    this.recordChanges([change]);
    this.opts.logger.warn({ scope, trigger, by, reason, version: change.version }, 'breaker halted');
    await this.flushQuietly();
    return change;
  }

  private scopeKeys(scope: Scope): string[] {
    return [
      this.keys.state(scope),
      this.keys.approvals(scope),
      this.keys.audit,
      this.keys.outbox,
      this.keys.scopes,
    ];
  }

  private recordChanges(changes: BreakerChange[]): void {
    for (const c of changes) {
      this.opts.metrics?.state.set({ scope: c.scope }, c.state === 'halted' ? 1 : 0);
      this.opts.metrics?.changes.inc({ scope: c.scope, trigger: c.trigger });
      this.opts.metrics?.changedAt.set({ scope: c.scope }, Date.parse(c.at) / 1000);
      if (c.crossedAt !== null)
        this.opts.metrics?.crossedAt.set({ scope: c.scope }, Date.parse(c.crossedAt) / 1000);
      if (c.by === 'breaker')
        this.opts.logger.warn(
          { scope: c.scope, trigger: c.trigger, at: c.at, crossedAt: c.crossedAt, reason: c.reason },
          'breaker tripped',
        );
    }
  }

  private async exec(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
    return this.store(() => execPipeline(pipeline));
  }

  /** Redis failures become retriable StateStoreErrors; the caller pauses or answers 503. */
  private async store<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof BreakerError) throw err;
      throw new StateStoreError(`breaker state store: ${errorMessage(err)}`, err);
    }
  }
}

function checkReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim().length === 0)
    throw new BreakerError('EBADREQUEST', 'reason is required', { field: 'reason' });
  if (reason.length > MAX_REASON)
    throw new BreakerError('EBADREQUEST', `reason must be at most ${MAX_REASON} characters`, {
      field: 'reason',
    });
  if (hasUnsafeChars(reason))
    throw new BreakerError(
      'EBADREQUEST',
      'reason must not contain control or bidirectional formatting characters (such as U+202E)',
      { field: 'reason' },
    );
  return reason.trim();
}

function checkOperator(operator: unknown): void {
  if (typeof operator !== 'string' || !OPERATOR_PATTERN.test(operator) || operator === 'breaker')
    throw new BreakerError(
      'EBADREQUEST',
      'operator must be 1-64 characters of A-Z a-z 0-9 . _ @ - (not "breaker")',
      {
        field: 'operator',
      },
    );
}

export function defaultLabel(t: WindowTrigger): string {
  if (t.kind === 'distinct-users') return 'distinct users flagged';
  if (t.kind === 'distinct-withdrawals') return 'distinct withdrawals flagged';
  return 'USD flagged';
}

/** "10 min", "60 s", "1500 ms": for reasons people read. */
export function durationText(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
