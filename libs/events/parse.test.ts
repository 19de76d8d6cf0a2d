import { dropUnsafeKeys } from './parse';
import {
  AUTH_TYPES,
  DEFAULT_EVENT_TIME_BOUNDS,
  DEFAULT_MAX_BYTES,
  MAX_AMOUNT_USD,
  eventTimeRange,
  WALLET_TYPES,
  encodeForDlq,
  parseEvent,
  topicOfType,
  type BulwarkEvent,
  type ParseResult,
} from './index';

// The example lines of contract section 2, verbatim.
const CONTRACT_EXAMPLES = [
  '{"eventId":"a-1","type":"login.succeeded","occurredAt":"2022-01-17T00:01:02.000Z","userId":"u-42","sessionId":"s-9","ip":"203.0.113.7","deviceId":"d-77"}',
  '{"eventId":"a-2","type":"mfa.passed","occurredAt":"2022-01-17T00:01:20.000Z","userId":"u-42","sessionId":"s-9","factor":"totp"}',
  '{"eventId":"w-1","type":"withdrawal.approved","occurredAt":"2022-01-17T00:02:00.000Z","userId":"u-42","withdrawalId":"wd-5","sessionId":"s-9","asset":"ETH","amount":"1.5","amountUsd":4800.5,"address":"0xabc","approval":{"factors":["password","totp"],"mfaVerified":true}}',
];
const [LOGIN, MFA, APPROVAL] = CONTRACT_EXAMPLES as [string, string, string];

function approval(patch: (value: Record<string, unknown>) => void): string {
  const value = JSON.parse(APPROVAL) as Record<string, unknown>;
  patch(value);
  return JSON.stringify(value);
}

function expectValid(result: ParseResult): BulwarkEvent {
  if (result.kind !== 'valid') throw new Error(`expected valid, got ${JSON.stringify(result)}`);
  return result.event;
}

describe('parseEvent: valid events', () => {
  it.each(CONTRACT_EXAMPLES)('parses the contract example %s from a Buffer and a string', (line) => {
    const raw = JSON.parse(line) as { occurredAt: string };
    const expected = { ...raw, occurredAtMs: Date.parse(raw.occurredAt) };
    expect(expectValid(parseEvent(Buffer.from(line)))).toEqual(expected);
    expect(expectValid(parseEvent(line))).toEqual(expected);
  });

  it('parses the contract examples on their own topics', () => {
    expect(parseEvent(Buffer.from(LOGIN), { expectedTopic: 'auth' }).kind).toBe('valid');
    expect(parseEvent(Buffer.from(MFA), { expectedTopic: 'auth' }).kind).toBe('valid');
    expect(parseEvent(Buffer.from(APPROVAL), { expectedTopic: 'wallet' }).kind).toBe('valid');
  });

  it('returns plain data: no prototype but Object.prototype, JSON round trip identical', () => {
    const event = expectValid(parseEvent(APPROVAL));
    expect(Object.getPrototypeOf(event)).toBe(Object.prototype);
    if (event.type !== 'withdrawal.approved') throw new Error('narrowing');
    expect(Object.getPrototypeOf(event.approval)).toBe(Object.prototype);
    expect(Array.isArray(event.approval.factors)).toBe(true);
    expect(JSON.parse(JSON.stringify(event))).toEqual(event);
  });

  it('returns a fresh object each time', () => {
    const a = expectValid(parseEvent(APPROVAL));
    const b = expectValid(parseEvent(APPROVAL));
    expect(a).toEqual(b);
    expect(a).not.toBe(b);
  });

  it('strips unknown extra fields', () => {
    const line = approval((v) => {
      v.schemaVersion = 2;
      v.meta = { trace: 'abc' };
      (v.approval as Record<string, unknown>).approver = 'ops-7';
    });
    const event = expectValid(parseEvent(line));
    expect(event).not.toHaveProperty('schemaVersion');
    expect(event).not.toHaveProperty('meta');
    expect(event).toEqual({ ...JSON.parse(APPROVAL), occurredAtMs: Date.UTC(2022, 0, 17, 0, 2) });
  });

  it('converts a +05:30 offset to the right instant and keeps the original string', () => {
    const line = approval((v) => (v.occurredAt = '2022-01-17T05:32:00.250+05:30'));
    const event = expectValid(parseEvent(line));
    expect(event.occurredAt).toBe('2022-01-17T05:32:00.250+05:30');
    expect(event.occurredAtMs).toBe(Date.UTC(2022, 0, 17, 0, 2, 0, 250));
  });

  it('accepts a UTF-8 byte order mark and multi-byte characters', () => {
    const line = approval((v) => (v.address = 'адрес-😀'));
    const event = expectValid(
      parseEvent(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(line)])),
    );
    expect(event).toHaveProperty('address', 'адрес-😀');
    expect(parseEvent(`\ufeff${line}`).kind).toBe('valid');
  });
});

