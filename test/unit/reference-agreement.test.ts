import { ReferenceReader } from '../../bench/reference';
import { defaultBreakerConfig } from '../../libs/breaker/config';
import { replayInProcess } from '../../libs/replay/in-process';
import { prng } from '../../libs/engine/synthetic-traffic';
import { defaultRulesConfig } from '../../libs/rules';
import { simulate } from '../../libs/simulate';

/**
 * The engine against the reference reading (bench/reference.ts: the six default rules in plain TypeScript,
 * written apart from libs/) on a simulated log made harder where the two could part: approvals repeated
 * hours later, a device's earlier login arriving after the session's own, a whitelisting dated after an
 * approval arriving before it, and neighbouring lines swapped. Both must raise the same flags.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type Line = Record<string, unknown> & { occurredAt: string; type: string; userId: string };
const iso = (ms: number) => new Date(ms).toISOString();
const ms = (l: Line) => Date.parse(l.occurredAt);

function hardenedLog(seed: number): string[] {
  const rnd = prng(seed);
  const base = [
    ...simulate({
      seed,
      users: 400,
      start: '2022-01-15T00:00:00.000Z',
      durationMs: 2 * DAY,
      withdrawalsPerUserPerDay: 3,
      attack: { at: '2022-01-16T12:00:00.000Z', users: 40, durationMs: 900_000, freshAddressShare: 0.5 },
      lateMfaShare: 0.2,
    }),
  ].map((l) => JSON.parse(l) as Line);
  const extra: { afterIndex: number; line: Line }[] = [];
  const loginsByUser = new Map<string, Line>();
  base.forEach((l, i) => {
    if (l.type === 'login.succeeded') {
      // An earlier login from the same device, 1-120 days back, arriving right after this one.
      if (loginsByUser.has(l.userId) && rnd() < 0.3)
        extra.push({
          afterIndex: i,
          line: {
            ...l,
            eventId: `${String(l.eventId)}-earlier`,
            sessionId: `${String(l.sessionId)}-earlier`,
            occurredAt: iso(ms(l) - Math.round((1 + rnd() * 119) * DAY)),
          },
        });
      loginsByUser.set(l.userId, l);
    }
    if (l.type === 'withdrawal.approved') {
      // The same withdrawal approved again 1.5-4 h later.
      if (rnd() < 0.15) {
        const again = ms(l) + Math.round((1.5 + rnd() * 2.5) * HOUR);
        const at = base.findIndex((x) => ms(x) > again);
        const afterIndex = (at < 0 ? base.length : at) - 1;
        extra.push({
          afterIndex,
          line: { ...l, eventId: `${String(l.eventId)}-again`, occurredAt: iso(again) },
        });
        // Then 5 or 6 new withdrawals within the next half hour: with the repeat 6 or 7 approvals, one
        // withdrawal fewer.
        if (rnd() < 0.4) {
          const n = rnd() < 0.5 ? 5 : 6;
          for (let k = 1; k <= n; k++)
            extra.push({
              afterIndex,
              line: {
                ...l,
                eventId: `${String(l.eventId)}-burst${k}`,
                withdrawalId: `${String(l.withdrawalId)}-burst${k}`,
                occurredAt: iso(again + k * 5 * 60_000),
              },
            });
        }
      }
      // A whitelisting of its address dated a minute after it, arriving just before it.
      if (rnd() < 0.1)
        extra.push({
          afterIndex: i - 1,
          line: {
            eventId: `${String(l.eventId)}-wl`,
            type: 'address.whitelisted',
            occurredAt: iso(ms(l) + 60_000),
            userId: l.userId,
            address: l.address,
            asset: l.asset,
          },
        });
    }
  });
  const after = new Map<number, Line[]>();
  for (const x of extra) after.set(x.afterIndex, [...(after.get(x.afterIndex) ?? []), x.line]);
  const out: Line[] = [...(after.get(-1) ?? [])];
  base.forEach((l, i) => out.push(l, ...(after.get(i) ?? [])));
  for (let i = 0; i + 1 < out.length; i++) if (rnd() < 0.1) [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
  return out.map((l) => JSON.stringify(l));
}

async function* asAsync(lines: string[]): AsyncIterable<string> {
  yield* lines;
}

describe('the engine and the reference reading agree', () => {
  it.each([3, 11])(
    'flag for flag on a hardened simulated log (seed %i)',
    async (seed) => {
      const lines = hardenedLog(seed);
      const wallClockMs = Date.parse('2026-01-01T00:00:00.000Z');
      const reference = new ReferenceReader({ wallClockMs });
      for (const l of lines) reference.line(l);
      const expected = reference.finish();

      const { flags, report } = await replayInProcess(asAsync(lines), {
        rules: defaultRulesConfig(),
        breaker: defaultBreakerConfig(),
        wallClock: () => wallClockMs,
      });
      const key = (f: { ruleId: string; withdrawalId: string }) => `${f.ruleId}:${f.withdrawalId}`;
      expect(flags.map(key).sort()).toEqual(expected.flagList.map(key).sort());
      expect(report.events).toMatchObject({ duplicate: expected.events.duplicate });
      // Every rule the log can raise is raised, so the comparison is not of two empty lists.
      for (const rule of ['mfa-missing', 'new-address-cooldown', 'new-device-withdrawal', 'velocity'])
        expect(expected.flags[rule as keyof typeof expected.flags]).toBeGreaterThan(0);
    },
    60_000,
  );
});
