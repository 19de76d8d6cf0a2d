import { emptyFacts } from '../../rules';
import { MinHeap } from '../../simulate/heap';
import type { PendingRef } from '../index-members';
import type { StoreCommit, UnackedEntry, UserState, WindowStore } from './window-store';

export function emptyUserState(userId: string): UserState {
  return {
    userId,
    version: 0,
    events: new Map(),
    raised: new Map(),
    unacked: new Map(),
    pending: [],
    facts: emptyFacts(),
    seen: 0,
  };
}

interface DueEntry {
  t: number;
  seq: number;
  ref: PendingRef;
}

/**
 * The window store held in this process: for replays and tests. `load` hands out the live objects, so a
 * commit has nothing to copy; the pending index is a heap, settled entries are skipped when they surface.
 */
export class MemoryWindowStore implements WindowStore {
  private readonly users = new Map<string, UserState>();
  private index = new MinHeap<DueEntry>();
  private readonly inIndex = new Set<string>();
  private seq = 0;

  async load(userIds: readonly string[]): Promise<Map<string, UserState>> {
    return this.loadNow(userIds);
  }

  /** `load` without the promise, for callers that run synchronously. */
  loadNow(userIds: readonly string[]): Map<string, UserState> {
    const out = new Map<string, UserState>();
    for (const id of userIds) out.set(id, this.user(id));
    return out;
  }

  user(userId: string): UserState {
    let u = this.users.get(userId);
    if (!u) this.users.set(userId, (u = emptyUserState(userId)));
    return u;
  }

  /** Never refuses a user: every engine on this store works on the same objects. */
  async commit(commit: StoreCommit): Promise<string[]> {
    this.commitNow(commit);
    return [];
  }

  commitNow(commit: StoreCommit): void {
    for (const { ref, dueMs } of commit.pendingAdded) {
      const k = key(ref);
      if (this.inIndex.has(k)) continue;
      this.inIndex.add(k);
      this.index.push({ t: dueMs, seq: this.seq++, ref });
    }
    // After the additions: a batch may add a decision and settle it inline.
    for (const ref of commit.pendingSettled) this.inIndex.delete(key(ref));
  }

  /** Nothing is ever owed: commits apply at once. */
  async flush(): Promise<void> {}

  async due(watermarkMs: number, limit: number): Promise<PendingRef[]> {
    return this.dueNow(watermarkMs, limit);
  }

  dueNow(watermarkMs: number, limit: number): PendingRef[] {
    const out: PendingRef[] = [];
    while (out.length < limit) {
      const top = this.index.peek();
      if (!top || top.t > watermarkMs) break;
      this.index.pop();
      // Settled since it was indexed: skipped (the index is only a way to find due users).
      if (this.inIndex.delete(key(top.ref))) out.push(top.ref);
    }
    return out;
  }

  async usersWithUnacked(): Promise<string[]> {
    const out: string[] = [];
    for (const u of this.users.values()) if (u.unacked.size > 0) out.push(u.userId);
    return out;
  }

  /** No unacked index: the users themselves are the truth. */
  async unackedIndexHead(): Promise<UnackedEntry[]> {
    return [];
  }

  async dropUnacked(): Promise<void> {}

  async pendingCount(): Promise<number> {
    return this.inIndex.size;
  }

  async clear(): Promise<number> {
    const n = this.users.size;
    this.users.clear();
    this.index = new MinHeap<DueEntry>();
    this.inIndex.clear();
    return n;
  }

  /** How many users the store holds. */
  get size(): number {
    return this.users.size;
  }
}

const key = (ref: PendingRef) => `${ref.userId}\u0000${ref.eventId}`;
