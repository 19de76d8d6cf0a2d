import Redis, { type RedisOptions } from 'ioredis';
import type { Logger } from '../logger';

export type { Redis };

export interface RedisClientOptions {
  /** `redis://` or `rediss://` (TLS), with an ACL user as `rediss://user@host:port`. */
  url: string;
  /** The ACL user's password when it is not in the URL (libs/config reads it from a file). */
  password?: string;
  /** TLS settings for a `rediss://` URL; `ca` (PEM) replaces the system roots when given. */
  tls?: { ca?: string[] };
  logger: Logger;
  /** Per-command timeout; a command that exceeds it rejects, and the caller pauses and retries. */
  commandTimeoutMs?: number;
  onError?: (err: Error) => void;
}

/**
 * A Redis client tuned for a consumer that must never commit past an unapplied event: commands fail fast
 * (finite retries, a command timeout) instead of queueing forever, and reconnects go on in the background.
 * Scripts are idempotent, so ioredis re-sending an unanswered command after a reconnect is harmless.
 */
export function createRedis(opts: RedisClientOptions): Redis {
  const options: RedisOptions = {
    maxRetriesPerRequest: 2,
    commandTimeout: opts.commandTimeoutMs ?? 5000,
    enableOfflineQueue: true,
    connectTimeout: 3000,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    ...(opts.tls?.ca === undefined ? {} : { tls: { ca: opts.tls.ca } }),
  };
  const client = new Redis(withPassword(opts.url, opts.password), options);
  let lastLogged = 0;
  client.on('error', (err: Error) => {
    opts.onError?.(err);
    const now = Date.now();
    if (now - lastLogged > 5000) {
      lastLogged = now;
      opts.logger.warn({ err: err.message }, 'redis error');
    }
  });
  return client;
}

/**
 * The URL with `password` as its user-info password: ioredis lets a URL's (empty) password win over the
 * `password` option, so a `rediss://user@host` URL would otherwise authenticate without one.
 */
function withPassword(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  const u = new URL(url);
  // Encoded first: the setter leaves "%" alone, and ioredis decodes what it finds.
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** True when Redis answers PING within the command timeout. */
export async function redisAnswers(client: Redis): Promise<boolean> {
  try {
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  }
}

/** Deletes every key under `prefix` (SCAN, never KEYS). For tests and replay namespaces only. */
export async function deleteByPrefix(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
