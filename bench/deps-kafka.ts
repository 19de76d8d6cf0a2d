/**
 * kafkajs (the project's, node_modules) against @platformatic/kafka, installed out of tree. Not part of
 * the tests; run by hand (issue 14):
 *
 *   npm install --prefix .cache/bench-deps/platformatic @platformatic/kafka@2.12.1 --no-save
 *   npx tsc -p tsconfig.build.json && node dist/bench/deps-kafka.js [-- --messages 500000 --produce 200000 --rounds 2]
 *
 * Consume: `--messages` ~300-byte records (key a userId, value a JSON line) are produced once per run to a
 * fresh 3-partition topic; then each client, in a child process of its own (clean CPU and peak RSS), with a
 * fresh group from the earliest offset, counts records until it has all of them (no processing, no
 * commits; kafkajs through eachBatch like the bare consumer of bench:throughput, platformatic through its
 * stream's 'data' events; both with 1 MiB per partition and 100 ms max wait). Time from the child's start of
 * consuming (connect included) to the last record; CPU µs per record (process.cpuUsage); peak RSS (VmHWM).
 * Produce: each client, in a child, sends `--produce` records with acks=all (idempotent, as
 * libs/kafka's producer) in batches of `--batch`, one batch in flight as libs/kafka's BulwarkProducer is
 * used, to a fresh 3-partition topic of its own. Each round runs both clients, the order swapped per round;
 * ratios are against kafkajs in the same round. Also checks that platformatic's partitioners place the keys
 * where kafkajs's DefaultPartitioner (Java's murmur2) does. Topics under a fresh `bench-deps-*` prefix,
 * deleted at the end. PLATFORMATIC_KAFKA_DIR overrides where @platformatic/kafka is looked for;
 * BENCH_PLT_HWM sets platformatic's consumer highWaterMark (messages buffered, default 1024).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { KAFKA_BROKERS, arg, table, uniquePrefix, writeResult } from './common';

const ROOT = path.join(__dirname, '..', '..');
const PLT_DIR =
  process.env.PLATFORMATIC_KAFKA_DIR ??
  path.join(ROOT, '.cache', 'bench-deps', 'platformatic', 'node_modules', '@platformatic', 'kafka');
const CLIENTS = ['kafkajs', 'platformatic'] as const;
type ClientName = (typeof CLIENTS)[number];

/** The part of @platformatic/kafka this benchmark calls (typed loosely: it is installed out of tree). */
interface PltMessage {
  partition: number;
  offset: bigint;
}
interface PltStream {
  on(event: 'data', listener: (m: PltMessage) => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  close(): Promise<void>;
}
interface PltModule {
  Consumer: new (opts: Record<string, unknown>) => {
    consume(opts: Record<string, unknown>): Promise<PltStream>;
    close(force?: boolean): Promise<void>;
  };
  Producer: new (opts: Record<string, unknown>) => {
    send(opts: { messages: { topic: string; key: string; value: string }[] }): Promise<unknown>;
    close(): Promise<void>;
  };
  MessagesStreamModes: { EARLIEST: string };
  ProduceAcks: { ALL: number };
  stringSerializers: unknown;
  defaultPartitioner(m: unknown, key?: Buffer): number;
  compatibilityPartitioner(m: unknown, key?: Buffer): number;
}

function loadPlatformatic(): { mod: PltModule; version: string } {
  // The package is ESM only; Node 22.12+ and 24 load it with require.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path.join(PLT_DIR, 'dist', 'index.js')) as PltModule;
  const pkg = JSON.parse(fs.readFileSync(path.join(PLT_DIR, 'package.json'), 'utf8')) as {
    version: string;
    engines?: { node?: string };
  };
  return { mod, version: `${pkg.version} (engines.node ${pkg.engines?.node ?? '?'})` };
}

function kafkajsVersion(): string {
  return (JSON.parse(fs.readFileSync(require.resolve('kafkajs/package.json'), 'utf8')) as { version: string })
    .version;
}

/** A ~300-byte record like the project's input: key a userId, value a JSON event line. */
function record(i: number): { key: string; value: string } {
  const userId = `u${(i * 7919) % 25000}`;
  const value = JSON.stringify({
    eventId: `e-${i.toString(36).padStart(8, '0')}`,
    type: 'withdrawal.requested',
    userId,
    occurredAt: new Date(1642377600000 + i * 250).toISOString(),
    withdrawalId: `w-${i}`,
    asset: 'ETH',
    amount: '1.25000000',
    address: `0x${(i * 2654435761).toString(16).padStart(40, '0').slice(0, 40)}`,
    sessionId: `s-${(i * 31) % 100000}`,
    pad: 'p'.repeat(40),
  });
  return { key: userId, value };
}

interface ChildResult {
  client: ClientName;
  mode: 'consume' | 'produce';
  count: number;
  seconds: number;
  perSec: number;
  cpuUsPerMessage: number;
  peakRssMiB: number;
}

function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 2 ** 20;
}

