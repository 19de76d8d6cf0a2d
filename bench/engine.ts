/**
 * Rule engine throughput and memory against a real Redis. Not part of the tests.
 *
 *   npm run build && node dist/bench/engine.js [--events N] [--batch 500]     events/s through applyBatch
 *   npm run build && node dist/bench/engine.js --memory [--users 1000]        Redis bytes per active user
 *
 * Both measure the detector's engine: StreamEngine over the Redis window store (liveEngine).
 *
 * Throughput: generated ordinary traffic (per withdrawal: login, mfa.passed, requested, approved,
 * completed; default rules) goes through applyBatch in batches, one stream at a time and as two concurrent
 * streams (two partitions, as the detector consumes them, into one engine). The baseline is the same Redis
 * running a trivial Lua script (`return 1`, one key) pipelined the same way, one call per event: the
 * store's commit is one EVALSHA (commitUser-1.lua) per user a batch touches.
 *
 * Memory: a realistic day for N users (logins, MFAs, a reset now and then, whitelistings, withdrawals),
 * closed with closeDue as it goes; then MEMORY USAGE summed over every per-user key, divided by N.
 * BULWARK_REDIS_URL (default redis://127.0.0.1:6379) picks the Redis; keys go under a fresh prefix that is
 * deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import type { BulwarkEvent } from '../libs/events';
import { liveEngine, type SourcedEvent } from '../libs/engine';
import {
  DAY,
  EventFactory,
  HOUR,
  MINUTE,
  ordinaryTraffic,
  prng,
  sourced,
} from '../libs/engine/synthetic-traffic';
import { silentLogger } from '../libs/logger';
import { createRedis, deleteByPrefix, type Redis } from '../libs/redis';
import { defaultRulesConfig, type RulesConfig } from '../libs/rules';
import { redisCpuSeconds } from './common';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

function rulesForBench(): RulesConfig {
  try {
    return defaultRulesConfig();
  } catch {
    // No sanctions lists on this machine: run the five other rules.
    const all = defaultRulesConfig({ loadLists: false, env: { BULWARK_SANCTIONS_DIR: '/nonexistent' } });
    return { ...all, rules: all.rules.filter((r) => r.kind !== 'sanctioned-destination') };
  }
}

const T0 = Date.parse('2022-01-17T00:00:00.000Z');

function chunks<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

interface Timing {
  events: number;
  seconds: number;
  /** CPU time of this Node process per event (µs). */
  nodeCpuUs: number;
  /** CPU time of the Redis server per event (µs), from INFO cpu: machine load does not inflate it. */
  redisCpuUs: number;
}

let benchRedis: Redis;

/** Runs `streams` concurrently, each a sequence of batches; returns wall time and CPU per event. */
async function timeStreams(streams: (() => Promise<number>)[]): Promise<Timing> {
  const redisBefore = await redisCpuSeconds(benchRedis);
  const cpuBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  const counts = await Promise.all(streams.map((s) => s()));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const redisCpu = (await redisCpuSeconds(benchRedis)) - redisBefore;
  const events = counts.reduce((a, b) => a + b, 0);
  return {
    events,
    seconds,
    nodeCpuUs: (cpu.user + cpu.system) / events,
    redisCpuUs: (redisCpu * 1e6) / events,
  };
}

async function engineStreams(redis: Redis, prefix: string, rules: RulesConfig, streams: SourcedEvent[][][]) {
  const engine = liveEngine({ redis, prefix, rules });
  return timeStreams(
    streams.map((batches) => async () => {
      let n = 0;
      let watermarkMs: number | undefined;
      for (const b of batches) {
        const res = await engine.applyBatch(b, { watermarkMs });
        n += res.outcomes.length;
        watermarkMs = b[b.length - 1]?.event.occurredAtMs;
      }
      return n;
    }),
  );
}

async function baselineStreams(redis: Redis, prefix: string, streams: SourcedEvent[][][]) {
  const sha = String(await redis.script('LOAD', 'return 1'));
  return timeStreams(
    streams.map((batches) => async () => {
      let n = 0;
      for (const b of batches) {
        const p = redis.pipeline();
        for (const s of b) p.evalsha(sha, 1, `${prefix}:{u:${s.event.userId}}:st`, s.event.eventId);
        await p.exec();
        n += b.length;
      }
      return n;
    }),
  );
}

