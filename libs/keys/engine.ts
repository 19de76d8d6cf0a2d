import { keyPart } from './part';

/**
 * Rule engine keys. A user's state (the window store's one string per user) sits under the `{u:<userId>}`
 * hash tag, so it lives in one slot of a Redis Cluster; the engine-wide keys are single-key structures,
 * only ever touched by plain commands or one-key scripts, so they need no tag of their own.
 */

/** The hash tag of one user's keys. */
export function userTag(userId: string): string {
  return `{u:${keyPart(userId)}}`;
}

export interface EngineGlobalKeys {
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
  /**
   * ZSET "[userId, flagId]" -> raisedAtMs: flags raised and not yet acked, so a restart hands them back and
   * the flag watermark stays below the oldest of them.
   */
  unacked: string;
  /** SET "[userId, flagId]": the unacked index of earlier versions, moved into `unacked` once, then deleted. */
  legacyUnacked: string;
}

/** The Redis window store's engine-wide index keys under `prefix` (one key each, so one slot each). */
export function windowStoreIndexKeys(prefix: string): WindowStoreIndexKeys {
  return {
    pending: `${prefix}:store:pending`,
    unacked: `${prefix}:store:unacked-at`,
    legacyUnacked: `${prefix}:store:unacked`,
  };
}
