/** Shared helpers of the benchmarks in bench/: machine facts, the simulated log, results files, tables. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { topicOfType } from '../libs/events';
import { KafkaClient, type OutRecord, type TopicNames } from '../libs/kafka';
import { silentLogger } from '../libs/logger';
import { DEFAULT_INCIDENT, simulate, type SimulateOptions } from '../libs/simulate';

export const KAFKA_BROKERS = (process.env.BULWARK_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const REDIS_URL = process.env.BULWARK_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

export function uniquePrefix(label: string): string {
  return `bench-${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** The ≥1M-event log every large benchmark uses: the January-2022 incident, 25,000 users over 4 days. */
export function benchLogOptions(): SimulateOptions {
  return { ...DEFAULT_INCIDENT, users: arg('users', 25000), durationMs: arg('days', 4) * 86_400_000 };
}

export function* benchLog(): Generator<string> {
  yield* simulate(benchLogOptions());
}

export async function* asAsync(lines: Iterable<string>): AsyncGenerator<string> {
  for (const l of lines) yield l;
}

export function machine(): Record<string, unknown> {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /model name\s*:\s*(.+)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpuModel = m[1].trim();
  } catch {
    /* not Linux */
  }
  return {
    nproc: os.cpus().length,
    memTotalMiB: Math.round(os.totalmem() / 2 ** 20),
    cpuModel,
    loadAvg: os.loadavg().map((x) => Number(x.toFixed(2))),
    node: process.version,
  };
}

export function kafkaClient(): KafkaClient {
  return new KafkaClient({ brokers: KAFKA_BROKERS, clientId: 'bulwark-bench', logger: silentLogger() });
}

export async function deleteTopicsWithPrefix(kafka: KafkaClient, prefix: string): Promise<void> {
  await kafka.admin(async (admin) => {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30000 });
  });
}

/** Publishes simulated lines to the auth and wallet topics (keyed by userId); returns the count. */
export async function publishLines(
  kafka: KafkaClient,
  topics: TopicNames,
  lines: Iterable<string>,
): Promise<number> {
  const producer = kafka.producer();
  await producer.connect();
  let out: OutRecord[] = [];
  let n = 0;
  const inFlight: Promise<void>[] = [];
  const flush = async () => {
    const batch = out;
    out = [];
    inFlight.push(producer.send(batch));
    if (inFlight.length >= 4) await inFlight.shift();
  };
  for (const line of lines) {
    const v = JSON.parse(line) as { type?: string; userId?: string };
    const topic = topicOfType(String(v.type)) === 'auth' ? topics.auth : topics.wallet;
    out.push({ topic, key: String(v.userId ?? ''), value: line });
    n++;
    if (out.length >= 5000) await flush();
  }
  if (out.length > 0) await flush();
  await Promise.all(inFlight);
  await producer.disconnect();
  return n;
}

export function writeResult(name: string, data: Record<string, unknown>): string {
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({ bench: name, at: new Date().toISOString(), machine: machine(), ...data }, null, 2),
  );
  return file;
}

export function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US') : c)));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r, ri) => {
      const line = r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
      return ri === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * CPU seconds the Redis server has used (user + sys, from INFO cpu): a figure machine load does not
 * inflate; anything else Redis does meanwhile counts too. Any client with `info` will do.
 */
export async function redisCpuSeconds(redis: { info(section: 'cpu'): Promise<string> }): Promise<number> {
  const info = await redis.info('cpu');
  const num = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return num('used_cpu_user') + num('used_cpu_sys');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