/** Splits the log into two streams by user (two partitions keep each user's events in order). */
function byUser(events: BulwarkEvent[], parts: number, batch: number): SourcedEvent[][][] {
  const out: BulwarkEvent[][] = Array.from({ length: parts }, () => []);
  for (const e of events) out[Number(e.userId.slice(e.userId.lastIndexOf('-') + 1)) % parts]!.push(e);
  return out.map((es, i) => chunks(sourced(es, `bench/${i}`), batch));
}

async function throughput(redis: Redis, base: string): Promise<void> {
  const total = arg('events', 200_000);
  const batch = arg('batch', 500);
  const rules = rulesForBench();
  const withdrawalsPerUser = 2;
  const users = Math.ceil(total / (5 * withdrawalsPerUser));
  const log = ordinaryTraffic({
    users,
    startMs: T0,
    durationMs: DAY,
    withdrawalsPerUser,
    lateMfaShare: 0.05,
    seed: 1,
  });
  const warm = ordinaryTraffic({
    users: 2000,
    startMs: T0,
    durationMs: DAY,
    withdrawalsPerUser,
    seed: 2,
    factory: new EventFactory('warm'),
  });
  await engineStreams(redis, `${base}:warm`, rules, byUser(warm, 1, batch));
  await baselineStreams(redis, `${base}:warm`, byUser(warm, 1, batch));

  const rows: [string, Timing][] = [];
  rows.push([
    'baseline EVALSHA return 1, 1 stream',
    await baselineStreams(redis, `${base}:b1`, byUser(log, 1, batch)),
  ]);
  rows.push(['applyBatch, 1 stream', await engineStreams(redis, `${base}:e1`, rules, byUser(log, 1, batch))]);
  rows.push([
    'baseline EVALSHA return 1, 2 streams',
    await baselineStreams(redis, `${base}:b2`, byUser(log, 2, batch)),
  ]);
  rows.push([
    'applyBatch, 2 streams',
    await engineStreams(redis, `${base}:e2`, rules, byUser(log, 2, batch)),
  ]);

  const rate = (r: Timing) => r.events / r.seconds;
  process.stdout.write(
    `engine (window store) throughput: ${log.length} events, batches of ${batch}, rules: ${rules.rules.map((r) => r.id).join(', ')}\n\n`,
  );
  process.stdout.write(
    `| run | events | seconds | events/s | Node CPU µs/event | Redis CPU µs/event |\n| --- | ---: | ---: | ---: | ---: | ---: |\n`,
  );
  for (const [name, r] of rows) {
    process.stdout.write(
      `| ${name} | ${r.events} | ${r.seconds.toFixed(2)} | ${Math.round(rate(r))} | ${r.nodeCpuUs.toFixed(1)} | ${r.redisCpuUs.toFixed(1)} |\n`,
    );
  }
  const [b1, e1, b2, e2] = rows.map(([, r]) => rate(r)) as [number, number, number, number];
  process.stdout.write(
    `\napplyBatch / baseline: ${(e1 / b1).toFixed(2)} (1 stream), ${(e2 / b2).toFixed(2)} (2 streams)\n`,
  );
  const load = (await import('node:os')).loadavg()[0]!;
  process.stdout.write(
    `load average during the run: ${load.toFixed(2)} on ${(await import('node:os')).cpus().length} CPUs\n`,
  );
}

/** A realistic day for one user, as the memory measurement feeds it. */
function userDay(f: EventFactory, rnd: () => number, u: number, dayStart: number): BulwarkEvent[] {
  const userId = `user-${u}`;
  const events: BulwarkEvent[] = [];
  const sessions = 2 + Math.floor(rnd() * 4);
  for (let s = 0; s < sessions; s++) {
    const at = dayStart + Math.floor(rnd() * (DAY - HOUR));
    const sessionId = `s-${u}-${s}-${dayStart}`;
    events.push(
      f.login(userId, at, sessionId, rnd() < 0.9 ? `dev-${u}-main` : `dev-${u}-${Math.floor(rnd() * 3)}`),
    );
    if (rnd() < 0.8) events.push(f.mfa(userId, at + 20_000, sessionId));
    if (rnd() < 0.02) events.push(f.mfaReset(userId, at + MINUTE));
    if (rnd() < 0.1)
      events.push(f.whitelist(userId, at + 2 * MINUTE, `0x${randomBytes(20).toString('hex')}`));
    if (rnd() < 0.5) {
      const withdrawalId = `wd-${u}-${s}-${dayStart}`;
      const spec = { withdrawalId, sessionId, amountUsd: Math.round(rnd() * 300_000) / 100 };
      events.push(f.requested(userId, at + 3 * MINUTE, spec));
      events.push(f.approved(userId, at + 4 * MINUTE, spec));
      events.push(f.completed(userId, at + 6 * MINUTE, withdrawalId));
    }
  }
  return events;
}

