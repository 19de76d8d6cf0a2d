import { z } from 'zod';
import {
  AUTH_TYPES,
  EVENT_SCHEMAS,
  WALLET_TYPES,
  addressWhitelistedSchema,
  authEventSchema,
  bulwarkEventSchema,
  envelopeSchema,
  loginFailedSchema,
  loginSucceededSchema,
  mfaEnrolledSchema,
  mfaFailedSchema,
  mfaPassedSchema,
  mfaResetSchema,
  walletEventSchema,
  withdrawalApprovedSchema,
  withdrawalCompletedSchema,
  withdrawalRejectedSchema,
  withdrawalRequestedSchema,
  type BulwarkEvent,
  type EventOf,
  type EventType,
  type WithdrawalApproved,
} from './schemas';
import { rfc3339ToEpochMs } from './timestamp';

// The example lines of contract section 2, verbatim.
const CONTRACT_EXAMPLES = [
  '{"eventId":"a-1","type":"login.succeeded","occurredAt":"2022-01-17T00:01:02.000Z","userId":"u-42","sessionId":"s-9","ip":"203.0.113.7","deviceId":"d-77"}',
  '{"eventId":"a-2","type":"mfa.passed","occurredAt":"2022-01-17T00:01:20.000Z","userId":"u-42","sessionId":"s-9","factor":"totp"}',
  '{"eventId":"w-1","type":"withdrawal.approved","occurredAt":"2022-01-17T00:02:00.000Z","userId":"u-42","withdrawalId":"wd-5","sessionId":"s-9","asset":"ETH","amount":"1.5","amountUsd":4800.5,"address":"0xabc","approval":{"factors":["password","totp"],"mfaVerified":true}}',
];

const envelope = { eventId: 'e-1', occurredAt: '2022-01-17T00:02:00.000Z', userId: 'u-42' };
const withdrawal = {
  withdrawalId: 'wd-5',
  sessionId: 's-9',
  asset: 'ETH',
  amount: '1.5',
  amountUsd: 4800.5,
  address: '0xabc',
};

/** A minimal valid value of every type, with its required fields (optional ones are left out). */
const SAMPLES: Record<EventType, Record<string, unknown>> = {
  'login.succeeded': { sessionId: 's-9', ip: '203.0.113.7', deviceId: 'd-77' },
  'login.failed': { ip: '2001:db8::1', deviceId: 'd-77' },
  'mfa.passed': { sessionId: 's-9', factor: 'totp' },
  'mfa.failed': { sessionId: 's-9', factor: 'sms' },
  'mfa.enrolled': { factor: 'webauthn' },
  'mfa.reset': {},
  'address.whitelisted': { address: '0xabc', asset: 'USDC' },
  'withdrawal.requested': withdrawal,
  'withdrawal.approved': { ...withdrawal, approval: { factors: ['password', 'totp'], mfaVerified: true } },
  'withdrawal.completed': { withdrawalId: 'wd-5' },
  'withdrawal.rejected': { withdrawalId: 'wd-5' },
};

function sample(type: EventType, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...envelope, type, ...SAMPLES[type], ...overrides };
}

function firstIssue(schema: z.ZodType, value: unknown): { path: string; message: string } | undefined {
  const result = schema.safeParse(value);
  if (result.success) return undefined;
  const issue = result.error.issues[0]!;
  return { path: issue.path.join('.'), message: issue.message };
}

const approvedSchema = EVENT_SCHEMAS.get('withdrawal.approved')!;

describe('contract examples', () => {
  it.each(CONTRACT_EXAMPLES)('parses %s', (line) => {
    const raw = JSON.parse(line) as { type: EventType };
    const typed = EVENT_SCHEMAS.get(raw.type)!.parse(raw);
    expect(typed).toEqual({ ...raw, occurredAtMs: Date.parse((raw as unknown as BulwarkEvent).occurredAt) });
    expect(bulwarkEventSchema.parse(raw)).toEqual(typed);
  });

  it('gives the approval example its typed fields', () => {
    const event = withdrawalApprovedSchema.parse(JSON.parse(CONTRACT_EXAMPLES[2]!));
    const typed: WithdrawalApproved = event;
    expect(typed.approval).toEqual({ factors: ['password', 'totp'], mfaVerified: true });
    expect(typed.amount).toBe('1.5');
    expect(typed.occurredAt).toBe('2022-01-17T00:02:00.000Z');
    expect(typed.occurredAtMs).toBe(Date.UTC(2022, 0, 17, 0, 2, 0));
  });
});

