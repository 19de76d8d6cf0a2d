/**
 * In-process replay throughput on the real Redis. Not part of the tests.
 *
 *   npm run bench:replay [-- --users 25000 --days 4 --batch 500]
 *
 * Generates the simulated incident log (≥1M events by default) into memory first (its generation time is
 * reported apart), then replays it with replayInProcess (default rules and breaker triggers, a fresh
 * namespace deleted afterwards). Baseline in the same run: a trivial Lua script (`return 1`, one key) sent as
 * EVALSHA once per event, pipelined in batches of the same size: the ceiling of "one script call per event".
 */
import { createRedis, type Redis } from '../libs/redis';
import { silentLogger } from '../libs/logger';
import { RuleEngine } from '../libs/engine';
import { replayInProcess } from '../libs/replay/in-process';
import { loadReplayConfig } from '../libs/replay/config';
import { REDIS_URL, arg, asAsync, benchLog, benchLogOptions, table, writeResult } from './common';

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const num = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return num('used_cpu_user') + num('used_cpu_sys');
}

async function baseline(redis: Redis, n: number, batch: number): Promise<number> {
  const sha = (await redis.script('LOAD', 'return 1')) as string;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += batch) {
    const p = redis.pipeline();
    const m = Math.min(batch, n - i);
    for (let j = 0; j < m; j++) p.evalsha(sha, 1, `bench-baseline:{u:${(i + j) % 25000}}`);
    await p.exec();
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Counts applyBatch calls and their sizes (how often the replay flushes a small pipeline). */
const stats = { flushes: 0, applied: 0, small: 0 };
const orig = RuleEngine.prototype.applyBatch;
RuleEngine.prototype.applyBatch = function (this: RuleEngine, events) {
  stats.flushes++;
  stats.applied += events.length;
  if (events.length < 50) stats.small++;
  return orig.call(this, events);
};

async function main(): Promise<void> {
  const batch = arg('batch', 500);
  const redis = createRedis({ url: REDIS_URL, logger: silentLogger() });
  const g0 = Date.now();
  const lines = [...benchLog()];
  const genS = (Date.now() - g0) / 1000;
  const n = lines.length;
  console.log(`generated ${n} lines in ${genS.toFixed(1)} s`);
  const config = loadReplayConfig();

  const baseS = await baseline(redis, n, batch);
  const rc0 = await redisCpuSeconds(redis);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const res = await replayInProcess(asAsync(lines), {
    redis,
    rules: config.rules,
    breaker: config.breaker,
    batchSize: batch,
  });
  const replayS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const redisCpu = (await redisCpuSeconds(redis)) - rc0;
  const nodeUs = (cpu.user + cpu.system) / n;
  const redisUs = (redisCpu * 1e6) / n;

  console.log(
    table([
      ['run', 'events', 'seconds', 'events/s', 'ratio'],
      ['baseline: EVALSHA `return 1`, pipelined', n, baseS.toFixed(2), Math.round(n / baseS), '1.00'],
      ['replayInProcess', n, replayS.toFixed(2), Math.round(n / replayS), (baseS / replayS).toFixed(2)],
    ]),
  );
  console.log(
    `replay: Node CPU ${nodeUs.toFixed(1)} µs/event, Redis CPU ${redisUs.toFixed(1)} µs/event; ` +
      `flushes ${stats.flushes} (avg ${(stats.applied / Math.max(1, stats.flushes)).toFixed(0)} events, ${stats.small} under 50), ` +
      `flags ${res.report.flags.length}, breaker changes ${res.report.breaker.length}`,
  );
  const file = writeResult('replay', {
    log: benchLogOptions(),
    batch,
    events: n,
    generateSeconds: genS,
    baseline: { seconds: baseS, eventsPerSec: n / baseS },
    replay: {
      seconds: replayS,
      eventsPerSec: n / replayS,
      nodeCpuUsPerEvent: nodeUs,
      redisCpuUsPerEvent: redisUs,
      flushes: stats.flushes,
      smallFlushes: stats.small,
      flags: res.report.flags.length,
      breakerChanges: res.report.breaker.length,
      counts: res.report.events,
    },
    ratio: baseS / replayS,
    targets: { eventsPerSec50k: n / replayS >= 50000 },
  });
  console.log(`written ${file}`);
  redis.disconnect();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
