/**
 * Counts failed operator authentications per remote address over a sliding minute; at the limit the
 * address gets 429 (even with a good token) until its oldest failure leaves the window. Memory is bounded:
 * past `maxAddresses` the least recently failing address is forgotten.
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit = 10,
    private readonly windowMs = 60_000,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Seconds until the address may try again, or 0 when it may now. */
  retryAfterSeconds(address: string, nowMs = Date.now()): number {
    const list = this.prune(address, nowMs);
    if (list.length < this.limit) return 0;
    return Math.max(1, Math.ceil((list[list.length - this.limit]! + this.windowMs - nowMs) / 1000));
  }

  recordFailure(address: string, nowMs = Date.now()): void {
    const list = this.prune(address, nowMs);
    list.push(nowMs);
    // Re-insert so Map order is least-recently-failing first.
    this.failures.delete(address);
    this.failures.set(address, list.slice(-this.limit));
    while (this.failures.size > this.maxAddresses) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) break;
      this.failures.delete(oldest);
    }
  }

  private prune(address: string, nowMs: number): number[] {
    const list = this.failures.get(address);
    if (!list) return [];
    const kept = list.filter((t) => t > nowMs - this.windowMs);
    if (kept.length === 0) this.failures.delete(address);
    else this.failures.set(address, kept);
    return kept;
  }
}
