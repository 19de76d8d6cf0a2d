import { replayInProcess } from '../../libs/replay/in-process';
import { loadReplayConfig } from '../../libs/replay/config';
import { DEFAULT_INCIDENT, simulate, simulateSummary } from '../../libs/simulate';
import { testRedis } from '../helpers/env';

jest.setTimeout(240000);

describe('replaying a simulated January-2022 incident in-process (5,000 users, two days, 483 attacked)', () => {
  const redis = testRedis();
  afterAll(() => redis.disconnect());

  it('flags every attacked withdrawal with mfa-missing, no ordinary one, and halts within two minutes', async () => {
    const truth = simulateSummary(DEFAULT_INCIDENT);
    expect(truth.attackedWithdrawalIds).toHaveLength(483);
    const config = loadReplayConfig();
    const lines = (async function* () {
      yield* simulate(DEFAULT_INCIDENT);
    })();
    const { report } = await replayInProcess(lines, {
      redis,
      rules: config.rules,
      breaker: config.breaker,
    });
    const attacked = new Set(truth.attackedWithdrawalIds);
    const mfaMissing = report.flags.filter((f) => f.ruleId === 'mfa-missing');
    expect(
      new Set(mfaMissing.filter((f) => attacked.has(f.withdrawalId)).map((f) => f.withdrawalId)).size,
    ).toBe(483);
    expect(mfaMissing.filter((f) => !attacked.has(f.withdrawalId))).toEqual([]);
    const halt = report.breaker.find((b) => b.scope === 'global' && b.state === 'halted');
    expect(halt).toBeDefined();
    const sinceAttack = Date.parse(halt!.at) - Date.parse(truth.attackStart!);
    expect(sinceAttack).toBeGreaterThanOrEqual(0);
    expect(sinceAttack).toBeLessThanOrEqual(120_000);
  });
});
