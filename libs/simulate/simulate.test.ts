import { Writable } from 'node:stream';
import { UsageError } from '../errors';
import {
  DEFAULT_INCIDENT,
  parseDuration,
  simulate,
  simulateEvents,
  simulateSummary,
  writeSimulation,
  type SimulateOptions,
  type SimulatedLine,
  type SimulationStats,
} from './index';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const SMALL: SimulateOptions = {
  seed: 7,
  users: 300,
  start: '2022-01-15T00:00:00.000Z',
  durationMs: 2 * DAY,
  withdrawalsPerUserPerDay: 2,
  attack: { at: '2022-01-16T12:00:00.000Z', users: 40, durationMs: 15 * MIN, freshAddressShare: 0.6 },
};

type Ev = Record<string, unknown> & { eventId: string; type: string; occurredAt: string; userId: string };

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const FACTORS = new Set(['totp', 'sms', 'email', 'webauthn', 'biometric']);
const str = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
const TYPES: Record<string, (e: Record<string, unknown>) => boolean> = {
  'login.succeeded': (e) => str(e.sessionId) && str(e.ip) && str(e.deviceId),
  'login.failed': (e) => str(e.ip) && str(e.deviceId),
  'mfa.passed': (e) => str(e.sessionId) && FACTORS.has(e.factor as string),
  'mfa.failed': (e) => str(e.sessionId) && FACTORS.has(e.factor as string),
  'mfa.enrolled': (e) => FACTORS.has(e.factor as string),
  'mfa.reset': (e) => e.factor === undefined || FACTORS.has(e.factor as string),
  'address.whitelisted': (e) => str(e.address) && /^[A-Z0-9]+$/.test(e.asset as string),
  'withdrawal.requested': (e) => withdrawalFields(e),
  'withdrawal.approved': (e) => {
    const a = e.approval as { factors?: unknown; mfaVerified?: unknown } | undefined;
    return (
      withdrawalFields(e) &&
      typeof a === 'object' &&
      a !== null &&
      Array.isArray(a.factors) &&
      a.factors.every((f) => typeof f === 'string') &&
      typeof a.mfaVerified === 'boolean'
    );
  },
  'withdrawal.completed': (e) => str(e.withdrawalId),
  'withdrawal.rejected': (e) => str(e.withdrawalId),
};
function withdrawalFields(e: Record<string, unknown>): boolean {
  return (
    str(e.withdrawalId) &&
    str(e.sessionId) &&
    /^[A-Z0-9]+$/.test(e.asset as string) &&
    typeof e.amount === 'string' &&
    /^\d+\.\d{8}$/.test(e.amount) &&
    typeof e.amountUsd === 'number' &&
    Number.isFinite(e.amountUsd) &&
    e.amountUsd >= 0 &&
    str(e.address)
  );
}

/** Section 2 and 3 of the contract as a reader applies them: the event, or why the line is bad. */
function validate(line: string): Ev | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not an object';
  const e = v as Record<string, unknown>;
  for (const f of ['eventId', 'userId'] as const) {
    const x = e[f];
    if (typeof x !== 'string' || x.length < 1 || x.length > 128) return `bad ${f}`;
  }
  if (
    typeof e.occurredAt !== 'string' ||
    !RFC3339.test(e.occurredAt) ||
    !Number.isFinite(Date.parse(e.occurredAt))
  )
    return 'bad occurredAt';
  const check = TYPES[e.type as string];
  if (check === undefined) return 'unknown type';
  if (!check(e)) return `bad ${String(e.type)} fields`;
  return e as Ev;
}

function collect(opts: SimulateOptions): SimulatedLine[] {
  return [...simulateEvents(opts)];
}

function parseAll(lines: readonly string[]): Ev[] {
  return lines.map((l) => {
    const e = validate(l);
    if (typeof e === 'string') throw new Error(`${e}: ${l}`);
    return e;
  });
}

const ms = (e: Ev): number => Date.parse(e.occurredAt);

interface Flag {
  ruleId: string;
  userId: string;
  withdrawalId: string;
}

/**
 * A plain reference reading of the contract's default rules (section 5) over lines in arrival order, with
 * the 30 s grace for late MFA driven by event time. It is the ground truth the generator is built for:
 * ordinary traffic raises nothing, every attacked withdrawal raises mfa-missing.
 */
