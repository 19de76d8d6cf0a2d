import { computeWatermark, decodeProgress, encodeProgress, isIdle, type SourceProgress } from './watermark';

const IDLE = 10_000;
const src = (
  source: string,
  maxEventTimeMs: number,
  caughtUp: boolean,
  lastArrivalWallMs: number,
): SourceProgress => ({
  source,
  maxEventTimeMs,
  caughtUp,
  lastArrivalWallMs,
});

describe('watermark', () => {
  it('is null before any source reported', () => {
    expect(computeWatermark([], 1000, IDLE)).toBeNull();
  });

  it('is the slowest non-idle source', () => {
    const now = 100_000;
    expect(computeWatermark([src('a', 5000, false, now), src('b', 3000, true, now - 1)], now, IDLE)).toBe(
      3000,
    );
  });

  it('a source with input waiting holds the watermark however long it has been quiet', () => {
    const now = 1_000_000;
    const lagging = src('lag', 1000, false, 0);
    expect(isIdle(lagging, now, IDLE)).toBe(false);
    expect(computeWatermark([lagging, src('fast', 9000, true, now)], now, IDLE)).toBe(1000);
  });

  it('a caught-up source stops holding it after the idle timeout, not before', () => {
    const quiet = src('quiet', 1000, true, 50_000);
    const busy = src('busy', 7000, true, 60_000);
    expect(computeWatermark([quiet, busy], 50_000 + IDLE - 1, IDLE)).toBe(1000);
    expect(computeWatermark([quiet, busy], 50_000 + IDLE, IDLE)).toBe(7000);
  });

  it('when every source is idle, advances with the wall clock from the newest event time', () => {
    const a = src('a', 1000, true, 50_000);
    const b = src('b', 7000, true, 55_000);
    // All idle from 65,000: newest event time 7000 plus the wall time since the last arrival (55,000).
    expect(computeWatermark([a, b], 65_000, IDLE)).toBe(7000 + 10_000);
    expect(computeWatermark([a, b], 95_000, IDLE)).toBe(7000 + 40_000);
  });

  it('round-trips the stored form and rejects garbage', () => {
    const p = src('auth/0', 1642377600000, true, 1700000000000);
    expect(decodeProgress('auth/0', encodeProgress(p))).toEqual(p);
    expect(decodeProgress('x', 'nonsense')).toBeNull();
  });
});
