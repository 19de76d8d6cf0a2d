import type { BreakerKeys } from '../keys/breaker';
import type { Logger } from '../logger';
import type { Redis } from '../redis';
import { entryHash, sealEntries, type ChainHead, type RawEntry, type SealedEntry } from './audit-chain';
import { sameDigest, type ControlKeyring } from './control-keys';
import type { AuditEntry } from './snapshot';

/** An operator request that no script recorded: refused before reaching one, or a read. */
export interface RequestRecord {
  /** The authenticated operator, when known. */
  operator?: string;
  address: string;
  method: string;
  route: string;
  status: number;
  scope?: string;
  /** Why it was refused (the error the client got). */
  detail?: string;
}

type Run = (
  name: 'sealAudit' | 'restoreTrail' | 'ackOutbox',
  keys: string[],
  args: string[],
) => Promise<unknown>;

export interface AuditSealerOptions {
  redis: Redis;
  keys: BreakerKeys;
  chainKeys: ControlKeyring | undefined;
  run: Run;
  logger: Logger;
  publish?: (entries: SealedEntry[]) => Promise<void>;
  load?: () => Promise<Record<string, unknown>[]>;
}

const BATCH = 200;
const MAX_ATTEMPTS = 20;

/**
 * Seals the audit inbox into the hash chain (libs/breaker/audit-chain.ts says why here and not in Lua),
 * publishes sealed entries to withdrawals.audit.v1 through an outbox, and rebuilds the trail from that topic
 * when Redis lost it. One seal at a time per instance; across instances the head's compare-and-set decides.
 */
export class AuditSealer {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: AuditSealerOptions) {}

  /** Appends a request record to the inbox (sealed by the next `seal`). */
  async append(r: RequestRecord, nowIso: string): Promise<void> {
    const entry: Record<string, unknown> = {
      recordedAt: nowIso,
      action: 'request',
      outcome: r.status < 400 ? 'answered' : 'refused',
      scope: r.scope ?? '',
      by: r.operator ?? '',
      reason: '',
      trigger: '',
      state: 'unknown',
      version: 0,
      address: r.address,
      method: r.method,
      route: r.route,
      status: r.status,
    };
    if (r.detail !== undefined) entry.detail = r.detail;
    await this.opts.redis.xadd(this.opts.keys.audit, '*', 'e', JSON.stringify(entry));
  }

  /** Seals everything pending and publishes it; resolves with the number sealed. */
  seal(): Promise<number> {
    const next = this.chain.then(() => this.sealNow());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Sealed entries, newest first; `before` is an entry id to page back from. */
  async read(limit: number, before?: string): Promise<AuditEntry[]> {
    const n = Math.max(1, Math.min(10_000, Math.floor(limit)));
    const end = before === undefined ? '+' : `(${before}`;
    const rows = await this.opts.redis.xrevrange(this.opts.keys.trail, end, '-', 'COUNT', n);
    return rows.map(([id, fields]) => ({ id, ...(JSON.parse(fields[1] ?? '{}') as SealedEntry) }));
  }

  private async sealNow(): Promise<number> {
    const k = this.opts.keys;
    let sealed = 0;
    let restoredOnce = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const [headRaw, inbox] = await Promise.all([
        this.opts.redis.get(k.trailHead),
        this.opts.redis.xrange(k.audit, '-', '+', 'COUNT', BATCH),
      ]);
      if (inbox.length === 0) break;
      let head = parseHead(headRaw);
      if (headRaw === null) {
        const last = await this.opts.redis.xrevrange(k.trail, '+', '-', 'COUNT', 1);
        if (last.length > 0) {
          // The head vanished but the trail is there: continue from its last entry.
          const e = JSON.parse(last[0]![1][1] ?? '{}') as Partial<SealedEntry>;
          head =
            typeof e.seq === 'number' && typeof e.hash === 'string' ? { seq: e.seq, hash: e.hash } : null;
        } else if (this.opts.load && !restoredOnce) {
          // Redis lost the trail: bring it back from the topic before chaining anything onto it.
          restoredOnce = true;
          await this.restoreFromTopic();
          continue;
        }
      }
      const raw = inbox.map(([, fields]) => JSON.parse(fields[1] ?? '{}') as RawEntry);
      const { sealed: entries, head: next } = sealEntries(raw, head, this.opts.chainKeys);
      const args = [headRaw ?? '', JSON.stringify(next)];
      inbox.forEach(([id, fields], i) => args.push(id, fields[1] ?? '', JSON.stringify(entries[i])));
      const n = Number(
        await this.opts.run('sealAudit', [k.audit, k.trail, k.trailHead, k.auditOutbox], args),
      );
      if (n < 0) continue; // another instance sealed meanwhile: read again
      sealed += n;
      if (inbox.length < BATCH) break;
    }
    await this.flush();
    return sealed;
  }

  /** Publishes the audit outbox in chain order, then removes what was published. */
  private async flush(): Promise<void> {
    if (!this.opts.publish) return;
    const raw = await this.opts.redis.hgetall(this.opts.keys.auditOutbox);
    const rows = Object.entries(raw ?? {});
    if (rows.length === 0) return;
    rows.sort((a, b) => Number(a[0]) - Number(b[0]));
    await this.opts.publish(rows.map(([, json]) => JSON.parse(json) as SealedEntry));
    await this.opts.run('ackOutbox', [this.opts.keys.auditOutbox], rows.flat());
  }

  /**
   * Rebuilds the trail from the topic (and whatever the audit outbox still holds). Only entries whose own
   * hash verifies are restored, each seq once, in order: a forgery on the topic does not become part of
   * the trail, and a gap stays visible to `bulwark audit verify`.
   */
  private async restoreFromTopic(): Promise<void> {
    const fromTopic = await this.opts.load!();
    const pending = Object.values(await this.opts.redis.hgetall(this.opts.keys.auditOutbox)).map(
      (j) => JSON.parse(j) as Record<string, unknown>,
    );
    const bySeq = new Map<number, Record<string, unknown>>();
    let rejected = 0;
    for (const e of [...fromTopic, ...pending]) {
      const seq = e.seq;
      if (typeof seq !== 'number' || typeof e.hash !== 'string') {
        rejected++;
        continue;
      }
      const { id: _id, hash, ...content } = e;
      const want = entryHash(content as Omit<SealedEntry, 'hash'>, this.opts.chainKeys);
      if (want === '' || !sameDigest(want, hash as string)) {
        rejected++;
        continue;
      }
      if (!bySeq.has(seq)) bySeq.set(seq, { ...content, hash });
    }
    const entries = [...bySeq.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => e);
    if (rejected > 0)
      this.opts.logger.error(
        { rejected },
        'audit topic entries whose hash does not verify were not restored',
      );
    if (entries.length === 0) return;
    const last = entries[entries.length - 1]!;
    const head: ChainHead = { seq: last.seq as number, hash: last.hash as string };
    const n = await this.opts.run(
      'restoreTrail',
      [this.opts.keys.trail, this.opts.keys.trailHead],
      [JSON.stringify(head), ...entries.map((e) => JSON.stringify(e))],
    );
    this.opts.logger.warn({ restored: n, head }, 'audit trail restored from the audit topic');
  }
}

function parseHead(raw: string | null): ChainHead | null {
  if (raw === null) return null;
  try {
    const h = JSON.parse(raw) as Partial<ChainHead>;
    if (typeof h.seq === 'number' && typeof h.hash === 'string') return { seq: h.seq, hash: h.hash };
  } catch {
    // fall through
  }
  return null;
}
