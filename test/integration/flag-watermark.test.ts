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

  /** An engine on `p` that has decided one mfa-missing flag for `user` (approved at `at`), not acked. */
  async function unackedFlagOn(p: string, user: string, at = T0) {
    const engine = liveEngine({ redis, prefix: p, rules });
    await engine.applyBatch(sourced([f.approved(user, at, { withdrawalId: `w-${user}`, sessionId: 's' })]));
    const flags = await engine.closeDue(at + rules.graceMs);
    expect(flags).toHaveLength(1);
    return { engine, flags };
  }

  it('an entry whose flag its state holds acked stops holding it at once; a waiting flag keeps its entry', async () => {
    const p = `${prefix}:c`;
    const { engine, flags } = await unackedFlagOn(p, 'u1');
    await engine.ackFlags(flags);
    // As a commit refused after its index write leaves it: an entry for a flag its state holds acked.
    const index = windowStoreIndexKeys(p).unacked;
    await redis.zadd(index, T0 + rules.graceMs, JSON.stringify(['u1', flags[0]!.flagId]));
    // And a flag really waiting to be produced, decided a minute later: it keeps its entry.
    const { flags: waiting } = await unackedFlagOn(p, 'u2', T0 + 60_000);
    const wm = new FlagWatermark(redis, p);
    expect(await wm.advance(T0 + 10 * 60_000)).toBe(T0 + rules.graceMs - 1);
    expect(await engine.settleStaleUnacked(1_000_000, 600_000)).toBe(1);
    expect(await redis.zrange(index, 0, -1)).toEqual([JSON.stringify(['u2', waiting[0]!.flagId])]);
    expect(await wm.advance(T0 + 10 * 60_000)).toBe(T0 + 60_000 + rules.graceMs - 1);
    expect((await engine.unackedFlags()).map((x) => x.flagId)).toEqual([waiting[0]!.flagId]);
  });

  it('an entry whose flag its state does not hold goes only after unknownAge; a cached state never decides', async () => {
    const p = `${prefix}:e`;
    const index = windowStoreIndexKeys(p).unacked;
    // An entry written ahead of a state that never came (a commit cut short).
    await redis.zadd(index, T0, JSON.stringify(['ghost', 'mfa-missing:w-ghost']));
    // A: has u3's state cached from before another instance (B) decided u3's flag and has not produced it.
    const a = liveEngine({ redis, prefix: p, rules });
    await a.applyBatch(sourced([f.approved('u3', T0, { withdrawalId: 'w-u3', sessionId: 's' })]));
    const b = liveEngine({ redis, prefix: p, rules });
    expect(await b.closeDue(T0 + rules.graceMs)).toHaveLength(1);
    const now = 1_000_000;
    expect(await a.settleStaleUnacked(now, 600_000)).toBe(0);
    expect(await a.settleStaleUnacked(now + 599_999, 600_000)).toBe(0);
    expect(await a.settleStaleUnacked(now + 600_000, 600_000)).toBe(1);
    expect(await redis.zrange(index, 0, -1)).toEqual([JSON.stringify(['u3', 'mfa-missing:w-u3'])]);
    expect(await a.settleStaleUnacked(now + 3_600_000, 600_000)).toBe(0);
    expect((await b.unackedFlags()).map((x) => x.flagId)).toEqual(['mfa-missing:w-u3']);
  });

  // The layouts before: a SET without times, then a ZSET, both under the key now `legacyUnacked`.
  const layouts: [string, (key: string, members: string[]) => Promise<unknown>][] = [
    ['a SET without times', (key, members) => redis.sadd(key, ...members)],
    ['the first ZSET', (key, members) => redis.zadd(key, ...members.flatMap((m) => [1, m]))],
  ];
  it.each(layouts)(
    'moves the former unacked index (%s) into the ZSET, losing no flag',
    async (name, write) => {
      const p = `${prefix}:legacy-${name.length}`;
      const { flags } = await unackedFlagOn(p, 'u1');
      const keys = windowStoreIndexKeys(p);
      const member = JSON.stringify(['u1', flags[0]!.flagId]);
      await redis.del(keys.unacked);
      await write(keys.legacyUnacked, [member, JSON.stringify(['gone', 'mfa-missing:w-gone'])]);
      const restarted = liveEngine({ redis, prefix: p, rules });
      expect((await restarted.unackedFlags()).map((x) => x.flagId)).toEqual([flags[0]!.flagId]);
      expect(await redis.exists(keys.legacyUnacked)).toBe(0);
      expect(await redis.zrange(keys.unacked, 0, -1, 'WITHSCORES')).toEqual([
        member,
        String(T0 + rules.graceMs),
      ]);
    },
  );
});
