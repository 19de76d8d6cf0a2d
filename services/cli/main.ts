#!/usr/bin/env node
import fs from 'node:fs';
import { createGzip } from 'node:zlib';
import { once } from 'node:events';
import { kafkaSecurity, loadConfig, redisConnection, type ConnectionEnv } from '../../libs/config';
import {
  UnreachableError,
  describeLostDependency,
  requireKafkaReachable,
  requireRedisReachable,
} from '../../libs/config/reachable';
import { ConfigError, UsageError, errorMessage } from '../../libs/errors';
import { KafkaClient, topicNames } from '../../libs/kafka';
import { cliLogger, silentLogger } from '../../libs/logger';
import { createRedis, type Redis } from '../../libs/redis';
import { liveEngine } from '../../libs/engine';
import { diffFlags } from '../../libs/replay/backtest';
import { loadReplayConfig } from '../../libs/replay/config';
import { replayInProcess } from '../../libs/replay/in-process';
import { replayThroughKafka } from '../../libs/replay/kafka-mode';
import { refuseLiveTopics } from '../../libs/replay/live-topics';
import { openLog, openLogAt, readLines } from '../../libs/replay/lines';
import { namespaceProblem } from '../../libs/replay/namespace';
import { parseSpeed } from '../../libs/replay/pacer';
import { SILENT_PROGRESS, createProgress } from '../../libs/replay/progress';
import { backtestSummary, replaySummary } from '../../libs/replay/summary';
import { parseDuration, writeSimulation, type SimulateOptions } from '../../libs/simulate';
import { intOpt, isoOpt, numberOpt, parse, refuseOptions, shareOpt } from './args';
import { inProcessEnvSchema, kafkaReplayEnvSchema } from './env';
import { checkDistinct, checkWritable } from './output';
import { audit } from './audit';
import { halt, resume, status } from './operator';
import { USAGE } from './usage';

