import { FlagWatermark, liveEngine } from '../../libs/engine';
import { EventFactory, sourced } from '../../libs/engine/synthetic-traffic';
import { parseRulesConfig } from '../../libs/rules';
import { windowStoreIndexKeys } from '../../libs/keys';
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

  const T0 = Date.parse('2022-01-17T00:00:00.000Z');
  const rules = parseRulesConfig({ rules: [{ kind: 'mfa-missing' }] });
  const f = new EventFactory('fw2');

  /** An engine on `p` that has decided one mfa-missing flag for `user` and not acked it. */
  async function unackedFlagOn(p: string, user: string) {
    const engine = liveEngine({ redis, prefix: p, rules });
    await engine.applyBatch(sourced([f.approved(user, T0, { withdrawalId: `w-${user}`, sessionId: 's' })]));
    const flags = await engine.closeDue(T0 + rules.graceMs);
    expect(flags).toHaveLength(1);
    return { engine, flags };
  }

  it('an index entry whose flag is already acked stops holding it once it has looked so for minAge', async () => {
    const p = `${prefix}:c`;
    const { engine, flags } = await unackedFlagOn(p, 'u1');
    await engine.ackFlags(flags);
    // As a commit refused after its index write leaves it: an entry for a flag its state holds acked.
    const index = windowStoreIndexKeys(p).unacked;
    await redis.zadd(index, T0 + rules.graceMs, JSON.stringify(['u1', flags[0]!.flagId]));
    // And a flag really waiting to be produced, decided later: it must keep its entry.
    const { flags: waiting } = await unackedFlagOn(p, 'u2');
    const wm = new FlagWatermark(redis, p);
    expect(await wm.advance(T0 + 10 * 60_000)).toBe(T0 + rules.graceMs - 1);
    const now = 1_000_000;
    expect(await engine.settleStaleUnacked(now, 10_000)).toBe(0); // first seen stale: may be a commit in flight
    expect(await engine.settleStaleUnacked(now + 9_999, 10_000)).toBe(0);
    expect(await engine.settleStaleUnacked(now + 10_000, 10_000)).toBe(1);
    expect(await redis.zrange(index, 0, -1)).toEqual([JSON.stringify(['u2', waiting[0]!.flagId])]);
    expect((await engine.unackedFlags()).map((x) => x.flagId)).toEqual([waiting[0]!.flagId]);
    expect(await engine.settleStaleUnacked(now + 60_000, 10_000)).toBe(0);
  });

  it('moves the unacked index of earlier versions (a SET without times) into the ZSET, losing no flag', async () => {
    const p = `${prefix}:d`;
    const { flags } = await unackedFlagOn(p, 'u1');
    const keys = windowStoreIndexKeys(p);
    // The layout before: the same member in a SET under the old key, no ZSET.
    const member = JSON.stringify(['u1', flags[0]!.flagId]);
    await redis.del(keys.unacked);
    await redis.sadd(keys.legacyUnacked, member, JSON.stringify(['gone', 'mfa-missing:w-gone']));
    const restarted = liveEngine({ redis, prefix: p, rules });
    expect((await restarted.unackedFlags()).map((x) => x.flagId)).toEqual([flags[0]!.flagId]);
    expect(await redis.exists(keys.legacyUnacked)).toBe(0);
    expect(await redis.zrange(keys.unacked, 0, -1, 'WITHSCORES')).toEqual([
      member,
      String(T0 + rules.graceMs),
    ]);
  });
});
