import { partitionOfSource, sourcesAhead } from './alignment';
import { computeWatermark, isIdle, type SourceProgress } from './watermark';

const WALL = 1_000_000;
const IDLE = 10_000;
const src = (source: string, maxEventTimeMs: number, caughtUp = false, lastArrivalWallMs = WALL) => ({
  source,
  maxEventTimeMs,
  caughtUp,
  lastArrivalWallMs,
});

describe('sourcesAhead', () => {
  it('pauses a source with input waiting only when it is more than the bound past the watermark', () => {
    const sources = [
      src('a/0', 100_000),
      src('a/1', 130_000),
      src('a/2', 130_001),
      src('a/3', 500_000, true),
    ];
    const wm = computeWatermark(sources, WALL, IDLE);
    expect(wm).toBe(100_000);
    // Exactly the bound ahead is still in step; a caught-up source is never paused.
    expect([...sourcesAhead(sources, wm, 30_000)]).toEqual(['a/2']);
  });

  it('never pauses the source that sets the watermark; when every waiting source is ahead, a caught-up one holds it (until it goes idle)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      let x = seed;
      const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const sources: SourceProgress[] = Array.from({ length: 1 + Math.floor(rand() * 6) }, (_, i) =>
        src(`t/${i}`, Math.floor(rand() * 1e6), rand() < 0.3, WALL - Math.floor(rand() * 2 * IDLE)),
      );
      const wm = computeWatermark(sources, WALL, IDLE);
      const ahead = sourcesAhead(sources, wm, 1000);
      const holders = sources.filter((s) => !isIdle(s, WALL, IDLE) && s.maxEventTimeMs === wm);
      for (const h of holders) expect(ahead.has(h.source)).toBe(false);
      const waiting = sources.filter((s) => !s.caughtUp);
      if (waiting.length > 0 && waiting.every((s) => ahead.has(s.source))) {
        expect(holders.length).toBeGreaterThan(0);
        expect(holders.every((h) => h.caughtUp)).toBe(true);
      }
    }
  });

  it('pauses nothing before any watermark, or with alignment off (bound 0)', () => {
    expect(sourcesAhead([src('a/0', 5)], null, 1).size).toBe(0);
    expect(sourcesAhead([src('a/0', 0), src('a/1', 1e9)], 0, 0).size).toBe(0);
  });

  it('a partition that has never been read (event time 0, input waiting) holds the others back', () => {
    const sources = [src('a/0', 0), src('a/1', 1e12)];
    expect([...sourcesAhead(sources, computeWatermark(sources, WALL, IDLE), 30_000)]).toEqual(['a/1']);
  });
});

describe('partitionOfSource', () => {
  it('splits at the last slash and refuses what is not a partition', () => {
    expect(partitionOfSource('bulwark.auth/v1/3')).toEqual({ topic: 'bulwark.auth/v1', partition: 3 });
    expect(partitionOfSource('auth.events.v1/0')).toEqual({ topic: 'auth.events.v1', partition: 0 });
    expect(partitionOfSource('replay')).toBeUndefined();
    expect(partitionOfSource('t/x')).toBeUndefined();
    expect(partitionOfSource('/1')).toBeUndefined();
  });
});