describe('parseEvent: invalid codes', () => {
  it('null value -> null', () => {
    expect(parseEvent(null)).toEqual({
      kind: 'invalid',
      code: 'null',
      reason: expect.stringContaining('null'),
    });
  });

  it('non-UTF-8 bytes -> not_utf8', () => {
    const cases = [
      Buffer.from([0x7b, 0xff, 0x7d]), // 0xff never occurs in UTF-8
      Buffer.from([0xc0, 0x80]), // overlong NUL
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate
      Buffer.from([0xe2, 0x82]), // truncated sequence
      Buffer.concat([Buffer.from(APPROVAL.slice(0, -1)), Buffer.from([0x80, 0x7d])]),
    ];
    for (const value of cases) {
      expect(parseEvent(value)).toEqual({
        kind: 'invalid',
        code: 'not_utf8',
        reason: 'value is not valid UTF-8',
      });
    }
  });

  it('a string with a lone surrogate -> not_utf8', () => {
    // Built by hand: JSON.stringify would escape the surrogate as \ud800, which is valid JSON text.
    expect(parseEvent(APPROVAL.replace('"0xabc"', '"x\ud800y"'))).toMatchObject({ code: 'not_utf8' });
    expect(parseEvent(APPROVAL.replace('"0xabc"', '"x\udc00"'))).toMatchObject({ code: 'not_utf8' });
    expect(parseEvent(APPROVAL.replace('"0xabc"', '"x\ud83d\ude00"')).kind).toBe('valid');
  });

  it.each([
    '',
    ' ',
    '{',
    '{"eventId":',
    'hello',
    "{'a':1}",
    '{"a":1,}',
    'NaN',
    'undefined',
    '{"a":1}{"b":2}',
  ])('%p -> not_json', (text) => {
    expect(parseEvent(Buffer.from(text))).toMatchObject({ kind: 'invalid', code: 'not_json' });
    expect(parseEvent(text)).toMatchObject({ kind: 'invalid', code: 'not_json' });
  });

  it.each([
    ['[]', 'array'],
    [`[${APPROVAL}]`, 'array'],
    ['"withdrawal.approved"', 'string'],
    ['42', 'number'],
    ['true', 'boolean'],
    ['null', 'null'],
  ])('%p -> not_object', (text, kind) => {
    expect(parseEvent(Buffer.from(text))).toEqual({
      kind: 'invalid',
      code: 'not_object',
      reason: `value is JSON ${kind}, expected an object`,
    });
  });

  it('a known type that fails its schema -> schema, naming the field', () => {
    expect(parseEvent(approval((v) => (v.amount = 1.5)))).toEqual({
      kind: 'invalid',
      code: 'schema',
      field: 'amount',
      reason: 'amount: must be a decimal string like "1.25"',
    });
  });

  it('a type of the other topic -> wrong_topic', () => {
    expect(parseEvent(Buffer.from(APPROVAL), { expectedTopic: 'auth' })).toEqual({
      kind: 'invalid',
      code: 'wrong_topic',
      field: 'type',
      reason: 'type: "withdrawal.approved" belongs on the wallet topic, not the auth topic',
    });
    expect(parseEvent(Buffer.from(MFA), { expectedTopic: 'wallet' })).toMatchObject({
      code: 'wrong_topic',
      field: 'type',
    });
  });

  it('never throws, whatever the bytes', () => {
    let seed = 7;
    const byte = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) & 0xff;
    const source = Buffer.from(APPROVAL);
    for (let i = 0; i < 2_000; i++) {
      const value = Buffer.from(source);
      for (let j = 0; j < 1 + (i % 4); j++)
        value[byte() % value.length] = i % 2 === 0 ? byte() : byte() & 0x7f;
      const result = parseEvent(value, { expectedTopic: 'wallet' });
      expect(['valid', 'ignored', 'invalid']).toContain(result.kind);
      if (result.kind === 'invalid') expect(result.reason.length).toBeGreaterThan(0);
    }
  });
});

