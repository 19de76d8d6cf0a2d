import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../libs/config';
import { RuleEngine } from '../../libs/engine';
import { silentLogger } from '../../libs/logger';
import { replayInProcess } from '../../libs/replay/in-process';
import { replayThroughKafka } from '../../libs/replay/kafka-mode';
import { loadReplayConfig } from '../../libs/replay/config';
import { openLog, readLines } from '../../libs/replay/lines';
import type { ReplayReport } from '../../libs/replay/report';
import { breakerEnvSchema } from '../../services/breaker/config';
import { OperatorRegistry } from '../../services/breaker/operators';
import { startBreakerService } from '../../services/breaker/service';
import { startDetector } from '../helpers/detector';
import {
  KAFKA_BROKERS,
  REDIS_URL,
  cleanRedis,
  deleteTopicsWithPrefix,
  provisionTopics,
  testKafka,
  testRedis,
  uniquePrefix,
} from '../helpers/env';

jest.setTimeout(180000);

const FIXTURES = path.resolve(__dirname, '../fixtures/replay');
const CLI = path.resolve(__dirname, '../../dist/services/cli/main.js');

/** The expected reports leave the breaker's free-text reason open ("*"). */
function normalise(report: ReplayReport): ReplayReport {
  return {
    ...report,
    breaker: report.breaker.map((b) => ({ ...b, reason: b.reason.length > 0 ? '*' : '' })),
  };
}
const expected = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.expected.json`), 'utf8')) as ReplayReport;

/** Same rules as the defaults, with a 2 s grace period and 1 s idle timeout so Kafka mode settles quickly. */
function fastConfigFile(): string {
  const file = path.join(os.tmpdir(), `bulwark-fast-${process.pid}.yaml`);
  fs.writeFileSync(file, 'graceMs: 2000\nidleTimeoutMs: 1000\n');
  return file;
}

describe('replay', () => {
  const redis = testRedis();
  const kafka = testKafka();
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) {
      await deleteTopicsWithPrefix(kafka, p);
      await cleanRedis(redis, p);
    }
    await kafka.close();
    redis.disconnect();
  });

  async function inProcess(file: string, opts: { speed?: number; config?: string } = {}) {
    const config = loadReplayConfig(opts.config);
    const result = await replayInProcess(readLines(await openLog(file)), {
      redis,
      rules: config.rules,
      breaker: config.breaker,
      ...(opts.speed === undefined ? {} : { speed: opts.speed }),
    });
    // The namespace is deleted afterwards.
    expect(await redis.keys(`${result.namespace}*`)).toEqual([]);
    return result.report;
  }

  it.each(['basic', 'late-mfa'])(
    'in-process report of %s.jsonl matches the expected report',
    async (name) => {
      const report = await inProcess(path.join(FIXTURES, `${name}.jsonl`));
      expect(normalise(report)).toEqual(expected(name));
    },
  );

  it('gives the same report at a paced speed as at max', async () => {
    const file = path.join(FIXTURES, 'basic.jsonl');
    // 28 days of event time at 2,000,000x: about 1.2 s of pacing.
    expect(await inProcess(file, { speed: 2_000_000 })).toEqual(await inProcess(file));
  });

  it('kafka mode, at max and paced, gives the same report as in-process', async () => {
    const prefix = uniquePrefix('replay-kafka');
    prefixes.push(prefix);
    const topics = await provisionTopics(kafka, prefix);
    const configFile = fastConfigFile();
    const config = loadReplayConfig(configFile);
    const file = path.join(FIXTURES, 'basic.jsonl');
    const reference = await inProcess(file, { config: configFile });
    expect(normalise(reference)).toEqual(expected('basic'));

    const { detector, started } = startDetector(prefix, {}, config.rules);
    await started;
    const breakerEnv = loadConfig(breakerEnvSchema, {
      BULWARK_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
      BULWARK_REDIS_URL: REDIS_URL,
      BULWARK_KEY_PREFIX: prefix,
      BULWARK_TOPIC_PREFIX: `${prefix}.`,
      BULWARK_PARTITIONS: '3',
      BULWARK_BREAKER_PORT: '0',
      BULWARK_BREAKER_GROUP: `${prefix}-breaker`,
      BULWARK_DETECTOR_GROUP: `${prefix}-detector`,
      BULWARK_OPERATORS: '',
    });
    const breaker = await startBreakerService(
      breakerEnv,
      OperatorRegistry.fromEnv(undefined, undefined),
      config.breaker,
      silentLogger(),
    );
    const engine = await RuleEngine.create({ redis, prefix, rules: config.rules, logger: silentLogger() });
    const run = async (speed: number) =>
      replayThroughKafka(readLines(await openLog(file)), {
        kafka,
        topics,
        speed,
        detectorGroup: `${prefix}-detector`,
        breakerGroup: `${prefix}-breaker`,
        pendingCount: () => engine.pendingCount(),
        settleMs: 1500,
        timeoutMs: 90000,
      });
    try {
      expect(await run(Infinity)).toEqual(reference);
      // The breaker is halted now; a second pass must not change it, and must flag nothing new (duplicates).
      const second = await run(2_000_000);
      expect(second.flags).toEqual([]);
      expect(second.breaker).toEqual([]);
      expect(second.events).toEqual(reference.events);
    } finally {
      await detector.stop();
      await breaker.stop();
    }
  });

  describe('the bulwark command', () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [CLI, ...args], {
        encoding: 'utf8',
        env: { ...process.env, BULWARK_REDIS_URL: REDIS_URL },
      });

    it('prints usage and exits 2 on a bad argument, a missing file or a bad option value', () => {
      for (const args of [
        [],
        ['replay'],
        ['replay', 'no-such-file.jsonl'],
        ['replay', 'x', '--speed', 'fast'],
        ['replay', 'x', '--mode', 'both'],
        ['simulate', '--users', '-3'],
        ['frobnicate'],
        ['replay', 'x', '--nope'],
      ]) {
        const r = cli(...args);
        expect({ args, status: r.status }).toEqual({ args, status: 2 });
        expect(r.stderr).toMatch(/^bulwark: /);
      }
      expect(cli('replay', '--help').status).toBe(0);
    });

    it('simulates a log, gzips it, and replays it from a file and from standard input alike', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-cli-'));
      const log = path.join(dir, 'sim.jsonl.gz');
      const sim = cli(
        'simulate',
        '--users',
        '60',
        '--duration',
        '1d',
        '--attack',
        '--attack-users',
        '5',
        '--invalid-share',
        '0.01',
        '--duplicate-share',
        '0.01',
        '--out',
        log,
        '--seed',
        '3',
      );
      expect(sim.status).toBe(0);
      const fromFile = cli('replay', log, '--report', path.join(dir, 'report.json'));
      expect(fromFile.status).toBe(0);
      const report = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as ReplayReport;
      const zcat = spawnSync('sh', ['-c', `gzip -dc '${log}' | '${process.execPath}' '${CLI}' replay -`], {
        encoding: 'utf8',
        env: { ...process.env, BULWARK_REDIS_URL: REDIS_URL },
      });
      expect(zcat.status).toBe(0);
      expect(JSON.parse(zcat.stdout)).toEqual(report);
      expect(report.events.invalid).toBeGreaterThan(0);
      expect(report.events.duplicate).toBeGreaterThan(0);
      const attacked = new Set(
        report.flags.filter((f) => f.ruleId === 'mfa-missing').map((f) => f.withdrawalId),
      );
      expect([...attacked].filter((w) => w.startsWith('wd-atk-'))).toHaveLength(5);
      expect([...attacked].filter((w) => !w.startsWith('wd-atk-'))).toEqual([]);
      expect(report.breaker.some((b) => b.scope === 'global' && b.state === 'halted')).toBe(true);
    });

    it('backtest reports the flags that differ between two configurations', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-bt-'));
      const strict = path.join(dir, 'strict.yaml');
      fs.writeFileSync(strict, 'rules:\n  - { id: velocity, kind: velocity, params: { maxCount: 2 } }\n');
      const r = cli(
        'backtest',
        path.join(FIXTURES, 'basic.jsonl'),
        '--config',
        strict,
        '--config',
        path.resolve(__dirname, '../../config/rules.default.yaml'),
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const diff = JSON.parse(r.stdout) as {
        onlyA: { ruleId: string; withdrawalId: string }[];
        onlyB: { ruleId: string }[];
        both: number;
      };
      // Under A (velocity only, at most 2 an hour) u-7's third to sixth withdrawals are flagged; u-7's sixth
      // and u-8's second are flagged under both; B alone has every other default rule's flags.
      expect(diff.onlyA.map((f) => f.withdrawalId)).toEqual(['wd-7c', 'wd-7d', 'wd-7e']);
      expect(diff.both).toBe(2);
      expect(diff.onlyB.map((f) => f.ruleId).sort()).toEqual([
        'mfa-missing',
        'mfa-missing',
        'mfa-missing',
        'mfa-reset-withdrawal',
        'new-address-cooldown',
        'new-device-withdrawal',
        'sanctioned-destination',
      ]);
    });
  });
});
