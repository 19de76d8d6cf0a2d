import type { RawMessage } from '../../libs/kafka';
import { eventTimeRange } from '../../libs/events';
import { intakeFlags } from './flag-intake';

const msg = (offset: number, value: Buffer | string | null): RawMessage => ({
  topic: 'risk.flags.v1',
  partition: 2,
  offset: String(offset),
  key: Buffer.from('u-1'),
  value: typeof value === 'string' ? Buffer.from(value) : value,
  timestampMs: 0,
  headers: {},
});

const flag = {
  flagId: 'mfa-missing:w1',
  ruleId: 'mfa-missing',
  severity: 'critical',
  userId: 'u-1',
  withdrawalId: 'w1',
  eventId: 'e1',
  occurredAt: '2022-01-17T00:00:00Z',
  raisedAt: '2022-01-17T00:00:31Z',
  asset: 'ETH',
  amountUsd: 10,
  evidence: {},
};

describe('intakeFlags', () => {
  it('passes valid flags and dead-letters the rest with source, offset, reason and time', () => {
    const out = intakeFlags(
      [msg(0, JSON.stringify(flag)), msg(1, '{"flagId":1}'), msg(2, Buffer.from([0xff, 0xfe])), msg(3, null)],
      { dlqTopic: 'risk.flags.v1.dlq', nowIso: '2022-01-17T01:00:00.000Z' },
    );
    expect(out.entries.filter((e) => e.flag !== null)).toHaveLength(1);
    expect(out.invalid).toEqual(['schema', 'not-json', 'empty']);
    const letters = out.deadLetters.map((d) => JSON.parse(String(d.value)));
    expect(out.deadLetters.every((d) => d.topic === 'risk.flags.v1.dlq' && String(d.key) === 'u-1')).toBe(
      true,
    );
    expect(letters[0]).toMatchObject({
      value: '{"flagId":1}',
      encoding: 'utf8',
      sourceTopic: 'risk.flags.v1',
      partition: 2,
      offset: '1',
      code: 'schema',
      field: 'flagId',
      deadLetteredAt: '2022-01-17T01:00:00.000Z',
    });
    expect(letters[1]).toMatchObject({
      value: Buffer.from([0xff, 0xfe]).toString('base64'),
      encoding: 'base64',
      offset: '2',
    });
    expect(letters[2]).toMatchObject({ value: null, code: 'empty' });
  });

  it('dead-letters (not silently drops) a flag dated far ahead of the wall clock, and one with amountUsd 1e300', () => {
    const now = Date.parse('2022-01-17T01:00:00.000Z');
    const eventTime = eventTimeRange(
      { maxAheadMs: 3_600_000, maxBehindMs: 3650 * 86_400_000 },
      { aheadRefMs: now, latestFrom: 'the wall clock (maxFutureSkewMs)', earliestFrom: 'the wall clock' },
    );
    const out = intakeFlags(
      [
        msg(0, JSON.stringify({ ...flag, occurredAt: '9999-01-01T00:00:00Z' })),
        msg(1, JSON.stringify({ ...flag, occurredAt: '1970-01-01T00:00:00Z' })),
        msg(2, JSON.stringify({ ...flag, amountUsd: 1e300 })),
        msg(3, JSON.stringify(flag)),
      ],
      { dlqTopic: 'risk.flags.v1.dlq', nowIso: '2022-01-17T01:00:00.000Z', eventTime },
    );
    expect(out.entries.flatMap((e) => (e.flag ? [e.flag.flagId] : []))).toEqual([flag.flagId]);
    expect(out.invalid).toEqual(['event-time', 'event-time', 'schema']);
    const letters = out.deadLetters.map((d) => JSON.parse(String(d.value)) as Record<string, unknown>);
    expect(letters.map((l) => l.field)).toEqual(['occurredAt', 'occurredAt', 'amountUsd']);
    expect(letters[0]!.reason).toBe(
      'occurredAt: lies more than 1 h ahead of the wall clock (maxFutureSkewMs)',
    );
  });
});
