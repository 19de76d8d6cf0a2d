import { z } from 'zod';
import { DEFAULTS } from '../defaults';
import { newestAtOrBefore, type UserFacts } from '../facts';
import type { ApprovalView, Evidence, RuleKindDefinition } from '../rule-kind';
import { positiveMs } from './params';

/**
 * `new-device-withdrawal`: the session's login lies in `(t - loginWithin, t]` and came from a device with no
 * successful login of the user in `[login - unseen, login)` (a sighting exactly `unseen` before counts as
 * seen). Decided after the grace period: the login comes from the auth stream, and so do the device's
 * earlier logins, which may arrive after the session's own.
 */
const params = z.strictObject({
  unseenMs: positiveMs(DEFAULTS.deviceUnseenMs),
  loginWithinMs: positiveMs(DEFAULTS.loginWithinMs),
});
type Params = z.output<typeof params>;

export function loginFromNewDevice(approval: ApprovalView, facts: UserFacts, p: Params): Evidence | null {
  const e = approval.event;
  const login = facts.sessions.get(e.sessionId);
  if (login === undefined) return null;
  const t = e.occurredAtMs;
  if (login.atMs > t || login.atMs <= t - p.loginWithinMs) return null;
  const seen = newestAtOrBefore(facts.devices.get(login.deviceId), login.atMs, true);
  if (seen !== null && login.atMs - seen <= p.unseenMs) return null;
  return {
    sessionId: e.sessionId,
    deviceId: login.deviceId,
    loginAtMs: login.atMs,
    deviceLastSeenAtMs: seen,
    unseenMs: p.unseenMs,
    loginWithinMs: p.loginWithinMs,
  };
}

export const newDeviceWithdrawal: RuleKindDefinition<Params> = {
  severity: 'medium',
  params,
  // A device's sightings are read back from its session's login, which lies up to loginWithin back.
  reads: (p) => ({ sessions: p.loginWithinMs, devices: p.unseenMs + p.loginWithinMs }),
  // Novelty asks only whether the sighting just before a login is within unseen of it.
  thinGaps: (p) => ({ devices: p.unseenMs }),
  compile: (rule) => ({
    id: rule.id,
    severity: rule.severity,
    afterGrace: (approval, facts) => loginFromNewDevice(approval, facts, rule.params),
  }),
};
