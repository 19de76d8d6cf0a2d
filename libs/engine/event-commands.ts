import type { BulwarkEvent, WithdrawalApproved } from '../events';
import type { EngineUserKeys } from '../keys';
import { claimsVerdict, normaliseAddress } from '../rules';
import { flagBase } from './flag-records';
import { pendingMember } from './index-members';
import type { RulePlan } from './rule-plan';

/** The engine's per-user Lua scripts, by the camelName of their file. */
export type ScriptName =
  | 'recordEvent'
  | 'applyWhitelist'
  | 'applyMfa'
  | 'applyMfaChange'
  | 'applyLogin'
  | 'applyApproval'
  | 'closeDue';

export const USER_SCRIPTS: readonly ScriptName[] = [
  'recordEvent',
  'applyWhitelist',
  'applyMfa',
  'applyMfaChange',
  'applyLogin',
  'applyApproval',
  'closeDue',
];

/**
 * A user's lists are trimmed (by event time and size) on one event in this many of theirs, and on their
 * first event seen by this instance: trimming only bounds memory, and doing it on every event would cost
 * two more Redis calls per event.
 */
export const MAINTAIN_EVERY = 4;

/** One user's KEYS arrays per script, built once per user and reused for every event (no allocation). */
export interface UserScriptKeys {
  keys: EngineUserKeys;
  /** Events of this user seen by this instance (paces the trimming). */
  seen: number;
  record: string[];
  whitelist: string[];
  mfa: string[];
  change: string[];
  login: string[];
  approval: string[];
  close: string[];
}

export function userScriptKeys(k: EngineUserKeys): UserScriptKeys {
  return {
    keys: k,
    seen: 0,
    record: [k.events],
    whitelist: [k.events, k.whitelist],
    mfa: [k.events, k.mfaPassed],
    change: [k.events, k.mfaChanges],
    login: [k.events, k.logins],
    approval: [k.events, k.flags, k.unacked, k.pending, k.whitelist, k.velocity],
    close: [k.pending, k.flags, k.unacked, k.mfaPassed, k.mfaChanges, k.logins],
  };
}

/** One event as one script call, plus the pending-index entry to add right after it, if any. */
export interface EventCommand {
  script: ScriptName;
  keys: string[];
  args: (string | number)[];
  pending?: { due: number; member: string };
}

/**
 * The trim time handed to a script: "" when this event does no maintenance, else the event time behind
 * which the user's lists may be trimmed. It is never past the watermark (`watermarkMs`, the event time every
 * input has reached): an approval on a lagging wallet partition still reads the MFAs that a faster auth
 * partition wrote hours of event time ahead of it. Without a watermark only the size caps trim.
 */
export function trimTime(t: number, watermarkMs: number | undefined, maintain: boolean): string {
  if (!maintain) return '';
  if (watermarkMs === undefined || !Number.isFinite(watermarkMs)) return '0';
  return String(Math.floor(Math.max(0, Math.min(t, watermarkMs))));
}

/**
 * Translates an event into the script call that applies it. Events no enabled rule reads are still
 * recorded (dedup), so their redelivery counts as a duplicate. `watermarkMs` bounds trimming (see trimTime).
 */
export function eventCommand(
  event: BulwarkEvent,
  plan: RulePlan,
  k: UserScriptKeys,
  watermarkMs?: number,
): EventCommand {
  const t = event.occurredAtMs;
  const trimAt = trimTime(t, watermarkMs, k.seen++ % MAINTAIN_EVERY === 0);
  switch (event.type) {
    case 'withdrawal.approved':
      return approvalCommand(event, plan, k, trimAt);
    case 'address.whitelisted':
      if (plan.cooldown.length === 0) break;
      return {
        script: 'applyWhitelist',
        keys: k.whitelist,
        args: [event.eventId, t, normaliseAddress(event.address), trimAt],
      };
    case 'mfa.passed':
      if (plan.mfaMissing.length === 0) break;
      return {
        script: 'applyMfa',
        keys: k.mfa,
        args: [event.eventId, t, event.sessionId, event.factor, trimAt],
      };
    case 'mfa.reset':
    case 'mfa.enrolled':
      if (plan.mfaChange.length === 0) break;
      return {
        script: 'applyMfaChange',
        keys: k.change,
        args: [
          event.eventId,
          t,
          event.type === 'mfa.reset' ? 'reset' : 'enrolled',
          event.factor ?? '',
          trimAt,
        ],
      };
    case 'login.succeeded':
      if (plan.newDevice.length === 0) break;
      return {
        script: 'applyLogin',
        keys: k.login,
        args: [event.eventId, t, event.sessionId, event.deviceId, trimAt],
      };
    default:
      break;
  }
  return { script: 'recordEvent', keys: k.record, args: [event.eventId, t, trimAt] };
}

function approvalCommand(
  e: WithdrawalApproved,
  plan: RulePlan,
  k: UserScriptKeys,
  trimAt: string,
): EventCommand {
  const address = normaliseAddress(e.address);
  let hits: [string, string, string][] | undefined;
  for (const { rule, lists } of plan.sanctions) {
    const matched = lists.matchesNormalised(address);
    if (matched.length > 0) {
      (hits ??= []).push([
        rule.id,
        rule.severity,
        JSON.stringify({ address: e.address, normalisedAddress: address, lists: matched }),
      ]);
    }
  }
  const verdict = claimsVerdict(e.approval);
  if (verdict !== null) {
    for (const rule of plan.mfaMissing) {
      (hits ??= []).push([
        rule.id,
        rule.severity,
        JSON.stringify({ reason: verdict, sessionId: e.sessionId, claims: e.approval }),
      ]);
    }
  }
  const waitsForMfa = verdict === null && plan.mfaMissing.length > 0;
  const waits = waitsForMfa || plan.mfaChange.length > 0 || plan.newDevice.length > 0;
  // The script stores the pending decision as "<head>\n<claims>\n<base>", reusing the base it already has.
  const pending = waits
    ? `${JSON.stringify({ e: e.eventId, t: e.occurredAtMs, s: e.sessionId, w: e.withdrawalId, m: waitsForMfa ? 1 : 0 })}\n${JSON.stringify(e.approval)}`
    : '';
  const cmd: EventCommand = {
    script: 'applyApproval',
    keys: k.approval,
    args: [
      e.eventId,
      e.occurredAtMs,
      e.withdrawalId,
      String(e.amountUsd),
      address,
      flagBase(e),
      hits ? JSON.stringify(hits) : '',
      pending,
      trimAt,
    ],
  };
  if (waits) {
    cmd.pending = {
      due: e.occurredAtMs + plan.graceMs,
      member: pendingMember({ userId: e.userId, eventId: e.eventId, withdrawalId: e.withdrawalId }),
    };
  }
  return cmd;
}