describe('parseEvent: size limit', () => {
  /** A valid approval padded with an ignored field to exactly `bytes` UTF-8 bytes. */
  function approvalOfBytes(bytes: number, filler = 'x'): string {
    const base = approval((v) => (v.padding = ''));
    const fillerBytes = Buffer.byteLength(filler);
    const missing = bytes - Buffer.byteLength(base);
    const count = Math.floor(missing / fillerBytes);
    const padding = 'x'.repeat(missing - count * fillerBytes) + filler.repeat(count);
    const line = base.replace('"padding":""', `"padding":"${padding}"`);
    expect(Buffer.byteLength(line)).toBe(bytes);
    return line;
  }

  it(`accepts exactly the default ${DEFAULT_MAX_BYTES} bytes and rejects one more`, () => {
    expect(parseEvent(Buffer.from(approvalOfBytes(65_536))).kind).toBe('valid');
    expect(parseEvent(approvalOfBytes(65_536)).kind).toBe('valid');
    const over = {
      kind: 'invalid',
      code: 'too_large',
      reason: 'value is larger than the limit of 65536 bytes',
    };
    expect(parseEvent(Buffer.from(approvalOfBytes(65_537)))).toEqual(over);
    expect(parseEvent(approvalOfBytes(65_537))).toEqual(over);
  });

  it('honours maxBytes, counting bytes rather than characters', () => {
    const exact = approvalOfBytes(1_000, 'é'); // two bytes each
    expect(exact.length).toBeLessThan(1_000);
    expect(parseEvent(exact, { maxBytes: 1_000 }).kind).toBe('valid');
    expect(parseEvent(exact, { maxBytes: 999 }).kind).toBe('invalid');
    expect(parseEvent(Buffer.from(exact), { maxBytes: 1_000 }).kind).toBe('valid');
    expect(parseEvent(Buffer.from(exact), { maxBytes: 999 })).toMatchObject({ code: 'too_large' });
    const emoji = approvalOfBytes(1_200, '😀'); // four bytes, two UTF-16 units each
    expect(parseEvent(emoji, { maxBytes: Buffer.byteLength(emoji) }).kind).toBe('valid');
    expect(parseEvent(emoji, { maxBytes: Buffer.byteLength(emoji) - 1 })).toMatchObject({
      code: 'too_large',
    });
  });

  it('checks the size before decoding', () => {
    const invalidUtf8 = Buffer.alloc(100, 0xff);
    expect(parseEvent(invalidUtf8, { maxBytes: 99 })).toMatchObject({ code: 'too_large' });
    expect(parseEvent(invalidUtf8, { maxBytes: 100 })).toMatchObject({ code: 'not_utf8' });
  });
});

describe('parseEvent: schema errors', () => {
  it.each([
    ['approval.mfaVerified', 'is required', (v: Record<string, unknown>) => (v.approval = { factors: [] })],
    [
      'approval.mfaVerified',
      'must be true or false',
      (v: Record<string, unknown>) => (v.approval = { factors: [], mfaVerified: 'yes' }),
    ],
    [
      'approval.factors.1',
      'must be a string of 1-64 characters',
      (v: Record<string, unknown>) => (v.approval = { factors: ['password', null], mfaVerified: true }),
    ],
    ['amount', 'must be a decimal string like "1.25"', (v: Record<string, unknown>) => (v.amount = '1e3')],
    ['amount', 'must be a decimal string like "1.25"', (v: Record<string, unknown>) => (v.amount = '-1.5')],
    ['amount', 'is required', (v: Record<string, unknown>) => delete v.amount],
    [
      'amountUsd',
      'must be a non-negative number of at most 100000000000 (1e11)',
      (v: Record<string, unknown>) => (v.amountUsd = -5),
    ],
    [
      'asset',
      'must be an upper-case ticker like "ETH" (2-15 of A-Z, 0-9)',
      (v: Record<string, unknown>) => (v.asset = 'eth'),
    ],
    ['eventId', 'must be a string of 1-128 characters', (v: Record<string, unknown>) => (v.eventId = '')],
    ['userId', 'is required', (v: Record<string, unknown>) => delete v.userId],
    [
      'occurredAt',
      'must be an RFC 3339 timestamp with an offset, like "2022-01-17T00:01:02.000Z"',
      (v: Record<string, unknown>) => (v.occurredAt = '2022-01-17T00:02:00.000'),
    ],
    [
      'occurredAt',
      'must be an RFC 3339 timestamp with an offset, like "2022-01-17T00:01:02.000Z"',
      (v: Record<string, unknown>) => (v.occurredAt = '2022-02-30T00:02:00.000Z'),
    ],
  ])('reports %s: %s', (field, message, patch) => {
    expect(parseEvent(approval(patch))).toEqual({
      kind: 'invalid',
      code: 'schema',
      field,
      reason: `${field}: ${message}`,
    });
  });

  it('reports the first issue when there are several', () => {
    const result = parseEvent(
      approval((v) => {
        v.amount = 2;
        v.asset = 'eth';
        v.approval = {};
      }),
    );
    expect(result).toMatchObject({ code: 'schema', field: 'asset' });
  });

  it('rejects a missing or non-string type as a schema error on type', () => {
    expect(parseEvent(approval((v) => delete v.type))).toEqual({
      kind: 'invalid',
      code: 'schema',
      field: 'type',
      reason: 'type: is required',
    });
    expect(parseEvent(approval((v) => (v.type = ['withdrawal.approved'])))).toMatchObject({
      code: 'schema',
      field: 'type',
      reason: 'type: must be a string of 1-128 characters',
    });
  });
});