/** `bulwark`: replay, backtest, simulate, audit and the operator commands. Exit codes: 0 done, 1 failed while running, 2 bad usage. */
export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError('a command is required');
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE.main}\n`);
    return 0;
  }
  const commands: Record<string, (args: string[]) => Promise<number>> = {
    replay,
    backtest,
    simulate,
    audit,
    status,
    halt,
    resume,
  };
  const fn = commands[command];
  if (!fn) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  return fn(rest);
}

/** What this run connected to, so a failure mid-run can name the variable of what went away. */
const deps: { redisUrl?: string; redisProblem?: string; brokers?: string[] } = {};

/** Redis as the env says (TLS, ACL user), once it answers (else one line naming BULWARK_REDIS_URL, exit 1). */
async function connectRedis(env: ConnectionEnv & { BULWARK_REDIS_URL: string }): Promise<Redis> {
  const connection = redisConnection(env);
  await requireRedisReachable(connection);
  deps.redisUrl = connection.url;
  const redis = createRedis({
    ...connection,
    logger: silentLogger(),
    onError: (err) => {
      deps.redisProblem = (err as NodeJS.ErrnoException).code ?? err.message;
    },
  });
  // A problem Redis recovered from must not be blamed for a later, unrelated failure.
  redis.on('ready', () => {
    deps.redisProblem = undefined;
  });
  return redis;
}

async function writeReport(report: unknown, file: string | undefined): Promise<void> {
  const text = `${JSON.stringify(report, null, 2)}\n`;
  if (file === undefined) process.stdout.write(text);
  else fs.writeFileSync(file, text);
}

async function replay(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    mode: { type: 'string' },
    speed: { type: 'string' },
    config: { type: 'string' },
    report: { type: 'string' },
    keep: { type: 'boolean' },
    namespace: { type: 'string' },
    'settle-ms': { type: 'string' },
    'timeout-ms': { type: 'string' },
    slice: { type: 'string' },
    live: { type: 'boolean' },
    store: { type: 'string' },
    quiet: { type: 'boolean' },
  });
  if (values.help) return help('replay');
  if (positionals.length !== 1)
    throw new UsageError(positionals.length === 0 ? 'FILE is required' : 'exactly one FILE');
  const mode = values.mode ?? 'in-process';
  if (mode !== 'in-process' && mode !== 'kafka')
    throw new UsageError(`--mode must be in-process or kafka, got ${JSON.stringify(mode)}`);
  const store = values.store ?? 'memory';
  if (store !== 'memory' && store !== 'redis')
    throw new UsageError(`--store must be memory or redis, got ${JSON.stringify(store)}`);
  if (mode === 'kafka' && values.store !== undefined)
    throw new UsageError('--store only applies to --mode in-process (kafka mode uses the running services)');
  let speed: number;
  try {
    speed = parseSpeed(values.speed ?? 'max');
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  // An option of the other mode would be ignored silently: refuse it.
  if (mode === 'in-process')
    refuseOptions(values, ['settle-ms', 'timeout-ms', 'slice', 'live'], 'only applies to --mode kafka');
  else refuseOptions(values, ['keep', 'namespace'], 'only applies to --mode in-process');
  if (mode === 'in-process' && store === 'memory')
    refuseOptions(values, ['keep', 'namespace'], 'only applies to --store redis');
  if (Number.isFinite(speed)) refuseOptions(values, ['slice'], 'only applies at --speed max');
  if (values.namespace !== undefined && !/^[A-Za-z0-9_.:-]{1,64}$/.test(values.namespace))
    throw new UsageError('--namespace must be 1-64 characters of A-Z a-z 0-9 _ . : -');
  const settleMs = intOpt('settle-ms', values['settle-ms'], 2000);
  const timeoutMs = intOpt('timeout-ms', values['timeout-ms'], 300000, 1);
  const sliceLines = intOpt('slice', values.slice, 0);
  checkWritable('report', values.report);

  if (mode === 'in-process') {
    const env = loadConfig(inProcessEnvSchema);
    const problem =
      values.namespace === undefined ? undefined : namespaceProblem(values.namespace, env.BULWARK_KEY_PREFIX);
    if (problem) throw new ConfigError(`--namespace ${values.namespace} ${problem}`);
    const config = loadReplayConfig(values.config);
    const { stream: input, position } = await openLogAt(positionals[0]!);
    const redis = store === 'redis' ? await connectRedis(env) : undefined;
    try {
      const result = await replayInProcess(readLines(input), {
        store,
        ...(redis ? { redis } : {}),
        rules: config.rules,
        breaker: config.breaker,
        speed,
        keep: values.keep ?? false,
        progress: values.quiet ? SILENT_PROGRESS : createProgress(process.stderr, position),
        livePrefix: env.BULWARK_KEY_PREFIX,
        ...(values.namespace === undefined ? {} : { namespace: values.namespace }),
      });
      if (values.keep) process.stderr.write(`replay state kept under Redis prefix ${result.namespace}\n`);
      await writeReport(result.report, values.report);
      if (!values.quiet) process.stderr.write(replaySummary(result.report));
    } finally {
      redis?.disconnect();
    }
    return 0;
  }

  const env = loadConfig(kafkaReplayEnvSchema);
  const topics = topicNames(env.BULWARK_TOPIC_PREFIX);
  refuseLiveTopics(topics, values.live ?? false);
  const config = loadReplayConfig(values.config);
  const { stream: input, position } = await openLogAt(positionals[0]!);
  kafkaSecurity(env); // a bad transport setting is a configuration error, before any connection
  await requireKafkaReachable(env.BULWARK_KAFKA_BROKERS);
  deps.brokers = env.BULWARK_KAFKA_BROKERS;
  const redis = await connectRedis(env);
  const kafka = new KafkaClient({
    brokers: env.BULWARK_KAFKA_BROKERS,
    clientId: 'bulwark-replay',
    logger: silentLogger(),
    security: kafkaSecurity(env),
  });
  try {
    // Read-only use of the live namespace: how many decisions the running detector still has pending.
    const engine = liveEngine({ redis, prefix: env.BULWARK_KEY_PREFIX, rules: config.rules });
    const report = await replayThroughKafka(readLines(input), {
      logger: cliLogger('replay'),
      kafka,
      topics,
      live: values.live ?? false,
      speed,
      detectorGroup: env.BULWARK_DETECTOR_GROUP,
      breakerGroup: env.BULWARK_BREAKER_GROUP,
      breaker: config.breaker,
      pendingCount: () => engine.pendingCount(),
      settleMs,
      timeoutMs,
      sliceLines,
      progress: values.quiet ? SILENT_PROGRESS : createProgress(process.stderr, position),
    });
    await writeReport(report, values.report);
    if (!values.quiet) process.stderr.write(replaySummary(report));
  } finally {
    await kafka.close();
    redis.disconnect();
  }
  return 0;
}

async function backtest(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    config: { type: 'string', multiple: true },
    report: { type: 'string' },
    quiet: { type: 'boolean' },
  });
  if (values.help) return help('backtest');
  if (positionals.length !== 1)
    throw new UsageError(positionals.length === 0 ? 'FILE is required' : 'exactly one FILE');
  const configs = values.config ?? [];
  if (configs.length !== 2)
    throw new UsageError('--config must be given exactly twice: --config A --config B');
  const file = positionals[0]!;
  if (file === '-') throw new UsageError('backtest reads FILE twice: give a file, not standard input');
  checkWritable('report', values.report);
  const [a, b] = [loadReplayConfig(configs[0]), loadReplayConfig(configs[1])];
  await openLog(file).then((s) => s.destroy()); // fail early on a missing file
  // Both runs on the memory store: a backtest needs no Redis.
  const runA = await replayInProcess(readLines(await openLog(file)), { rules: a.rules, breaker: a.breaker });
  const runB = await replayInProcess(readLines(await openLog(file)), { rules: b.rules, breaker: b.breaker });
  const diff = diffFlags(configs[0]!, runA, configs[1]!, runB);
  await writeReport(diff, values.report);
  if (!values.quiet) process.stderr.write(backtestSummary(diff));
  return 0;
}

async function simulate(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    users: { type: 'string' },
    duration: { type: 'string' },
    start: { type: 'string' },
    seed: { type: 'string' },
    rate: { type: 'string' },
    attack: { type: 'boolean' },
    'attack-users': { type: 'string' },
    'attack-at': { type: 'string' },
    'attack-duration': { type: 'string' },
    'fresh-address-share': { type: 'string' },
    'late-mfa-share': { type: 'string' },
    'invalid-share': { type: 'string' },
    'duplicate-share': { type: 'string' },
    out: { type: 'string' },
    summary: { type: 'string' },
  });
  if (values.help) return help('simulate');
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const duration = (name: string, v: string | undefined, def: string) => {
    try {
      return parseDuration(v ?? def);
    } catch {
      throw new UsageError(`--${name} must be a duration like 30s, 15m, 2h, 2d, got ${JSON.stringify(v)}`);
    }
  };
  const start = isoOpt('start', values.start) ?? '2022-01-15T00:00:00.000Z';
  const durationMs = duration('duration', values.duration, '1d');
  const users = intOpt('users', values.users, 1000, 1);
  const rate = numberOpt('rate', values.rate, 1.5, 0, 20);
  if (!values.attack)
    refuseOptions(
      values,
      ['attack-users', 'attack-at', 'attack-duration', 'fresh-address-share'],
      'only applies with --attack',
    );
  checkDistinct({ out: values.out, summary: values.summary });
  checkWritable('summary', values.summary);
  const opts: SimulateOptions = {
    seed: intOpt('seed', values.seed, 1),
    users,
    start,
    durationMs,
    withdrawalsPerUserPerDay: rate,
    lateMfaShare: shareOpt('late-mfa-share', values['late-mfa-share'], 0.05),
    invalidShare: shareOpt('invalid-share', values['invalid-share'], 0),
    duplicateShare: shareOpt('duplicate-share', values['duplicate-share'], 0),
  };
  if (values.attack) {
    const attackUsers = intOpt('attack-users', values['attack-users'], Math.min(483, users), 1);
    if (attackUsers > users) throw new UsageError('--attack-users cannot exceed --users');
    opts.attack = {
      at:
        isoOpt('attack-at', values['attack-at']) ??
        new Date(Date.parse(start) + durationMs - 3600000).toISOString(),
      users: attackUsers,
      durationMs: duration('attack-duration', values['attack-duration'], '15m'),
      freshAddressShare: shareOpt('fresh-address-share', values['fresh-address-share'], 0.6),
    };
  }
  let out: NodeJS.WritableStream = process.stdout;
  let file: fs.WriteStream | undefined;
  if (values.out !== undefined && values.out !== '-') {
    try {
      file = fs.createWriteStream(values.out);
      await once(file, 'open');
    } catch (err) {
      throw new UsageError(
        `cannot write ${values.out}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`,
      );
    }
    out = values.out.endsWith('.gz') ? pipeGzip(file) : file;
  }
  const result = await writeSimulation(opts, out);
  if (out !== process.stdout) {
    out.end();
    await once(file!, 'close');
  }
  if (values.summary !== undefined) fs.writeFileSync(values.summary, `${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(`simulated ${result.lines} lines\n`);
  return 0;
}