function referenceFlags(lines: readonly string[]): Flag[] {
  const flags: Flag[] = [];
  const seen = new Set<string>();
  const mfa = new Map<string, number[]>();
  const devices = new Map<string, Map<string, number>>();
  const logins = new Map<string, { at: number; newDevice: boolean }>();
  const whitelisted = new Map<string, number>();
  const resets = new Map<string, number>();
  const recent = new Map<string, { at: number; usd: number }[]>();
  let pending: { e: Ev; at: number }[] = [];
  let watermark = -Infinity;
  const flag = (ruleId: string, e: Ev): void => {
    flags.push({ ruleId, userId: e.userId, withdrawalId: e.withdrawalId as string });
  };
  const decide = (p: { e: Ev; at: number }): void => {
    const times = mfa.get(`${p.e.userId}|${p.e.sessionId as string}`) ?? [];
    if (!times.some((t) => t >= p.at - 10 * MIN && t <= p.at + 30_000)) flag('mfa-missing', p.e);
  };
  for (const line of lines) {
    const e = validate(line);
    if (typeof e === 'string' || seen.has(e.eventId)) continue;
    seen.add(e.eventId);
    const at = ms(e);
    watermark = Math.max(watermark, at);
    const u = e.userId;
    const sessionKey = `${u}|${e.sessionId as string}`;
    switch (e.type) {
      case 'login.succeeded': {
        const known = devices.get(u) ?? new Map<string, number>();
        devices.set(u, known);
        const last = known.get(e.deviceId as string);
        logins.set(sessionKey, { at, newDevice: last === undefined || at - last > 90 * DAY });
        known.set(e.deviceId as string, at);
        break;
      }
      case 'mfa.passed':
        mfa.set(sessionKey, [...(mfa.get(sessionKey) ?? []), at]);
        break;
      case 'mfa.reset':
      case 'mfa.enrolled':
        resets.set(u, Math.max(at, resets.get(u) ?? -Infinity));
        break;
      case 'address.whitelisted':
        whitelisted.set(`${u}|${e.address as string}`, at);
        break;
      case 'withdrawal.approved': {
        const approval = e.approval as { factors: string[]; mfaVerified: boolean };
        if (!approval.mfaVerified || !approval.factors.some((f) => FACTORS.has(f))) flag('mfa-missing', e);
        else pending.push({ e, at });
        const wl = whitelisted.get(`${u}|${e.address as string}`);
        if (wl !== undefined && at - wl < DAY) flag('new-address-cooldown', e);
        const reset = resets.get(u);
        if (reset !== undefined && at - reset < DAY) flag('mfa-reset-withdrawal', e);
        const login = logins.get(sessionKey);
        if (login !== undefined && login.newDevice && at - login.at < 30 * MIN)
          flag('new-device-withdrawal', e);
        const window = (recent.get(u) ?? []).filter((x) => x.at > at - HOUR);
        window.push({ at, usd: e.amountUsd as number });
        recent.set(u, window);
        if (window.length > 5 || window.reduce((s, x) => s + x.usd, 0) >= 100_000) flag('velocity', e);
        break;
      }
    }
    const due = pending.filter((p) => p.at + 30_000 < watermark);
    if (due.length > 0) {
      due.forEach(decide);
      pending = pending.filter((p) => p.at + 30_000 >= watermark);
    }
  }
  pending.forEach(decide);
  return flags;
}

// First, while the heap is small and no other test has shaped the generator's type feedback: run later,
// the same test took twice as long.
describe('streaming', () => {
  it('generates 1,000,000 lines in bounded memory', () => {
    const stats = {} as SimulationStats;
    let lines = 0;
    let bytes = 0;
    let attacked = 0;
    const gen = simulateEvents(
      {
        seed: 1,
        users: 8_000,
        durationMs: 16 * DAY,
        withdrawalsPerUserPerDay: 1.5,
        attack: { at: '2022-01-20T00:00:00Z', users: 483, durationMs: 15 * MIN, freshAddressShare: 0.7 },
      },
      stats,
    );
    for (const { line, meta } of gen) {
      lines++;
      bytes += line.length;
      if (meta.attacked && meta.type === 'withdrawal.approved') attacked++;
      if (lines === 1_000_000) break;
    }
    expect(lines).toBe(1_000_000);
    expect(stats.lines).toBeGreaterThanOrEqual(1_000_000);
    expect(attacked).toBe(483);
    expect(bytes).toBeGreaterThan(100_000_000);
    // Only the few minutes of events in flight are ever held back, not the log.
    expect(stats.peakBuffered).toBeLessThan(10_000);
  });
});

describe('parseDuration', () => {
  it('reads units, compounds and plain milliseconds', () => {
    expect(parseDuration('2d')).toBe(2 * DAY);
    expect(parseDuration('90m')).toBe(90 * MIN);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1h')).toBe(HOUR);
    expect(parseDuration('1h30m')).toBe(90 * MIN);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('60000')).toBe(60_000);
    expect(parseDuration(' 1.5h ')).toBe(90 * MIN);
  });

  it('rejects what it cannot read', () => {
    for (const bad of ['', 'h', '2x', '1h ago', '-5m', '1e3'])
      expect(() => parseDuration(bad)).toThrow(UsageError);
  });
});

