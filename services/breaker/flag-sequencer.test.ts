import type { Flag } from '../../libs/breaker';
import { silentLogger } from '../../libs/logger';
import { FlagSequencer } from './flag-sequencer';

const T0 = Date.parse('2022-01-17T00:00:00.000Z');

function flag(id: string, decidedMs: number): Flag {
  const iso = new Date(decidedMs).toISOString();
  return {
    flagId: id,
    ruleId: 'mfa-missing',
    severity: 'critical',
    userId: `u-${id}`,
    withdrawalId: `w-${id}`,
    eventId: `e-${id}`,
    occurredAt: iso,
    raisedAt: iso,
    asset: 'ETH',
    amountUsd: 1,
    evidence: {},
  };
}

/** The sequencer against stand-ins for what it reads (watermark, offsets) and does (count, commit). */
function harness(maxHoldMs = 60000) {
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
});
