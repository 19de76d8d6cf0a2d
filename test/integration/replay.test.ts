import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { replayInProcess } from '../../libs/replay/in-process';
import { loadReplayConfig } from '../../libs/replay/config';
import { openLog, readLines } from '../../libs/replay/lines';
import type { ReplayReport } from '../../libs/replay/report';
import { simulate, simulateSummary } from '../../libs/simulate';
import { REDIS_URL, provisionTopics, realStack } from '../helpers/env';
import { configFile, startReplayStack } from '../helpers/replay-stack';

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
const fastConfigFile = () => configFile('fast', 'graceMs: 2000\nidleTimeoutMs: 1000\n');

describe('replay', () => {
  const { kafka, redis, fresh } = realStack();

  async function inProcess(file: string, opts: { speed?: number; config?: string } = {}) {
    const config = loadReplayConfig(opts.config);
    const result = await replayInProcess(readLines(await openLog(file)), {
      store: 'redis',
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
    const prefix = fresh('replay-kafka');
    const topics = await provisionTopics(kafka, prefix);
    const cfgFile = fastConfigFile();
    const config = loadReplayConfig(cfgFile);
    const file = path.join(FIXTURES, 'basic.jsonl');
    const reference = await inProcess(file, { config: cfgFile });
    expect(normalise(reference)).toEqual(expected('basic'));

    const stack = await startReplayStack(prefix, { kafka, redis, topics, config });
    const run = (speed: number) => stack.replay(file, speed);
    try {
      // The crossing is the same; the effective `at` is the newest event time the breaker had processed, which
      // in Kafka mode can be later while flags arrive partition by partition (issue 13: event-time order).
      const live = await run(Infinity);
      // `response` is measured from `at`, so it differs with it; it must follow this run's own `at`.
      const withoutAt = (r: ReplayReport) => ({
        ...r,
        breaker: r.breaker.map(({ at: _at, ...b }) => b),
        response: r.response.halts.map((h) => h.crossedAt),
      });
      expect(withoutAt(live)).toEqual(withoutAt(reference));
      expect(live.response.halts.map((h) => h.at)).toEqual(
        live.breaker.filter((c) => c.state === 'halted').map((c) => c.at),
      );
      for (const b of live.breaker) expect(b.crossedAt === null || b.at >= b.crossedAt).toBe(true);
      // The breaker is halted now; a second pass must not change it, and must flag nothing new (duplicates).
      const second = await run(2_000_000);
      expect(second.flags).toEqual([]);
      expect(second.breaker).toEqual([]);
      expect(second.events).toEqual(reference.events);
    } finally {
      await stack.stop();
    }
  });

  it('kafka mode gives the same flags as in-process on a simulated day, and halts within a slice of it', async () => {
    // One fetch batch spans many hours of a partition's event time, so the detector reads some partitions
    // far ahead of others. With no skew allowance, only the watermark keeps the auth facts a lagging
    // approval needs; this is the case where the demo once flagged thousands of ordinary withdrawals.
    const prefix = fresh('replay-sim');
    const topics = await provisionTopics(kafka, prefix);
    // A 25 s grace covers the simulator's late MFAs (they arrive within 20 s of their own event time); the
    // last decisions then close 25 s of wall time after the input goes idle.
    const cfgFile = configFile('sim', 'graceMs: 25000\nidleTimeoutMs: 1000\nmaxSkewMs: 0\n');
    const config = loadReplayConfig(cfgFile);
    const file = path.join(os.tmpdir(), `bulwark-sim-${process.pid}.jsonl`);
    const sim = {
      seed: 11,
      users: 300,
      durationMs: 86_400_000,
      withdrawalsPerUserPerDay: 1.5,
      attack: { at: '2022-01-15T20:00:00.000Z', users: 25, durationMs: 10 * 60_000, freshAddressShare: 0.7 },
      // One ordinary withdrawal in ten has its mfa.passed line after the approval's, within the grace.
      lateMfaShare: 0.1,
    };
    fs.writeFileSync(file, [...simulate(sim)].join('\n') + '\n');
    const truth = simulateSummary(sim);
    const reference = await inProcess(file, { config: cfgFile });
    const attacked = new Set(truth.attackedWithdrawalIds);
    const mfaMissing = reference.flags.filter((f) => f.ruleId === 'mfa-missing');
    expect(new Set(mfaMissing.map((f) => f.withdrawalId))).toEqual(attacked);

    const stack = await startReplayStack(prefix, { kafka, redis, topics, config });
    try {
      const SLICE = 50;
      const live = await stack.replay(file, Infinity, { sliceLines: SLICE });
      expect(live.events).toEqual(reference.events);
      expect(live.flags).toEqual(reference.flags);
      // At speed max the log is published in slices, each committed by the detector before the next, so
      // the breaker sees flags in nearly the order in-process mode raises them; within a slice they arrive
      // partition by partition. The same scope halts, by the same trigger, no earlier than in-process mode
      // and at most the event-time span of the slice that holds the in-process halt later.
      const halts = (r: ReplayReport) => r.breaker.filter((b) => b.state === 'halted');
      expect(halts(live).map((b) => [b.scope, b.trigger])).toEqual(
        halts(reference).map((b) => [b.scope, b.trigger]),
      );
      expect(halts(reference)).toHaveLength(1);
      const haltAt = Date.parse(halts(reference)[0]!.at);
      const times = fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => Date.parse((JSON.parse(l) as { occurredAt: string }).occurredAt));
      const at = times.findIndex((t) => t >= haltAt);
      const sliceStart = Math.floor(at / SLICE) * SLICE;
      const span = Math.max(...times.slice(sliceStart, sliceStart + 2 * SLICE)) - times[sliceStart]!;
      const lag = Date.parse(halts(live)[0]!.at) - haltAt;
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThanOrEqual(span);
    } finally {
      await stack.stop();
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
        expect(r.stderr).toMatch(/^bulwark: .*\nusage: bulwark/);
      }
      expect(cli('replay', '--help').status).toBe(0);
    });

    it('prints usage and exits 2, before any work, on an option that would be ignored or fail late', () => {
      // Each of these used to be accepted: the mistake ignored, or found only after the whole run. The broker
      // is a closed port and the topics a test's own, so a regression can never publish anywhere.
      const log = path.join(FIXTURES, 'basic.jsonl');
      const rules = path.resolve(__dirname, '../../config/rules.default.yaml');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-usage-'));
      const env = {
        ...process.env,
        BULWARK_REDIS_URL: REDIS_URL,
        BULWARK_KAFKA_BROKERS: '127.0.0.1:1',
        BULWARK_TOPIC_PREFIX: `${fresh('usage')}.`,
        BULWARK_KEY_PREFIX: fresh('usage'),
      };
      for (const args of [
        ['replay', log, '--report', path.join(dir, 'a.json'), '--report', path.join(dir, 'b.json')],
        ['replay', log, '--settle-ms', '100'],
        ['replay', log, '--live'],
        ['replay', log, '--mode', 'kafka', '--keep'],
        ['replay', log, '--store', 'disk'],
        ['replay', log, '--namespace', 'mine'],
        ['replay', log, '--store', 'memory', '--keep'],
        ['replay', log, '--mode', 'kafka', '--store', 'redis'],
        ['replay', log, '--mode', 'kafka', '--speed', '10', '--slice', '5'],
        ['replay', log, '--mode', 'kafka', '--slice', '99999999999999999999'],
        ['replay', log, '--report', path.join(dir, 'missing', 'r.json')],
        [
          'backtest',
          log,
          '--config',
          rules,
          '--config',
          rules,
          '--report',
          path.join(dir, 'missing', 'r.json'),
        ],
        ['simulate', '--users', '5', '--rate', ''],
        ['simulate', '--users', '5', '--attack-users', '3'],
        ['simulate', '--users', '5', '--seed', '1', '--seed', '2'],
        ['simulate', '--users', '5', '--summary', path.join(dir, 'missing', 's.json')],
        [
          'simulate',
          '--users',
          '5',
          '--out',
          path.join(dir, 's.jsonl'),
          '--summary',
          path.join(dir, 's.jsonl'),
        ],
      ]) {
        const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env });
        expect({ args, status: r.status }).toEqual({ args, status: 2 });
        expect(r.stderr).toMatch(/^bulwark: .*\nusage: bulwark/);
        expect(r.stdout).toBe('');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('--store memory (the default) and --store redis give byte-identical reports', () => {
      const log = path.join(FIXTURES, 'late-mfa.jsonl');
      const plain = cli('replay', log);
      const memory = cli('replay', log, '--store', 'memory');
      const redisStore = cli('replay', log, '--store', 'redis');
      expect([plain.status, memory.status, redisStore.status]).toEqual([0, 0, 0]);
      expect(JSON.parse(plain.stdout)).toMatchObject({ events: { total: expect.any(Number) as number } });
      expect(memory.stdout).toBe(plain.stdout);
      expect(redisStore.stdout).toBe(plain.stdout);
    });

    it('says what happened on stderr after a replay and a backtest (per rule, halts, value), and --quiet does not', () => {
      const log = path.join(FIXTURES, 'basic.jsonl');
      const r = cli('replay', log);
      const report = JSON.parse(r.stdout) as { flags: unknown[] };
      expect(r.stderr).toMatch(/^events: 48 \(valid 44, invalid 2, ignored 1, duplicate 1\)$/m);
      expect(r.stderr).toContain(`flags: ${report.flags.length}: mfa-missing 3,`);
      expect(r.stderr).toMatch(/^global halted at \S+Z \(threshold crossed \S+Z, trigger critical-users\)/m);
      expect(r.stderr).toMatch(/flagged withdrawals \(\$[\d,.]+\) got through; while halted \d+ withdrawals/);
      const quiet = cli('replay', log, '--quiet');
      expect({ status: quiet.status, stderr: quiet.stderr }).toEqual({ status: 0, stderr: '' });
      expect(JSON.parse(quiet.stdout)).toEqual(report);

      const rules = path.resolve(__dirname, '../../config/rules.default.yaml');
      const b = cli('backtest', log, '--config', rules, '--config', rules);
      expect(b.status).toBe(0);
      expect(b.stderr).toMatch(/^mfa-missing +3 +3 +3 +0 +0$/m);
      expect((JSON.parse(b.stdout) as { perRule: Record<string, unknown> }).perRule['mfa-missing']).toEqual({
        a: 3,
        b: 3,
        both: 3,
        onlyA: 0,
        onlyB: 0,
      });
      expect(cli('backtest', log, '--config', rules, '--config', rules, '--quiet').stderr).toBe('');
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
      // The summary on stderr: its per-rule table says the same as the report.
      expect(r.stderr).toMatch(/^velocity +5 +2 +2 +3 +0$/m);
      expect(r.stderr).toMatch(/^mfa-missing +0 +3 +0 +0 +3$/m);
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
