/**
 * Latencies on the real broker and Redis. Not part of the tests.
 *
 *   npm run bench:latency [-- --rate 2000 --seconds 20 --halts 10]
 *
 * 0. Baseline: bare Kafka produce-to-consume latency on a plain 3-partition topic, produced with the
 *    project's producer (acks=-1) and read by a bare kafkajs consumer, at the same offered rate.
 * 1. Publish-to-flag: the detector runs as a child process (dist/services/detector/main.js, default rules);
 *    the simulated log is offered at `rate` events/s for `seconds`, and ten times a second a probe approval
 *    with `mfaVerified: false` (an immediate, grace-free mfa-missing flag) carries its wall send time in
 *    its eventId. A bare consumer of risk.flags.v1 takes receipt time - send time.
 * 2. Flag-to-halt: a fresh prefix, a detector child, the breaker service in-process (startBreakerService,
 *    default triggers: 3 distinct users with a critical flag within 10 min halt global) and a withdrawal
 *    guard polling Redis (cacheMs 50, checked every 5 ms). Each round: two operators resume global, then
 *    approvals of 3 distinct users without MFA are published at once (event time 30 min after the last
 *    round, so earlier rounds are out of the window); time until isAllowed('ETH') turns false.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { loadConfig } from '../libs/config';
import { loadReplayConfig } from '../libs/replay/config';
import { topicDeclarations, topicNames, type KafkaClient, type TopicNames } from '../libs/kafka';
import { silentLogger } from '../libs/logger';
import { createRedis, deleteByPrefix } from '../libs/redis';
import { createWithdrawalGuard } from '../libs/withdrawal-guard';
import { topicOfType } from '../libs/events';
import { breakerEnvSchema } from '../services/breaker/config';
import { OperatorRegistry } from '../services/breaker/operators';
import { startBreakerService } from '../services/breaker/service';
import {
  KAFKA_BROKERS,
  REDIS_URL,
  arg,
  benchLog,
  deleteTopicsWithPrefix,
  kafkaClient,
  percentile,
  sleep,
  table,
  uniquePrefix,
  writeResult,
} from './common';

const raw = new Kafka({ brokers: KAFKA_BROKERS, clientId: 'bench-latency', logLevel: logLevel.NOTHING });

async function reader(topic: string, onValue: (v: string, now: number) => void): Promise<Consumer> {
  const c = raw.consumer({
    groupId: `bench-reader-${Math.random().toString(36).slice(2)}`,
    maxWaitTimeInMs: 100,
  });
  await c.connect();
  await c.subscribe({ topics: [topic], fromBeginning: true });
  let ready = false;
  c.on(c.events.GROUP_JOIN, () => {
    ready = true;
  });
  void c.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) if (m.value) onValue(m.value.toString(), now);
    },
  });
  while (!ready) await sleep(20);
  return c;
}

function spawnDetector(prefix: string): ChildProcess {
  const extra = (process.env.BENCH_DETECTOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return spawn(process.execPath, [...extra, path.join(__dirname, '..', 'services', 'detector', 'main.js')], {
    env: {
      ...process.env,
      BULWARK_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
      BULWARK_REDIS_URL: REDIS_URL,
      BULWARK_KEY_PREFIX: prefix,
      BULWARK_TOPIC_PREFIX: `${prefix}.`,
      BULWARK_PARTITIONS: '3',
      BULWARK_DETECTOR_GROUP: `${prefix}-detector`,
      BULWARK_DETECTOR_PORT: '0',
      BULWARK_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15000)]);
}

function approval(id: string, user: string, occurredAt: string): string {
  return JSON.stringify({
    eventId: id,
    type: 'withdrawal.approved',
    occurredAt,
    userId: user,
    withdrawalId: `wd-${id}`,
    sessionId: `s-${id}`,
    asset: 'ETH',
    amount: '1.5',
    amountUsd: 4500,
    address: '0x68579fa2c56fd80a4b43ca3906c29310e3878960',
    approval: { factors: ['password'], mfaVerified: false },
  });
}

function stats(xs: number[]): { n: number; p50: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN };
}

/** Offers `rate` lines/s for `seconds` in 10 ms ticks; `probe(i)` may add a line per tick. */
async function offer(
  kafka: KafkaClient,
  rate: number,
  seconds: number,
  next: () => { topic: string; key: string; value: string },
  probe: (tick: number) => { topic: string; key: string; value: string } | undefined,
): Promise<number> {
  const producer = kafka.producer();
  await producer.connect();
  const perTick = rate / 100;
  const t0 = Date.now();
  let sent = 0;
  let tick = 0;
  const inFlight = new Set<Promise<void>>();
  while (Date.now() - t0 < seconds * 1000) {
    const due = Math.floor(((Date.now() - t0) / 1000) * rate);
    const recs: { topic: string; key: string; value: string }[] = [];
    const p = probe(tick++);
    if (p) recs.push(p);
    while (sent < due && recs.length < perTick * 5) {
      recs.push(next());
      sent++;
    }
    const s = producer.send(recs).finally(() => inFlight.delete(s));
    inFlight.add(s);
    await sleep(10);
  }
  await Promise.all(inFlight);
  await producer.disconnect();
  return sent;
}

