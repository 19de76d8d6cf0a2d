import { StallWatch, type PartitionProgress } from './stall-watch';

const row = (partition: number, committed: string, end: string): PartitionProgress => ({
  topic: 'auth',
  partition,
  committed,
  end,
});

describe('StallWatch', () => {
  it('stalls when input waits and the committed offset has not moved for stallMs', () => {
    const w = new StallWatch(1000);
    expect(w.observe([row(0, '5', '5')], 0).stalled).toBe(false); // caught up
    // Input started waiting after the last caught-up poll: its age counts from there.
    expect(w.observe([row(0, '5', '9')], 500)).toMatchObject({ stalled: false, ageMs: 500 });
    expect(w.observe([row(0, '5', '9')], 900)).toMatchObject({ stalled: false, ageMs: 900 });
    const v = w.observe([row(0, '5', '12')], 1100);
    expect(v).toMatchObject({ stalled: true, ageMs: 1100 });
    expect(v.stuck).toEqual([{ topic: 'auth', partition: 0, lag: '7', forMs: 1100 }]);
  });

  it('is not stalled while offsets move, nor while idle with nothing waiting', () => {
    const w = new StallWatch(1000);
    for (let t = 0; t < 5000; t += 400)
      expect(w.observe([row(0, String(t), String(t + 10))], t).stalled).toBe(false);
    const idle = new StallWatch(1000);
    for (let t = 0; t < 5000; t += 400) expect(idle.observe([row(0, '7', '7')], t).stalled).toBe(false);
  });

  it('counts a group that never committed (-1) as not progressing on a partition with input', () => {
    const w = new StallWatch(1000);
    w.observe([row(0, '-1', '3'), row(1, '-1', '0')], 0);
    const v = w.observe([row(0, '-1', '3'), row(1, '-1', '0')], 1200);
    expect(v.stuck.map((s) => s.partition)).toEqual([0]);
  });

  it('watches each partition on its own: one stuck partition stalls even when others move', () => {
    const w = new StallWatch(1000);
    w.observe([row(0, '1', '5'), row(1, '1', '5')], 0);
    expect(w.observe([row(0, '1', '5'), row(1, '3', '9')], 1500).stuck.map((s) => s.partition)).toEqual([0]);
  });
});
