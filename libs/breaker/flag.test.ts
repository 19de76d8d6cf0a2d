import { parseFlag } from './flag';

const good = {
  flagId: 'mfa-missing:wd-5',
  ruleId: 'mfa-missing',
  severity: 'critical',
  userId: 'u-42',
  withdrawalId: 'wd-5',
  eventId: 'w-1',
  occurredAt: '2022-01-17T00:02:00.000Z',
  raisedAt: '2022-01-17T00:02:30+00:00',
  asset: 'ETH',
  amountUsd: 4800.5,
  evidence: { lastMfa: null },
};

describe('parseFlag', () => {
  it('accepts a flag and drops unknown fields', () => {
    const r = parseFlag(Buffer.from(JSON.stringify({ ...good, extra: 1 })));
    expect(r).toEqual({ ok: true, flag: good });
  });

  it('names the field at fault', () => {
    const cases: [unknown, string][] = [
      [{ ...good, severity: 'urgent' }, 'severity'],
      [{ ...good, occurredAt: '2022-01-17 00:02:00' }, 'occurredAt'],
      [{ ...good, amountUsd: '4800' }, 'amountUsd'],
      [{ ...good, amountUsd: -1 }, 'amountUsd'],
      [{ ...good, asset: 'eth' }, 'asset'],
      [{ ...good, flagId: '' }, 'flagId'],
      [{ ...good, evidence: 'none' }, 'evidence'],
    ];
    for (const [value, field] of cases) {
      const r = parseFlag(JSON.stringify(value));
      expect(r).toMatchObject({ ok: false, code: 'schema', field });
      if (!r.ok) expect(r.reason.startsWith(`${field}: `)).toBe(true);
    }
    const { userId: _u, ...missing } = good;
    expect(parseFlag(JSON.stringify(missing))).toMatchObject({ ok: false, field: 'userId' });
  });

  it('classifies empty, oversized, non-JSON and non-object values', () => {
    expect(parseFlag(null)).toMatchObject({ ok: false, code: 'empty' });
    expect(parseFlag('x'.repeat(100), 10)).toMatchObject({ ok: false, code: 'too-large' });
    expect(parseFlag('{nope')).toMatchObject({ ok: false, code: 'not-json' });
    expect(parseFlag('[1]')).toMatchObject({ ok: false, code: 'not-object' });
    expect(parseFlag('null')).toMatchObject({ ok: false, code: 'not-object' });
  });
});
