import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { claimNamespace } from '../../libs/replay/namespace';
import { REDIS_URL, realStack } from '../helpers/env';
import { CLI, closedPort, oneLine, runNode } from '../helpers/processes';

jest.setTimeout(120000);

const LOG = path.resolve(__dirname, '../fixtures/replay/basic.jsonl');

/**
 * `bulwark replay` run as a process against the real Redis: it never writes or deletes outside a namespace
 * of its own. Every live prefix here is a fresh test prefix, so even a regression cannot touch another's keys.
 */
describe('replay safety', () => {
  const { redis, fresh } = realStack();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-safety-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const replay = (args: string[], env: Record<string, string> = {}) =>
    runNode(CLI, ['replay', LOG, ...(args.includes('kafka') ? [] : ['--store', 'redis']), ...args], {
      BULWARK_REDIS_URL: REDIS_URL,
      ...env,
    });

  it('refuses the live prefix as a namespace, and one that contains it, and leaves live keys alone', async () => {
    const live = fresh('live');
    const state = `${live}:{breaker}:state:global`;
    await redis.set(state, '{"state":"halted"}');
    for (const namespace of [live, `${live}:replay`, live.slice(0, 6)]) {
      const r = await replay(['--namespace', namespace], { BULWARK_KEY_PREFIX: live });
      expect(r.status).toBe(2);
      expect(oneLine(r)).toMatch(new RegExp(`^bulwark: --namespace ${namespace} .*live key prefix`));
    }
    expect(await redis.get(state)).toBe('{"state":"halted"}');
    expect(await redis.keys(`${live}*`)).toEqual([state]);
  });

  it('refuses --namespace bulwark under the default live prefix before it reaches Redis', async () => {
    // Redis at a closed port: had the name been accepted, this would have been a connection error (exit 1).
    const r = await replay(['--namespace', 'bulwark'], {
      BULWARK_REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
      BULWARK_KEY_PREFIX: '',
    });
    // An empty BULWARK_KEY_PREFIX is refused as the services refuse it.
    expect(r.status).toBe(2);
    expect(oneLine(r)).toMatch(/^bulwark: invalid configuration: BULWARK_KEY_PREFIX=""/);
    const d = await runNode(CLI, ['replay', LOG, '--store', 'redis', '--namespace', 'bulwark'], {
      BULWARK_REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
      BULWARK_KEY_PREFIX: undefined,
    });
    expect(d.status).toBe(2);
    expect(oneLine(d)).toBe(
      'bulwark: --namespace bulwark is the live key prefix (BULWARK_KEY_PREFIX=bulwark)',
    );
  });

  it('refuses a namespace that already holds keys (a kept replay), and changes nothing in it', async () => {
    const live = fresh('live');
    const ns = fresh('used');
    const kept = await replay(['--namespace', ns, '--keep', '--report', path.join(dir, 'kept.json')], {
      BULWARK_KEY_PREFIX: live,
    });
    expect(kept.status).toBe(0);
    const before = (await redis.keys(`${ns}:*`)).sort();
    expect(before.length).toBeGreaterThan(0);
    const again = await replay(['--namespace', ns], { BULWARK_KEY_PREFIX: live });
    expect(again.status).toBe(2);
    expect(oneLine(again)).toBe(
      `bulwark: --namespace ${ns} already holds keys (a kept replay's?); choose a fresh one (or omit --namespace)`,
    );
    expect((await redis.keys(`${ns}:*`)).sort()).toEqual(before);
  });

  it('cleans up only its own namespace: a neighbour whose name starts with it keeps its keys', async () => {
    const live = fresh('live');
    const ns = fresh('ns');
    const neighbours = [`${ns}y:{breaker}:state:global`, `${ns}-2:engine:pending`, `${ns}x`];
    for (const k of neighbours) await redis.set(k, 'mine');
    const report = path.join(dir, 'report.json');
    const r = await replay(['--namespace', ns, '--report', report, '--quiet'], { BULWARK_KEY_PREFIX: live });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(fs.readFileSync(report, 'utf8'))).toMatchObject({ events: { total: 48 } });
    expect(await redis.keys(`${ns}:*`)).toEqual([]);
    for (const k of neighbours) expect(await redis.get(k)).toBe('mine');
  });

  it('lets only one replay hold a namespace at a time', async () => {
    const ns = fresh('claim');
    const first = await claimNamespace(redis, ns, 'bulwark');
    await expect(claimNamespace(redis, ns, 'bulwark')).rejects.toThrow(/is in use by another replay/);
    await first.release({ keep: false });
    await (await claimNamespace(redis, ns, 'bulwark')).release({ keep: false });
    expect(await redis.keys(`${ns}*`)).toEqual([]);
  });

  it('kafka mode refuses the live topic names unless --live is given', async () => {
    const closed = {
      BULWARK_KAFKA_BROKERS: `127.0.0.1:${await closedPort()}`,
      BULWARK_KEY_PREFIX: fresh('live'),
    };
    const refused = await replay(['--mode', 'kafka'], { ...closed, BULWARK_TOPIC_PREFIX: '' });
    expect(refused.status).toBe(2);
    expect(oneLine(refused)).toMatch(
      /^bulwark: replay --mode kafka would publish to the live topics auth\.events\.v1 and wallet\.events\.v1 .*--live/,
    );
    // With --live it goes ahead, here to a broker that is not there.
    const live = await replay(['--mode', 'kafka', '--live'], { ...closed, BULWARK_TOPIC_PREFIX: '' });
    expect(live.status).toBe(1);
    expect(oneLine(live)).toMatch(/^bulwark: cannot reach Kafka at BULWARK_KAFKA_BROKERS=127\.0\.0\.1:\d+ /);
  });

  it('checks the report path and the config before any work', async () => {
    const noRedis = { BULWARK_REDIS_URL: `redis://127.0.0.1:${await closedPort()}` };
    const unwritable = await replay(['--report', path.join(dir, 'missing', 'r.json')], noRedis);
    expect(unwritable.status).toBe(2);
    expect(unwritable.stderr.split('\n')[0]).toBe(
      `bulwark: cannot write --report ${path.join(dir, 'missing', 'r.json')}: no such directory`,
    );
    const typo = path.join(dir, 'typo.yaml');
    fs.writeFileSync(typo, 'rulse:\n  - kind: velocity\n');
    const t = await replay(['--config', typo], noRedis);
    expect(t.status).toBe(2);
    expect(oneLine(t)).toBe(`bulwark: invalid config ${typo}: rulse: unknown field`);
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'graceMs: 1000\ngraceMs: 2000\n');
    const b = await replay(['--config', bad], noRedis);
    expect(b.status).toBe(2);
    expect(oneLine(b)).toBe(
      `bulwark: config ${bad}: not valid YAML: line 2, column 1: Map keys must be unique (DUPLICATE_KEY)`,
    );
  });
});
