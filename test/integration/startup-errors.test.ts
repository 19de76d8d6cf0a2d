import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { newOperatorLine } from '../../services/breaker/operators';
import { KAFKA_BROKERS, REDIS_URL, realStack, waitFor } from '../helpers/env';
import { BREAKER, CLI, DETECTOR, PROVISION, closedPort, oneLine, runNode } from '../helpers/processes';
import { TcpProxy } from '../helpers/tcp-proxy';

jest.setTimeout(120000);

const LOG = path.resolve(__dirname, '../fixtures/replay/basic.jsonl');
const RULES = path.resolve(__dirname, '../../config/rules.default.yaml');

/**
 * The built services and CLI, started against a broker or Redis address where nothing listens: each stops
 * with one line naming the variable to fix (never the Redis password), exit 1, no stack trace.
 */
describe('an unreachable broker or Redis', () => {
  const { redis, fresh } = realStack();
  const operators = [newOperatorLine('alice').line, newOperatorLine('bob').line].join(',');
  const base = (prefix: string) => ({
    BULWARK_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
    BULWARK_REDIS_URL: REDIS_URL,
    BULWARK_KEY_PREFIX: prefix,
    BULWARK_TOPIC_PREFIX: `${prefix}.`,
    BULWARK_DETECTOR_PORT: '0',
    BULWARK_BREAKER_PORT: '0',
    BULWARK_DETECTOR_GROUP: `${prefix}-detector`,
    BULWARK_BREAKER_GROUP: `${prefix}-breaker`,
    BULWARK_OPERATORS: operators,
  });

  it.each([
    ['detector', DETECTOR],
    ['breaker', BREAKER],
    ['provision', PROVISION],
  ])('%s at start: one line naming BULWARK_KAFKA_BROKERS', async (name, script) => {
    const broker = `127.0.0.1:${await closedPort()}`;
    const r = await runNode(script, [], { ...base(fresh('down')), BULWARK_KAFKA_BROKERS: broker });
    expect(r.status).toBe(1);
    expect(oneLine(r)).toBe(
      `bulwark ${name}: cannot reach Kafka at BULWARK_KAFKA_BROKERS=${broker} (${broker} ECONNREFUSED): ` +
        'start the broker or set BULWARK_KAFKA_BROKERS',
    );
  });

  it.each([
    ['detector', DETECTOR],
    ['breaker', BREAKER],
  ])('%s at start: one line naming BULWARK_REDIS_URL, the password hidden', async (name, script) => {
    const port = await closedPort();
    const r = await runNode(script, [], {
      ...base(fresh('down')),
      BULWARK_REDIS_URL: `redis://app:s3cret@127.0.0.1:${port}`,
    });
    expect(r.status).toBe(1);
    expect(oneLine(r)).toBe(
      `bulwark ${name}: cannot reach Redis at BULWARK_REDIS_URL=redis://app:***@127.0.0.1:${port} ` +
        '(ECONNREFUSED): start Redis or set BULWARK_REDIS_URL',
    );
  });

  it('every CLI command that needs Redis or Kafka: one line naming the variable, exit 1', async () => {
    const port = await closedPort();
    const noRedis = { BULWARK_REDIS_URL: `redis://:pw@127.0.0.1:${port}` };
    const redisLine =
      `bulwark: cannot reach Redis at BULWARK_REDIS_URL=redis://:***@127.0.0.1:${port} (ECONNREFUSED): ` +
      'start Redis or set BULWARK_REDIS_URL';
    const r = await runNode(CLI, ['replay', LOG, '--store', 'redis'], noRedis);
    expect(r.status).toBe(1);
    expect(oneLine(r)).toBe(redisLine);
    // The memory store (replay's default, and backtest's) needs no Redis at all.
    for (const args of [
      ['replay', LOG, '--quiet'],
      ['backtest', LOG, '--config', RULES, '--config', RULES, '--quiet'],
    ]) {
      const ok = await runNode(CLI, args, noRedis);
      expect({ args, status: ok.status, stderr: ok.stderr }).toEqual({ args, status: 0, stderr: '' });
    }
    const broker = `127.0.0.1:${await closedPort()}`;
    const k = await runNode(CLI, ['replay', LOG, '--mode', 'kafka'], {
      ...base(fresh('down')),
      BULWARK_KAFKA_BROKERS: broker,
    });
    expect(k.status).toBe(1);
    expect(oneLine(k)).toMatch(/^bulwark: cannot reach Kafka at BULWARK_KAFKA_BROKERS=127\.0\.0\.1:\d+ /);
  });

  it('a typo in the rules or triggers file stops the service at start, naming the key', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-typo-'));
    try {
      const rules = path.join(dir, 'rules.yaml');
      fs.writeFileSync(rules, 'graceMs: 30000\nrulse:\n  - kind: velocity\n');
      // Before, the detector ignored the key and ran the default rules (and so would never have exited).
      const d = await runNode(
        DETECTOR,
        [],
        { ...base(fresh('typo')), BULWARK_RULES_CONFIG: rules },
        { killAfterMs: 20000 },
      );
      expect(d.status).toBe(1);
      expect(oneLine(d)).toBe(`bulwark detector: invalid rules config ${rules}: rulse: unknown field`);
      const triggers = path.join(dir, 'breaker.yaml');
      fs.writeFileSync(
        triggers,
        'triggers:\n  - { id: a, kind: distinct-users, target: global, windowMS: 1, threshold: 1 }\n',
      );
      const b = await runNode(
        BREAKER,
        [],
        { ...base(fresh('typo')), BULWARK_BREAKER_CONFIG: triggers },
        { killAfterMs: 20000 },
      );
      expect(b.status).toBe(1);
      expect(oneLine(b)).toMatch(
        /^bulwark breaker: BULWARK_BREAKER_CONFIG: .*triggers\.0\.windowMS: unknown field/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the CLI refuses a bad BULWARK_REDIS_URL as the services do', async () => {
    for (const [script, status, who] of [
      [CLI, 2, 'bulwark'],
      [DETECTOR, 1, 'bulwark'],
    ] as const) {
      const r = await runNode(script, script === CLI ? ['replay', LOG] : [], {
        ...base(fresh('bad')),
        BULWARK_REDIS_URL: 'nonsense',
      });
      expect(r.status).toBe(status);
      expect(oneLine(r)).toBe(
        `${who}: invalid configuration: BULWARK_REDIS_URL="nonsense": must be a redis:// or rediss:// URL ` +
          'with a host, e.g. redis://127.0.0.1:6379 (port 1-65535)',
      );
    }
  });

  it('kafka mode exits 1 with one line naming BULWARK_KAFKA_BROKERS when the broker stops answering', async () => {
    // A "broker" that accepts connections (so the start-up check passes) and drops each one at once, as a
    // broker dying after start looks to the client: kafkajs retries, gives up, and the CLI says so.
    const dropper = net.createServer((c) => c.destroy());
    await new Promise<void>((r) => dropper.listen(0, '127.0.0.1', r));
    const broker = `127.0.0.1:${(dropper.address() as net.AddressInfo).port}`;
    try {
      const r = await runNode(CLI, ['replay', LOG, '--mode', 'kafka'], {
        ...base(fresh('dropped')),
        BULWARK_KAFKA_BROKERS: broker,
      });
      expect(r.status).toBe(1);
      expect(oneLine(r)).toMatch(new RegExp(`^bulwark: lost Kafka at BULWARK_KAFKA_BROKERS=${broker}: `));
    } finally {
      await new Promise<void>((r) => dropper.close(() => r()));
    }
  });

  it('replay exits 1 with one line naming BULWARK_REDIS_URL when Redis goes away mid-run', async () => {
    const redisPort = Number(new URL(REDIS_URL).port || 6379);
    const proxy = new TcpProxy(new URL(REDIS_URL).hostname, redisPort);
    const port = await proxy.start();
    const ns = fresh('midrun');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-midrun-'));
    try {
      // A simulated day paced at 3600x: about 24 s of replay, cut as soon as it has written state.
      const log = path.join(dir, 'day.jsonl');
      const sim = await runNode(CLI, ['simulate', '--users', '100', '--duration', '1d', '--out', log], {});
      expect(sim.status).toBe(0);
      const run = runNode(CLI, ['replay', log, '--store', 'redis', '--speed', '3600', '--namespace', ns], {
        BULWARK_REDIS_URL: `redis://127.0.0.1:${port}`,
        BULWARK_KEY_PREFIX: fresh('live'),
      });
      await waitFor(async () => (await redis.keys(`${ns}:{u:*`)).length > 0, 30000);
      proxy.cut();
      const r = await run;
      expect(r.status).toBe(1);
      expect(oneLine(r)).toMatch(
        new RegExp(`^bulwark: lost Redis at BULWARK_REDIS_URL=redis://127\\.0\\.0\\.1:${port}`),
      );
    } finally {
      await proxy.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
