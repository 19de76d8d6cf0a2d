import { createHash } from 'node:crypto';
import { canonicalJson, hmacHex, sameDigest, type ControlKeyring } from './control-keys';
import type { AuditEntry } from './snapshot';

/**
 * The audit trail's hash chain (contract section 6). Each entry carries `seq` (from 1, no gaps), `prev`
 * (the hash of the entry before) and `hash`: HMAC-SHA-256 with the breaker's signing key over the canonical
 * JSON of every other field, so someone with write access to Redis or the audit topic, but not the key,
 * can neither alter, insert nor delete an entry unnoticed. Without a key (in-process replays) the hash is
 * plain SHA-256: it detects accidents, not an adversary.
 *
 * The chain is computed here, in TypeScript, not in the Lua scripts that append entries: Redis Lua offers
 * only SHA-1 (`redis.sha1hex`) and, more to the point, must not hold the key, or anyone able to run a
 * script could forge entries. The scripts append raw entries to an inbox atomically with the change; the
 * breaker seals them into the chain right after (see `AuditSealer`).
 */
export type SealedEntry = Omit<AuditEntry, 'id'>;
export type RawEntry = Omit<SealedEntry, 'seq' | 'prev' | 'hash' | 'kid'>;

export const GENESIS = '0'.repeat(64);

export interface ChainHead {
  seq: number;
  hash: string;
}

export function entryHash(content: Omit<SealedEntry, 'hash'>, keys: ControlKeyring | undefined): string {
  const text = canonicalJson(content);
  if (!keys) return createHash('sha256').update(text, 'utf8').digest('hex');
  const key = content.kid === null ? undefined : keys.byKid.get(content.kid);
  if (!key) return '';
  return hmacHex(key, text);
}

/** Links raw entries onto `head` (null: the trail is empty) with the current key. */
export function sealEntries(
  raw: RawEntry[],
  head: ChainHead | null,
  keys: ControlKeyring | undefined,
): { sealed: SealedEntry[]; head: ChainHead | null } {
  let seq = head?.seq ?? 0;
  let prev = head?.hash ?? GENESIS;
  const kid = keys?.current.kid ?? null;
  const sealed = raw.map((r) => {
    seq++;
    const content = { ...stripChain(r), seq, prev, kid };
    const hash = entryHash(content, keys);
    prev = hash;
    return { ...content, hash };
  });
  return { sealed, head: sealed.length === 0 ? head : { seq, hash: prev } };
}

function stripChain(r: Record<string, unknown>): RawEntry {
  const { id: _i, seq: _s, prev: _p, hash: _h, kid: _k, ...rest } = r;
  return rest as unknown as RawEntry;
}

export type TrailVerdict =
  | { ok: true; entries: number; head: ChainHead | null; duplicates: number }
  | { ok: false; seq: number; problem: string; entries: number };

/**
 * Checks a trail in ascending order: every hash recomputed with the key its `kid` names, `prev` equal to
 * the hash before, `seq` without gaps from `firstSeq`. Names the first bad entry. `allowDuplicates` (the
 * topic, which is written at least once) skips an exact repeat of the entry before.
 */
export function verifyTrail(
  entries: Record<string, unknown>[],
  keys: ControlKeyring | undefined,
  opts: { allowDuplicates?: boolean; firstSeq?: number } = {},
): TrailVerdict {
  let expectSeq = opts.firstSeq ?? 1;
  let prev: string | null = expectSeq === 1 ? GENESIS : null;
  let duplicates = 0;
  let count = 0;
  let last: ChainHead | null = null;
  const bad = (seq: number, problem: string): TrailVerdict => ({ ok: false, seq, problem, entries: count });
  for (const e of entries) {
    const seq = typeof e.seq === 'number' ? e.seq : NaN;
    const hash = typeof e.hash === 'string' ? e.hash : '';
    if (opts.allowDuplicates && last && seq === last.seq && hash === last.hash) {
      duplicates++;
      continue;
    }
    count++;
    if (!Number.isInteger(seq)) return bad(expectSeq, 'an entry without a sequence number (inserted)');
    const { id: _id, hash: _h, ...content } = e;
    const want = entryHash(content as Omit<SealedEntry, 'hash'>, keys);
    if (want === '') return bad(seq, `entry ${seq} is signed with an unknown key id ${String(e.kid)}`);
    if (!sameDigest(want, hash))
      return bad(seq, `entry ${seq}: its hash does not match its content (altered or forged)`);
    if (seq < expectSeq)
      return bad(seq, `entry ${seq} appears after entry ${expectSeq - 1} (inserted or reordered)`);
    if (seq > expectSeq)
      return bad(
        seq,
        seq === expectSeq + 1
          ? `entry ${expectSeq} is missing (deleted) before entry ${seq}`
          : `entries ${expectSeq}..${seq - 1} are missing (deleted) before entry ${seq}`,
      );
    if (prev !== null && e.prev !== prev)
      return bad(seq, `entry ${seq}: prev does not match the hash of entry ${seq - 1}`);
    prev = hash;
    last = { seq, hash };
    expectSeq = seq + 1;
  }
  return { ok: true, entries: count, head: last, duplicates };
}
