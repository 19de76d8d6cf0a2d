/**
 * `bulwark replay` throughput against the reference reading, side by side in one run. Not part of the tests.
 *
 *   npm run bench:replay [-- --users 100000 --duration 2d --rate 1.15 --seed 7]
 *
 * The log: `bulwark simulate --users N --duration D --rate R --attack --seed S` (about 1.88M lines for
 * 100,000 users), generated once into .cache/bench/ and reused while the simulator's code is unchanged.
 * Then, each as a child process under /usr/bin/time -v (wall time, CPU, peak RSS):
 *   - the reference reading (dist/bench/reference.js): plain JS, the six default rules, no framework;
 *   - `replay FILE --quiet --store memory --report R` and the same with `--store redis`.
 * Each replay is quoted as a ratio to the reference measured in the same run (targets: memory >= 0.5x,
 * redis >= 0.25x, peak RSS <= 500 MB), and the flags per rule of the three are compared.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRedis } from '../libs/redis';
import { silentLogger } from '../libs/logger';
import type { ReplayReport } from '../libs/replay/report';
import { REDIS_URL, arg, machine, redisCpuSeconds, table, writeResult } from './common';
import { RULE_IDS, type ReferenceResult } from './reference';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'services', 'cli', 'main.js');
const REFERENCE = path.join(ROOT, 'dist', 'bench', 'reference.js');
const CACHE = path.join(ROOT, '.cache', 'bench');
const TARGET = { memory: 0.5, redis: 0.25, rssBytes: 500e6 };

function strArg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? def : process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

/** A short hash of the compiled simulator: a cached log is reused only while it would come out the same. */
function simulatorHash(): string {
  const dir = path.join(ROOT, 'dist', 'libs', 'simulate');
  const h = createHash('sha256');
  for (const f of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.js'))
    .sort())
    h.update(f).update(fs.readFileSync(path.join(dir, f)));
  return h.digest('hex').slice(0, 10);
}

interface Measured {
  wallSeconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
  stdout: string;
}

/** Runs `node args` under /usr/bin/time -v; fails with the child's stderr when it exits non-zero. */
function measure(args: string[]): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-v', process.execPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0)
        return reject(new Error(`node ${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`));
      const num = (label: string) => Number(new RegExp(`${label}: ([\\d.]+)`).exec(stderr)?.[1] ?? NaN);
      resolve({
        wallSeconds,
        cpuSeconds: num('User time \\(seconds\\)') + num('System time \\(seconds\\)'),
        peakRssBytes: num('Maximum resident set size \\(kbytes\\)') * 1024,
        stdout,
      });
    });
  });
}

async function logFile(): Promise<{ file: string; lines: number; generated: boolean; command: string[] }> {
  const users = arg('users', 100000);
  const duration = strArg('duration', '2d');
  const rate = arg('rate', 1.15);
  const seed = arg('seed', 7);
  const command = [
    'simulate',
    '--users',
    String(users),
    '--duration',
    duration,
    '--rate',
    String(rate),
    '--attack',
    '--seed',
    String(seed),
  ];
  fs.mkdirSync(CACHE, { recursive: true });
  const base = path.join(CACHE, `sim-u${users}-${duration}-r${rate}-s${seed}-attack-${simulatorHash()}`);
  const file = `${base}.jsonl`;
  const summary = `${base}.summary.json`;
  let generated = false;
  if (!fs.existsSync(file) || !fs.existsSync(summary)) {
    // Written under a temporary name and renamed: an interrupted run never leaves a short log to reuse.
    const tmp = `${file}.${process.pid}.tmp`;
    await measure([CLI, ...command, '--out', tmp, '--summary', summary]);
    fs.renameSync(tmp, file);
    generated = true;
  }
  const { lines } = JSON.parse(fs.readFileSync(summary, 'utf8')) as { lines: number };
  return { file, lines, generated, command };
}

/** The Redis server's CPU seconds, on a connection of its own (the replay under test has its own). */
async function redisServerCpu(): Promise<number> {
  const redis = createRedis({ url: REDIS_URL, logger: silentLogger() });
  try {
    return await redisCpuSeconds(redis);
  } finally {
    redis.disconnect();
  }
}

