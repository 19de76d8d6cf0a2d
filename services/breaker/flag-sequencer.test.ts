import type { Flag } from '../../libs/breaker';
import { silentLogger } from '../../libs/logger';
import { testFlag } from '../../test/helpers/flags';
import { FlagSequencer, type FlagSequencerDeps } from './flag-sequencer';

const T0 = Date.parse('2022-01-17T00:00:00.000Z');

const flag = (id: string, decidedMs: number): Flag => testFlag(id, decidedMs, { flagId: id });

/** The sequencer against stand-ins for what it reads (watermark, offsets) and does (count, commit). */
function harness(maxHoldMs = 60000, overrides: Partial<FlagSequencerDeps> = {}) {
  const world = {
    watermark: null as number | null,
    ends: new Map<number, string>(),
    committed: new Map<number, string>(),
    counted: [] as string[],
    failCount: false,
    wall: 0,
  };
  const seq = new FlagSequencer({
    endOffsets: async () => new Map(world.ends),
    committedOffsets: async () => new Map(world.committed),
    readWatermark: async () => world.watermark,
    count: async (flags) => {
      if (world.failCount) throw new Error('redis down');
      world.counted.push(...flags.map((f) => f.flagId));
    },
    commit: async (p, o) => {
      world.committed.set(p, o);
    },
    maxHoldMs,
    now: () => world.wall,
    logger: silentLogger(),
    ...overrides,
  });
  seq.assigned([0, 1]);
  return { seq, world };
}

describe('FlagSequencer', () => {
  it('counts flags from partitions that arrive out of event-time order in decision-time order, then commits', async () => {
    const { seq, world } = harness();
    world.ends = new Map([
      [0, '2'],
      [1, '1'],
    ]);
    // Partition 0, minutes ahead, is read first.
    seq.add(0, [
      { offset: '0', flag: flag('p0-a', T0 + 200000) },
      { offset: '1', flag: flag('p0-b', T0 + 400000) },
    ]);
    world.watermark = T0 + 300000;
    await seq.pump();
    // Partition 1 is not read up to the end offsets taken after W: W is not trusted yet.
    expect(world.counted).toEqual([]);
    expect(world.committed.size).toBe(0);

    seq.add(1, [{ offset: '0', flag: flag('p1-a', T0 + 1000) }]);
    await seq.pump();
    expect(world.counted).toEqual(['p1-a', 'p0-a']);
    expect(Object.fromEntries(world.committed)).toEqual({ 0: '1', 1: '1' });
    expect(seq.held).toBe(1);
  });

  it('when counting fails nothing is committed and the flags are counted on the next pump', async () => {
    const { seq, world } = harness();
    world.ends = new Map([[0, '1']]);
    world.watermark = T0 + 10;
    seq.add(0, [{ offset: '0', flag: flag('a', T0) }]);
    world.failCount = true;
    await expect(seq.pump()).rejects.toThrow('redis down');
    expect(world.committed.size).toBe(0);
    world.failCount = false;
    await seq.pump();
    expect(world.counted).toEqual(['a']);
    expect(world.committed.get(0)).toBe('1');
  });

  it('without a watermark, a flag is counted once held for maxHoldMs (a detector that never writes one)', async () => {
    const { seq, world } = harness(1000);
    seq.add(1, [{ offset: '0', flag: flag('a', T0) }]);
    await seq.pump();
    expect(world.counted).toEqual([]);
    world.wall = 1000;
    await seq.pump();
    expect(world.counted).toEqual(['a']);
  });

  it('maxHoldMs 0 counts every flag as it arrives, reading neither watermark nor offsets', async () => {
    const { seq, world } = harness(0);
    world.watermark = null;
    seq.add(0, [{ offset: '4', flag: flag('a', T0 + 5) }]);
    seq.add(1, [{ offset: '0', flag: flag('b', T0) }]);
    await seq.pump();
    expect(world.counted).toEqual(['b', 'a']);
  });

  it('partitions already committed to their end do not hold the watermark back', async () => {
    const { seq, world } = harness();
    world.committed.set(1, '7');
    world.ends = new Map([
      [0, '1'],
      [1, '7'],
    ]);
    world.watermark = T0 + 10;
    seq.add(0, [{ offset: '0', flag: flag('a', T0) }]);
    await seq.pump();
    expect(world.counted).toEqual(['a']);
  });

  it('after a rejoin, a first batch above the committed offset (a leftover seek) is refused with the offset to read from', async () => {
    const { seq, world } = harness();
    world.committed.set(0, '5');
    // Before, such a batch set the commit point at its own first offset and skipped offsets 5-9 for good.
    expect(await seq.admit(0, '10')).toEqual({ ok: false, seekTo: '5' });
    expect(await seq.admit(0, '5')).toEqual({ ok: true });
    seq.add(0, [{ offset: '5', flag: null }]);
    await seq.pump();
    expect(world.committed.get(0)).toBe('6');
  });

  it('when the watermark or offsets cannot be read, flags still go out once held for maxHoldMs', async () => {
    const { seq, world } = harness(1000, {
      endOffsets: () => Promise.reject(new Error('broker restarting')),
      committedOffsets: () => Promise.reject(new Error('broker restarting')),
      readWatermark: async () => T0 + 10,
    });
    seq.add(0, [{ offset: '0', flag: flag('a', T0) }]);
    await seq.pump();
    expect(world.counted).toEqual([]);
    world.wall = 1000;
    await seq.pump();
    expect(world.counted).toEqual(['a']);
    expect(seq.held).toBe(0);
  });

  it('a rejoin while flags are being counted commits nothing for the old assignment', async () => {
    let release!: () => void;
    const { seq, world } = harness(0, { count: () => new Promise<void>((r) => (release = r)) });
    seq.add(0, [{ offset: '0', flag: flag('a', T0) }]);
    const pumping = seq.pump();
    await new Promise((r) => setImmediate(r));
    seq.assigned([0]);
    release();
    await pumping;
    expect(world.committed.size).toBe(0);
  });
});
