/**
 * Detector throughput, Kafka to flags, on the real broker and Redis. Not part of the tests.
 *
 *   npm run bench:throughput [-- --users 25000 --days 4 --concurrency 2 --cpu-prof]
 *
 * Publishes the simulated incident log (≥1M events by default) once to topics under a fresh prefix, then in
 * the same run: (1) the baseline, a bare kafkajs consumer (eachBatch, no processing, no commits) draining the
 * two input topics; (2) the detector as a child process (dist/services/detector/main.js, default rules),
 * timed from spawn until its group's committed offsets reach the end offsets. The child's RSS is sampled from
 * /proc every 200 ms (and VmHWM read at the end). Topics, keys and groups are deleted afterwards.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { topicDeclarations, topicNames } from '../libs/kafka';
import { createRedis, deleteByPrefix } from '../libs/redis';
import { silentLogger } from '../libs/logger';
import {
  KAFKA_BROKERS,
  REDIS_URL,
  arg,
  benchLog,
  benchLogOptions,
  deleteTopicsWithPrefix,
  kafkaClient,
  machine,
  publishLines,
  redisCpuSeconds,
  sleep,
  table,
  uniquePrefix,
  writeResult,
} from './common';

async function sumOffsets(m: Promise<Map<number, string>>): Promise<number> {
  let s = 0;
  for (const v of (await m).values()) s += v === '-1' ? 0 : Number(v);
  return s;
}

function procStatus(pid: number, field: string): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const partitions = arg('partitions', 3);
  const concurrency = arg('concurrency', 2);
  const cpuProf = process.argv.includes('--cpu-prof');
  const prefix = uniquePrefix('tp');
  const kafka = kafkaClient();
  const redis = createRedis({ url: REDIS_URL, logger: silentLogger() });
  const topics = topicNames(`${prefix}.`);
  const group = `${prefix}-detector`;
  const result: Record<string, unknown> = { prefix, partitions, concurrency, log: benchLogOptions() };
  try {
    await kafka.ensureTopics(topicDeclarations(topics, partitions));
    const p0 = Date.now();
    const published = await publishLines(kafka, topics, benchLog());
    const publishS = (Date.now() - p0) / 1000;
    const total =
      (await sumOffsets(kafka.endOffsets(topics.auth))) + (await sumOffsets(kafka.endOffsets(topics.wallet)));
    console.log(
      `published ${published} events in ${publishS.toFixed(1)} s (${Math.round(published / publishS)}/s)`,
    );

    // Baseline: a bare kafkajs consumer, eachBatch, no processing.
    const raw = new Kafka({ brokers: KAFKA_BROKERS, clientId: 'bench-bare', logLevel: logLevel.NOTHING });
    const bare = raw.consumer({
      groupId: `${prefix}-bare`,
      maxBytesPerPartition: 1024 * 1024,
      maxWaitTimeInMs: 100,
    });
    await bare.connect();
    await bare.subscribe({ topics: [topics.auth, topics.wallet], fromBeginning: true });
    let seen = 0;
    let bareStart = 0;
    let bareEnd = 0;
    const b0 = Date.now();
    const drained = new Promise<void>((resolve) => {
      void bare.run({
        autoCommit: false,
        partitionsConsumedConcurrently: concurrency,
        eachBatch: async ({ batch }) => {
          if (bareStart === 0) bareStart = Date.now();
          seen += batch.messages.length;
          if (seen >= total && bareEnd === 0) {
            bareEnd = Date.now();
            resolve();
          }
        },
      });
    });
    await drained;
    await bare.disconnect();
    const bareS = (bareEnd - b0) / 1000;
    const bareFirstS = (bareEnd - bareStart) / 1000;

    // The detector, as a child process.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BULWARK_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
      BULWARK_REDIS_URL: REDIS_URL,
      BULWARK_KEY_PREFIX: prefix,
      BULWARK_TOPIC_PREFIX: `${prefix}.`,
      BULWARK_PARTITIONS: String(partitions),
      BULWARK_DETECTOR_GROUP: group,
      BULWARK_DETECTOR_PORT: '0',
      BULWARK_LOG_LEVEL: 'warn',
      BULWARK_PARTITIONS_CONCURRENCY: String(concurrency),
    };
    const extraNodeArgs = (process.env.BENCH_DETECTOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const profDir = path.join(__dirname, '..', '..', 'bench', 'results');
    const nodeArgs = [...extraNodeArgs, ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [])];
    const rc0 = await redisCpuSeconds(redis);
    const d0 = Date.now();
    const child = spawn(
      process.execPath,
      [...nodeArgs, path.join(__dirname, '..', 'services', 'detector', 'main.js')],
      {
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    let peakRss = 0;
    const rssSamples: [number, number, number][] = [];
    let firstCommit = 0;
    let done = 0;
    for (;;) {
      await sleep(200);
      if (child.exitCode !== null) throw new Error(`detector exited with ${child.exitCode}`);
      const rss = procStatus(child.pid!, 'VmRSS');
      peakRss = Math.max(peakRss, rss);
      done =
        (await sumOffsets(kafka.committedOffsets(group, topics.auth))) +
        (await sumOffsets(kafka.committedOffsets(group, topics.wallet)));
      if (done > 0 && firstCommit === 0) firstCommit = Date.now();
      if (rssSamples.length === 0 || Date.now() - rssSamples[rssSamples.length - 1]![0] >= 2000)
        rssSamples.push([Date.now(), Math.round(rss / 2 ** 20), done]);
      if (done >= total) break;
      if (Date.now() - d0 > 30 * 60_000) throw new Error(`timeout: ${done}/${total} committed`);
    }
    const detEnd = Date.now();
    const redisCpuUs = (((await redisCpuSeconds(redis)) - rc0) * 1e6) / total;
    const hwm = procStatus(child.pid!, 'VmHWM');
    const childCpu = (() => {
      try {
        const f = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks (100/s)
      } catch {
        return NaN;
      }
    })();
    const flags = await sumOffsets(kafka.endOffsets(topics.flags));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(15000)]);
    const detS = (detEnd - d0) / 1000;
    const detSteadyS = (detEnd - firstCommit) / 1000;

    const rows: (string | number)[][] = [
      ['run', 'events', 'seconds', 'events/s', 'ratio'],
      [
        'baseline: bare kafkajs consumer (from start)',
        total,
        bareS.toFixed(2),
        Math.round(total / bareS),
        '1.00',
      ],
      [
        'detector, from spawn to committed = end',
        total,
        detS.toFixed(2),
        Math.round(total / detS),
        (bareS / detS).toFixed(2),
      ],
      [
        'detector, from first commit',
        total,
        detSteadyS.toFixed(2),
        Math.round(total / detSteadyS),
        (bareS / detSteadyS).toFixed(2),
      ],
    ];
    console.log(table(rows));
    console.log(
      `flags produced: ${flags}; detector peak RSS ${(Math.max(peakRss, hwm) / 2 ** 20).toFixed(0)} MiB ` +
        `(VmHWM ${(hwm / 2 ** 20).toFixed(0)} MiB); detector CPU ${childCpu.toFixed(1)} s ` +
        `(${((childCpu * 1e6) / total).toFixed(1)} µs/event); Redis server CPU ${redisCpuUs.toFixed(1)} ` +
        `µs/event; publish ${Math.round(published / publishS)}/s`,
    );
    Object.assign(result, {
      events: total,
      publish: { seconds: publishS, eventsPerSec: published / publishS },
      baseline: { seconds: bareS, eventsPerSec: total / bareS, fromFirstBatchSeconds: bareFirstS },
      detector: {
        seconds: detS,
        eventsPerSec: total / detS,
        fromFirstCommitSeconds: detSteadyS,
        eventsPerSecFromFirstCommit: total / detSteadyS,
        cpuSeconds: childCpu,
        cpuUsPerEvent: (childCpu * 1e6) / total,
        redisCpuUsPerEvent: redisCpuUs,
        peakRssBytes: Math.max(peakRss, hwm),
        rssTimelineMiB: rssSamples.map(([t, mib, n]) => ({ s: (t - d0) / 1000, mib, committed: n })),
        flags,
      },
      ratio: bareS / detS,
      // The targets: 0.15 of the bare consumer, peak RSS 250 MiB, 8 µs of Redis CPU per event.
      targets: {
        ratio015: bareS / detS >= 0.15,
        rssAtMost250MiB: Math.max(peakRss, hwm) <= 250 * 2 ** 20,
        redisCpuAtMost8Us: redisCpuUs <= 8,
      },
    });
    console.log(`written ${writeResult('throughput', result)}`);
  } finally {
    await deleteTopicsWithPrefix(kafka, prefix).catch((e: unknown) =>
      console.error('topic cleanup failed', e),
    );
    await kafka.admin((a) => a.deleteGroups([group, `${prefix}-bare`])).catch(() => undefined);
    await deleteByPrefix(redis, prefix).catch(() => undefined);
    redis.disconnect();
    await kafka.close();
    void machine;
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
