/** Builders for contract events in tests: small, explicit, event time given in ms since the epoch. */
export const T0 = Date.parse('2022-01-17T00:00:00.000Z');
export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;

const iso = (t: number) => new Date(t).toISOString();
let seq = 0;
const id = (p: string) => `${p}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

export type Ev = Record<string, unknown> & {
  eventId: string;
  type: string;
  userId: string;
  occurredAt: string;
};

export function login(userId: string, sessionId: string, t: number, deviceId = 'd-1', eventId = id('a')): Ev {
  return {
    eventId,
    type: 'login.succeeded',
    occurredAt: iso(t),
    userId,
    sessionId,
    ip: '203.0.113.7',
    deviceId,
  };
}

export function mfa(userId: string, sessionId: string, t: number, eventId = id('a')): Ev {
  return { eventId, type: 'mfa.passed', occurredAt: iso(t), userId, sessionId, factor: 'totp' };
}

export function whitelist(userId: string, address: string, t: number, asset = 'ETH', eventId = id('w')): Ev {
  return { eventId, type: 'address.whitelisted', occurredAt: iso(t), userId, address, asset };
}

export function approval(
  userId: string,
  withdrawalId: string,
  sessionId: string,
  t: number,
  opts: {
    amountUsd?: number;
    address?: string;
    asset?: string;
    mfaVerified?: boolean;
    factors?: string[];
    eventId?: string;
  } = {},
): Ev {
  return {
    eventId: opts.eventId ?? id('w'),
    type: 'withdrawal.approved',
    occurredAt: iso(t),
    userId,
    withdrawalId,
    sessionId,
    asset: opts.asset ?? 'ETH',
    amount: '1.50000000',
    amountUsd: opts.amountUsd ?? 4800.5,
    address: opts.address ?? '0xabc0000000000000000000000000000000000001',
    approval: { factors: opts.factors ?? ['password', 'totp'], mfaVerified: opts.mfaVerified ?? true },
  };
}

export const AUTH_TYPES = new Set([
  'login.succeeded',
  'login.failed',
  'mfa.passed',
  'mfa.failed',
  'mfa.enrolled',
  'mfa.reset',
]);
export const isAuth = (e: Ev) => AUTH_TYPES.has(e.type);

/**
 * Ordinary and attacked users for stream tests: every user has an old login from its usual device (so the
 * new-device rule stays quiet), then a session with MFA and an approval; attacked users' sessions have no MFA.
 */
export function userStream(
  users: number,
  attacked: number,
  prefix = 'u',
): { events: Ev[]; attackedWithdrawals: string[] } {
  const events: Ev[] = [];
  const attackedWithdrawals: string[] = [];
  for (let i = 0; i < users; i++) {
    const u = `${prefix}-${i}`;
    const t = T0 + i * 1000;
    events.push(login(u, `old-${u}`, t - 30 * DAY));
    events.push(login(u, `s-${u}`, t));
    const isAttacked = i < attacked;
    if (!isAttacked) events.push(mfa(u, `s-${u}`, t + 5000));
    const wd = `${isAttacked ? 'wd-atk' : 'wd'}-${u}`;
    if (isAttacked) attackedWithdrawals.push(wd);
    // Attacked approvals claim a second factor (the approver lies): only the join with auth events catches them.
    events.push(approval(u, wd, `s-${u}`, t + 60_000));
  }
  events.sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt));
  return { events, attackedWithdrawals };
}