async function main(): Promise<void> {
  const rate = arg('rate', 2000);
  const seconds = arg('seconds', 20);
  const halts = arg('halts', 10);
  const kafka = kafkaClient();
  const redis = createRedis({ url: REDIS_URL, logger: silentLogger() });
  const prefix = uniquePrefix('lat');
  const prefix2 = uniquePrefix('halt');
  const children: ChildProcess[] = [];
  const consumers: Consumer[] = [];
  const result: Record<string, unknown> = { rate, seconds };
  try {
    // 0. Baseline: plain topic.
    const plain = `${prefix}.plain`;
    await kafka.ensureTopics([{ topic: plain, numPartitions: 3, configEntries: [] }]);
    const baseLat: number[] = [];
    consumers.push(
      await reader(plain, (v, now) => {
        const o = JSON.parse(v) as { sentAt?: number };
        if (o.sentAt) baseLat.push(now - o.sentAt);
      }),
    );
    let k = 0;
    await offer(
      kafka,
      rate,
      Math.min(seconds, 10),
      () => ({ topic: plain, key: `k${k % 97}`, value: JSON.stringify({ n: k++, pad: 'x'.repeat(250) }) }),
      (tick) =>
        tick % 10 === 0
          ? { topic: plain, key: `p${tick}`, value: JSON.stringify({ sentAt: Date.now() }) }
          : undefined,
    );
    await sleep(1500);
    const base = stats(baseLat);

    // 1. Publish-to-flag under load.
    const topics: TopicNames = topicNames(`${prefix}.`);
    await kafka.ensureTopics(topicDeclarations(topics, 3));
    const flagLat = new Map<string, number>();
    consumers.push(
      await reader(topics.flags, (v, now) => {
        const f = JSON.parse(v) as { eventId?: string };
        const m = /^lat-(\d+)-/.exec(f.eventId ?? '');
        if (m && !flagLat.has(f.eventId!)) flagLat.set(f.eventId!, now - Number(m[1]));
      }),
    );
    children.push(spawnDetector(prefix));
    // Warm-up: wait until a probe comes back (the detector joined and caught up).
    const warm = kafka.producer();
    await warm.connect();
    const w0 = Date.now();
    await warm.send([
      {
        topic: topics.wallet,
        key: 'lat-warm',
        value: approval(`lat-${Date.now()}-warm`, 'lat-warm', '2022-01-15T00:00:00.000Z'),
      },
    ]);
    while (flagLat.size === 0) {
      if (Date.now() - w0 > 60000) throw new Error('detector produced no flag within 60 s');
      await sleep(20);
    }
    await warm.disconnect();
    flagLat.clear();
    const log = benchLog();
    let lastOccurred = '2022-01-15T00:00:00.000Z';
    const nextLine = () => {
      const line = log.next().value as string;
      const v = JSON.parse(line) as { type: string; userId: string; occurredAt: string };
      lastOccurred = v.occurredAt;
      return {
        topic: topicOfType(v.type) === 'auth' ? topics.auth : topics.wallet,
        key: v.userId,
        value: line,
      };
    };
    let probes = 0;
    const offered = await offer(kafka, rate, seconds, nextLine, (tick) => {
      if (tick % 10 !== 0) return undefined;
      probes++;
      const id = `lat-${Date.now()}-${tick}`;
      return {
        topic: topics.wallet,
        key: `lat-u-${tick}`,
        value: approval(id, `lat-u-${tick}`, lastOccurred),
      };
    });
    const l0 = Date.now();
    while (flagLat.size < probes && Date.now() - l0 < 10000) await sleep(50);
    const flag = stats([...flagLat.values()]);
    result.baseline = { ...base, what: 'bare produce(acks=-1)-to-consume, plain topic' };
    result.publishToFlag = { ...flag, probes, offered, offeredPerSec: offered / seconds };
    await stopChild(children[0]!);

    // 2. Flag-to-halt.
    const topics2 = topicNames(`${prefix2}.`);
    await kafka.ensureTopics(topicDeclarations(topics2, 3));
    children.push(spawnDetector(prefix2));
    const cfg = loadReplayConfig();
    const env = loadConfig(breakerEnvSchema, {
      BULWARK_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
      BULWARK_REDIS_URL: REDIS_URL,
      BULWARK_KEY_PREFIX: prefix2,
      BULWARK_TOPIC_PREFIX: `${prefix2}.`,
      BULWARK_PARTITIONS: '3',
      BULWARK_BREAKER_PORT: '0',
      BULWARK_BREAKER_GROUP: `${prefix2}-breaker`,
      BULWARK_DETECTOR_GROUP: `${prefix2}-detector`,
      BULWARK_OPERATORS: '',
      // A throw-away signing key for this run's breaker.
      BULWARK_CONTROL_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    });
    const svc = await startBreakerService(
      env,
      OperatorRegistry.fromEnv(undefined, undefined),
      cfg.breaker,
      silentLogger(),
    );
    const guard = createWithdrawalGuard({ redisUrl: REDIS_URL, prefix: prefix2, cacheMs: 50 });
    const producer = kafka.producer();
    await producer.connect();
    const haltLat: number[] = [];
    const resumeFail: string[] = [];
    const base2 = Date.now() - 20 * 3_600_000;
    for (let i = 0; i < halts + 1; i++) {
      if (!(await guard.isAllowed('ETH'))) {
        await svc.breaker.requestResume('global', 'bench round', 'op-a');
        const r = await svc.breaker.requestResume('global', 'bench round', 'op-b');
        if (r.status !== 'resumed') resumeFail.push(r.status);
        const r0 = Date.now();
        while (!(await guard.isAllowed('ETH'))) {
          if (Date.now() - r0 > 5000) throw new Error(`resume did not take: ${r.status}`);
          await sleep(5);
        }
      }
      const at = new Date(base2 + i * 30 * 60_000).toISOString();
      const recs = [0, 1, 2].map((u) => ({
        topic: topics2.wallet,
        key: `halt-${i}-${u}`,
        value: approval(`halt-${i}-${u}`, `halt-${i}-${u}`, at),
      }));
      const t0 = Date.now();
      await producer.send(recs);
      while (await guard.isAllowed('ETH')) {
        if (Date.now() - t0 > 60000) throw new Error(`round ${i}: no halt within 60 s`);
        await sleep(5);
      }
      // Round 0 includes the detector's start-up (joining the group): not counted.
      if (i > 0) haltLat.push(Date.now() - t0);
    }
    await producer.disconnect();
    await guard.close();
    await svc.stop();
    const halt = stats(haltLat);
    result.flagToHalt = { ...halt, resumeFailures: resumeFail, note: 'from publishing the 3 approvals' };

    console.log(
      table([
        ['measure', 'n', 'p50 ms', 'p99 ms', 'max ms', 'p99 / baseline p99'],
        ['baseline: bare produce-to-consume', base.n, base.p50, base.p99, base.max, '1.00'],
        [
          `publish-to-flag at ${rate}/s`,
          flag.n,
          flag.p50,
          flag.p99,
          flag.max,
          (flag.p99 / base.p99).toFixed(1),
        ],
        [
          'publish-to-halt visible in guard',
          halt.n,
          halt.p50,
          halt.p99,
          halt.max,
          (halt.p99 / base.p99).toFixed(1),
        ],
      ]),
    );
    console.log(`offered ${offered} log events + ${probes} probes in ${seconds} s`);
    result.detectorNodeArgs = process.env.BENCH_DETECTOR_NODE_ARGS ?? '';
    result.targets = { publishToFlagP99le100: flag.p99 <= 100, flagToHaltP99le500: halt.p99 <= 500 };
    console.log(`written ${writeResult('latency', result)}`);
  } finally {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    for (const c of children) await stopChild(c);
    for (const p of [prefix, prefix2]) {
      await deleteTopicsWithPrefix(kafka, p).catch(() => undefined);
      await deleteByPrefix(redis, p).catch(() => undefined);
      await kafka.admin((a) => a.deleteGroups([`${p}-detector`, `${p}-breaker`])).catch(() => undefined);
    }
    redis.disconnect();
    await kafka.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