describe('parseEvent: unknown types', () => {
  const unknown =
    '{"eventId":"k-1","type":"kyc.passed","occurredAt":"2022-01-17T00:02:00+01:00","userId":"u-42","level":3}';

  it('ignores a well-formed event of an unknown type', () => {
    const expected = { kind: 'ignored', type: 'kyc.passed', eventId: 'k-1', userId: 'u-42' };
    expect(parseEvent(Buffer.from(unknown))).toEqual(expected);
    expect(parseEvent(unknown, { expectedTopic: 'auth' })).toEqual(expected);
    expect(parseEvent(unknown, { expectedTopic: 'wallet' })).toEqual(expected);
  });

  it('still rejects an unknown type whose envelope is bad', () => {
    const bad = JSON.parse(unknown) as Record<string, unknown>;
    bad.occurredAt = '2022-01-17T00:02:00';
    expect(parseEvent(JSON.stringify(bad))).toMatchObject({
      kind: 'invalid',
      code: 'schema',
      field: 'occurredAt',
    });
    delete bad.userId;
    bad.occurredAt = '2022-01-17T00:02:00Z';
    expect(parseEvent(JSON.stringify(bad))).toMatchObject({ code: 'schema', field: 'userId' });
  });

  it.each([
    'constructor',
    '__proto__',
    'toString',
    'hasOwnProperty',
    'WITHDRAWAL.APPROVED',
    'withdrawal.approved ',
  ])('treats type %p as unknown, not as a property lookup', (type) => {
    const line = approval((v) => (v.type = type));
    expect(parseEvent(line)).toEqual({ kind: 'ignored', type, eventId: 'w-1', userId: 'u-42' });
    expect(topicOfType(type)).toBeUndefined();
  });
});

