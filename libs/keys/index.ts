/**
 * Every Redis key Bulwark uses is built in this folder (after BullMQ's QueueKeys): one prefix per
 * deployment, replay or test, so isolation is a matter of choosing a prefix, and Redis Cluster gets
 * `{hash tags}`: all keys one script touches share a tag (`{u:<userId>}` for per-user state).
 *   libs/keys/engine.ts  - rule engine state (per-user windows, pending decisions, progress)
 *   libs/keys/breaker.ts - breaker state, audit, platform-wide windows
 */
export * from './engine';
export * from './breaker';

export { keyPart } from './part';
