import Redis from 'ioredis';
import { decideAnyStatus, decideStatus, type WithdrawalStatus } from '../breaker/snapshot';
import { TICKER_PATTERN } from '../breaker/scope';
import { breakerKeys } from '../keys/breaker';

/**
 * The client withdrawal services call before sending funds. It reads the breaker's snapshot straight from
 * Redis (global and the asset's scope in one MGET), caches it for at most `cacheMs`, and fails closed: an
 * error, a timeout, a missing or corrupt state all answer "not allowed".
 */
export interface WithdrawalGuardOptions {
  /** Either a URL (the guard owns the connection) or a client the caller owns. */
  redisUrl?: string;
  redis?: Redis;
  /** The breaker's key prefix (BULWARK_KEY_PREFIX of the breaker service). */
  prefix: string;
  /** How long a read may be reused. Default 500, at most 5000: this bounds how late a halt is seen. */
  cacheMs?: number;
  /** Longest a check may wait for Redis before answering "not allowed". Default 250. */
  timeoutMs?: number;
  /** Called on every failed read (log it, count it); never with secrets. */
  onError?: (err: Error) => void;
}

export interface GuardStatus extends WithdrawalStatus {
  /** `redis` for a fresh read, `cache` for a reused one, `error` when failing closed. */
  source: 'redis' | 'cache' | 'error';
}

export interface WithdrawalGuard {
  /**
   * True only when the breaker state was read and neither global nor the asset's scope is halted. Without
   * an asset, true only when no scope at all is halted (fail closed: the caller did not say which asset).
   */
  isAllowed(asset?: string): Promise<boolean>;
  check(asset?: string): Promise<GuardStatus>;
  close(): Promise<void>;
}

export const MAX_CACHE_MS = 5000;

export function createWithdrawalGuard(opts: WithdrawalGuardOptions): WithdrawalGuard {
  const cacheMs = opts.cacheMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? 250;
  if (!Number.isFinite(cacheMs) || cacheMs < 0 || cacheMs > MAX_CACHE_MS)
    throw new RangeError(`cacheMs must be between 0 and ${MAX_CACHE_MS} (a longer cache delays halts)`);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError('timeoutMs must be > 0');
  if ((opts.redis === undefined) === (opts.redisUrl === undefined))
    throw new TypeError('pass exactly one of redis or redisUrl');
  const owned = opts.redis === undefined;
  // Fail fast rather than queue: a check that waits on a dead Redis only delays the same answer.
  const redis =
    opts.redis ??
    new Redis(opts.redisUrl!, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: timeoutMs,
      connectTimeout: Math.max(timeoutMs, 1000),
      // A socket that never connected is otherwise kept 2 s after close(), holding the process open.
      disconnectTimeout: 100,
      retryStrategy: (times) => Math.min(100 * times, 1000),
    });
  if (owned) redis.on('error', (err: Error) => opts.onError?.(err));
  const keys = breakerKeys(opts.prefix);
  const cache = new Map<string, { at: number; status: WithdrawalStatus }>();
  const inflight = new Map<string, Promise<GuardStatus>>();
  // One shared wait for the connection, so checks made while Redis is away add no listeners.
  let readyWait: Promise<void> | undefined;
  const whenReady = (): Promise<void> => {
    readyWait ??= new Promise<void>((resolve) =>
      redis.once('ready', () => {
        readyWait = undefined;
        resolve();
      }),
    );
    return readyWait;
  };

  const failClosed = (scope: string, reason: string): GuardStatus => ({
    allowed: false,
    scope,
    state: 'unknown',
    since: null,
    reason,
    source: 'error',
  });

  async function read(asset: string | undefined): Promise<GuardStatus> {
    const scopeKey = asset === undefined ? 'global' : `asset:${asset}`;
    const cacheKey = asset === undefined ? '*' : scopeKey;
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from Redis within ${timeoutMs} ms`)), timeoutMs);
      });
      const status = await Promise.race([
        (async () => {
          if (owned && redis.status !== 'ready') await whenReady();
          if (asset === undefined) {
            // No asset: every scope the breaker ever wrote must be open (two reads, this case only).
            const scopes = (await redis.smembers(keys.scopes)).filter((x) => x !== 'global');
            const raws = await redis.mget(keys.state('global'), ...scopes.map((x) => keys.state(x)));
            return decideAnyStatus(
              raws[0] ?? null,
              scopes.map((scope, i) => ({ scope, raw: raws[i + 1] ?? null })),
            );
          }
          const [g, a] = await redis.mget(keys.state('global'), keys.state(scopeKey));
          return decideStatus(g ?? null, a ?? null, asset);
        })(),
        deadline,
      ]);
      cache.set(cacheKey, { at: Date.now(), status });
      return { ...status, source: 'redis' };
    } catch (err) {
      opts.onError?.(err instanceof Error ? err : new Error(String(err)));
      return failClosed(
        scopeKey,
        `breaker state could not be read (fail closed): ${(err as Error).message ?? err}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async function check(asset?: string): Promise<GuardStatus> {
    if (asset !== undefined && (typeof asset !== 'string' || !TICKER_PATTERN.test(asset)))
      return failClosed('global', 'asset is not an upper-case ticker (fail closed)');
    const scopeKey = asset === undefined ? '*' : `asset:${asset}`;
    const hit = cache.get(scopeKey);
    if (hit && Date.now() - hit.at < cacheMs) return { ...hit.status, source: 'cache' };
    // Concurrent checks of one asset share one read.
    const pending = inflight.get(scopeKey);
    if (pending) return pending;
    const p = read(asset).finally(() => inflight.delete(scopeKey));
    inflight.set(scopeKey, p);
    return p;
  }

  return {
    check,
    isAllowed: async (asset?: string) => {
      try {
        return (await check(asset)).allowed;
      } catch {
        return false;
      }
    },
    close: async () => {
      cache.clear();
      if (owned) redis.disconnect();
    },
  };
}
