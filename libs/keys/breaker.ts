import { keyPart } from './part';

/**
 * Breaker keys. Every one carries the same `{breaker}` hash tag, so every script (a flag landing in a
 * window and tripping a scope, a resume clearing approvals) touches one Redis Cluster slot.
 *
 *   state:<scope>        string, JSON snapshot `{scope,state,since,reason,trigger,by,version}`; the guard MGETs it
 *   approvals:<scope>    hash operator -> JSON `{reason, atMs, version}`: pending four-eyes resume approvals
 *   win:<trigger>:<scope> zset member -> event time (ms): the trigger's sliding window for that target scope
 *   wind:<trigger>:<scope> hash member -> JSON `{u, c, v, t}`: user, cents, scope version, event time (ISO)
 *   winb:<trigger>:<scope> hash `n:<bucket>` / `c:<bucket>` -> count / cents per time bucket (a cheap upper bound)
 *   winu:<trigger>:<scope>, winv:<trigger>:<scope> zsets user -> earliest / latest event time (distinct-users bound)
 *   audit                stream: the audit inbox, raw entries the scripts append atomically with each change
 *   trail                stream: the sealed audit trail (hash-chained entries), append-only, never trimmed
 *   trailhead            string JSON `{seq, hash}`: the chain's last sealed entry (compare-and-set)
 *   auditoutbox          hash seq -> sealed entry JSON not yet confirmed on withdrawals.audit.v1
 *   outbox               hash scope -> JSON change not yet confirmed on the control topic
 *   scopes               set of scopes that ever had a snapshot (metrics refresh, restore)
 */
export interface BreakerKeys {
  state(scope: string): string;
  approvals(scope: string): string;
  window(triggerId: string, scope: string): string;
  windowData(triggerId: string, scope: string): string;
  windowBuckets(triggerId: string, scope: string): string;
  windowUserFirst(triggerId: string, scope: string): string;
  windowUserLast(triggerId: string, scope: string): string;
  audit: string;
  trail: string;
  trailHead: string;
  auditOutbox: string;
  outbox: string;
  scopes: string;
}

export const BREAKER_HASH_TAG = '{breaker}';

export function breakerKeys(prefix: string): BreakerKeys {
  const base = `${prefix}:${BREAKER_HASH_TAG}`;
  return {
    state: (scope) => `${base}:state:${keyPart(scope)}`,
    approvals: (scope) => `${base}:approvals:${keyPart(scope)}`,
    window: (triggerId, scope) => `${base}:win:${keyPart(triggerId)}:${keyPart(scope)}`,
    windowData: (triggerId, scope) => `${base}:wind:${keyPart(triggerId)}:${keyPart(scope)}`,
    windowBuckets: (triggerId, scope) => `${base}:winb:${keyPart(triggerId)}:${keyPart(scope)}`,
    windowUserFirst: (triggerId, scope) => `${base}:winu:${keyPart(triggerId)}:${keyPart(scope)}`,
    windowUserLast: (triggerId, scope) => `${base}:winv:${keyPart(triggerId)}:${keyPart(scope)}`,
    audit: `${base}:audit`,
    trail: `${base}:trail`,
    trailHead: `${base}:trailhead`,
    auditOutbox: `${base}:auditoutbox`,
    outbox: `${base}:outbox`,
    scopes: `${base}:scopes`,
  };
}
