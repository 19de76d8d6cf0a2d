import type { Flag } from './flag';
import { testFlag } from '../../test/helpers/flags';
import { FlagOrderer, decidedAtMs } from './flag-order';

const T0 = Date.parse('2022-01-17T00:00:00.000Z');

const flag = (id: string, occurredMs: number, raisedMs = occurredMs): Flag =>
  testFlag(id, raisedMs, { flagId: id, occurredAt: new Date(occurredMs).toISOString() });

const ids = (flags: Flag[]) => flags.map((f) => f.flagId);

describe('decidedAtMs', () => {
  it('is raisedAt for a decision that waited for the grace period, occurredAt otherwise', () => {
    expect(decidedAtMs(flag('a', T0, T0 + 30000))).toBe(T0 + 30000);
    expect(decidedAtMs(flag('a', T0 + 5, T0))).toBe(T0 + 5);
  });
});

describe('FlagOrderer', () => {
  it('holds flags until the watermark passes them, then releases them in decision-time order across partitions', () => {
    const o = new FlagOrderer({ maxHoldMs: 60000 });
    // Partition 0 ran ahead (minutes of event time) and arrived first; partition 1 holds the earlier flags.
    o.add(
      0,
      [
        { offset: '0', flag: flag('p0-late', T0 + 300000) },
        { offset: '1', flag: flag('p0-later', T0 + 400000) },
      ],
      0,
    );
    o.add(1, [{ offset: '0', flag: flag('p1-early', T0 + 1000) }], 0);

    const first = o.plan(T0 + 350000, 10);
    expect(ids(first.flags)).toEqual(['p1-early', 'p0-late']);
    expect(first.overdue).toBe(0);
    // Partition 0 may commit only up to its first flag still held; partition 1 all of it.
    expect(Object.fromEntries(first.commits)).toEqual({ 0: '1', 1: '1' });
    o.settle(first);
    expect(o.size).toBe(1);

    const second = o.plan(T0 + 400000, 20);
    expect(ids(second.flags)).toEqual(['p0-later']);
    expect(Object.fromEntries(second.commits)).toEqual({ 0: '2' });
  });

  it('plan changes nothing until settle: counting that failed is offered again, commits do not move', () => {
    const o = new FlagOrderer({ maxHoldMs: 60000 });
    o.add(0, [{ offset: '7', flag: flag('a', T0) }], 0);
    const p = o.plan(T0, 0);
    expect(ids(p.flags)).toEqual(['a']);
    const again = o.plan(T0, 0);
    expect(ids(again.flags)).toEqual(['a']);
    expect(Object.fromEntries(again.commits)).toEqual({ 0: '8' });
    o.settle(again);
    expect(o.plan(T0, 0).commits.size).toBe(0);
  });

  it('a redelivered batch (failed batch, consumer restart) is not held twice', () => {
    const o = new FlagOrderer({ maxHoldMs: 60000 });
    const batch = [
      { offset: '3', flag: flag('a', T0 + 10) },
      { offset: '4', flag: flag('b', T0 + 20) },
    ];
    o.add(2, batch, 0);
    o.add(2, batch, 0);
    expect(o.size).toBe(2);
    expect(o.position(2)).toBe(5n);
  });

  it('dead-lettered messages hold nothing back but still move the commit point', () => {
    const o = new FlagOrderer({ maxHoldMs: 60000 });
    o.add(
      0,
      [
        { offset: '0', flag: null },
        { offset: '1', flag: flag('a', T0 + 100) },
        { offset: '2', flag: null },
      ],
      0,
    );
    const p = o.plan(null, 0);
    expect(p.flags).toEqual([]);
    expect(Object.fromEntries(p.commits)).toEqual({ 0: '1' });
  });

  it('a flag held longer than maxHoldMs goes with every flag decided before it, order kept, counted as overdue', () => {
    const o = new FlagOrderer({ maxHoldMs: 1000 });
    o.add(0, [{ offset: '0', flag: flag('old', T0 + 50) }], 0);
    o.add(
      1,
      [
        { offset: '0', flag: flag('earlier', T0 + 10) },
        { offset: '1', flag: flag('newer', T0 + 90) },
      ],
      900,
    );
    expect(o.plan(null, 999).flags).toEqual([]);
    const p = o.plan(null, 1000);
    expect(ids(p.flags)).toEqual(['earlier', 'old']);
    expect(p.overdue).toBe(2);
    o.settle(p);
    expect(o.size).toBe(1);
  });

  it('a late flag (decided before what was released) goes straight through', () => {
    const o = new FlagOrderer({ maxHoldMs: 60000 });
    o.add(0, [{ offset: '0', flag: flag('a', T0 + 1000) }], 0);
    o.settle(o.plan(T0 + 5000, 0));
    o.add(1, [{ offset: '0', flag: flag('late', T0 + 2000) }], 0);
    expect(ids(o.plan(null, 0).flags)).toEqual(['late']);
  });

  it('reset forgets what was held and the positions (a rejoin reads them again), not the release point', () => {
    const o = new FlagOrderer({ maxHoldMs: 60000 });
    o.add(0, [{ offset: '0', flag: flag('a', T0 + 1000) }], 0);
    o.settle(o.plan(T0 + 500, 0));
    o.reset();
    expect(o.size).toBe(0);
    expect(o.position(0)).toBeUndefined();
    o.add(0, [{ offset: '0', flag: flag('b', T0 + 100) }], 0);
    expect(ids(o.plan(null, 0).flags)).toEqual(['b']);
  });

  it('property: whatever the arrival order and batching, released flags come out sorted and each exactly once', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let run = 0; run < 50; run++) {
      const o = new FlagOrderer({ maxHoldMs: 1e12 });
      const parts = [0, 1, 2].map((p) =>
        Array.from({ length: 20 }, (_, i) => ({
          offset: String(i),
          flag: flag(`${p}-${i}`, T0 + i * 1000 + p),
        })),
      );
      const cursor = [0, 0, 0];
      const released: Flag[] = [];
      let w = T0;
      while (cursor.some((c) => c < 20)) {
        const p = Math.floor(rand() * 3);
        const n = 1 + Math.floor(rand() * 5);
        o.add(p, parts[p]!.slice(cursor[p], cursor[p]! + n), 0);
        cursor[p] = Math.min(20, cursor[p]! + n);
        // The watermark never passes what a partition has not delivered yet.
        w = Math.max(w, Math.min(...cursor.map((c, q) => (c >= 20 ? Infinity : T0 + c * 1000 + q - 1))));
        const r = o.plan(Number.isFinite(w) ? w : T0 + 1e9, 0);
        // A commit point never passes a flag that is still held: a crash re-reads every one not counted.
        const counted = new Set([...released, ...r.flags].map((f) => f.flagId));
        for (const [p, point] of r.commits)
          for (let i = 0; i < Number(point); i++) expect(counted.has(`${p}-${i}`)).toBe(true);
        o.settle(r);
        released.push(...r.flags);
      }
      const r = o.plan(T0 + 1e9, 0);
      released.push(...r.flags);
      const times = released.map(decidedAtMs);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(new Set(ids(released)).size).toBe(60);
      expect(released).toHaveLength(60);
    }
  });
});