describe('type lists and schema map', () => {
  it('has one schema per contract type, and the lists split them by topic', () => {
    expect([...EVENT_SCHEMAS.keys()].sort()).toEqual([...AUTH_TYPES, ...WALLET_TYPES].sort());
    expect(AUTH_TYPES).toHaveLength(6);
    expect(WALLET_TYPES).toHaveLength(5);
    expect(authEventSchema.options).toHaveLength(6);
    expect(walletEventSchema.options).toHaveLength(5);
  });

  it.each([...AUTH_TYPES, ...WALLET_TYPES])('%s: the sample parses and adds occurredAtMs', (type) => {
    const event = EVENT_SCHEMAS.get(type)!.parse(sample(type));
    expect(event).toEqual({ ...sample(type), occurredAtMs: Date.UTC(2022, 0, 17, 0, 2, 0) });
    expect(bulwarkEventSchema.parse(sample(type))).toEqual(event);
  });

  it.each(
    [...AUTH_TYPES, ...WALLET_TYPES].flatMap((type) =>
      Object.keys({ ...envelope, type, ...SAMPLES[type] }).map((field) => [type, field] as const),
    ),
  )('%s: a missing %s is reported as required', (type, field) => {
    const value = sample(type);
    delete value[field];
    expect(firstIssue(EVENT_SCHEMAS.get(type)!, value)).toEqual({ path: field, message: 'is required' });
  });

  it('keeps every exported schema on the compiled fast path', () => {
    // z.compile falls back silently when it cannot compile; strict makes a zod upgrade that loses the
    // fast path fail here rather than quietly cost a factor of ten in throughput.
    const schemas = [
      envelopeSchema,
      loginSucceededSchema,
      loginFailedSchema,
      mfaPassedSchema,
      mfaFailedSchema,
      mfaEnrolledSchema,
      mfaResetSchema,
      addressWhitelistedSchema,
      withdrawalRequestedSchema,
      withdrawalApprovedSchema,
      withdrawalCompletedSchema,
      withdrawalRejectedSchema,
      authEventSchema,
      walletEventSchema,
      bulwarkEventSchema,
    ];
    for (const schema of schemas) expect(() => z.compile(schema, { strict: true })).not.toThrow();
  });

  it('narrows with EventOf', () => {
    const event = mfaPassedSchema.parse(sample('mfa.passed'));
    const typed: EventOf<'mfa.passed'> = event;
    expect(typed.factor).toBe('totp');
  });
});

describe('envelope', () => {
  it('accepts ids of 1 and 128 characters and rejects 0 and 129', () => {
    for (const field of ['eventId', 'userId']) {
      expect(approvedSchema.safeParse(sample('withdrawal.approved', { [field]: 'x' })).success).toBe(true);
      expect(
        approvedSchema.safeParse(sample('withdrawal.approved', { [field]: 'x'.repeat(128) })).success,
      ).toBe(true);
      for (const bad of ['', 'x'.repeat(129), 42, null]) {
        expect(firstIssue(approvedSchema, sample('withdrawal.approved', { [field]: bad }))).toEqual({
          path: field,
          message: 'must be a string of 1-128 characters',
        });
      }
    }
  });

  it('strips unknown fields, top-level and nested', () => {
    const event = withdrawalApprovedSchema.parse(
      sample('withdrawal.approved', {
        extra: 1,
        schemaVersion: '1.1',
        approval: { factors: ['totp'], mfaVerified: true, approver: 'ops-1' },
      }),
    );
    expect(event).not.toHaveProperty('extra');
    expect(event).not.toHaveProperty('schemaVersion');
    expect(event.approval).toEqual({ factors: ['totp'], mfaVerified: true });
  });

  it('validates the envelope alone for events of unknown types', () => {
    expect(envelopeSchema.parse({ ...envelope, type: 'kyc.passed', level: 2 })).toEqual({
      ...envelope,
      type: 'kyc.passed',
    });
    expect(firstIssue(envelopeSchema, { ...envelope, type: '' })?.path).toBe('type');
    expect(firstIssue(envelopeSchema, { ...envelope, type: 7 })?.path).toBe('type');
  });
});

