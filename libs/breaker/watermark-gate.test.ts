import { WatermarkGate } from './watermark-gate';

const T0 = Date.parse('2022-01-17T00:00:00.000Z');

describe('WatermarkGate', () => {
  it('confirms a watermark only once every owned partition is read up to the end offsets taken after it', () => {
    const g = new WatermarkGate();
    g.offer(
      T0 + 100,
      new Map([
        [0, '5'],
        [1, '3'],
        [2, '0'],
      ]),
    );
    const pos = new Map<number, bigint>([
      [0, 5n],
      [1, 2n],
    ]);
    expect(g.confirm([0, 1, 2], (p) => pos.get(p))).toBeNull();
    pos.set(1, 3n);
    expect(g.confirm([0, 1, 2], (p) => pos.get(p))).toBe(T0 + 100);
  });

  it('confirms the newest candidate reached; a lower watermark read later is ignored', () => {
    const g = new WatermarkGate();
    g.offer(T0 + 100, new Map([[0, '1']]));
    g.offer(T0 + 200, new Map([[0, '2']]));
    g.offer(T0 + 150, new Map([[0, '2']]));
    g.offer(T0 + 300, new Map([[0, '9']]));
    expect(g.confirm([0], () => 2n)).toBe(T0 + 200);
    expect(g.confirm([0], () => 9n)).toBe(T0 + 300);
  });

  it('partitions another instance owns do not hold it back', () => {
    const g = new WatermarkGate();
    g.offer(
      T0,
      new Map([
        [0, '4'],
        [1, '100'],
      ]),
    );
    expect(g.confirm([0], () => 4n)).toBe(T0);
  });

  it('a reader far behind keeps the oldest candidates (the ones it reaches first) when more wait than it keeps', () => {
    const g = new WatermarkGate();
    // Before, the oldest were dropped: a reader more than 64 readings behind never reached any candidate.
    for (let i = 1; i <= 200; i++) g.offer(T0 + i, new Map([[0, String(i)]]));
    expect(g.confirm([0], () => 1n)).toBe(T0 + 1);
    expect(g.confirm([0], () => 63n)).toBe(T0 + 63);
  });
});
