#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { Breaker, defaultBreakerConfig } from '../../libs/breaker';
import { silentLogger } from '../../libs/logger';
import { createRedis, deleteByPrefix } from '../../libs/redis';
import { createWithdrawalGuard } from '../../libs/withdrawal-guard';

/**
 * Measures how long a halt takes to reach a withdrawal service: from the moment `halt()` is called to the
 * first `isAllowed()` that answers false, with the client polling as a busy withdrawal service would.
 *   node dist/services/breaker/measure-halt-latency.js [trials=40] [pollMs=5]
 * Uses BULWARK_REDIS_URL (default redis://127.0.0.1:6379) under a throw-away key prefix.
 */
async function measure(cacheMs: number, trials: number, pollMs: number, url: string): Promise<number[]> {
  const redis = createRedis({ url, logger: silentLogger() });
  const prefix = `bulwark-measure-${randomBytes(4).toString('hex')}`;
  const breaker = await Breaker.create({
    redis,
    prefix,
    config: defaultBreakerConfig(),
    logger: silentLogger(),
  });
  const guard = createWithdrawalGuard({ redisUrl: url, prefix, cacheMs });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const out: number[] = [];
  try {
    for (let i = 0; i < trials; i++) {
      const asset = `M${i}`;
      // Warm the cache, then halt at a random point of its lifetime (the cache phase is what varies).
      if (!(await guard.isAllowed(asset))) throw new Error('guard refused before the halt');
      await sleep(Math.random() * Math.max(cacheMs, 1));
      let seenAt = 0;
      const poller = (async () => {
        while (await guard.isAllowed(asset)) await sleep(pollMs);
        seenAt = performance.now();
      })();
      const haltAt = performance.now();
      await breaker.halt(`asset:${asset}`, 'measuring propagation', 'measure');
      await poller;
      out.push(seenAt - haltAt);
    }
  } finally {
    await guard.close();
    await deleteByPrefix(redis, prefix);
    redis.disconnect();
  }
  return out.sort((a, b) => a - b);
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

async function main(): Promise<void> {
  const trials = Number(process.argv[2] ?? 40);
  const pollMs = Number(process.argv[3] ?? 5);
  const url = process.env.BULWARK_REDIS_URL ?? 'redis://127.0.0.1:6379';
  for (const cacheMs of [500, 100, 0]) {
    const xs = await measure(cacheMs, trials, pollMs, url);
    const f = (n: number) => n.toFixed(1);
    process.stdout.write(
      `cacheMs=${cacheMs} trials=${trials} pollMs=${pollMs}: p50 ${f(pct(xs, 50))} ms, p95 ${f(pct(xs, 95))} ms, ` +
        `max ${f(xs[xs.length - 1]!)} ms\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`measure-halt-latency: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
