import type { RawMessage } from '../../libs/kafka';
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
    expect(out.flags).toHaveLength(1);
    expect(out.invalid).toEqual(['schema', 'not-json', 'empty']);
    const letters = out.deadLetters.map((d) => JSON.parse(String(d.value)));
    expect(out.deadLetters.every((d) => d.topic === 'risk.flags.v1.dlq' && d.key === 'u-1')).toBe(true);
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
});