describe('options', () => {
  it('rejects impossible options with a UsageError naming the option', () => {
    const a = SMALL.attack!;
    expect(() => collect({ ...SMALL, attack: { ...a, users: 301 } })).toThrow(/attack.users/);
    expect(() => collect({ ...SMALL, attack: { ...a, at: '2022-02-01T00:00:00Z' } })).toThrow(/attack.at/);
    expect(() => collect({ ...SMALL, start: '15 Jan 2022' })).toThrow(UsageError);
    expect(() => collect({ ...SMALL, seed: 1.5 })).toThrow(/seed/);
    expect(() => collect({ ...SMALL, lateMfaShare: 2 })).toThrow(/lateMfaShare/);
  });

  it('DEFAULT_INCIDENT is the January 2022 preset', () => {
    expect(DEFAULT_INCIDENT).toMatchObject({
      users: 5000,
      start: '2022-01-15T00:00:00.000Z',
      durationMs: 2 * DAY,
      attack: { at: '2022-01-17T00:00:00.000Z', users: 483, durationMs: 15 * MIN },
    });
  });
});

function smallFixture() {
  const items = collect(SMALL);
  const lines = items.map((i) => i.line);
  const events = parseAll(lines);
  const approvals = events.filter((e) => e.type === 'withdrawal.approved');
  return {
    items,
    lines,
    events,
    summary: simulateSummary(SMALL),
    approvals,
    attackedApprovals: approvals.filter((e) => (e.withdrawalId as string).startsWith('wd-atk-')),
    ordinaryApprovals: approvals.filter((e) => !(e.withdrawalId as string).startsWith('wd-atk-')),
  };
}

