import { DAY, EventFactory, HOUR, MINUTE, prng } from '../engine/synthetic-traffic';
import { compileRules } from './compile';
import { defaultRulesConfig, parseRulesConfig } from './config';
import {
  addFacts,
  addVelocity,
  emptyFacts,
  newestAtOrBefore,
  thinFacts,
  thinned,
  trimFacts,
  type UserFacts,
} from './facts';
import { freshlyWhitelisted } from './kinds/new-address-cooldown';
import { loginFromNewDevice } from './kinds/new-device-withdrawal';
import { overVelocity } from './kinds/velocity';

const T = Date.parse('2022-01-17T00:00:00.000Z');
const f = new EventFactory('facts');
const compiled = compileRules(defaultRulesConfig());
const keep = compiled.retention;
const gaps = compiled.thinGaps;
const config = defaultRulesConfig();
const all = { has: () => true };

/** Trims as the engine does: behind the trim point, then thinned to the rules' gaps. */
function trimAsEngine(facts: UserFacts, retention: typeof keep, trimAtMs: number): void {
  trimFacts(facts, retention, trimAtMs);
  thinFacts(facts, gaps);
}

describe('trimFacts', () => {
  // Trimming only bounds memory: every decision still possible after it (an approval no older than grace,
  // plus skew for auth facts, behind the trim point) comes out as it would on the untrimmed facts.
  it('never changes a decision that can still be made: logins and whitelistings in any order (200 cases)', () => {
    const rnd = prng(42);
    const p = { unseenMs: 90 * DAY, loginWithinMs: 30 * MINUTE };
    const lateEnough = config.graceMs + config.maxSkewMs;
    let flagged = 0;
    let checked = 0;
    for (let c = 0; c < 200; c++) {
      const facts = emptyFacts();
      const events = [];
      // Logins over 200 days, denser near T, from twelve devices; a fifth arrive out of order.
      for (let i = 0; i < 40; i++) {
        const back = rnd() < 0.5 ? rnd() * 200 * DAY : rnd() * 8 * HOUR;
        const at = Math.round(T - back);
        events.push(f.login('u', at, `s${c}-${i}`, `d${Math.floor(rnd() * 12)}`));
        events.push(f.whitelist('u', Math.round(T - rnd() * 3 * DAY), `0x${Math.floor(rnd() * 3)}`));
      }
      // One device used every few minutes for hours: thinning, not a cap, must bound it.
      if (c % 4 === 0)
        for (let i = 0; i < 400; i++)
          events.push(f.login('u', T - 9 * HOUR + i * 80_000, `s${c}-busy-${i}`, 'd-busy'));
      events.sort((a, b) => a.occurredAtMs - b.occurredAtMs);
      for (let i = 0; i < events.length; i++)
        if (rnd() < 0.2 && i + 1 < events.length) [events[i], events[i + 1]] = [events[i + 1]!, events[i]!];
      const trimAt = T - Math.round(rnd() * 2 * HOUR);
      // The trimmed copy is trimmed as the engine does, every few events along the way (never past trimAt).
      const trimmed = emptyFacts();
      events.forEach((e, i) => {
        addFacts(facts, e, all);
        addFacts(trimmed, e, all);
        if (i % 4 === 0) trimAsEngine(trimmed, keep, Math.min(e.occurredAtMs, trimAt));
      });
      trimAsEngine(trimmed, keep, trimAt);
      for (const times of trimmed.devices.values()) expect(times.length).toBeLessThan(20);
      for (const [sessionId, login] of facts.sessions) {
        const t = login.atMs + Math.round(rnd() * 31 * MINUTE);
        if (t < trimAt - lateEnough) continue;
        const event = f.approved('u', t, { withdrawalId: `w-${sessionId}`, sessionId, address: '0x1' });
        const view = { event, address: '0x1' };
        // A flag names the same last sighting too, unless it fell out of the devices window (then null).
        const decision = (x: UserFacts) => {
          const e = loginFromNewDevice(view, x, p);
          const seen = e?.deviceLastSeenAtMs as number | null | undefined;
          const lastSeen = seen != null && seen >= trimAt - keep.devices ? seen : null;
          return e && { deviceId: e.deviceId, loginAtMs: e.loginAtMs, lastSeen };
        };
        const full = decision(facts);
        expect(decision(trimmed)).toEqual(full);
        // Whitelistings come from the approvals' own stream: kept for approvals up to grace behind.
        if (t >= trimAt - config.graceMs)
          expect(freshlyWhitelisted(view, trimmed, { cooldownMs: DAY })).toEqual(
            freshlyWhitelisted(view, facts, { cooldownMs: DAY }),
          );
        checked++;
        if (full) flagged++;
      }
    }
    // The cases exercise both outcomes, not one.
    expect(checked).toBeGreaterThan(1000);
    expect(flagged).toBeGreaterThan(50);
    expect(checked - flagged).toBeGreaterThan(50);
  });

  it('keeps, per device, the sightings from the oldest kept login on and the newest one before them', () => {
    const facts = emptyFacts();
    for (const at of [T - 50 * DAY, T - 40 * DAY, T - 10 * HOUR, T - 5 * MINUTE])
      addFacts(facts, f.login('u', at, `s${at}`, 'd1'), all);
    trimFacts(facts, keep, T);
    expect(facts.devices.get('d1')).toEqual([T - 10 * HOUR, T - 5 * MINUTE]);
    expect([...facts.sessions.values()].map((s) => s.atMs)).toEqual([T - 5 * MINUTE]);
  });

  it('a device logging in hundreds of times after a session login still counts as seen for it', () => {
    const facts = emptyFacts();
    addFacts(facts, f.login('u', T - DAY, 'yesterday', 'd1'), all);
    addFacts(facts, f.login('u', T, 's1', 'd1'), all);
    for (let i = 1; i <= 300; i++) addFacts(facts, f.login('u', T + i * 1000, `busy-${i}`, 'd1'), all);
    trimAsEngine(facts, keep, T + 301_000);
    expect(facts.devices.get('d1')!.length).toBeLessThanOrEqual(3);
    const event = f.approved('u', T + 20 * MINUTE, { withdrawalId: 'w', sessionId: 's1' });
    const p = { unseenMs: 90 * DAY, loginWithinMs: 30 * MINUTE };
    expect(loginFromNewDevice({ event, address: event.address }, facts, p)).toBeNull();
  });

  it('thins to the smallest gap any rule reading the list names', () => {
    expect(gaps).toEqual({ devices: 90 * DAY });
    const two = parseRulesConfig({
      rules: [
        { kind: 'new-device-withdrawal' },
        { id: 'nd-short', kind: 'new-device-withdrawal', params: { unseenMs: 7 * DAY } },
      ],
    });
    expect(compileRules(two).thinGaps).toEqual({ devices: 7 * DAY });
  });

  it('thinned to a gap answers "newest before x, within u of x?" as the whole list does, for any u >= gap', () => {
    const rnd = prng(7);
    for (let c = 0; c < 300; c++) {
      const times = [...new Set(Array.from({ length: 60 }, () => Math.floor(rnd() * 10_000)))].sort(
        (a, b) => a - b,
      );
      const gap = 50 + Math.floor(rnd() * 400);
      const thin = thinned(times, gap);
      for (const u of [gap, gap * 2, gap * 10]) {
        for (let q = 0; q < 40; q++) {
          const x = Math.floor(rnd() * 11_000);
          const whole = newestAtOrBefore(times, x, true);
          const kept = newestAtOrBefore(thin, x, true);
          const seen = (p: number | null) => p !== null && x - p <= u;
          expect(seen(kept)).toBe(seen(whole));
          if (!seen(whole)) expect(kept).toBe(whole);
        }
      }
    }
  });

  it('thinned keeps a time whose successor lies more than the gap after the last kept one', () => {
    expect(thinned([0, 1, 2, 3, 4], 10)).toEqual([0, 4]);
    expect(thinned([0, 5, 20, 21, 40], 10)).toEqual([0, 5, 20, 21, 40]);
    expect(thinned([0, 5, 9, 30], 10)).toEqual([0, 9, 30]);
    expect(thinned([7], 10)).toEqual([7]);
  });
});

describe('velocity retention', () => {
  it('remembers counted withdrawals for the dedup horizon: a re-approval hours later is not a new one', () => {
    expect(keep.velocity).toBe(Math.max(HOUR + config.graceMs, config.dedupHorizonMs));
    const facts = emptyFacts();
    const p = { windowMs: HOUR, maxCount: 1, maxUsd: null };
    const approve = (at: number, w: string) => {
      addVelocity(facts, { atMs: at, amountUsd: 1, withdrawalId: w }, keep.velocity);
      const event = f.approved('u', at, { withdrawalId: w, sessionId: 's', amountUsd: 1 });
      return overVelocity({ event, address: event.address }, facts, p);
    };
    expect(approve(T, 'a')).toBeNull();
    // 'a' approved again 2 h later, then 'b': one withdrawal in b's hour, not two.
    expect(approve(T + 2 * HOUR, 'a')).toBeNull();
    expect(approve(T + 2 * HOUR + MINUTE, 'b')).toBeNull();
    expect(approve(T + 2 * HOUR + 2 * MINUTE, 'c')).toMatchObject({ count: 2 });
  });
});
