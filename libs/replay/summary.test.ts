import { replaySummary } from './summary';
import type { ReplayReport } from './report';

describe('replaySummary', () => {
  const flag = (ruleId: string, w: string) => ({
    ruleId,
    severity: 'critical',
    userId: 'u',
    withdrawalId: w,
    eventId: `e-${w}`,
    occurredAt: '2022-01-17T00:00:00.000Z',
  });
  const report: ReplayReport = {
    events: { total: 1200, valid: 1100, invalid: 50, ignored: 25, duplicate: 25 },
    flags: [flag('velocity', 'w1'), flag('mfa-missing', 'w2'), flag('mfa-missing', 'w3')],
    breaker: [
      {
        scope: 'global',
        state: 'halted',
        at: '2022-01-17T00:00:30.000Z',
        crossedAt: '2022-01-17T00:00:25.000Z',
        trigger: 'critical-users',
        reason: '3 users',
      },
    ],
    response: {
      halts: [
        {
          scope: 'global',
          at: '2022-01-17T00:00:30.000Z',
          crossedAt: '2022-01-17T00:00:25.000Z',
          resumedAt: null,
          flaggedBefore: { count: 2, usd: 35365 },
          blocked: { count: 551, usd: 7854531.5 },
        },
      ],
      haltedMinutes: 14.561,
    },
  };

  it('says per rule, each halt with at and crossedAt, and what got through and what was stopped', () => {
    expect(replaySummary(report)).toBe(
      [
        'events: 1,200 (valid 1,100, invalid 50, ignored 25, duplicate 25)',
        'flags: 3: mfa-missing 2, velocity 1',
        'global halted at 2022-01-17T00:00:30.000Z (threshold crossed 2022-01-17T00:00:25.000Z, trigger critical-users), not resumed',
        '  before the halt 2 flagged withdrawals ($35,365.00) got through; while halted 551 withdrawals ($7,854,531.50) were stopped',
        'halted: 14.561 min of event time',
        '',
      ].join('\n'),
    );
  });

  it('says so when nothing halted', () => {
    expect(
      replaySummary({ ...report, flags: [], breaker: [], response: { halts: [], haltedMinutes: 0 } }),
    ).toBe('events: 1,200 (valid 1,100, invalid 50, ignored 25, duplicate 25)\nflags: 0\nbreaker: no halt\n');
  });
});