describe('simulate (small span with an attack)', () => {
  // Built before the tests and dropped after them, so the streaming test runs on a small heap (a large
  // live heap made Jest's garbage collection several times slower).
  let f!: ReturnType<typeof smallFixture>;
  beforeAll(() => {
    f = smallFixture();
  });
  afterAll(() => {
    f = undefined!;
  });

  it('is deterministic for a seed and differs across seeds', () => {
    expect([...simulate(SMALL)]).toEqual(f.lines);
    const other = [...simulate({ ...SMALL, seed: 8 })];
    expect(other).not.toEqual(f.lines);
    expect(other.length).toBeGreaterThan(0);
  });

  it('writes valid contract events with unique eventIds and RFC 3339 Z times', () => {
    expect(f.events.length).toBeGreaterThan(5_000);
    expect(f.events.every((e) => e.occurredAt.endsWith('Z'))).toBe(true);
    expect(new Set(f.events.map((e) => e.eventId)).size).toBe(f.events.length);
    expect(f.events.every((e) => /^[aw]-\d+$/.test(e.eventId))).toBe(true);
    expect(f.events.every((e) => /^u-\d{6}$/.test(e.userId))).toBe(true);
    const requested = f.events.filter((e) => e.type === 'withdrawal.requested').map((e) => e.withdrawalId);
    expect(new Set(requested).size).toBe(requested.length);
    const keys = Object.keys(f.events.find((e) => e.type === 'withdrawal.approved')!);
    expect(keys).toEqual([
      'eventId',
      'type',
      'occurredAt',
      'userId',
      'withdrawalId',
      'sessionId',
      'asset',
      'amount',
      'amountUsd',
      'address',
      'approval',
    ]);
    for (const t of Object.keys(TYPES).filter(
      (t) => t !== 'mfa.failed' && !t.startsWith('mfa.re') && t !== 'mfa.enrolled',
    ))
      expect(f.events.some((e) => e.type === t)).toBe(true);
  });

  it('lines come in arrival order, which the meta records', () => {
    const outOfOrder = f.items.filter(
      (item, i) => i > 0 && item.meta.arrivalMs < f.items[i - 1]!.meta.arrivalMs,
    );
    expect(outOfOrder).toEqual([]);
    const beforeTheyHappened = f.items.filter((item, i) => item.meta.arrivalMs < ms(f.events[i]!));
    expect(beforeTheyHappened).toEqual([]);
  });

  it("gives every ordinary approval its session's mfa.passed within 10 minutes before it", () => {
    const mfa = new Map<string, { at: number; index: number }>();
    f.events.forEach((e, index) => {
      if (e.type === 'mfa.passed') mfa.set(`${e.userId}|${e.sessionId as string}`, { at: ms(e), index });
    });
    for (const a of f.ordinaryApprovals) {
      const m = mfa.get(`${a.userId}|${a.sessionId as string}`);
      expect(m).toBeDefined();
      expect(ms(a) - m!.at).toBeGreaterThan(0);
      expect(ms(a) - m!.at).toBeLessThanOrEqual(10 * MIN);
      expect(a.approval).toEqual({ factors: ['password', expect.any(String)], mfaVerified: true });
    }
  });

  it('delivers late MFAs after their approval, yet inside 20 s of their own event time', () => {
    const approvalIndex = new Map<string, number>();
    let watermark = -Infinity;
    let late = 0;
    f.events.forEach((e, i) => {
      watermark = Math.max(watermark, ms(e));
      if (e.type === 'withdrawal.approved') approvalIndex.set(`${e.userId}|${e.sessionId as string}`, i);
      if (e.type !== 'mfa.passed') return;
      const ai = approvalIndex.get(`${e.userId}|${e.sessionId as string}`);
      if (ai === undefined) return;
      late++;
      expect(f.items[i]!.meta.lateMfa).toBe(true);
      const approval = f.events[ai]!;
      expect(ms(e)).toBeLessThan(ms(approval));
      // Event time seen so far has not gone past the approval's 30 s grace.
      expect(watermark - ms(e)).toBeLessThanOrEqual(20_000);
      expect(watermark).toBeLessThan(ms(approval) + 30_000);
    });
    expect(late).toBe(f.summary.lateMfaWithdrawals);
    expect(late / f.ordinaryApprovals.length).toBeGreaterThan(0.02);
    expect(late / f.ordinaryApprovals.length).toBeLessThan(0.1);
  });

  it('drains the attacked accounts without any MFA, within the window, as the summary says', () => {
    const a = SMALL.attack!;
    const at = Date.parse(a.at);
    expect(f.attackedApprovals).toHaveLength(a.users);
    expect(new Set(f.attackedApprovals.map((e) => e.userId)).size).toBe(a.users);
    expect(f.summary.attackedUsers).toEqual([...new Set(f.attackedApprovals.map((e) => e.userId))].sort());
    expect(f.summary.attackedWithdrawalIds).toEqual(f.attackedApprovals.map((e) => e.withdrawalId));
    expect(f.summary.attackStart).toBe('2022-01-16T12:00:00.000Z');
    const sessions = new Set(f.attackedApprovals.map((e) => `${e.userId}|${e.sessionId as string}`));
    expect(
      f.events.some((e) => e.type === 'mfa.passed' && sessions.has(`${e.userId}|${e.sessionId as string}`)),
    ).toBe(false);
    for (const e of f.attackedApprovals) {
      expect(ms(e)).toBeGreaterThanOrEqual(at);
      expect(ms(e)).toBeLessThan(at + a.durationMs);
      expect((e.approval as { factors: string[] }).factors).toEqual(['password']);
      expect(['ETH', 'BTC']).toContain(e.asset);
      expect(e.amountUsd).toBeGreaterThanOrEqual(1_999);
      expect(e.amountUsd).toBeLessThanOrEqual(60_001);
      const login = f.events.find((x) => x.type === 'login.succeeded' && x.sessionId === e.sessionId)!;
      expect(ms(login)).toBeGreaterThanOrEqual(at);
    }
    const unverified = f.attackedApprovals.filter(
      (e) => !(e.approval as { mfaVerified: boolean }).mfaVerified,
    );
    expect(unverified.length).toBeLessThan(a.users / 4);
    expect(unverified.map((e) => e.withdrawalId)).toEqual(f.summary.attackUnverifiedWithdrawalIds);
    const fresh = f.attackedApprovals.filter((e) =>
      f.events.some(
        (w) =>
          w.type === 'address.whitelisted' &&
          w.userId === e.userId &&
          w.address === e.address &&
          ms(e) - ms(w) < 15 * MIN &&
          ms(w) < ms(e),
      ),
    );
    expect(fresh.map((e) => e.withdrawalId)).toEqual(f.summary.attackFreshAddressWithdrawalIds);
    expect(fresh.length / a.users).toBeGreaterThan(0.3);
    expect(fresh.length / a.users).toBeLessThan(0.9);
  });

  it('keeps ordinary users under the velocity thresholds', () => {
    const byUser = new Map<string, Ev[]>();
    for (const e of f.approvals) byUser.set(e.userId, [...(byUser.get(e.userId) ?? []), e]);
    for (const e of f.ordinaryApprovals) {
      const window = byUser.get(e.userId)!.filter((x) => ms(x) > ms(e) - HOUR && ms(x) <= ms(e));
      expect(window.length).toBeLessThanOrEqual(5);
      expect(window.reduce((s, x) => s + (x.amountUsd as number), 0)).toBeLessThan(100_000);
    }
  });

  it('raises no flag on ordinary traffic and mfa-missing on every attacked withdrawal', () => {
    const flags = referenceFlags(f.lines);
    expect(flags.filter((x) => !x.withdrawalId.startsWith('wd-atk-'))).toEqual([]);
    const missing = new Set(flags.filter((x) => x.ruleId === 'mfa-missing').map((x) => x.withdrawalId));
    expect([...missing].sort()).toEqual([...f.summary.attackedWithdrawalIds].sort());
    const cooldown = flags.filter((x) => x.ruleId === 'new-address-cooldown').map((x) => x.withdrawalId);
    expect(cooldown.sort()).toEqual([...f.summary.attackFreshAddressWithdrawalIds].sort());
  });

  it('writes ordinary amounts as 8-decimal strings consistent with amountUsd', () => {
    const prices: Record<string, number> = {
      BTC: 42_000,
      ETH: 3_300,
      USDC: 1,
      USDT: 1,
      SOL: 140,
      XRP: 0.78,
      LTC: 145,
      DOGE: 0.17,
    };
    for (const e of f.approvals) {
      const price = prices[e.asset as string]!;
      expect(Math.abs(Number(e.amount) * price - (e.amountUsd as number))).toBeLessThan(0.01);
    }
  });
});