async function childConsume(client: ClientName, topic: string, n: number, group: string): Promise<number> {
  let seen = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  if (client === 'kafkajs') {
    const kafka = new Kafka({ brokers: KAFKA_BROKERS, clientId: 'bench-deps', logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({
      groupId: group,
      maxBytesPerPartition: 1024 * 1024,
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= n) done();
      },
    });
    await finished;
    await consumer.disconnect();
  } else {
    const { mod } = loadPlatformatic();
    const consumer = new mod.Consumer({
      groupId: group,
      clientId: 'bench-deps',
      bootstrapBrokers: KAFKA_BROKERS,
      maxBytesPerPartition: 1024 * 1024,
      maxWaitTime: 100,
      autocommit: false,
      ...(process.env.BENCH_PLT_HWM ? { highWaterMark: Number(process.env.BENCH_PLT_HWM) } : {}),
    });
    const stream = await consumer.consume({
      topics: [topic],
      mode: mod.MessagesStreamModes.EARLIEST,
      autocommit: false,
      maxBytesPerPartition: 1024 * 1024,
      maxWaitTime: 100,
    });
    stream.on('error', (e) => {
      console.error(e);
      process.exit(1);
    });
    stream.on('data', () => {
      seen++;
      if (seen === n) done();
    });
    await finished;
    await stream.close();
    await consumer.close(true);
  }
  return seen;
}

async function childProduce(client: ClientName, topic: string, n: number, batch: number): Promise<number> {
  let sent = 0;
  if (client === 'kafkajs') {
    const kafka = new Kafka({ brokers: KAFKA_BROKERS, clientId: 'bench-deps', logLevel: logLevel.NOTHING });
    // As libs/kafka's KafkaClient.producer().
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    for (let i = 0; i < n; i += batch) {
      const messages = [];
      for (let j = i; j < Math.min(n, i + batch); j++) messages.push(record(j));
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
      sent += messages.length;
    }
    await producer.disconnect();
  } else {
    const { mod } = loadPlatformatic();
    const producer = new mod.Producer({
      clientId: 'bench-deps',
      bootstrapBrokers: KAFKA_BROKERS,
      serializers: mod.stringSerializers,
      acks: mod.ProduceAcks.ALL,
      idempotent: true,
      // Java's and kafkajs's murmur2 placement (the default one differs for half the keys; see main).
      partitioner: mod.compatibilityPartitioner,
    });
    for (let i = 0; i < n; i += batch) {
      const messages = [];
      for (let j = i; j < Math.min(n, i + batch); j++) messages.push({ topic, ...record(j) });
      await producer.send({ messages });
      sent += messages.length;
    }
    await producer.close();
  }
  return sent;
}

