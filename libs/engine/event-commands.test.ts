import { engineUserKeys } from '../keys';
import { parseRulesConfig, sanctionsFromText } from '../rules';
import { MAINTAIN_EVERY, eventCommand, trimTime, userScriptKeys } from './event-commands';
import { parseFlagRecord } from './flag-records';
import { parsePendingMember } from './index-members';
import { compileRulePlan } from './rule-plan';
import { EventFactory, HOUR, MINUTE } from './synthetic-traffic';

const T0 = Date.parse('2022-01-17T00:00:00.000Z');
const keys = userScriptKeys(engineUserKeys('p', 'u:1 {x}'));
const f = new EventFactory('c');

function plan(rules: unknown[]) {
  return compileRulePlan(parseRulesConfig({ rules }, { loadLists: false }));
}

describe('eventCommand', () => {
  it('keeps every key of a user in one hash tag, escaping the id', () => {
    for (const k of Object.values(keys.keys)) expect(k.startsWith('p:{u:u%3a1%20%7bx%7d}:')).toBe(true);
  });

  it('records events no enabled rule reads, so their redelivery is still a duplicate', () => {
    const p = plan([{ kind: 'velocity' }]);
    for (const e of [f.mfa('u', T0, 's'), f.login('u', T0, 's', 'd'), f.completed('u', T0, 'w')]) {
      expect(eventCommand(e, p, keys)).toMatchObject({
        script: 'recordEvent',
        keys: keys.record,
        args: [e.eventId, T0, expect.any(String)],
      });
    }
  });

  it('routes auth facts to their scripts when a rule reads them', () => {
    const p = plan([
      { kind: 'mfa-missing' },
      { kind: 'mfa-reset-withdrawal' },
      { kind: 'new-device-withdrawal' },
    ]);
    expect(eventCommand(f.mfa('u', T0, 's', 'sms'), p, keys)).toMatchObject({
      script: 'applyMfa',
      args: [expect.any(String), T0, 's', 'sms', expect.any(String)],
    });
    expect(eventCommand(f.mfaReset('u', T0), p, keys)).toMatchObject({
      script: 'applyMfaChange',
      args: [expect.any(String), T0, 'reset', 'totp', expect.any(String)],
    });
    expect(eventCommand(f.login('u', T0, 's', 'dev'), p, keys)).toMatchObject({
      script: 'applyLogin',
      args: [expect.any(String), T0, 's', 'dev', expect.any(String)],
    });
  });

  it('an approval with honest claims waits for the auth stream: a pending decision due at occurredAt + grace', () => {
    const p = plan([{ kind: 'mfa-missing' }]);
    const e = f.approved('u', T0, { withdrawalId: 'w', sessionId: 's' });
    const cmd = eventCommand(e, p, keys);
    expect(cmd.script).toBe('applyApproval');
    expect(cmd.args[6]).toBe('');
    expect(cmd.pending).toEqual({ due: T0 + 30_000, member: JSON.stringify(['u', e.eventId, 'w']) });
    expect(parsePendingMember(cmd.pending!.member)).toEqual({
      userId: 'u',
      eventId: e.eventId,
      withdrawalId: 'w',
    });
    const [head, claims] = String(cmd.args[7]).split('\n');
    expect(JSON.parse(head!)).toEqual({ e: e.eventId, t: T0, s: 's', w: 'w', m: 1 });
    expect(JSON.parse(claims!)).toEqual({ factors: ['password', 'totp'], mfaVerified: true });
  });

  it('claims without MFA become an immediate hit; nothing waits when no other deferred rule runs', () => {
    const p = plan([{ kind: 'mfa-missing' }]);
    const cmd = eventCommand(
      f.approved('u', T0, { withdrawalId: 'w', sessionId: 's', factors: ['password'] }),
      p,
      keys,
    );
    const hits = JSON.parse(String(cmd.args[6])) as [string, string, string][];
    expect(hits.map(([id, sev, ev]) => [id, sev, JSON.parse(ev)])).toEqual([
      [
        'mfa-missing',
        'critical',
        { reason: 'no-second-factor', sessionId: 's', claims: { factors: ['password'], mfaVerified: true } },
      ],
    ]);
    expect(cmd.pending).toBeUndefined();
    expect(cmd.args[7]).toBe('');
  });

  it('checks sanctions in TypeScript on the normalised address', () => {
    const p = plan([]);
    p.sanctions.push({
      rule: {
        id: 'sanctioned-destination',
        kind: 'sanctioned-destination',
        severity: 'critical',
        enabled: true,
        params: { listsDir: '/x' },
      },
      lists: sanctionsFromText({ USDT: '0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff' }),
    });
    const address = '0x19AA5FE80D33A56D56C78E82EA5E50E5D80B4DFF';
    const cmd = eventCommand(f.approved('u', T0, { withdrawalId: 'w', sessionId: 's', address }), p, keys);
    expect(cmd.args[4]).toBe(address.toLowerCase());
    const [id, , evidence] = (JSON.parse(String(cmd.args[6])) as [string, string, string][])[0]!;
    expect(id).toBe('sanctioned-destination');
    expect(JSON.parse(evidence)).toEqual({
      address,
      normalisedAddress: address.toLowerCase(),
      lists: ['USDT'],
    });
  });
});

