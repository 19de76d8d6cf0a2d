import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Cluster } from 'ioredis';
import { StateStoreError } from '../../errors';
import { userStateKey, windowStoreIndexKeys, type WindowStoreIndexKeys } from '../../keys';
import { execByNode, Scripts, type KeyedCommand, type RedisLike } from '../../redis';
import {
  parsePendingMember,
  parseUnackedMember,
  pendingMember,
  unackedMember,
  type PendingRef,
} from '../index-members';
import { emptyUserState } from './memory-store';
import { decodeUser, encodeUser } from './user-codec';
import type { StoreCommit, UnackedEntry, UserState, WindowStore } from './window-store';

export interface RedisWindowStoreOptions {
  redis: RedisLike;
  prefix: string;
  /** How long a user's state outlives its last write (ms): the engine's lookback, so nothing it reads expires. */
  ttlMs: number;
  /** Users whose committed state this process keeps, so a batch of theirs costs no read (default 10,000). */
  cacheUsers?: number;
}

type StoreScript = 'commitUser';

const storeError = (err: unknown) => new StateStoreError(`window store: ${(err as Error).message}`, err);

/**
 * The window store in Redis, the live one: each user's whole state is one string under the user's hash
 * tag, written by a version-checked script (no rule logic in Redis); two index keys find pending decisions
 * and unacked flags. Everything goes in one pipeline per Redis node, so a batch costs one round trip per
 * node to commit (plus one to read the users this process has not just written); it runs unchanged on a
 * Redis Cluster (where a commit adding index entries costs two, below).
 *
 * Order makes a crash harmless: index entries are added before the state that needs them (in the same
 * pipeline on one node) and removed after it no longer does (with the next round trip), so an index entry
 * may be stale, never missing. On a cluster the index keys and a user usually sit on different nodes,
 * whose pipelines run side by side: there a commit that adds index entries sends them first and the states
 * once they are written (two round trips), so a failover between the two cannot leave a state whose
 * decision or flag no index names.
 */
export class RedisWindowStore implements WindowStore {
  private readonly redis: RedisLike;
  private readonly prefix: string;
  private readonly index: WindowStoreIndexKeys;
  private readonly scripts: Scripts<StoreScript>;
  private readonly ttlMs: number;
  private readonly cacheUsers: number;
  /** Committed states by user, oldest first (a Map keeps insertion order). */
  private readonly cache = new Map<string, UserState>();
  /** The unacked flagIds of each state handed out, so its commit writes only the index entries that changed. */
  private readonly unackedAtLoad = new WeakMap<UserState, Set<string>>();
  /** Index removals owed by committed batches, sent ahead of the next round trip. */
  private owed: KeyedCommand[] = [];
  /** Names this process's writes, so a commit resent after a lost reply recognises its own (commitUser). */
  private readonly writerId = randomBytes(6).toString('base64url');
  private writes = 0;

  constructor(opts: RedisWindowStoreOptions) {
    this.redis = opts.redis;
    this.prefix = opts.prefix;
    this.index = windowStoreIndexKeys(opts.prefix);
    this.scripts = new Scripts<StoreScript>(opts.redis, path.join(__dirname, 'lua'));
    this.ttlMs = Math.max(1, Math.ceil(opts.ttlMs));
    this.cacheUsers = opts.cacheUsers ?? 10_000;
  }

  async load(userIds: readonly string[]): Promise<Map<string, UserState>> {
    const out = new Map<string, UserState>();
    const missing: string[] = [];
    for (const id of userIds) {
      const cached = this.cache.get(id);
      // Checked out: a failed or refused commit never leaves a changed object in the cache.
      if (cached) {
        this.cache.delete(id);
        out.set(id, cached);
        this.unackedAtLoad.set(cached, new Set(cached.unacked.keys()));
      } else missing.push(id);
    }
    for (const [id, u] of await this.read(missing)) {
      out.set(id, u);
      this.unackedAtLoad.set(u, new Set(u.unacked.keys()));
    }
    return out;
  }