function pipeGzip(file: fs.WriteStream): NodeJS.WritableStream {
  const gz = createGzip();
  gz.pipe(file);
  return gz;
}

function help(command: string): number {
  process.stdout.write(`${USAGE[command]}\n`);
  return 0;
}

/** One line on standard error and the exit code: 2 for usage and configuration, 1 for a failed run. */
export function reportFailure(err: unknown, command: string | undefined): number {
  const line = (text: string) => process.stderr.write(`bulwark: ${text.replace(/\s*\n\s*/g, ' ')}\n`);
  if (err instanceof UsageError) {
    line(err.message);
    process.stderr.write(`${USAGE[command && USAGE[command] ? command : 'main']}\n`);
    return 2;
  }
  if (err instanceof ConfigError) {
    line(err.message);
    return 2;
  }
  if (err instanceof UnreachableError) line(err.message);
  else line(describeLostDependency(err, deps) ?? errorMessage(err));
  return 1;
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => {
      // Exit once the output is written: after a broker restart a client's reconnect timers can keep the
      // event loop alive for ever though the command is done.
      process.exitCode = code;
      process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
    },
    (err: unknown) => {
      // Exit now: a client still retrying in the background must not keep a failed command alive.
      process.exit(reportFailure(err, process.argv[2]));
    },
  );
}