describe('simulate with noise', () => {
  const opts: SimulateOptions = { ...SMALL, users: 120, invalidShare: 0.05, duplicateShare: 0.05 };
  let noisy: SimulatedLine[] = [];
  let clean: SimulatedLine[] = [];
  beforeAll(() => {
    noisy = collect(opts);
    clean = collect({ ...opts, invalidShare: 0, duplicateShare: 0 });
  });
  afterAll(() => {
    noisy = [];
    clean = [];
  });

  it('adds bad lines and redeliveries without changing the valid events', () => {
    expect(noisy.filter((i) => i.meta.kind === 'event').map((i) => i.line)).toEqual(clean.map((i) => i.line));
  });

  it('makes every bad line invalid under the contract and counts it', () => {
    const bad = noisy.filter((i) => i.meta.kind === 'invalid');
    expect(bad.length / clean.length).toBeGreaterThan(0.03);
    expect(bad.length / clean.length).toBeLessThan(0.07);
    for (const b of bad) expect(typeof validate(b.line)).toBe('string');
    const summary = simulateSummary(opts);
    expect(summary.invalidLines).toBe(bad.length);
    expect(summary.lines).toBe(noisy.length);
  });

  it('repeats duplicates byte for byte, later than the original', () => {
    const firstIndex = new Map<string, number>();
    let duplicates = 0;
    noisy.forEach((item, i) => {
      if (item.meta.kind === 'invalid') return;
      const id = (JSON.parse(item.line) as Ev).eventId;
      if (item.meta.kind === 'event') {
        expect(firstIndex.has(id)).toBe(false);
        firstIndex.set(id, i);
        return;
      }
      duplicates++;
      const first = firstIndex.get(id);
      expect(first).toBeDefined();
      expect(noisy[first!]!.line).toBe(item.line);
    });
    expect(duplicates / clean.length).toBeGreaterThan(0.03);
    expect(referenceFlags(noisy.map((i) => i.line))).toEqual(referenceFlags(clean.map((i) => i.line)));
  });
});

describe('writeSimulation', () => {
  it('writes the same lines with newlines, honouring back-pressure', async () => {
    const opts: SimulateOptions = { ...SMALL, users: 150 };
    const chunks: Buffer[] = [];
    let writes = 0;
    const out = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        writes++;
        chunks.push(chunk);
        setImmediate(cb);
      },
    });
    const result = await writeSimulation(opts, out);
    const text = Buffer.concat(chunks).toString('utf8');
    const expected = [...simulate(opts)];
    expect(text).toBe(expected.join('\n') + '\n');
    expect(result.lines).toBe(expected.length);
    expect(result.bytes).toBe(Buffer.byteLength(text));
    expect(result.attackedWithdrawals).toBe(40);
    expect(writes).toBeGreaterThan(1);
  });

  it('rejects when the stream fails', async () => {
    const out = new Writable({
      write(_chunk, _enc, cb) {
        cb(new Error('disk full'));
      },
    });
    await expect(writeSimulation({ ...SMALL, users: 150 }, out)).rejects.toThrow('disk full');
  });
});
