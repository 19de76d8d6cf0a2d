import { serviceEnv } from '../helpers/service-env';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { defaultBreakerConfig } from '../../libs/breaker';
import { breakerKeys } from '../../libs/keys/breaker';
import type { TopicNames } from '../../libs/kafka';
import { silentLogger } from '../../libs/logger';
import { breakerEnvSchema } from '../../services/breaker/config';
import { OperatorRegistry, newOperatorLine } from '../../services/breaker/operators';
import { startBreakerService, type RunningBreakerService } from '../../services/breaker/service';
import {
  KAFKA_BROKERS,
  TEST_CONTROL_KEYS,
  cleanRedis,
  provisionTopics,
  realStack,
  waitFor,
} from '../helpers/env';

jest.setTimeout(120000);

const CLI = path.join(__dirname, '../../dist/services/cli/main.js');

/**
 * Trust in the breaker (issue 12): a forged control message cannot open a scope at the next start or after
 * Redis lost its data, and the audit trail is hash-chained, complete (refusals included), durable on
 * withdrawals.audit.v1 and checked by `bulwark audit verify`.
 */
describe('breaker trust: signed control state and a verifiable audit trail', () => {
  const { kafka, redis, fresh } = realStack();
  const alice = newOperatorLine('alice');
  const bob = newOperatorLine('bob');
  const viewer = newOperatorLine('vera', undefined, 'audit');
  const operators = OperatorRegistry.parse(`${alice.line},${bob.line},${viewer.line}`, 'test');
  const running: RunningBreakerService[] = [];

  afterAll(async () => {
    for (const s of running) await s.stop().catch(() => undefined);
  });

  async function start(prefix: string): Promise<{ svc: RunningBreakerService; base: string }> {
    const env = {
      ...breakerEnvSchema.parse(serviceEnv(prefix)),
      BULWARK_BREAKER_PORT: 0,
    };
    const svc = await startBreakerService(env, operators, defaultBreakerConfig(), silentLogger());
    running.push(svc);
    const base = `http://127.0.0.1:${svc.port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok);
    return { svc, base };
  }
  async function stop(svc: RunningBreakerService) {
    await svc.stop();
    running.splice(running.indexOf(svc), 1);
  }
  const post = (base: string, route: string, body: unknown, token?: string) =>
    fetch(`${base}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const status = async (base: string, asset?: string) =>
    (await (await fetch(`${base}/v1/withdrawals/status${asset ? `?asset=${asset}` : ''}`)).json()) as Record<
      string,
      unknown
    >;
  const trail = async (base: string) =>
    (
      (await (
        await fetch(`${base}/v1/breaker/audit?limit=1000`, {
          headers: { authorization: `Bearer ${alice.token}` },
        })
      ).json()) as { entries: Record<string, unknown>[] }
    ).entries;

  it('keeps a halted scope halted after forged control messages, a restart and a Redis wipe; counts the forgeries', async () => {
    const prefix = fresh('trust-ctl');
    const topics: TopicNames = await provisionTopics(kafka, prefix, 1);
    let { svc, base } = await start(prefix);
    expect(
      (await post(base, '/v1/breaker/halt', { scope: 'global', reason: 'drill' }, alice.token)).status,
    ).toBe(200);
    const genuine = (await waitFor(async () => {
      const got = await readAll(topics.control);
      return got.find((m) => m.state === 'halted');
    }))!;
    await stop(svc);

    // Anyone with write access to the topic: an unsigned "open" with a huge version, the genuine message
    // re-versioned with its old signature, and an unsigned "open" for a scope that has no genuine message.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send([
      {
        topic: topics.control,
        key: 'global',
        value: JSON.stringify({
          scope: 'global',
          state: 'open',
          since: genuine.since,
          reason: 'x',
          trigger: 'resume',
          by: 'alice,bob',
          version: 1000,
        }),
      },
      {
        topic: topics.control,
        key: 'global',
        value: JSON.stringify({ ...genuine, state: 'open', version: 1001 }),
      },
      {
        topic: topics.control,
        key: 'asset:BTC',
        value: JSON.stringify({
          scope: 'asset:BTC',
          state: 'open',
          since: genuine.since,
          reason: 'x',
          trigger: 'resume',
          by: 'x',
          version: 7,
        }),
      },
    ]);
    await producer.disconnect();

    // Restart on intact Redis: nothing opens.
    ({ svc, base } = await start(prefix));
    expect(await status(base)).toMatchObject({ allowed: false, scope: 'global', state: 'halted' });
    await stop(svc);

    // Redis loses every key of this prefix; the next start restores from the topic.
    await cleanRedis(redis, prefix);
    ({ svc, base } = await start(prefix));
    expect(await status(base)).toMatchObject({
      allowed: false,
      scope: 'global',
      state: 'halted',
      reason: 'drill',
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const rejected = [
      ...metrics.matchAll(/bulwark_breaker_control_rejected_total\{[^}]*topic="control"[^}]*\} (\d+)/g),
    ]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
    // Each read of the topic counts what it rejects (the state-loss watch reads it again after the wipe).
    expect(rejected).toBeGreaterThanOrEqual(3);
    expect(metrics).toMatch(
      /bulwark_breaker_control_rejected_total\{topic="control",reason="bad-signature"[^}]*\} [1-9]/,
    );

    // The BTC forgery names a scope with no genuine message: restored halted (fail closed), not open.
    expect(await status(base, 'BTC')).toMatchObject({ allowed: false, scope: 'global' });
    const btc = await redis.get(breakerKeys(prefix).state('asset:BTC'));
    expect(JSON.parse(btc!)).toMatchObject({ state: 'halted', trigger: 'control-invalid' });
    // Both scopes' restores are in the trail (BTC's twice: fail closed at the first restart, then from the
    // breaker's own signed halt), which itself came back from the audit topic.
    const restores = (await trail(base)).filter((e) => e.action === 'restore');
    expect(new Set(restores.map((e) => `${String(e.scope)} ${String(e.state)}`))).toEqual(
      new Set(['asset:BTC halted', 'global halted']),
    );
  });

  it('audits refusals with address and route; verify names deleted, altered and inserted entries; the trail survives a Redis wipe', async () => {
    const prefix = fresh('trust-audit');
    await provisionTopics(kafka, prefix, 1);
    const { base } = await start(prefix);

    expect((await post(base, '/v1/breaker/halt', { scope: 'global', reason: 'no token' })).status).toBe(401);
    expect((await post(base, '/v1/breaker/halt', { scope: 'global', reason: 'bad' }, 'nope')).status).toBe(
      401,
    );
    expect(
      (await post(base, '/v1/breaker/halt', { scope: 'global', reason: 'no role' }, viewer.token)).status,
    ).toBe(403);
    expect((await post(base, '/v1/breaker/halt', { scope: 'global' }, alice.token)).status).toBe(400);
    expect(
      (await post(base, '/v1/breaker/halt', { scope: 'asset:eth', reason: 'x' }, alice.token)).status,
    ).toBe(404);
    expect(
      (await post(base, '/v1/breaker/resume', { scope: 'global', reason: 'x' }, alice.token)).status,
    ).toBe(409);
    expect(
      (await post(base, '/v1/breaker/halt', { scope: 'global', reason: 'real' }, alice.token)).status,
    ).toBe(200);
    expect(
      (await post(base, '/v1/breaker/resume', { scope: 'global', reason: 'ok' }, alice.token)).status,
    ).toBe(202);

    const entries = await trail(base);
    const refusals = entries.filter((e) => e.outcome === 'refused');
    expect(refusals.map((e) => e.status ?? 409).sort()).toEqual([400, 401, 401, 403, 404, 409]);
    for (const e of refusals)
      expect(e).toMatchObject({ address: expect.stringMatching(/127\.0\.0\.1/), route: expect.any(String) });
    expect(refusals.find((e) => e.status === 403)).toMatchObject({ by: 'vera', route: '/v1/breaker/halt' });
    const change = entries.find((e) => e.action === 'halt' && e.outcome === 'changed');
    expect(change).toMatchObject({
      by: 'alice',
      address: expect.any(String),
      route: '/v1/breaker/halt',
      crossedAt: null,
    });
    expect(change!.at).toEqual(expect.any(String));

    const verify = () =>
      cli(['audit', 'verify'], {
        env: {
          ...process.env,
          BULWARK_BREAKER_URL: base,
          BULWARK_TOKEN: alice.token,
          BULWARK_CONTROL_KEYS: TEST_CONTROL_KEYS,
          BULWARK_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
          BULWARK_TOPIC_PREFIX: `${prefix}.`,
        },
      });
    // The topic catches up through the outbox.
    await waitFor(async () => (await redis.hlen(breakerKeys(prefix).auditOutbox)) === 0);
    const intact = await verify();
    expect(intact.stderr).toBe('');
    expect(intact.status).toBe(0);
    expect(intact.stdout).toMatch(/audit trail intact/);

    const k = breakerKeys(prefix);
    // Every genuine entry by seq. Verify's own requests keep appending genuine entries while we tamper, so
    // the untampered trail is rebuilt from this map, not from a snapshot taken once.
    const genuine = new Map<number, string>();
    const seqOf = (v: string) => (JSON.parse(v) as { seq: number }).seq;
    const learn = async () => {
      for (const [, f] of await redis.xrange(k.trail, '-', '+'))
        if (!genuine.has(seqOf(f[1]!))) genuine.set(seqOf(f[1]!), f[1]!);
    };
    const rewrite = async (values: string[]) => {
      await redis.del(k.trail);
      for (const v of values) await redis.xadd(k.trail, '*', 'e', v);
    };
    const untamper = async () => {
      await learn();
      await rewrite([...genuine.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v));
    };
    await learn();
    const original = [...genuine.values()];

    // Deleted: the resume request (entry 3 of the trail, say) vanishes.
    const victim = original[2]!;
    await rewrite(original.filter((v) => v !== victim));
    let r = await verify();
    await untamper();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`first bad entry seq ${seqOf(victim) + 1}`);
    expect(r.stderr).toContain(`entry ${seqOf(victim)} is missing`);

    // Altered: the real halt now says someone else did it.
    const idx = original.findIndex(
      (v) => JSON.parse(v).action === 'halt' && JSON.parse(v).outcome === 'changed',
    );
    const altered = [...original];
    altered[idx] = JSON.stringify({ ...JSON.parse(original[idx]!), by: 'mallory' });
    await rewrite(altered);
    r = await verify();
    await untamper();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`first bad entry seq ${seqOf(original[idx]!)}`);
    expect(r.stderr).toContain('altered');

    // Inserted: a forged "resume by alice,bob" with a plausible sequence number and chain link.
    const before = JSON.parse(original[3]!) as Record<string, unknown>;
    const forged = JSON.stringify({
      ...before,
      action: 'resume',
      by: 'alice,bob',
      seq: (before.seq as number) + 1,
      prev: before.hash,
      hash: 'f'.repeat(64),
    });
    await rewrite([...original.slice(0, 4), forged, ...original.slice(4)]);
    r = await verify();
    await untamper();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`first bad entry seq ${(before.seq as number) + 1}`);

    // Back to the genuine trail.
    expect(await verify()).toMatchObject({ status: 0, stderr: '' });

    // Redis loses the prefix: state and trail come back from the topics, and the trail verifies.
    await waitFor(async () => (await redis.hlen(k.auditOutbox)) === 0);
    const head = JSON.parse((await redis.get(k.trailHead))!) as { seq: number };
    await cleanRedis(redis, prefix);
    await waitFor(async () => (await trail(base)).some((e) => e.action === 'restore'), 30000, 250);
    const back = await trail(base);
    expect(back.some((e) => e.action === 'halt' && e.by === 'alice' && e.outcome === 'changed')).toBe(true);
    expect(Math.max(...back.map((e) => e.seq as number))).toBeGreaterThan(head.seq);
    await waitFor(async () => (await redis.hlen(k.auditOutbox)) === 0);
    const after = await verify();
    expect(after.stderr).toBe('');
    expect(after.status).toBe(0);
    // Export: JSON lines, oldest first, the same chain.
    const exp = await cli(['audit', 'export', '--source', 'topic'], {
      env: {
        ...process.env,
        BULWARK_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
        BULWARK_TOPIC_PREFIX: `${prefix}.`,
      },
    });
    expect(exp.status).toBe(0);
    const lines = exp.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number });
    expect(lines[0]!.seq).toBe(1);
  });

  /** Runs the CLI without blocking this process (the breaker under test runs in it). */
  function cli(args: string[], opts: { env: NodeJS.ProcessEnv }) {
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        { ...opts, encoding: 'utf8', timeout: 60000 },
        (err, stdout, stderr) =>
          resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  async function readAll(topic: string): Promise<Record<string, unknown>[]> {
    const { readTopicToEnd } = await import('../../libs/kafka');
    const msgs = await readTopicToEnd(kafka, topic);
    return msgs.map((m) => JSON.parse(m.value!.toString()) as Record<string, unknown>);
  }
});