async function child(): Promise<void> {
  const get = (name: string) => process.argv[process.argv.indexOf(`--${name}`) + 1]!;
  const client = get('client') as ClientName;
  const mode = get('child') as 'consume' | 'produce';
  const n = Number(get('n'));
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const count =
    mode === 'consume'
      ? await childConsume(client, get('topic'), n, get('group'))
      : await childProduce(client, get('topic'), n, Number(get('batch')));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const out: ChildResult = {
    client,
    mode,
    count,
    seconds,
    perSec: count / seconds,
    cpuUsPerMessage: (c.user + c.system) / count,
    peakRssMiB: peakRssMiB(),
  };
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
  process.exit(0);
}

function runChild(args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) reject(new Error(`child ${args.join(' ')} exited ${code}: ${out}`));
      else resolve(JSON.parse(line.slice(7)) as ChildResult);
    });
  });
}

/** How many of the bench's keys each platformatic partitioner puts where kafkajs's (Java's) does. */
function partitionerCheck(mod: PltModule): Record<string, string> {
  const javaCompatible = Partitioners.DefaultPartitioner();
  let same = 0;
  let sameCompat = 0;
  const keys = 25000;
  for (let u = 0; u < keys; u++) {
    const key = Buffer.from(`u${u}`);
    const expected = javaCompatible({
      topic: 't',
      partitionMetadata: [0, 1, 2, 3, 4, 5].map((partitionId) => ({
        partitionId,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      })),
      message: { key, value: null },
    });
    if (mod.defaultPartitioner(null, key) % 6 === expected) same++;
    if (mod.compatibilityPartitioner(null, key) % 6 === expected) sameCompat++;
  }
  return {
    defaultPartitioner: `${same} of ${keys} keys on kafkajs's partition (6 partitions)`,
    compatibilityPartitioner: `${sameCompat} of ${keys} keys on kafkajs's partition (6 partitions)`,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const messages = arg('messages', 500000);
  const produceN = arg('produce', 200000);
  const batch = arg('batch', 5000);
  const rounds = arg('rounds', 2);
  if (!fs.existsSync(path.join(PLT_DIR, 'package.json')))
    throw new Error(
      `@platformatic/kafka not found at ${PLT_DIR}: ` +
        'npm install --prefix .cache/bench-deps/platformatic @platformatic/kafka@2.12.1 --no-save',
    );
  const plt = loadPlatformatic();
  const versions: Record<ClientName, string> = { kafkajs: kafkajsVersion(), platformatic: plt.version };
  const partitioners = partitionerCheck(plt.mod);
  console.log(`versions: kafkajs ${versions.kafkajs}, @platformatic/kafka ${versions.platformatic}`);
  console.log(`partitioners: ${JSON.stringify(partitioners)}`);
  const prefix = uniquePrefix('deps-kafka');
  const kafka = new Kafka({ brokers: KAFKA_BROKERS, clientId: 'bench-deps', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const consumeTopic = `${prefix}.consume`;
  const results: ChildResult[][] = [];
  const groups: string[] = [];
  try {
    const produceTopics = [];
    for (let r = 0; r < rounds; r++)
      for (const c of CLIENTS) produceTopics.push(`${prefix}.produce-${c}-${r}`);
    await admin.createTopics({
      topics: [consumeTopic, ...produceTopics].map((topic) => ({ topic, numPartitions: 3 })),
      waitForLeaders: true,
    });
    // The consume topic, produced once (kafkajs, not timed).
    const t0 = Date.now();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < messages; i += 3000) {
      const msgs = [];
      for (let j = i; j < Math.min(messages, i + 3000); j++) msgs.push(record(j));
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic: consumeTopic, messages: msgs }] });
    }
    await producer.disconnect();
    const bytes = record(messages >> 1).value.length + record(messages >> 1).key.length;
    console.log(`consume topic: ${messages} records of ~${bytes} B (key + value) in ${Date.now() - t0} ms`);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [...CLIENTS] : [...CLIENTS].reverse();
      const round: ChildResult[] = [];
      for (const c of order) {
        const group = `${prefix}-g-${c}-${r}`;
        groups.push(group);
        const cr = await runChild([
          '--child',
          'consume',
          '--client',
          c,
          '--topic',
          consumeTopic,
          '--n',
          String(messages),
          '--group',
          group,
        ]);
        round.push(cr);
        console.log(
          `round ${r + 1} consume ${c.padEnd(12)} ${Math.round(cr.perSec).toLocaleString('en-US')} msg/s, ` +
            `${cr.cpuUsPerMessage.toFixed(2)} µs CPU/msg, peak RSS ${cr.peakRssMiB.toFixed(0)} MiB (${cr.seconds.toFixed(2)} s)`,
        );
      }
      for (const c of order) {
        const pr = await runChild([
          '--child',
          'produce',
          '--client',
          c,
          '--topic',
          `${prefix}.produce-${c}-${r}`,
          '--n',
          String(produceN),
          '--batch',
          String(batch),
        ]);
        round.push(pr);
        console.log(
          `round ${r + 1} produce ${c.padEnd(12)} ${Math.round(pr.perSec).toLocaleString('en-US')} msg/s, ` +
            `${pr.cpuUsPerMessage.toFixed(2)} µs CPU/msg, peak RSS ${pr.peakRssMiB.toFixed(0)} MiB (${pr.seconds.toFixed(2)} s)`,
        );
      }
      results.push(round);
    }
    // Produced counts as the broker sees them: every record arrived once.
    for (const t of produceTopics) {
      const offs = await admin.fetchTopicOffsets(t);
      const total = offs.reduce((a, o) => a + Number(o.high), 0);
      if (total !== produceN) console.log(`warning: ${t} holds ${total} records, not ${produceN}`);
    }
  } finally {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30000 });
    await admin.deleteGroups(groups).catch(() => undefined);
    console.log(`deleted ${topics.length} topics and ${groups.length} groups under ${prefix}`);
    await admin.disconnect();
  }
  const rows: (string | number)[][] = [
    ['test', 'client', 'msg/s (median)', 'ratio', 'CPU µs/msg', 'ratio', 'peak RSS MiB', 'ratio'],
  ];
  const summary: Record<string, unknown> = {};
  for (const mode of ['consume', 'produce'] as const) {
    const pick = (c: ClientName) =>
      results.map((round) => round.find((x) => x.client === c && x.mode === mode)!);
    const base = pick('kafkajs');
    for (const c of CLIENTS) {
      const fs_ = pick(c);
      const ratio = (f: (x: ChildResult) => number) => median(fs_.map((x, i) => f(x) / f(base[i]!)));
      const s = {
        perSec: median(fs_.map((x) => x.perSec)),
        cpuUsPerMessage: median(fs_.map((x) => x.cpuUsPerMessage)),
        peakRssMiB: median(fs_.map((x) => x.peakRssMiB)),
        ratioPerSec: ratio((x) => x.perSec),
        ratioCpu: ratio((x) => x.cpuUsPerMessage),
        ratioRss: ratio((x) => x.peakRssMiB),
      };
      summary[`${mode} ${c}`] = s;
      rows.push([
        mode === 'consume' ? `consume ${messages}` : `produce ${produceN}, acks=all, batches of ${batch}`,
        c,
        Math.round(s.perSec),
        s.ratioPerSec.toFixed(2),
        s.cpuUsPerMessage.toFixed(2),
        s.ratioCpu.toFixed(2),
        Math.round(s.peakRssMiB),
        s.ratioRss.toFixed(2),
      ]);
    }
  }
  console.log(`\n${rounds} rounds; ratios are medians of per-round ratios against kafkajs\n`);
  console.log(table(rows));
  let git = '';
  try {
    git = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).toString().trim();
  } catch {
    /* not a checkout */
  }
  const file = writeResult('deps-kafka', {
    options: {
      messages,
      produce: produceN,
      batch,
      rounds,
      git,
      pltHighWaterMark: process.env.BENCH_PLT_HWM ?? 'default',
    },
    versions,
    partitioners,
    summary,
    rounds: results,
  });
  console.log(`\nresult: ${file}`);
}

if (process.argv.includes('--child')) {
  child().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
