import { FlagWatermark, liveEngine } from '../../libs/engine';
import { EventFactory, sourced } from '../../libs/engine/synthetic-traffic';
import { parseRulesConfig } from '../../libs/rules';
import { cleanRedis, testRedis, uniquePrefix } from '../helpers/env';

/** The detector's flag watermark on real Redis: what the breaker may trust about flags already in Kafka. */
describe('FlagWatermark', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('flagwm');
  afterAll(async () => {
    await cleanRedis(redis, prefix);
    redis.disconnect();
  });

  it('is null until written, then what the detector closed through', async () => {
    const wm = new FlagWatermark(redis, `${prefix}:a`);
    expect(await wm.read()).toBeNull();
    expect(await wm.advance(1_000_000)).toBe(1_000_000);
    expect(await wm.read()).toBe(1_000_000);
  });

  it('stays below a flag an engine raised and nobody has produced yet (not acked), until it is acked', async () => {
    const p = `${prefix}:b`;
    const T0 = Date.parse('2022-01-17T00:00:00.000Z');
    const rules = parseRulesConfig({ rules: [{ kind: 'mfa-missing' }] });
    const engine = liveEngine({ redis, prefix: p, rules });
    const f = new EventFactory('fw');
    await engine.applyBatch(sourced([f.approved('u', T0, { withdrawalId: 'w', sessionId: 's' })]));
    const flags = await engine.closeDue(T0 + rules.graceMs);
    expect(flags.map((x) => x.raisedAt)).toEqual([new Date(T0 + rules.graceMs).toISOString()]);
    const wm = new FlagWatermark(redis, p);
    expect(await wm.advance(T0 + 10 * 60_000)).toBe(T0 + rules.graceMs - 1);
    expect(await wm.read()).toBe(T0 + rules.graceMs - 1);
    await engine.ackFlags(flags);
    expect(await wm.advance(T0 + 10 * 60_000)).toBe(T0 + 10 * 60_000);
  });
});