type RuleCounts = Record<string, number>;

function countRules(flags: readonly { ruleId: string }[]): RuleCounts {
  const out: RuleCounts = Object.fromEntries(RULE_IDS.map((r) => [r, 0]));
  for (const f of flags) out[f.ruleId] = (out[f.ruleId] ?? 0) + 1;
  return out;
}

/** Flags one side has and the other lacks, by (rule, user, withdrawal); the first few of each. */
function flagDiff(a: readonly FlagKey[], b: readonly FlagKey[]): { onlyA: string[]; onlyB: string[] } {
  const key = (f: FlagKey) => `${f.ruleId} ${f.userId} ${f.withdrawalId}`;
  const ka = new Set(a.map(key));
  const kb = new Set(b.map(key));
  return {
    onlyA: [...ka].filter((k) => !kb.has(k)),
    onlyB: [...kb].filter((k) => !ka.has(k)),
  };
}
interface FlagKey {
  ruleId: string;
  userId: string;
  withdrawalId: string;
}

interface ReplayRun {
  store: 'memory' | 'redis';
  measured: Measured;
  report: ReplayReport;
  redisCpuSeconds?: number;
}

async function replay(file: string, store: 'memory' | 'redis', out: string): Promise<ReplayRun> {
  const rc0 = store === 'redis' ? await redisServerCpu() : 0;
  const measured = await measure([CLI, 'replay', file, '--quiet', '--store', store, '--report', out]);
  const run: ReplayRun = {
    store,
    measured,
    report: JSON.parse(fs.readFileSync(out, 'utf8')) as ReplayReport,
  };
  if (store === 'redis') run.redisCpuSeconds = (await redisServerCpu()) - rc0;
  fs.rmSync(out, { force: true });
  return run;
}