  async commit(commit: StoreCommit): Promise<string[]> {
    const before: KeyedCommand[] = [];
    for (const { ref, dueMs } of commit.pendingAdded) {
      const member = pendingMember(ref);
      before.push({ key: this.index.pending, queue: (p) => p.zadd(this.index.pending, dueMs, member) });
    }
    const writes: KeyedCommand[] = [];
    for (const u of commit.users) {
      const seen = this.unackedAtLoad.get(u);
      for (const [flagId, flag] of u.unacked)
        if (!seen?.has(flagId)) {
          const member = unackedMember({ userId: u.userId, flagId });
          // Scored by decision time: the flag watermark stays below the oldest flag not yet produced.
          const at = Date.parse(flag.raisedAt);
          before.push({ key: this.index.unacked, queue: (p) => p.zadd(this.index.unacked, at, member) });
        }
      const key = userStateKey(this.prefix, u.userId);
      const keep = u.pending.length > 0 || u.unacked.size > 0 ? 0 : this.ttlMs;
      const state = encodeUser(u);
      const writer = `${this.writerId}.${(this.writes++).toString(36)}`;
      writes.push({
        key,
        queue: (p) => this.scripts.queue(p, 'commitUser', [key], [u.version, state, keep, writer]),
      });
    }
    let versions: unknown[];
    if (this.redis instanceof Cluster && before.length > 0) {
      await this.send(before);
      versions = await this.send(writes);
    } else versions = (await this.send([...before, ...writes])).slice(before.length);
    const refused: string[] = [];
    const settled = new Map<string, PendingRef[]>();
    for (const ref of commit.pendingSettled) {
      const list = settled.get(ref.userId);
      if (list) list.push(ref);
      else settled.set(ref.userId, [ref]);
    }
    commit.users.forEach((u, i) => {
      const version = Number(versions[i]);
      if (!(version > 0)) {
        refused.push(u.userId);
        return;
      }
      u.version = version;
      const acked = [...(this.unackedAtLoad.get(u) ?? [])].filter((f) => !u.unacked.has(f));
      this.unackedAtLoad.set(u, new Set(u.unacked.keys()));
      this.remember(u);
      for (const flagId of acked) {
        const member = unackedMember({ userId: u.userId, flagId });
        this.owed.push({ key: this.index.unacked, queue: (p) => p.zrem(this.index.unacked, member) });
      }
      for (const ref of settled.get(u.userId) ?? []) {
        const member = pendingMember(ref);
        this.owed.push({ key: this.index.pending, queue: (p) => p.zrem(this.index.pending, member) });
      }
    });
    return refused;
  }

  async due(watermarkMs: number, limit: number): Promise<PendingRef[]> {
    const key = this.index.pending;
    const [reply] = await this.send([
      { key, queue: (p) => p.zrangebyscore(key, '-inf', watermarkMs, 'LIMIT', 0, limit) },
    ]);
    const refs: PendingRef[] = [];
    for (const member of reply as string[]) {
      const ref = parsePendingMember(member);
      if (ref) refs.push(ref);
      else this.owed.push({ key, queue: (p) => p.zrem(key, member) }); // not ours: dropped, never retried
    }
    return refs;
  }

  async usersWithUnacked(): Promise<string[]> {
    const { unacked: key, legacyUnacked: legacy } = this.index;
    const [reply, legacyType] = await this.send([
      { key, queue: (p) => p.zrange(key, 0, -1) },
      { key: legacy, queue: (p) => p.type(legacy) },
    ]);
    const users = new Set<string>();
    for (const member of reply as string[]) {
      const ref = parseUnackedMember(member);
      if (ref) users.add(ref.userId);
    }
    if (legacyType !== 'none')
      for (const userId of await this.moveLegacyUnacked(String(legacyType))) users.add(userId);
    return [...users];
  }

  /**
   * Earlier versions kept the unacked index under the key now `legacyUnacked`: a SET without times (then a
   * ZSET). Its entries go into the current index, scored by each flag's decision time from its user's state,
   * before the old key is deleted. Returns the users named.
   */
  private async moveLegacyUnacked(type: string): Promise<string[]> {
    const legacy = this.index.legacyUnacked;
    const [members] = await this.send([
      { key: legacy, queue: (p) => (type === 'zset' ? p.zrange(legacy, 0, -1) : p.smembers(legacy)) },
    ]);
    const refs = (members as string[]).map(parseUnackedMember).filter((r) => r !== null);
    const states = await this.read([...new Set(refs.map((r) => r.userId))]);
    const key = this.index.unacked;
    const adds: KeyedCommand[] = [];
    for (const r of refs) {
      const flag = states.get(r.userId)?.unacked.get(r.flagId);
      if (!flag) continue; // acked since: nothing to hand back
      const member = unackedMember(r);
      const at = Date.parse(flag.raisedAt);
      adds.push({ key, queue: (p) => p.zadd(key, at, member) });
    }
    await this.send(adds);
    await this.send([{ key: legacy, queue: (p) => p.del(legacy) }]);
    return [...states.keys()];
  }

