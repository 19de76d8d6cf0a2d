import type { WithdrawalApproved } from '../../events';
import type { UserFacts } from '../../rules';
import type { PendingRef, UnackedRef } from '../index-members';
import type { Flag } from '../types';

/** An approval waiting for the grace period to end before the rules that read the other stream decide. */
export interface PendingDecision {
  approval: WithdrawalApproved;
  /** `occurredAt + grace` (event time, ms): decided once the watermark has reached it. */
  dueMs: number;
  /** Ids of the rules still to decide (mfa-missing drops out when the claims already flagged). */
  ruleIds: string[];
}

/** Everything the engine keeps about one user: plain data, the same in every store. */
export interface UserState {
  userId: string;
  /** The store's version of this state when loaded (a commit is refused when it moved on meanwhile). */
  version: number;
  /** eventId -> event time in whole seconds: a repeated (userId, eventId) is a duplicate. */
  events: Map<string, number>;
  /** flagId -> raisedAt (ms): each rule flags a withdrawal once. */
  raised: Map<string, number>;
  /** Flags raised and not yet acked (produced durably), by flagId: handed back after a crash. */
  unacked: Map<string, Flag>;
  pending: PendingDecision[];
  facts: UserFacts;
  /** Events of this user this engine has applied since it started (paces trimming; not persisted). */
  seen: number;
}

/** What one batch changed: the users it touched, and the pending index entries it added or settled. */
export interface StoreCommit {
  users: readonly UserState[];
  pendingAdded: readonly { ref: PendingRef; dueMs: number }[];
  pendingSettled: readonly PendingRef[];
}

/**
 * Where the engine's state lives, behind one interface: the facts per user, dedup, raised flags, pending
 * decisions and the engine-wide index of them. A batch costs one `load` and one `commit` (one round trip
 * each for a remote store); all rule logic runs in the engine, never in the store.
 */
/**
 * An entry of the unacked index and its flag's state: `unacked` (waiting to be produced), `acked` (raised
 * and acked: the entry is stale), `unknown` (not raised in the stored state: a commit in flight, refused or
 * cut short), `invalid` (a member that does not parse).
 */
export interface UnackedEntry {
  member: string;
  ref?: UnackedRef;
  status: 'unacked' | 'acked' | 'unknown' | 'invalid';
}

export interface WindowStore {
  /** The state of each user (empty for one never seen). */
  load(userIds: readonly string[]): Promise<Map<string, UserState>>;
  /**
   * Makes what a batch changed durable, atomically per user. Returns the users it could not write because
   * another engine changed their state since `load` (the caller decides them again on the new state).
   */
  commit(commit: StoreCommit): Promise<string[]>;
  /** Pending decisions due at or before `watermarkMs`, oldest first, at most `limit`. */
  due(watermarkMs: number, limit: number): Promise<PendingRef[]>;
  /** Users that hold unacked flags. */
  usersWithUnacked(): Promise<string[]>;
  /**
   * The oldest entries of the unacked index by decision time, at most `limit`, each with what its user's
   * stored state says of its flag (none for a store without an index).
   */
  unackedIndexHead(limit: number): Promise<UnackedEntry[]>;
  /** Removes entries (members as `unackedIndexHead` gave them) from the unacked index. */
  dropUnacked(members: readonly string[]): Promise<void>;
  /** Pending decisions in the index. */
  pendingCount(): Promise<number>;
  /** Deletes every user's state and the indexes; returns how many keys (or users) went. */
  clear(): Promise<number>;
  /**
   * Sends index removals that earlier commits owe (a store may hold them for its next round trip): after
   * an ack, so the flag watermark no longer waits for the acked flags.
   */
  flush(): Promise<void>;
}
