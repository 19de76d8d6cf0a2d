/**
 * Paces a replay by event time: with speed N, event time advances N times faster than the wall clock.
 * `speed` max (Infinity) never waits. The wall clock here only sets the pace; it never feeds a decision.
 */
export class Pacer {
  private firstEventMs?: number;
  private firstWallMs?: number;

  constructor(
    private readonly speed: number,
    private readonly wallClock: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** How long to wait before handing over an event with this event time. */
  delayFor(eventTimeMs: number): number {
    if (!Number.isFinite(this.speed)) return 0;
    if (this.firstEventMs === undefined || this.firstWallMs === undefined) {
      this.firstEventMs = eventTimeMs;
      this.firstWallMs = this.wallClock();
      return 0;
    }
    const due = this.firstWallMs + (eventTimeMs - this.firstEventMs) / this.speed;
    return Math.max(0, due - this.wallClock());
  }

  async wait(eventTimeMs: number): Promise<void> {
    const ms = this.delayFor(eventTimeMs);
    if (ms >= 1) await this.sleep(ms);
  }
}

export function parseSpeed(value: string): number {
  if (value === 'max') return Infinity;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`--speed must be max or a number > 0, got ${JSON.stringify(value)}`);
  return n;
}
