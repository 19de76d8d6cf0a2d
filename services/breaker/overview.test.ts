import type { AuditEntry, BreakerSnapshot } from '../../libs/breaker';
import { pendingResumes } from './overview';

const halted: BreakerSnapshot = {
  scope: 'global',
  state: 'halted',
  since: '2022-01-17T00:00:00.000Z',
  reason: 'r',
  trigger: 'manual',
  by: 'alice',
  version: 4,
  at: '2022-01-17T00:00:00.000Z',
  crossedAt: null,
};

const request = (by: string, recordedAt: string, version = 4): AuditEntry => ({
  id: `${Date.parse(recordedAt)}-0`,
  seq: 1,
  prev: '0'.repeat(64),
  hash: 'h',
  kid: null,
  recordedAt,
  action: 'resume-request',
  outcome: 'pending',
  scope: 'global',
  by,
  reason: `ok by ${by}`,
  trigger: '',
  state: 'halted',
  version,
});

describe('pendingResumes (the four eyes the console shows)', () => {
  const resume = { approvalsRequired: 2, approvalWindowMs: 15 * 60_000 };
  const now = Date.parse('2022-01-17T01:00:00.000Z');

  it('lists the distinct operators who approved the current halt within the window, and how many are still needed', () => {
    // Newest first, as Breaker.audit returns it.
    const audit = [
      request('carol', '2022-01-17T00:59:30.000Z', 3), // an earlier halt
      request('alice', '2022-01-17T00:59:00.000Z'), // the same operator twice counts once, from the first
      request('alice', '2022-01-17T00:58:00.000Z'),
      request('bob', '2022-01-17T00:30:00.000Z'), // expired
    ];
    const [p] = pendingResumes([halted], audit, resume, now);
    expect(p).toMatchObject({ scope: 'global', required: 2, needed: 1 });
    expect(p!.approvals.map((a) => [a.operator, a.expiresAt])).toEqual([
      ['alice', '2022-01-17T01:13:00.000Z'],
    ]);
  });

  it('nothing for an open scope', () => {
    expect(
      pendingResumes(
        [{ ...halted, state: 'open' }],
        [request('alice', '2022-01-17T00:59:00.000Z')],
        resume,
        now,
      ),
    ).toEqual([]);
  });
});