  /**
   * The oldest entries of the unacked index (by decision time), at most `limit`, each with what its user's
   * state in Redis says of the flag, read afresh (not from this process's cache, which another instance may
   * have overtaken).
   */
  async unackedIndexHead(limit: number): Promise<UnackedEntry[]> {
    const key = this.index.unacked;
    const [reply] = await this.send([{ key, queue: (p) => p.zrange(key, 0, limit - 1) }]);
    const members = reply as string[];
    const refs = members.map(parseUnackedMember);
    const states = await this.read([...new Set(refs.filter((r) => r !== null).map((r) => r.userId))]);
    return members.map((member, i): UnackedEntry => {
      const ref = refs[i];
      if (!ref) return { member, status: 'invalid' };
      const u = states.get(ref.userId);
      const status = u?.unacked.has(ref.flagId) ? 'unacked' : u?.raised.has(ref.flagId) ? 'acked' : 'unknown';
      return { member, ref, status };
    });
  }

  async dropUnacked(members: readonly string[]): Promise<void> {
    const key = this.index.unacked;
    await this.send(members.map((m) => ({ key, queue: (p) => p.zrem(key, m) })));
  }

  /**
   * The users' states as Redis holds them now, in one round trip (which also carries what is owed, even
   * for no users): neither from nor into the cache, not checked out.
   */
  private async read(userIds: readonly string[]): Promise<Map<string, UserState>> {
    const replies = await this.send(
      userIds.map((id) => {
        const k = userStateKey(this.prefix, id);
        return { key: k, queue: (p) => p.get(k) };
      }),
    );
    return new Map(userIds.map((id, i) => [id, this.decode(id, replies[i])]));
  }

  async pendingCount(): Promise<number> {
    const key = this.index.pending;
    const [reply] = await this.send([{ key, queue: (p) => p.zcard(key) }]);
    return Number(reply);
  }

  /**
   * Deletes every user's state and both index keys of this prefix, on every master of a cluster, and what
   * this process holds of them. SCAN, so it never blocks Redis; run while no engine writes.
   */
  async clear(): Promise<number> {
    this.cache.clear();
    this.owed = [];
    const escaped = this.prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
    const nodes = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    let deleted = 0;
    for (const node of nodes)
      for (const pattern of [`${escaped}:{u:*}:st`, `${escaped}:store:*`]) {
        let cursor = '0';
        do {
          const [next, keys] = await this.guard(() => node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000));
          cursor = next;
          // One key per command: keys of different slots may not share one on a cluster.
          if (keys.length > 0) {
            const p = node.pipeline();
            for (const k of keys) p.unlink(k);
            const replies = await this.guard(() => p.exec());
            for (const [err, n] of replies ?? []) if (!err) deleted += Number(n);
          }
        } while (cursor !== '0');
      }
    return deleted;
  }

  private async guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Drops what this process holds of the users' state, as a restart would (tests, and after Redis lost data). */
  forget(): void {
    this.cache.clear();
  }

  private remember(u: UserState): void {
    if (this.cacheUsers <= 0) return;
    this.cache.set(u.userId, u);
    if (this.cache.size > this.cacheUsers) this.cache.delete(this.cache.keys().next().value!);
  }

  async flush(): Promise<void> {
    await this.send([]);
  }

  /**
   * One round trip (per node): what earlier commits owe first, then `commands`. Returns the replies to
   * `commands`; any command's error fails the call (the engine retries the batch, or it is redelivered).
   */
  private async send(commands: KeyedCommand[]): Promise<unknown[]> {
    const owed = this.owed;
    if (owed.length === 0 && commands.length === 0) return [];
    this.owed = [];
    let replies: [Error | null, unknown][];
    try {
      replies = await execByNode(this.redis, [...owed, ...commands]);
    } catch (err) {
      this.owed = owed.concat(this.owed);
      throw storeError(err);
    }
    const failed = replies.find(([err]) => err !== null);
    if (failed) {
      this.owed = owed.concat(this.owed); // removals are idempotent: sent again next time
      throw storeError(failed[0]);
    }
    return replies.slice(owed.length).map(([, value]) => value);
  }

  private decode(userId: string, reply: unknown): UserState {
    if (reply === null || reply === undefined) return emptyUserState(userId);
    const text = String(reply);
    const nl = text.indexOf('\n');
    // "<version> <writer>\n<state>"; the writer token only matters to commitUser.
    const version = nl > 0 ? Number(text.slice(0, nl).split(' ', 1)[0]) : NaN;
    try {
      if (!Number.isSafeInteger(version) || version <= 0) throw new Error('no version');
      return decodeUser(userId, text.slice(nl + 1), version);
    } catch (err) {
      throw new StateStoreError(
        `window store: ${userStateKey(this.prefix, userId)} does not hold a user's state (${(err as Error).message})`,
        err,
      );
    }
  }
}
