/**
 * Redis bytes per active user at steady state. Not part of the tests.
 *
 *   npm run bench:memory [-- --users 1000 --days 7]
 *
 * Runs `dist/bench/engine.js --memory` (a realistic week for N users through the engine, then MEMORY USAGE
 * summed over every per-user key). Baseline in the same run: the smallest footprint a per-user scheme can
 * have here, one single-member ZSET per user under the store's `<prefix>:{u:<id>}:st` key naming. The
 * detector's peak RSS is measured by bench:throughput (a child process, /proc VmRSS/VmHWM).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createRedis, deleteByPrefix } from '../libs/redis';
import { silentLogger } from '../libs/logger';
import { REDIS_URL, arg, table, writeResult } from './common';

async function main(): Promise<void> {
  const users = arg('users', 1000);
  const days = arg('days', 7);
  const out = execFileSync(
    process.execPath,
    [path.join(__dirname, 'engine.js'), '--memory', '--users', String(users), '--days', String(days)],
    { encoding: 'utf8' },
  );
  process.stdout.write(out);
  const perUser = Number(/bytes per active user: (\d+)/.exec(out)?.[1]);
  const keysPerUser = Number(/\(([\d.]+) per user\)/.exec(out)?.[1]);

  const redis = createRedis({ url: REDIS_URL, logger: silentLogger() });
  const prefix = `bench-${randomBytes(2).toString('hex')}`;
  let baseBytes = 0;
  try {
    const p = redis.pipeline();
    for (let u = 0; u < users; u++) p.zadd(`${prefix}:{u:user-${u}}:st`, 1642377600000, `e-${u}-000001`);
    await p.exec();
    const q = redis.pipeline();
    for (let u = 0; u < users; u++) q.memory('USAGE', `${prefix}:{u:user-${u}}:st`, 'SAMPLES', '0');
    for (const [, v] of (await q.exec()) ?? []) baseBytes += Number(v ?? 0);
  } finally {
    await deleteByPrefix(redis, prefix);
    redis.disconnect();
  }
  const base = baseBytes / users;
  console.log(
    '\n' +
      table([
        ['measure', 'bytes/user', 'ratio'],
        ['baseline: one 1-member ZSET per user', Math.round(base), '1.0'],
        [`engine state, ${days} days (${keysPerUser} keys/user)`, perUser, (perUser / base).toFixed(1)],
      ]),
  );
  console.log(
    `written ${writeResult('memory', {
      users,
      days,
      bytesPerActiveUser: perUser,
      keysPerUser,
      baselineBytesPerUser: base,
      ratio: perUser / base,
      targets: { under2KB: perUser <= 2048 },
      raw: out,
    })}`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
