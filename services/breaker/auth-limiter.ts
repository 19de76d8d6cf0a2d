import { isIPv6 } from 'node:net';

/**
 * Limits failed operator authentications, per client and in all, over a sliding window. It is consulted
 * only after a credential has failed: a valid token always passes, however many failures came before it
 * from the same address. A failure over a limit is answered 429 instead of 401, so well-behaved clients back
 * off and a flood is visible; guessing itself is made hopeless by token strength (hash-token refuses weak
 * tokens), not by the limiter. Memory is bounded: at most `limit + 1` times per client, `maxClients`
 * clients (the least recently failing is forgotten first), and `global + 1` times in all.
 */
export interface AuthLimits {
  /** Failures per client in the window before 429. */
  perClient: number;
  /** Failures from all clients together in the window before every failure gets 429. */
  global: number;
  windowMs: number;
  maxClients: number;
}

export interface OverLimit {
  limit: 'client' | 'global';
  retryAfterSeconds: number;
  /** True for the first failure past this limit in the current episode (log once, not per request). */
  first: boolean;
}

const DEFAULTS: AuthLimits = { perClient: 10, global: 600, windowMs: 60_000, maxClients: 10_000 };

export class AuthFailureLimiter {
  private readonly limits: AuthLimits;
  private readonly clients = new Map<string, number[]>();
  private all: number[] = [];

  constructor(limits: Partial<AuthLimits> = {}) {
    this.limits = { ...DEFAULTS, ...limits };
  }

  /** Records a failure of `client` (see clientKey) and says whether it is over a limit. */
  recordFailure(client: string, nowMs = Date.now()): OverLimit | null {
    const { perClient, global, windowMs, maxClients } = this.limits;
    const mine = this.recent(this.clients.get(client), nowMs);
    const mineBefore = mine.length;
    mine.push(nowMs);
    // Re-insert so Map order is least-recently-failing first.
    this.clients.delete(client);
    this.clients.set(client, mine.slice(-(perClient + 1)));
    while (this.clients.size > maxClients) {
      const oldest = this.clients.keys().next().value;
      if (oldest === undefined) break;
      this.clients.delete(oldest);
    }
    this.all = this.recent(this.all, nowMs);
    const allBefore = this.all.length;
    this.all.push(nowMs);
    if (this.all.length > global + 1) this.all = this.all.slice(-(global + 1));

    const over = (times: number[], limit: number) =>
      times.length > limit
        ? Math.max(1, Math.ceil((times[times.length - limit - 1]! + windowMs - nowMs) / 1000))
        : 0;
    const clientWait = over(this.clients.get(client)!, perClient);
    const globalWait = over(this.all, global);
    if (clientWait === 0 && globalWait === 0) return null;
    if (clientWait >= globalWait)
      return { limit: 'client', retryAfterSeconds: clientWait, first: mineBefore === perClient };
    return { limit: 'global', retryAfterSeconds: globalWait, first: allBefore === global };
  }

  private recent(times: number[] | undefined, nowMs: number): number[] {
    return (times ?? []).filter((t) => t > nowMs - this.limits.windowMs);
  }
}

/**
 * The unit a client is limited by: its IPv4 address, or the /64 of an IPv6 address (one host usually holds a
 * whole /64, so counting single IPv6 addresses would give it 2^64 budgets).
 */
export function clientKey(remoteAddress: string): string {
  let a = remoteAddress.replace(/%.*$/, '');
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a)) a = a.slice(7);
  if (!isIPv6(a)) return a || 'unknown';
  const [head = '', tail] = a.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
