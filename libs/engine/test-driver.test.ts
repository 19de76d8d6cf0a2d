import fs from 'node:fs';
import path from 'node:path';
import { parseEvent, type BulwarkEvent } from '../events';
import { defaultRulesConfig } from '../rules';
import { simulate, simulateSummary, type SimulateOptions } from '../simulate';
import { EventFactory, MINUTE } from './synthetic-traffic';
import { EngineTestDriver } from './test-driver';

/** The engine with no broker and no Redis: fixtures, a simulated week, event time and the store. */
const rules = defaultRulesConfig();
const FIXTURES = path.join(__dirname, '..', '..', 'test', 'fixtures', 'replay');

function eventsOf(lines: Iterable<string>): BulwarkEvent[] {
  const out: BulwarkEvent[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    const r = parseEvent(line);
    if (r.kind === 'valid') out.push(r.event);
  }
  return out;
}

const key = (f: { ruleId: string; withdrawalId: string; eventId: string }) =>
  `${f.ruleId} ${f.withdrawalId} ${f.eventId}`;

describe('EngineTestDriver', () => {
  it.each(['basic', 'late-mfa'])('raises exactly the flags of the %s fixture', async (name) => {
    const driver = new EngineTestDriver(rules);
    await driver.pipe(eventsOf(fs.readFileSync(path.join(FIXTURES, `${name}.jsonl`), 'utf8').split('\n')));
    await driver.end();
    const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.expected.json`), 'utf8')) as {
      flags: { ruleId: string; withdrawalId: string; eventId: string }[];
      events: { duplicate: number };
    };
    expect(driver.flags.map(key).sort()).toEqual(expected.flags.map(key).sort());
    expect(driver.outcomes.filter((o) => o === 'duplicate')).toHaveLength(expected.events.duplicate);
  });

  it('a simulated week: every attacked withdrawal flagged mfa-missing, no ordinary one', async () => {
    const week: SimulateOptions = {
      seed: 99,
      users: 400,
      start: '2022-03-01T00:00:00.000Z',
      durationMs: 7 * 86_400_000,
      withdrawalsPerUserPerDay: 1.5,
      attack: { at: '2022-03-04T00:00:00.000Z', users: 40, durationMs: 15 * MINUTE, freshAddressShare: 0.5 },
      duplicateShare: 0.01,
    };
    const driver = new EngineTestDriver(rules);
    await driver.pipe(eventsOf(simulate(week)));
    await driver.end();
    const attacked = new Set(simulateSummary(week).attackedWithdrawalIds);
    const mfa = driver.flags.filter((f) => f.ruleId === 'mfa-missing').map((f) => f.withdrawalId);
    expect(attacked.size).toBe(40);
    expect(new Set(mfa)).toEqual(attacked);
    expect(await driver.engine.pendingCount()).toBe(0);
  });

  it('decides a pending approval once event time has passed its due time, and shows it in the store', async () => {
    const f = new EventFactory('drv');
    const t = Date.parse('2022-01-17T00:00:00.000Z');
    const driver = new EngineTestDriver(rules);
    await driver.pipe([
      f.login('u', t - MINUTE, 's', 'd'),
      f.approved('u', t, { withdrawalId: 'w', sessionId: 's' }),
    ]);
    expect(driver.user('u').pending).toHaveLength(1);
    expect(driver.user('u').facts.sessions.get('s')).toMatchObject({ deviceId: 'd', atMs: t - MINUTE });
    expect(await driver.advanceTo(t + 29_999)).toEqual([]);
    const flags = await driver.advanceTo(t + 30_000);
    expect(flags.map((x) => x.ruleId).sort()).toEqual(['mfa-missing', 'new-device-withdrawal']);
    expect(flags[0]!.raisedAt).toBe('2022-01-17T00:00:30.000Z');
    expect(driver.user('u').pending).toEqual([]);
    expect(driver.user('u').unacked.size).toBe(0);
  });
});