async function main(): Promise<void> {
  const g0 = Date.now();
  const log = await logFile();
  const genS = (Date.now() - g0) / 1000;
  const n = log.lines;
  console.log(
    `log ${log.file} (${n.toLocaleString('en-US')} lines, ${log.generated ? `generated in ${genS.toFixed(1)} s` : 'cached'})`,
  );
  const refOut = path.join(CACHE, `reference-${process.pid}.json`);
  const loadBefore = machine().loadAvg;

  const refM = await measure([REFERENCE, log.file, '--out', refOut]);
  const ref = JSON.parse(fs.readFileSync(refOut, 'utf8')) as ReferenceResult;
  fs.rmSync(refOut, { force: true });
  const memory = await replay(log.file, 'memory', path.join(CACHE, `report-memory-${process.pid}.json`));
  const redis = await replay(log.file, 'redis', path.join(CACHE, `report-redis-${process.pid}.json`));

  const refRate = n / refM.wallSeconds;
  const rate = (m: Measured) => n / m.wallSeconds;
  const mb = (b: number) => (b / 1e6).toFixed(0);
  const us = (m: Measured) => ((m.cpuSeconds * 1e6) / n).toFixed(2);
  const ratioOf = (r: ReplayRun) => rate(r.measured) / refRate;
  const met = (r: ReplayRun) =>
    `${ratioOf(r) >= TARGET[r.store] ? 'yes' : 'no'} / ${r.measured.peakRssBytes <= TARGET.rssBytes ? 'yes' : 'no'}`;
  console.log(
    table([
      ['run', 'lines/s', 'wall s', 'ratio', 'CPU µs/line', 'peak RSS MB', 'target', 'met (speed / RSS)'],
      [
        'reference reading (plain JS)',
        Math.round(refRate),
        refM.wallSeconds.toFixed(2),
        '1.00',
        us(refM),
        mb(refM.peakRssBytes),
        '',
        '',
      ],
      ...[memory, redis].map((r) => [
        `replay --store ${r.store}`,
        Math.round(rate(r.measured)),
        r.measured.wallSeconds.toFixed(2),
        ratioOf(r).toFixed(3),
        us(r.measured),
        mb(r.measured.peakRssBytes),
        `>= ${TARGET[r.store]}x, <= 500 MB`,
        met(r),
      ]),
    ]),
  );
  const redisUs = ((redis.redisCpuSeconds ?? 0) * 1e6) / n;
  console.log(
    `reference inside its process: ${Math.round(ref.linesPerSec).toLocaleString('en-US')} lines/s ` +
      `(${ref.seconds.toFixed(2)} s without start-up); redis server CPU during --store redis ${redisUs.toFixed(1)} µs/line`,
  );

  const refCounts = ref.flags as RuleCounts;
  const memCounts = countRules(memory.report.flags);
  const redisCounts = countRules(redis.report.flags);
  console.log(
    table([
      ['rule', 'reference', 'memory', 'redis', 'agree'],
      ...RULE_IDS.map((r) => [
        r,
        refCounts[r] ?? 0,
        memCounts[r] ?? 0,
        redisCounts[r] ?? 0,
        refCounts[r] === memCounts[r] && refCounts[r] === redisCounts[r] ? 'yes' : 'NO',
      ]),
    ]),
  );
  const events = { reference: ref.events, memory: memory.report.events, redis: redis.report.events };
  const eventsAgree = [events.memory, events.redis].every(
    (e) => JSON.stringify(e) === JSON.stringify(ref.events),
  );
  console.log(`events: ${JSON.stringify(ref.events)}${eventsAgree ? ' (all three agree)' : ''}`);
  if (!eventsAgree) console.log(`events DIFFER: ${JSON.stringify(events)}`);
  const diffs = {
    memory: flagDiff(ref.flagList, memory.report.flags),
    redis: flagDiff(ref.flagList, redis.report.flags),
  };
  for (const [store, d] of Object.entries(diffs)) {
    if (d.onlyA.length + d.onlyB.length === 0) continue;
    console.log(
      `flags only in the reference, not --store ${store} (${d.onlyA.length}): ${d.onlyA.slice(0, 10).join('; ')}`,
    );
    console.log(
      `flags only in --store ${store}, not the reference (${d.onlyB.length}): ${d.onlyB.slice(0, 10).join('; ')}`,
    );
  }

  const fig = (m: Measured) => ({
    wallSeconds: m.wallSeconds,
    linesPerSec: n / m.wallSeconds,
    cpuSeconds: m.cpuSeconds,
    cpuUsPerLine: (m.cpuSeconds * 1e6) / n,
    peakRssBytes: m.peakRssBytes,
  });
  const file = writeResult('replay', {
    log: {
      file: log.file,
      lines: n,
      command: ['node', 'dist/services/cli/main.js', ...log.command],
      generated: log.generated,
      generateSeconds: genS,
    },
    loadAvgBefore: loadBefore,
    reference: {
      ...fig(refM),
      insideSeconds: ref.seconds,
      insideLinesPerSec: ref.linesPerSec,
      events: ref.events,
      flags: refCounts,
    },
    memory: {
      ...fig(memory.measured),
      ratio: ratioOf(memory),
      events: memory.report.events,
      flags: memCounts,
      breaker: memory.report.breaker,
    },
    redis: {
      ...fig(redis.measured),
      ratio: ratioOf(redis),
      redisCpuUsPerLine: redisUs,
      events: redis.report.events,
      flags: redisCounts,
      breaker: redis.report.breaker,
    },
    flagDiffs: Object.fromEntries(
      Object.entries(diffs).map(([k, d]) => [
        k,
        {
          onlyReference: d.onlyA.slice(0, 100),
          onlyReplay: d.onlyB.slice(0, 100),
          counts: [d.onlyA.length, d.onlyB.length],
        },
      ]),
    ),
    targets: {
      memoryRatio: { target: TARGET.memory, met: ratioOf(memory) >= TARGET.memory },
      redisRatio: { target: TARGET.redis, met: ratioOf(redis) >= TARGET.redis },
      memoryRss: { targetBytes: TARGET.rssBytes, met: memory.measured.peakRssBytes <= TARGET.rssBytes },
      redisRss: { targetBytes: TARGET.rssBytes, met: redis.measured.peakRssBytes <= TARGET.rssBytes },
      flagsAgree: Object.values(diffs).every((d) => d.onlyA.length + d.onlyB.length === 0),
      eventsAgree,
    },
  });
  console.log(`written ${file}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
