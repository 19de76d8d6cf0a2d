import { loadBreakerConfig } from '../breaker';
import type { WithdrawalApproved } from '../events';
import type { ReportBreakerChange, ReportFlag } from './report';
import { ApprovalLedger, triggerWindows } from './response';

const T = Date.parse('2022-01-17T00:00:00.000Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

function approved(userId: string, withdrawalId: string, atMs: number, amountUsd: number, asset = 'ETH') {
  return {
    eventId: `e-${userId}-${withdrawalId}-${atMs}`,
    type: 'withdrawal.approved',
    occurredAt: iso(atMs),
    occurredAtMs: atMs,
    userId,
    withdrawalId,
    sessionId: 's',
    asset,
    amount: '1',
    amountUsd,
    address: '0xabc',
    approval: { factors: ['password'], mfaVerified: true },
  } as unknown as WithdrawalApproved & { occurredAtMs: number };
}
const flag = (userId: string, withdrawalId: string): ReportFlag => ({
  ruleId: 'mfa-missing',
  severity: 'critical',
  userId,
  withdrawalId,
  eventId: 'x',
  occurredAt: iso(T),
});
const change = (
  scope: string,
  state: 'open' | 'halted',
  atMs: number,
  trigger: string,
): ReportBreakerChange => ({
  scope,
  state,
  at: iso(atMs),
  crossedAt: state === 'halted' && trigger !== 'manual' ? iso(atMs - 1000) : null,
  trigger,
  reason: 'r',
});

describe('the report response section', () => {
  const breaker = loadBreakerConfig();
  const windowMs = triggerWindows(breaker).byTrigger.get('critical-users')!;

  it('counts flagged withdrawals inside the trigger window before at, and every withdrawal from at to the resume', () => {
    expect(windowMs).toBe(10 * MIN);
    const ledger = new ApprovalLedger();
    ledger.add(approved('a', 'w1', T - windowMs, 100)); // exactly one window before: outside (t > at - window)
    ledger.add(approved('b', 'w2', T - 5 * MIN, 200.25)); // flagged, inside: got through
    ledger.add(approved('b', 'w2', T - 4 * MIN, 200.25)); // the same withdrawal approved again: once
    ledger.add(approved('c', 'w3', T - MIN, 50)); // not flagged: not in flaggedBefore
    ledger.add(approved('d', 'w4', T, 1000)); // exactly at: blocked
    ledger.add(approved('e', 'w5', T + 29 * MIN, 10, 'BTC')); // blocked (global covers every asset)
    ledger.add(approved('f', 'w6', T + 30 * MIN, 7)); // at the resume: no longer blocked
    ledger.seen(T + 60 * MIN);
    const flags = [flag('a', 'w1'), flag('b', 'w2'), flag('d', 'w4')];
    const changes = [
      change('global', 'halted', T, 'critical-users'),
      change('global', 'open', T + 30 * MIN, 'manual'),
    ];
    expect(ledger.response(flags, changes, breaker)).toEqual({
      halts: [
        {
          scope: 'global',
          at: iso(T),
          crossedAt: iso(T - 1000),
          resumedAt: iso(T + 30 * MIN),
          flaggedBefore: { count: 1, usd: 200.25 },
          blocked: { count: 2, usd: 1010 },
        },
      ],
      haltedMinutes: 30,
    });
  });

  it('an asset halt counts only its asset; one never resumed runs to the end of the log; a manual halt looks back over the longest window', () => {
    const ledger = new ApprovalLedger();
    const { longest } = triggerWindows(breaker);
    ledger.add(approved('a', 'w1', T - 5 * MIN, 5, 'BTC')); // flagged, within the longest window
    ledger.add(approved('z', 'w0', T - longest, 3, 'BTC')); // flagged, exactly the longest window before
    ledger.add(approved('b', 'w2', T + MIN, 9, 'ETH')); // another asset: not blocked
    ledger.add(approved('c', 'w3', T + 2 * MIN, 11, 'BTC'));
    ledger.seen(T + 90 * MIN);
    const res = ledger.response(
      [flag('a', 'w1'), flag('z', 'w0')],
      [change('asset:BTC', 'halted', T, 'manual')],
      breaker,
    );
    expect(res.halts[0]).toMatchObject({
      scope: 'asset:BTC',
      crossedAt: null,
      resumedAt: null,
      blocked: { count: 1, usd: 11 },
      flaggedBefore: { count: 1, usd: 5 },
    });
    expect(res.haltedMinutes).toBe(90);
  });

  it('no halts: an empty section', () => {
    expect(new ApprovalLedger().response([], [], breaker)).toEqual({ halts: [], haltedMinutes: 0 });
  });
});
