import { keyPart } from './part';

/**
 * Rule engine keys. Per-user state shares the `{u:<userId>}` hash tag, so every Lua script touches one slot
 * and runs unchanged on Redis Cluster; suffixes are two letters because they repeat in every user's keys.
 * The three engine-wide keys are single-key structures, only ever touched by plain commands (never inside a
 * per-user script), so they need no tag of their own.
 */
export interface EngineUserKeys {
  /** ZSET eventId -> occurredAtMs: applied events, for dedup (trimmed past the dedup horizon). */
  events: string;
  /** ZSET flagId -> raisedAtMs: every flag raised, acked or not (at most one per rule per withdrawal). */
  flags: string;
  /** HASH flagId -> flag record: raised but not yet acked by the caller. */
  unacked: string;
  /** ZSET pending decision ("<head>\n<claims>\n<base>") -> due time (occurredAt + grace). */
  pending: string;
  /** ZSET normalised address -> latest whitelisting time. */
  whitelist: string;
  /** ZSET "<amountUsd>|<withdrawalId>" -> first approval time (velocity windows). */
  velocity: string;
  /** ZSET "<atMs>|<factor>|<sessionId>" -> atMs: mfa.passed events. */
  mfaPassed: string;
  /** ZSET "<atMs>|<type>|<factor>" -> atMs: mfa.reset and mfa.enrolled events. */
  mfaChanges: string;
  /**
   * HASH "s:<sessionId>" -> "<loginAtMs>|<device last seen before, or empty>|<deviceId>" and
   * "d:<deviceId>" -> last successful login time.
   */
  logins: string;
}

/** The hash tag of one user's keys. */
export function userTag(userId: string): string {
  return `{u:${keyPart(userId)}}`;
}

/** All of one user's engine keys under `prefix`. */
export function engineUserKeys(prefix: string, userId: string): EngineUserKeys {
  const base = `${prefix}:${userTag(userId)}:`;
  return {
    events: `${base}ev`,
    flags: `${base}fl`,
    unacked: `${base}fu`,
    pending: `${base}pd`,
    whitelist: `${base}wl`,
    velocity: `${base}vl`,
    mfaPassed: `${base}mp`,
    mfaChanges: `${base}mc`,
    logins: `${base}lg`,
  };
}

export interface EngineGlobalKeys {
  /** ZSET "[userId, eventId, withdrawalId]" -> due: every pending decision, so closeDue finds them. */
  pendingIndex: string;
  /** ZSET "[userId, flagId]" -> raisedAtMs: flags decided by closeDue and not yet acked. */
  unackedIndex: string;
  /** HASH source -> "<maxEventTimeMs>|<caughtUp 0/1>|<lastArrivalWallMs>": event-time progress per input. */
  progress: string;
  /**
   * STRING ms: the flag watermark, every flag decided at or before it is in Kafka (libs/engine/flag-watermark.ts);
   * written by the detector, read by the breaker to count flags in event-time order.
   */
  flagWatermark: string;
}

/** The engine-wide keys under `prefix`. */
export function engineGlobalKeys(prefix: string): EngineGlobalKeys {
  return {
    pendingIndex: `${prefix}:engine:pending`,
    unackedIndex: `${prefix}:engine:unacked`,
    progress: `${prefix}:engine:progress`,
    flagWatermark: `${prefix}:engine:flagwm`,
  };
}

/**
 * HASH: the state epoch marker (libs/engine/state-epoch.ts), shared by the detector and the breaker under one
 * prefix. Written at the first start; its disappearance is how a Redis that lost its data is noticed.
 */
export function stateEpochKey(prefix: string): string {
  return `${prefix}:epoch`;
}

/**
 * STRING "<version>\n<state>": one user's whole window state in the Redis window store
 * (libs/engine/store/redis-store.ts), under the user's hash tag.
 */
export function userStateKey(prefix: string, userId: string): string {
  return `${prefix}:${userTag(userId)}:st`;
}

export interface WindowStoreIndexKeys {
  /** ZSET "[userId, eventId, withdrawalId]" -> due ms: pending decisions, so closeDue finds their users. */
  pending: string;
  /** SET "[userId, flagId]": flags raised and not yet acked, so a restart hands them back. */
  unacked: string;
}

/** The Redis window store's engine-wide index keys under `prefix` (one key each, so one slot each). */
export function windowStoreIndexKeys(prefix: string): WindowStoreIndexKeys {
  return { pending: `${prefix}:store:pending`, unacked: `${prefix}:store:unacked` };
}
