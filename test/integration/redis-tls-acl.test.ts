import { randomBytes } from 'node:crypto';
import { commonEnvSchema, loadConfig, redisConnection, type Env } from '../../libs/config';
import { requireRedisReachable } from '../../libs/config/reachable';
import { liveEngine } from '../../libs/engine';
import { EventFactory, sourced } from '../../libs/engine/synthetic-traffic';
import { breakerKeys } from '../../libs/keys';
import { silentLogger } from '../../libs/logger';
import { createRedis, deleteByPrefix, redisAnswers, type Redis } from '../../libs/redis';
import { parseRulesConfig } from '../../libs/rules';
import { scriptedService, type ScriptedService } from '../helpers/secure-services';

/**
 * Bulwark's createRedis over TLS with an ACL user limited to `bulwark:*` (scripts/redis-tls.sh), configured
 * the way a service is: BULWARK_REDIS_URL=rediss://bulwark@..., the password and the CA from files.
 * Never the shared Redis on 6379.
 */
jest.setTimeout(60000);

describe('Redis over TLS with an ACL user', () => {
  let server: ScriptedService;
  const clients: Redis[] = [];
  const prefix = `bulwark:t-${randomBytes(4).toString('hex')}`;

  function connect(vars: Env = {}): Redis {
    const env: Env = {
      BULWARK_REDIS_URL: server.env.REDIS_TLS_URL,
      BULWARK_REDIS_TLS_CA_FILE: server.env.REDIS_TLS_CA_FILE,
      BULWARK_REDIS_PASSWORD_FILE: server.env.REDIS_TLS_BULWARK_PASSWORD_FILE,
      ...vars,
    };
    const cfg = loadConfig(commonEnvSchema, env);
    const client = createRedis({ ...redisConnection(cfg), logger: silentLogger(), commandTimeoutMs: 2000 });
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    server = await scriptedService('redis-tls.sh', '.cache/redis-tls/env', 30000);
  });

  afterAll(async () => {
    const own = clients[0];
    if (own) await deleteByPrefix(own, `${prefix}:`).catch(() => undefined);
    for (const c of clients) c.disconnect();
    await server?.stop();
  });

  it('connects with the ACL user over TLS and works under its key prefix', async () => {
    const redis = connect();
    expect(await redisAnswers(redis)).toBe(true);
    expect(await redis.acl('WHOAMI')).toBe('bulwark');
    await redis.set(`${prefix}:k`, 'v');
    expect(await redis.get(`${prefix}:k`)).toBe('v');
  });

  it('passes the start-up reachability check the services run, with the whole connection', async () => {
    const cfg = loadConfig(commonEnvSchema, {
      BULWARK_REDIS_URL: server.env.REDIS_TLS_URL,
      BULWARK_REDIS_TLS_CA_FILE: server.env.REDIS_TLS_CA_FILE,
      BULWARK_REDIS_PASSWORD_FILE: server.env.REDIS_TLS_BULWARK_PASSWORD_FILE,
    });
    await expect(requireRedisReachable(redisConnection(cfg), { timeoutMs: 2000 })).resolves.toBeUndefined();
    // The URL alone (no password, no CA) is refused, and the message names the variable.
    await expect(requireRedisReachable(cfg.BULWARK_REDIS_URL, { timeoutMs: 2000 })).rejects.toThrow(
      /BULWARK_REDIS_URL=rediss:\/\/\*\*\*@127\.0\.0\.1/,
    );
  });

  it('is enough for the rule engine: the window store reads, writes, runs its script and clears under the prefix', async () => {
    const rules = parseRulesConfig({ rules: [{ kind: 'mfa-missing' }] }, { loadLists: false });
    const enginePrefix = `${prefix}:engine`;
    const engine = liveEngine({ redis: connect(), prefix: enginePrefix, rules });
    const f = new EventFactory('tls');
    const at = Date.parse('2022-01-17T00:00:00.000Z');
    // GET of the users, EVALSHA of commitUser (EVAL the first time), ZADD of the pending index.
    const res = await engine.applyBatch(
      sourced([f.approved('u1', at, { withdrawalId: 'w1', sessionId: 's1' })]),
    );
    expect(res.outcomes).toEqual(['applied']);
    expect(await engine.pendingCount()).toBe(1);
    // ZRANGEBYSCORE and ZREM of the pending index (the ZREM goes with the next round trip), ZADD of the
    // unacked one.
    const flags = await engine.closeDue(at + 3_600_000);
    expect(flags).toHaveLength(1);
    expect(await engine.pendingCount()).toBe(0);
    // Another instance (no cache) reads the state back and finds the flag nobody acked (ZRANGE, and SMEMBERS
    // of the former index; then ZREM once acked).
    const restarted = liveEngine({ redis: connect(), prefix: enginePrefix, rules });
    expect(await restarted.unackedFlags()).toEqual(flags);
    await restarted.ackFlags(flags);
    expect(await restarted.unackedFlags()).toEqual([]);
    // A rebuild's first step: SCAN and UNLINK of the engine's keys.
    expect(await restarted.forgetState()).toBeGreaterThan(0);
  });

  it('refuses the ACL user any key outside its prefix, and dangerous commands', async () => {
    const redis = connect();
    await expect(redis.set('other:k', 'v')).rejects.toThrow(/NOPERM/);
    await expect(redis.get(`x${prefix}:k`)).rejects.toThrow(/NOPERM/);
    await expect(redis.flushall()).rejects.toThrow(/NOPERM/);
    await expect(redis.keys('*')).rejects.toThrow(/NOPERM/);
  });

  it('gives the withdrawal services a guard user that reads the breaker state and writes nothing', async () => {
    const state = breakerKeys(prefix).state('global');
    await connect().set(state, '{"scope":"global","state":"halted"}');
    const guard = connect({
      BULWARK_REDIS_URL: server.env.REDIS_TLS_URL!.replace('bulwark@', 'guard@'),
      BULWARK_REDIS_PASSWORD_FILE: server.env.REDIS_TLS_GUARD_PASSWORD_FILE,
    });
    expect(await guard.mget(state)).toEqual(['{"scope":"global","state":"halted"}']);
    await expect(guard.set(state, '{"scope":"global","state":"open"}')).rejects.toThrow(/NOPERM/);
    await expect(guard.del(state)).rejects.toThrow(/NOPERM/);
    await expect(guard.get(`${prefix}:k`)).rejects.toThrow(/NOPERM/);
    await expect(guard.eval('return 1', 0)).rejects.toThrow(/NOPERM/);
  });

  it('refuses a TLS connection without the ACL user (the default user is off)', async () => {
    const anonymous = connect({
      BULWARK_REDIS_URL: `rediss://127.0.0.1:${server.env.REDIS_TLS_PORT}`,
      BULWARK_REDIS_PASSWORD_FILE: undefined,
    });
    await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
  });

  it('refuses a wrong password', async () => {
    const wrong = createRedis({
      url: server.env.REDIS_TLS_URL!,
      password: 'not-the-password',
      tls: redisConnection(
        loadConfig(commonEnvSchema, {
          BULWARK_REDIS_URL: server.env.REDIS_TLS_URL,
          BULWARK_REDIS_TLS_CA_FILE: server.env.REDIS_TLS_CA_FILE,
        }),
      ).tls!,
      logger: silentLogger(),
      commandTimeoutMs: 2000,
    });
    clients.push(wrong);
    await expect(wrong.ping()).rejects.toThrow(/WRONGPASS|NOAUTH/);
  });

  it('gets no answer from a non-TLS connection to the TLS port', async () => {
    const plain = connect({
      BULWARK_REDIS_URL: `redis://bulwark@127.0.0.1:${server.env.REDIS_TLS_PORT}`,
      BULWARK_REDIS_TLS_CA_FILE: undefined,
    });
    expect(await redisAnswers(plain)).toBe(false);
  });

  it('refuses a server certificate the client does not trust', async () => {
    const untrusted = connect({ BULWARK_REDIS_TLS_CA_FILE: undefined });
    expect(await redisAnswers(untrusted)).toBe(false);
  });
});