/** Redis bytes per active user of the detector's engine (the window store). */
async function memory(redis: Redis, base: string): Promise<void> {
  const users = arg('users', 1000);
  const days = arg('days', 2);
  const rules = rulesForBench();
  const prefix = `${base}:mem`;
  const engine = liveEngine({ redis, prefix, rules });
  const f = new EventFactory('mem');
  const rnd = prng(42);
  let events: BulwarkEvent[] = [];
  // Two days, so the dedup set (48 h) and the day-long windows reach their steady state.
  for (let d = 0; d < days; d++)
    for (let u = 0; u < users; u++) events.push(...userDay(f, rnd, u, T0 + d * DAY));
  events = events.sort((a, b) => a.occurredAtMs - b.occurredAtMs);
  let flags = 0;
  // As the detector does: a batch may trim behind the last watermark whose decisions are made.
  let watermarkMs: number | undefined;
  for (const b of chunks(sourced(events), 500)) {
    const res = await engine.applyBatch(b, { watermarkMs });
    const wm = b[b.length - 1]!.event.occurredAtMs;
    const closed = await engine.closeDue(wm);
    await engine.ackFlags([...res.flags, ...closed]);
    flags += res.flags.length + closed.length;
    watermarkMs = wm;
  }
  await engine.ackFlags(await engine.closeDue(Number.MAX_SAFE_INTEGER));

  let bytes = 0;
  let keys = 0;
  const byType = new Map<string, { keys: number; bytes: number }>();
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:{u:*`, 'COUNT', 1000);
    cursor = next;
    const p = redis.pipeline();
    for (const k of found) p.memory('USAGE', k, 'SAMPLES', '0');
    const sizes = (await p.exec()) ?? [];
    found.forEach((k, i) => {
      const size = Number(sizes[i]?.[1] ?? 0);
      bytes += size;
      keys++;
      const type = k.slice(k.lastIndexOf(':') + 1);
      const t = byType.get(type) ?? { keys: 0, bytes: 0 };
      t.keys++;
      t.bytes += size;
      byType.set(type, t);
    });
  } while (cursor !== '0');
  process.stdout.write(
    `memory (window store): ${users} users, ${days} days, ${events.length} events (${(events.length / users / days).toFixed(1)} per user-day), ${flags} flags\n`,
  );
  process.stdout.write(
    `per-user keys: ${keys} (${(keys / users).toFixed(1)} per user), MEMORY USAGE sum ${bytes} bytes\n`,
  );
  process.stdout.write(
    `bytes per active user: ${Math.round(bytes / users)}\n\n| key | keys | bytes/user |\n| --- | ---: | ---: |\n`,
  );
  for (const [type, t] of [...byType.entries()].sort((a, b) => b[1].bytes - a[1].bytes)) {
    process.stdout.write(`| ${type} | ${t.keys} | ${Math.round(t.bytes / users)} |\n`);
  }
}

async function main(): Promise<void> {
  const redis = createRedis({
    url: process.env.BULWARK_REDIS_URL ?? 'redis://127.0.0.1:6379',
    logger: silentLogger(),
    commandTimeoutMs: 60_000,
  });
  benchRedis = redis;
  // Short, like the production prefix ("bulwark"): key length is part of what every call sends.
  const base = `bench-${randomBytes(2).toString('hex')}`;
  try {
    if (process.argv.includes('--memory')) await memory(redis, base);
    else await throughput(redis, base);
  } finally {
    await deleteByPrefix(redis, base);
    redis.disconnect();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