describe('occurredAt', () => {
  const at = (occurredAt: unknown) => mfaEnrolledSchema.safeParse(sample('mfa.enrolled', { occurredAt }));

  it.each([
    ['2022-01-17T00:01:02.000Z', Date.UTC(2022, 0, 17, 0, 1, 2)],
    ['2022-01-17T00:01:02Z', Date.UTC(2022, 0, 17, 0, 1, 2)],
    ['2022-01-17t00:01:02.5z', Date.UTC(2022, 0, 17, 0, 1, 2, 500)],
    ['2022-01-17T05:31:02.000+05:30', Date.UTC(2022, 0, 17, 0, 1, 2)],
    ['2022-01-16T16:01:02-08:00', Date.UTC(2022, 0, 17, 0, 1, 2)],
    ['2022-01-17T00:01:02+00:00', Date.UTC(2022, 0, 17, 0, 1, 2)],
    ['2022-01-17T00:01:02-00:00', Date.UTC(2022, 0, 17, 0, 1, 2)],
    ['2022-01-17T00:01:02.123456789Z', Date.UTC(2022, 0, 17, 0, 1, 2, 123)],
    ['2022-01-17T00:01:02.1239999999999999999999Z', Date.UTC(2022, 0, 17, 0, 1, 2, 123)],
    ['2024-02-29T23:59:59.999+14:00', Date.UTC(2024, 1, 29, 9, 59, 59, 999)],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
    ['1970-01-01T00:00:00Z', 0],
    ['1969-12-31T23:59:59.999Z', -1],
  ])('%s is %d ms and keeps its original string', (occurredAt, ms) => {
    const result = at(occurredAt);
    expect(result.success && result.data).toMatchObject({ occurredAt, occurredAtMs: ms });
    expect(rfc3339ToEpochMs(occurredAt)).toBe(ms);
  });

  it('handles years below 100 (which Date.UTC maps to the 1900s)', () => {
    const expected = new Date(0);
    expected.setUTCFullYear(50, 0, 1);
    expect(rfc3339ToEpochMs('0050-01-01T00:00:00Z')).toBe(expected.getTime());
  });

  it.each([
    '2022-01-17T00:01:02.000', // no offset: local time of nobody knows where
    '2022-01-17T00:01:02',
    '2022-01-17',
    '2022-01-17 00:01:02Z',
    '2022-02-30T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2022-04-31T00:00:00Z',
    '2022-13-01T00:00:00Z',
    '2022-00-10T00:00:00Z',
    '2022-01-00T00:00:00Z',
    '2022-01-17T24:00:00Z',
    '2022-01-17T00:60:00Z',
    '2022-01-17T23:59:60Z',
    '2022-01-17T00:01:02.Z',
    '2022-01-17T00:01:02+0530',
    '2022-01-17T00:01:02+05',
    '2022-01-17T00:01:02+24:00',
    '2022-01-17T00:01:02+05:60',
    '2022-01-17T00:01:02Z ',
    ' 2022-01-17T00:01:02Z',
    '22-01-17T00:01:02Z',
    '+2022-01-17T00:01:02Z',
    '2022-1-17T00:01:02Z',
    '2022-01-17T00:01:02.000ZZ',
    'Mon, 17 Jan 2022 00:01:02 GMT',
    `2022-01-17T00:01:02.${'0'.repeat(60)}Z`,
    '',
    1642377662000,
    null,
  ])('rejects %p', (occurredAt) => {
    expect(firstIssue(mfaEnrolledSchema, sample('mfa.enrolled', { occurredAt }))).toEqual({
      path: 'occurredAt',
      message: 'must be an RFC 3339 timestamp with an offset, like "2022-01-17T00:01:02.000Z"',
    });
    if (typeof occurredAt === 'string') expect(rfc3339ToEpochMs(occurredAt)).toBeNaN();
  });

  it('agrees with Date.parse on random valid timestamps', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const pad = (n: number, width = 2) => String(n).padStart(width, '0');
    for (let i = 0; i < 5_000; i++) {
      const ms = (rand(2 ** 30) - 2 ** 29) * 8_000 + rand(1000); // 1834 to 2106
      const iso = new Date(ms).toISOString();
      const offset = rand(24 * 60) * (rand(2) === 0 ? 1 : -1);
      const local = new Date(ms + offset * 60_000).toISOString().slice(0, -1);
      const suffix = `${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
      expect(rfc3339ToEpochMs(iso)).toBe(ms);
      expect(rfc3339ToEpochMs(local + suffix)).toBe(ms);
    }
  });
});

describe('wallet fields', () => {
  const approved = (overrides: Record<string, unknown>) =>
    firstIssue(approvedSchema, sample('withdrawal.approved', overrides));

  it.each(['0', '1', '1.5', '1.25000000', '0.000000000000000001', '123456789012345678901234567890.5'])(
    'accepts amount %p',
    (amount) => {
      expect(approved({ amount })).toBeUndefined();
    },
  );

  it.each([
    1.5,
    0,
    1e21,
    '1e5',
    '1E5',
    '-1',
    '-0',
    '+1',
    '01',
    '00.5',
    '1.',
    '.5',
    ' 1',
    '1 ',
    '1,5',
    '0x10',
    'NaN',
    'Infinity',
    '',
    '1'.repeat(81),
    null,
    true,
  ])('rejects amount %p', (amount) => {
    expect(approved({ amount })).toEqual({ path: 'amount', message: 'must be a decimal string like "1.25"' });
  });

  it.each([0, 4800.5, 1e11])('accepts amountUsd %p', (amountUsd) => {
    expect(approved({ amountUsd })).toBeUndefined();
  });

  it.each([-0.01, -1, '4800.5', null, true, 1e11 + 1, 1e300])('rejects amountUsd %p', (amountUsd) => {
    expect(approved({ amountUsd })).toEqual({
      path: 'amountUsd',
      message: 'must be a non-negative number of at most 100000000000 (1e11)',
    });
  });

  it.each(['BTC', 'ETH', 'USDC', '1INCH', 'AB', 'A'.repeat(15)])('accepts asset %p', (asset) => {
    expect(approved({ asset })).toBeUndefined();
  });

  it.each(['eth', 'Eth', 'E', 'A'.repeat(16), 'US-D', ' ETH', '', 5])('rejects asset %p', (asset) => {
    expect(approved({ asset })).toEqual({
      path: 'asset',
      message: 'must be an upper-case ticker like "ETH" (2-15 of A-Z, 0-9)',
    });
  });

  it('reports nested approval fields by their dotted path', () => {
    expect(approved({ approval: { factors: ['totp'] } })).toEqual({
      path: 'approval.mfaVerified',
      message: 'is required',
    });
    expect(approved({ approval: { factors: ['totp'], mfaVerified: 'true' } })).toEqual({
      path: 'approval.mfaVerified',
      message: 'must be true or false',
    });
    expect(approved({ approval: { factors: ['totp', 7], mfaVerified: true } })).toEqual({
      path: 'approval.factors.1',
      message: 'must be a string of 1-64 characters',
    });
    expect(approved({ approval: { factors: 'totp', mfaVerified: true } })?.path).toBe('approval.factors');
    expect(approved({ approval: { factors: Array(33).fill('totp'), mfaVerified: true } })?.path).toBe(
      'approval.factors',
    );
    expect(approved({ approval: true })).toEqual({
      path: 'approval',
      message: 'must be an object { "factors": string[], "mfaVerified": boolean }',
    });
    expect(approved({ approval: undefined })).toEqual({ path: 'approval', message: 'is required' });
  });

  it('accepts an approval without factors: flagging it is a rule, not a schema, matter', () => {
    expect(approved({ approval: { factors: [], mfaVerified: false } })).toBeUndefined();
  });

  it('caps ids at 256 characters', () => {
    expect(approved({ address: 'a'.repeat(256) })).toBeUndefined();
    expect(approved({ address: 'a'.repeat(257) })).toEqual({
      path: 'address',
      message: 'must be a string of 1-256 characters',
    });
    expect(approved({ withdrawalId: '' })?.path).toBe('withdrawalId');
  });

  it('takes an optional reason on rejections', () => {
    const schema = EVENT_SCHEMAS.get('withdrawal.rejected')!;
    expect(schema.parse(sample('withdrawal.rejected', { reason: 'limit' }))).toHaveProperty(
      'reason',
      'limit',
    );
    expect(firstIssue(schema, sample('withdrawal.rejected', { reason: 3 }))?.path).toBe('reason');
  });
});

describe('auth fields', () => {
  it.each(['totp', 'sms', 'email', 'webauthn', 'biometric'])('accepts factor %p', (factor) => {
    expect(mfaPassedSchema.safeParse(sample('mfa.passed', { factor })).success).toBe(true);
  });

  it.each(['TOTP', 'password', 'u2f', '', 1])('rejects factor %p', (factor) => {
    expect(firstIssue(mfaPassedSchema, sample('mfa.passed', { factor }))).toEqual({
      path: 'factor',
      message: 'must be one of totp, sms, email, webauthn, biometric',
    });
  });

  it('makes factor optional on mfa.reset only', () => {
    expect(mfaResetSchema.parse(sample('mfa.reset'))).not.toHaveProperty('factor');
    expect(mfaResetSchema.parse(sample('mfa.reset', { factor: 'sms' }))).toHaveProperty('factor', 'sms');
    expect(firstIssue(mfaResetSchema, sample('mfa.reset', { factor: 'pin' }))?.path).toBe('factor');
    expect(firstIssue(mfaEnrolledSchema, sample('mfa.enrolled', { factor: undefined }))?.path).toBe('factor');
  });

  it('takes an optional reason on failed logins', () => {
    expect(loginFailedSchema.parse(sample('login.failed', { reason: 'bad password' }))).toHaveProperty(
      'reason',
      'bad password',
    );
    expect(firstIssue(loginFailedSchema, sample('login.failed', { reason: null }))?.path).toBe('reason');
  });

  it('takes any non-empty ip string (the contract gives no format)', () => {
    expect(
      loginSucceededSchema.safeParse(sample('login.succeeded', { ip: '::ffff:203.0.113.7' })).success,
    ).toBe(true);
    expect(firstIssue(loginSucceededSchema, sample('login.succeeded', { ip: '' }))?.path).toBe('ip');
  });
});