describe('parseEvent: prototype pollution', () => {
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('a top-level __proto__ key changes no prototype and is not in the output', () => {
    const line = APPROVAL.replace('{', '{"__proto__":{"polluted":true,"mfaVerified":false},');
    const event = expectValid(parseEvent(line));
    expect(Object.getPrototypeOf(event)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(event, '__proto__')).toBe(false);
    expect((event as unknown as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a nested __proto__ cannot supply a missing field', () => {
    const line = APPROVAL.replace(
      '"approval":{"factors":["password","totp"],"mfaVerified":true}',
      '"approval":{"factors":["password","totp"],"__proto__":{"mfaVerified":true,"polluted":1}}',
    );
    expect(parseEvent(line)).toMatchObject({ code: 'schema', field: 'approval.mfaVerified' });
  });

  it('a __proto__ spelled with a \\u escape is dropped too', () => {
    const line = APPROVAL.replace(
      '{',
      '{"\\u005f_proto__":{"polluted":true},"constructor":{"prototype":{"polluted":1}},',
    );
    const event = expectValid(parseEvent(line));
    expect(Object.getPrototypeOf(event)).toBe(Object.prototype);
    expect(Object.keys(event)).not.toContain('__proto__');
    expect(Object.keys(event)).not.toContain('constructor');
  });

  it('unsafe keys anywhere, even in ignored fields and events of unknown types, change nothing', () => {
    const line = JSON.stringify({
      eventId: 'k-1',
      type: 'kyc.passed',
      occurredAt: '2022-01-17T00:02:00Z',
      userId: 'u-42',
      deep: [{ a: { prototype: { polluted: 1 } } }, [{ constructor: { prototype: { polluted: 1 } } }]],
    }).replace('"deep":', '"__proto__":{"polluted":true},"deep":');
    expect(parseEvent(line)).toEqual({ kind: 'ignored', type: 'kyc.passed', eventId: 'k-1', userId: 'u-42' });
  });

  it('drops unsafe keys at every depth of the parsed tree, leaving the rest', () => {
    const tree = JSON.parse(
      '{"a":1,"__proto__":{"x":1},"b":[{"constructor":{"prototype":{"y":1}},"c":2},[{"\\u005f_proto__":3}]],' +
        '"d":{"prototype":4,"e":{"constructor":5,"f":6}}}',
    ) as unknown;
    dropUnsafeKeys(tree);
    expect(JSON.stringify(tree)).toBe('{"a":1,"b":[{"c":2},[{}]],"d":{"e":{"f":6}}}');
  });

  it('walks deeply nested values without overflowing the stack', () => {
    const deep = `${'['.repeat(5_000)}"\\u0041"${']'.repeat(5_000)}`;
    const line = APPROVAL.replace('{', `{"deep":${deep},`);
    expect(parseEvent(line).kind).toBe('valid');
  });
});

describe('topicOfType and type lists', () => {
  it('maps every known type to its topic', () => {
    for (const type of AUTH_TYPES) expect(topicOfType(type)).toBe('auth');
    for (const type of WALLET_TYPES) expect(topicOfType(type)).toBe('wallet');
    expect(topicOfType('kyc.passed')).toBeUndefined();
    expect(topicOfType('')).toBeUndefined();
  });
});

describe('encodeForDlq', () => {
  it('keeps null as null', () => {
    expect(encodeForDlq(null)).toEqual({ value: null, encoding: 'utf8' });
  });

  it('keeps valid UTF-8 as text, byte for byte', () => {
    expect(encodeForDlq(Buffer.from('not json 😀'))).toEqual({ value: 'not json 😀', encoding: 'utf8' });
    expect(encodeForDlq(Buffer.alloc(0))).toEqual({ value: '', encoding: 'utf8' });
    const withBom = Buffer.from('\ufeff{}');
    expect(Buffer.from(encodeForDlq(withBom).value!)).toEqual(withBom);
  });

  it('base64-encodes anything else so that no byte is lost', () => {
    const bytes = Buffer.from([0x7b, 0xff, 0x00, 0xc0, 0x80, 0x7d]);
    const encoded = encodeForDlq(bytes);
    expect(encoded.encoding).toBe('base64');
    expect(Buffer.from(encoded.value!, 'base64')).toEqual(bytes);
  });
});

describe('parseEvent: bounds on numbers', () => {
  it('refuses an amountUsd beyond 1e11 (1e300 was valid and could not be counted), naming the field', () => {
    const r = parseEvent(approval((v) => (v.amountUsd = 1e300)));
    expect(r).toMatchObject({ kind: 'invalid', code: 'schema', field: 'amountUsd' });
    if (r.kind === 'invalid') expect(r.reason).toMatch(/^amountUsd: .*at most/);
    expect(parseEvent(approval((v) => (v.amountUsd = MAX_AMOUNT_USD))).kind).toBe('valid');
    expect(parseEvent(approval((v) => (v.amountUsd = MAX_AMOUNT_USD * 1.01))).kind).toBe('invalid');
  });
});

describe('parseEvent: event-time sanity', () => {
  const now = Date.parse('2026-06-01T12:00:00.000Z');
  const range = eventTimeRange(DEFAULT_EVENT_TIME_BOUNDS, {
    aheadRefMs: now,
    latestFrom: 'the wall clock',
    earliestFrom: 'the wall clock',
  });
  const at = (iso: string) =>
    parseEvent(
      approval((v) => (v.occurredAt = iso)),
      { eventTime: range },
    );

  it('refuses a date further ahead than the bound, with a reason naming occurredAt', () => {
    const r = at('9999-12-31T23:59:59.000Z');
    expect(r).toMatchObject({ kind: 'invalid', code: 'event_time', field: 'occurredAt' });
    if (r.kind === 'invalid') expect(r.reason).toBe('occurredAt: lies more than 1 h ahead of the wall clock');
    expect(at('2026-06-01T13:00:01.000Z').kind).toBe('invalid');
    expect(at('2026-06-01T12:59:59.000Z').kind).toBe('valid');
  });

  it('refuses the epoch and zero dates, and accepts a recorded log of past years', () => {
    for (const iso of ['1970-01-01T00:00:00.000Z', '1969-12-31T23:59:59.000Z', '0001-01-01T00:00:00Z']) {
      const r = at(iso);
      expect(r).toMatchObject({ kind: 'invalid', code: 'event_time', field: 'occurredAt' });
      if (r.kind === 'invalid')
        expect(r.reason).toBe('occurredAt: lies more than 3650 d behind the wall clock');
    }
    expect(at('2022-01-17T00:02:00.000Z').kind).toBe('valid');
  });

  it('accepts any date without a range (the range is the caller’s, built from the times it reads)', () => {
    expect(parseEvent(approval((v) => (v.occurredAt = '9999-12-31T23:59:59.000Z'))).kind).toBe('valid');
  });
});
