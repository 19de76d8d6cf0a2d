/**
 * Redis CPU per event, by event type, through the detector's engine (StreamEngine over the Redis window
 * store, liveEngine) applyBatch. Not part of the tests.
 *
 *   npm run bench:script-cost [-- --events 20000]
 *
 * For each kind of event, applies N events of that kind (5,000 users, batches of 500, so each batch names
 * 500 users and commits each with one EVALSHA of commitUser-1.lua, plus the index writes it needs) and reads
 * Redis's own CPU (INFO cpu, user + sys) before and after. The kinds run one after another on the same
 * users, so a user's state grows as it would (an approval finds its session's login and MFA; the first
 * 5,000 events also read each user once, the store caching them after). Baseline in the same run: an
 * EVALSHA of `return 1` per event, pipelined in the same batches. Redis must not be busy with other work.
 */
import { randomBytes } from 'node:crypto';
import { liveEngine } from '../libs/engine';
import { EventFactory, sourced } from '../libs/engine/synthetic-traffic';
import type { BulwarkEvent } from '../libs/events';
import { silentLogger } from '../libs/logger';
import { createRedis, deleteByPrefix } from '../libs/redis';
import { defaultRulesConfig } from '../libs/rules';
import { REDIS_URL, arg, redisCpuSeconds, table, writeResult } from './common';

const T0 = Date.parse('2022-01-17T00:00:00.000Z');
const BATCH = 500;

async function main(): Promise<void> {
  const n = arg('events', 20000);
  const redis = createRedis({ url: REDIS_URL, logger: silentLogger() });
  const prefix = `bench-cost-${randomBytes(3).toString('hex')}`;
  try {
    const engine = liveEngine({ redis, prefix, rules: defaultRulesConfig() });
    const f = new EventFactory('cost');
    const kinds: [string, (user: string, i: number) => BulwarkEvent][] = [
      ['mfa.passed', (u, i) => f.mfa(u, T0 + i * 1000, `s${i}`)],
      ['login.succeeded', (u, i) => f.login(u, T0 + i * 1000, `s${i}`, `d${i % 3}`)],
      ['withdrawal.completed', (u, i) => f.completed(u, T0 + i * 1000, `w${i}`)],
      [
        'withdrawal.approved',
        (u, i) => f.approved(u, T0 + i * 1000, { withdrawalId: `w${i}`, sessionId: `s${i}` }),
      ],
    ];
    const sha = String(await redis.script('LOAD', 'return 1'));
    const rows: (string | number)[][] = [['run', 'events', 'Redis CPU µs/event', 'ratio']];
    const c0 = await redisCpuSeconds(redis);
    for (let i = 0; i < n; i += BATCH) {
      const p = redis.pipeline();
      for (let j = i; j < Math.min(n, i + BATCH); j++) p.evalsha(sha, 1, `${prefix}:b:${j % 5000}`);
      await p.exec();
    }
    const baseline = (((await redisCpuSeconds(redis)) - c0) * 1e6) / n;
    rows.push(['baseline: EVALSHA `return 1`', n, baseline.toFixed(1), '1.0']);
    const results: Record<string, number> = { baseline };
    for (const [kind, make] of kinds) {
      const events = Array.from({ length: n }, (_, i) => make(`u${i % 5000}`, i));
      const before = await redisCpuSeconds(redis);
      for (let i = 0; i < n; i += BATCH) {
        await engine.applyBatch(sourced(events.slice(i, i + BATCH)), { watermarkMs: T0 });
      }
      const us = (((await redisCpuSeconds(redis)) - before) * 1e6) / n;
      results[kind] = us;
      rows.push([kind, n, us.toFixed(1), (us / baseline).toFixed(1)]);
    }
    process.stdout.write(`${table(rows)}\n`);
    process.stdout.write(
      `written ${writeResult('script-cost', { events: n, redisCpuUsPerEvent: results })}\n`,
    );
  } finally {
    await deleteByPrefix(redis, prefix);
    redis.disconnect();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:script-cost: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
