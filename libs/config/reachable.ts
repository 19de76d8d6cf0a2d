import net from 'node:net';
import { BulwarkError, StateStoreError, errorMessage } from '../errors';
import { silentLogger } from '../logger';
import { createRedis } from '../redis';
import { redactUrl, type RedisConnection } from './index';

/**
 * Start-up checks that the configured Kafka brokers and Redis can be reached, so a wrong or down address
 * stops a process at once with one line naming the variable to fix, rather than minutes of client retries
 * and stack traces. Later losses are the clients' business (they retry, then fail the batch or command).
 */
export class UnreachableError extends BulwarkError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super(message, { code: 'EUNREACHABLE', retriable: true, context });
  }
}

/** Tries a TCP connection; resolves with the failure's reason, or undefined once connected. */
function tryConnect(address: string, timeoutMs: number): Promise<string | undefined> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(i + 1));
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (why: string | undefined) => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

export interface ReachOptions {
  /** How long one attempt may take (default 3000 ms). */
  timeoutMs?: number;
  /** Attempts, 500 ms apart, so a server that is just starting is not refused (Kafka 3, Redis 1). */
  attempts?: number;
  /** The variable that holds the address, named in the error. */
  variable?: string;
}

/** Resolves once any of `brokers` (host:port) accepts a connection; else throws an UnreachableError. */
export async function requireKafkaReachable(brokers: string[], opts: ReachOptions = {}): Promise<void> {
  const variable = opts.variable ?? 'BULWARK_KAFKA_BROKERS';
  const timeoutMs = opts.timeoutMs ?? 3000;
  let reasons: (string | undefined)[] = [];
  for (let attempt = 0; attempt < (opts.attempts ?? 3); attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 500));
    reasons = await Promise.all(brokers.map((b) => tryConnect(b, timeoutMs)));
    if (reasons.some((r) => r === undefined)) return;
  }
  const why = brokers.map((b, i) => `${b} ${reasons[i] ?? ''}`).join(', ');
  throw new UnreachableError(
    `cannot reach Kafka at ${variable}=${brokers.join(',')} (${why}): start the broker or set ${variable}`,
    { variable },
  );
}

/**
 * Resolves once Redis answers PING; else throws an UnreachableError (the password never shown). Takes the
 * URL alone or the whole connection (TLS CA, ACL password from its file: libs/config redisConnection).
 */
export async function requireRedisReachable(
  target: string | RedisConnection,
  opts: ReachOptions = {},
): Promise<void> {
  const connection: RedisConnection = typeof target === 'string' ? { url: target } : target;
  const url = connection.url;
  const variable = opts.variable ?? 'BULWARK_REDIS_URL';
  let last = 'no answer';
  const redis = createRedis({
    ...connection,
    logger: silentLogger(),
    commandTimeoutMs: opts.timeoutMs ?? 3000,
    onError: (err) => {
      last = (err as NodeJS.ErrnoException).code ?? err.message;
    },
  });
  try {
    // The client itself tries the connection three times per command (maxRetriesPerRequest).
    for (let attempt = 0; attempt < (opts.attempts ?? 1); attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 500));
      try {
        if ((await redis.ping()) === 'PONG') return;
      } catch (err) {
        // A reply error (NOAUTH, WRONGPASS) says more than the connection's last error.
        if (!/max retries|Connection is closed|timed out/i.test(errorMessage(err))) last = errorMessage(err);
      }
    }
  } finally {
    redis.disconnect();
  }
  throw new UnreachableError(
    `cannot reach Redis at ${variable}=${redactUrl(url)} (${last}): start Redis or set ${variable}`,
    { variable },
  );
}

/** A one-line description of a failure that names the variable when Kafka or Redis went away mid-run. */
export function describeLostDependency(
  err: unknown,
  deps: { redisUrl?: string; redisProblem?: string; brokers?: string[] },
): string | undefined {
  const name = err instanceof Error ? err.name : '';
  const message = errorMessage(err);
  // KafkaUnavailableError: kafka-mode replay's own bound on a wait for Kafka (libs/replay/kafka-mode.ts).
  if (deps.brokers && /^KafkaJS|^KafkaUnavailableError$/.test(name))
    return `lost Kafka at BULWARK_KAFKA_BROKERS=${deps.brokers.join(',')}: ${message}`;
  const redisLike =
    err instanceof StateStoreError ||
    name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|Stream isn't writeable/i.test(
      message,
    );
  if (deps.redisUrl !== undefined && (redisLike || deps.redisProblem !== undefined))
    return `lost Redis at BULWARK_REDIS_URL=${redactUrl(deps.redisUrl)}${
      deps.redisProblem ? ` (${deps.redisProblem})` : ''
    }: ${message}`;
  return undefined;
}
