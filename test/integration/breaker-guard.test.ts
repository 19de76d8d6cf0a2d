import net from 'node:net';
import { Breaker, defaultBreakerConfig } from '../../libs/breaker';
import { breakerKeys } from '../../libs/keys/breaker';
import { silentLogger } from '../../libs/logger';
import { createWithdrawalGuard, type WithdrawalGuard } from '../../libs/withdrawal-guard';
import { REDIS_URL, cleanRedis, testRedis, uniquePrefix } from '../helpers/env';

jest.setTimeout(30000);

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('withdrawal guard (fails closed) on real Redis', () => {
  const redis = testRedis();
  const prefixes: string[] = [];
  const guards: WithdrawalGuard[] = [];

  const prefix = () => {
    const p = uniquePrefix('guard');
    prefixes.push(p);
    return p;
  };
  const guard = (opts: Parameters<typeof createWithdrawalGuard>[0]) => {
    const g = createWithdrawalGuard(opts);
    guards.push(g);
    return g;
  };

  afterAll(async () => {
    for (const g of guards) await g.close();
    for (const p of prefixes) await cleanRedis(redis, p);
    redis.disconnect();
  });

  it('without an asset, refuses while any scope is halted (fail closed), and so does the status route logic', async () => {
    const p = prefix();
    const breaker = await Breaker.create({
      redis,
      prefix: p,
      config: defaultBreakerConfig(),
      logger: silentLogger(),
    });
    const g = guard({ redisUrl: REDIS_URL, prefix: p, cacheMs: 0 });
    expect(await g.isAllowed()).toBe(true);
    await breaker.halt('asset:ETH', 'exploit on the ETH hot wallet', 'alice');
    expect(await g.isAllowed()).toBe(false);
    expect(await g.check()).toMatchObject({ allowed: false, scope: 'asset:ETH', state: 'halted' });
    expect(await breaker.statusForAsset()).toMatchObject({ allowed: false, scope: 'asset:ETH' });
    expect(await g.isAllowed('BTC')).toBe(true);
    // A scope the breaker wrote whose state then vanished is not "never halted".
    await redis.del(breakerKeys(p).state('asset:ETH'));
    expect(await g.check()).toMatchObject({ allowed: false, state: 'unknown' });
  });

  it('refuses reasons with control or bidi characters, and neutralises stored ones in answers', async () => {
    const p = prefix();
    const breaker = await Breaker.create({
      redis,
      prefix: p,
      config: defaultBreakerConfig(),
      logger: silentLogger(),
    });
    await expect(breaker.halt('global', 'fine \u202eFDSU', 'alice')).rejects.toMatchObject({
      code: 'EBADREQUEST',
      context: { field: 'reason' },
    });
    await expect(breaker.halt('global', 'line\ninjected', 'alice')).rejects.toMatchObject({
      code: 'EBADREQUEST',
    });
    // Written by an older version or by hand: served escaped, never raw.
    await redis.set(
      breakerKeys(p).state('global'),
      JSON.stringify({
        scope: 'global',
        state: 'halted',
        since: 'x',
        reason: 'a\u202eb',
        trigger: 't',
        by: 'b',
        version: 3,
      }),
    );
    const g = guard({ redisUrl: REDIS_URL, prefix: p, cacheMs: 0 });
    const status = await g.check('ETH');
    expect(status.reason).toBe('a\\u202eb');
    expect((await breaker.statusForAsset('ETH')).reason).toBe('a\\u202eb');
  });

  it('allows while open, refuses once global or the asset is halted', async () => {
    const p = prefix();
    const breaker = await Breaker.create({
      redis,
      prefix: p,
      config: defaultBreakerConfig(),
      logger: silentLogger(),
    });
    const g = guard({ redisUrl: REDIS_URL, prefix: p, cacheMs: 0 });
    expect(await g.isAllowed('ETH')).toBe(true);
    expect(await g.check('ETH')).toMatchObject({
      allowed: true,
      scope: 'asset:ETH',
      state: 'open',
      source: 'redis',
    });

    await breaker.halt('asset:ETH', 'exploit on the ETH hot wallet', 'alice');
    expect(await g.isAllowed('ETH')).toBe(false);
    expect(await g.isAllowed('BTC')).toBe(true);
    expect(await g.check('ETH')).toMatchObject({
      allowed: false,
      scope: 'asset:ETH',
      state: 'halted',
      reason: 'exploit on the ETH hot wallet',
    });

    await breaker.halt('global', 'critical flags', 'alice');
    expect(await g.isAllowed('BTC')).toBe(false);
    expect(await g.check('BTC')).toMatchObject({ allowed: false, scope: 'global', state: 'halted' });
    expect(await g.check()).toMatchObject({ allowed: false, scope: 'global' });
  });

  it('refuses when the state is missing or corrupt, and for a malformed asset', async () => {
    const p = prefix();
    const g = guard({ redis, prefix: p, cacheMs: 0 });
    // Nothing under this prefix: no breaker ever wrote state (or Redis lost it).
    expect(await g.check('ETH')).toMatchObject({ allowed: false, state: 'unknown' });
    await redis.set(
      breakerKeys(p).state('global'),
      '{"scope":"global","state":"open","since":"x","version":1}',
    );
    expect(await g.isAllowed('ETH')).toBe(true);
    await redis.set(breakerKeys(p).state('asset:ETH'), 'not json');
    expect(await g.isAllowed('ETH')).toBe(false);
    await redis.set(breakerKeys(p).state('global'), '{"state":"maybe"}');
    expect(await g.isAllowed('BTC')).toBe(false);
    expect(await g.isAllowed('eth')).toBe(false);
  });

  it('refuses when Redis is down (a closed port), quickly', async () => {
    const g = guard({
      redisUrl: `redis://127.0.0.1:${await closedPort()}`,
      prefix: prefix(),
      timeoutMs: 200,
    });
    const started = Date.now();
    expect(await g.isAllowed('ETH')).toBe(false);
    expect(await g.check('ETH')).toMatchObject({ allowed: false, state: 'unknown', source: 'error' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses when Redis does not answer in time (a port that accepts and never replies)', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const g = guard({ redisUrl: `redis://127.0.0.1:${port}`, prefix: prefix(), timeoutMs: 150 });
      const started = Date.now();
      expect(await g.isAllowed('ETH')).toBe(false);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('caches for at most cacheMs, so a halt reaches the client within it', async () => {
    const p = prefix();
    const breaker = await Breaker.create({
      redis,
      prefix: p,
      config: defaultBreakerConfig(),
      logger: silentLogger(),
    });
    const g = guard({ redisUrl: REDIS_URL, prefix: p, cacheMs: 300 });
    expect(await g.isAllowed('ETH')).toBe(true);
    await breaker.halt('global', 'test', 'alice');
    const seenAt = Date.now();
    // Within the cache time the old answer may still come back; after it, never.
    while (await g.isAllowed('ETH')) await new Promise((r) => setTimeout(r, 10));
    expect(Date.now() - seenAt).toBeLessThan(300 + 200);
    expect(() => createWithdrawalGuard({ redis, prefix: p, cacheMs: 60000 })).toThrow(/cacheMs/);
  });
});