describe('rule plan', () => {
  it('keeps each piece of state for its longest window plus grace (plus max skew for auth facts)', () => {
    const p = plan([
      { kind: 'mfa-missing' },
      { kind: 'velocity' },
      { id: 'velocity-day', kind: 'velocity', params: { windowMs: 24 * HOUR } },
      { kind: 'new-device-withdrawal' },
    ]);
    const skew = 6 * HOUR;
    expect(p.retention.mfaPassed).toBe(10 * MINUTE + 30_000 + skew);
    expect(p.retention.velocity).toBe(24 * HOUR + 30_000);
    expect(p.retention.sessions).toBe(30 * MINUTE + 30_000 + skew);
    expect(p.retention.devices).toBe(90 * 24 * HOUR + 30_000 + skew);
    expect(p.deferredRuleIds).toEqual(['mfa-missing', 'new-device-withdrawal']);
  });
});

describe('flag records', () => {
  it('turn into flags with ISO twins of every event time in the evidence', () => {
    const base = JSON.stringify({
      userId: 'u',
      withdrawalId: 'w',
      eventId: 'e',
      occurredAt: '2022-01-17T00:00:00.000Z',
      asset: 'ETH',
      amountUsd: 123456789.123456,
    });
    const rec = JSON.stringify({
      e: 'e',
      r: 'mfa-missing',
      s: 'critical',
      t: T0 + 30_000,
      v: JSON.stringify({ windowStartMs: T0 - 600_000, last: { atMs: T0 }, lookbackMs: 600_000 }),
      b: base,
    });
    expect(parseFlagRecord(rec)).toEqual({
      flagId: 'mfa-missing:w',
      ruleId: 'mfa-missing',
      severity: 'critical',
      userId: 'u',
      withdrawalId: 'w',
      eventId: 'e',
      occurredAt: '2022-01-17T00:00:00.000Z',
      raisedAt: '2022-01-17T00:00:30.000Z',
      asset: 'ETH',
      amountUsd: 123456789.123456,
      evidence: {
        windowStartMs: T0 - 600_000,
        windowStart: '2022-01-16T23:50:00.000Z',
        last: { atMs: T0, at: '2022-01-17T00:00:00.000Z' },
        lookbackMs: 600_000,
      },
    });
  });
});

describe('trimming pace', () => {
  it('asks for trimming on a user first event here and then on one in MAINTAIN_EVERY', () => {
    const k = userScriptKeys(engineUserKeys('p', 'pace'));
    const p = plan([]);
    const flags = Array.from(
      { length: 17 },
      (_, i) => eventCommand(f.completed('pace', T0 + i, 'w'), p, k).args[2],
    );
    const expected = [0, 1, 2, 3, 4].map((n) => n * MAINTAIN_EVERY).filter((i) => i < 17);
    expect(flags.map((x, i) => (x !== '' ? i : -1)).filter((i) => i >= 0)).toEqual(expected);
    // Without a watermark only the size caps trim: the trim time is 0.
    expect(flags[0]).toBe('0');
  });
});

describe('trimTime', () => {
  it('is empty when this event does no maintenance', () => {
    expect(trimTime(T0, T0, false)).toBe('');
  });

  it('never passes the watermark, so a stream running ahead cannot trim what a lagging one needs', () => {
    expect(trimTime(T0 + 7 * 3_600_000, T0, true)).toBe(String(T0));
  });

  it('never passes the event itself', () => {
    expect(trimTime(T0 - 5, T0, true)).toBe(String(T0 - 5));
  });

  it('trims by size only before any watermark is known', () => {
    expect(trimTime(T0, undefined, true)).toBe('0');
    expect(trimTime(T0, -Infinity, true)).toBe('0');
  });
});
