import fs from 'node:fs';
import path from 'node:path';
import { replayInProcess, type ReplayStore } from '../../libs/replay/in-process';
import { loadReplayConfig } from '../../libs/replay/config';
import { DEFAULT_INCIDENT, simulate, type SimulateOptions } from '../../libs/simulate';
import { realStack } from '../helpers/env';

jest.setTimeout(300_000);

/**
 * The differential test of the two window stores: `--store memory` and `--store redis` must give
 * byte-identical reports (contract section 7) on the fixtures, the demo incident and a simulated week with
 * bad lines, duplicates and late MFAs.
 */
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'replay');

/** A week of 1,500 users with an attack on its fifth day, noise on every line kind. */
const WEEK: SimulateOptions = {
  seed: 4242,
  users: 1500,
  start: '2022-03-01T00:00:00.000Z',
  durationMs: 7 * 86_400_000,
  withdrawalsPerUserPerDay: 2,
  attack: { at: '2022-03-05T12:00:00.000Z', users: 60, durationMs: 20 * 60_000, freshAddressShare: 0.5 },
  lateMfaShare: 0.1,
  invalidShare: 0.002,
  duplicateShare: 0.01,
};

describe('replay: the memory and the Redis store give byte-identical reports', () => {
  const { redis } = realStack();
  const config = loadReplayConfig(undefined);

  async function reportOn(store: ReplayStore, lines: () => Iterable<string>): Promise<string> {
    const { report } = await replayInProcess(
      (async function* () {
        yield* lines();
      })(),
      { store, redis, rules: config.rules, breaker: config.breaker },
    );
    return JSON.stringify(report, null, 2);
  }

  async function expectSame(lines: () => Iterable<string>) {
    const memory = await reportOn('memory', lines);
    const onRedis = await reportOn('redis', lines);
    expect(memory).toBe(onRedis);
    return JSON.parse(memory) as { flags: unknown[]; breaker: unknown[]; events: Record<string, number> };
  }

  it.each(['basic.jsonl', 'late-mfa.jsonl'])('fixture %s', async (name) => {
    const text = fs.readFileSync(path.join(FIXTURES, name), 'utf8');
    const report = await expectSame(() => text.split('\n'));
    expect(report.flags.length).toBeGreaterThan(0);
  });

  it('the demo incident (5,000 users, two days, 483 attacked)', async () => {
    const report = await expectSame(() => simulate(DEFAULT_INCIDENT));
    expect(report.flags.length).toBeGreaterThan(483);
    expect(report.breaker.length).toBeGreaterThan(0);
  });

  it('a simulated week with bad lines, duplicates and late MFAs', async () => {
    const report = await expectSame(() => simulate(WEEK));
    expect(report.events.invalid).toBeGreaterThan(0);
    expect(report.events.duplicate).toBeGreaterThan(0);
    expect(report.flags.length).toBeGreaterThan(60);
  });
});
