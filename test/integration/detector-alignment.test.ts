import type { KafkaClient, OutRecord, TopicNames } from '../../libs/kafka';
import { parseRulesConfig } from '../../libs/rules';
import { counter, startDetector } from '../helpers/detector';
import { provisionTopics, realStack, waitFor } from '../helpers/env';
import { MIN, T0, approval, whitelist, type Ev } from '../helpers/events';

jest.setTimeout(120000);

/**
 * Event-time alignment across partitions, against the real broker and Redis. A backlog waits on three
 * wallet partitions covering the same two hours of event time; one of them is ten times as dense, so in the
 * same bytes per fetch it moves through event time ten times slower. Every approval raises a flag at once
 * (new-address-cooldown). Without alignment the sparse partitions' flags for the whole two hours come out
 * while the dense one is still in its first minutes; with it no partition runs more than the bound (plus a
 * batch or two) ahead, and the flags are the same.
 */
const HOURS = 2;
const STEPS = HOURS * 60; // one flagged approval per partition per minute of event time
const FILLER_PER_STEP = 10; // extra events per minute on the dense partition
const ALIGN_MS = 60_000;

interface Arrived {
  flagId: string;
  occurredAtMs: number;
  producedAtMs: number;
}

/** Per partition, in event-time order: a whitelisting and, a minute later, its approval (flagged at once). */
function backlog(): { byPartition: Ev[][]; expected: string[] } {
  const byPartition: Ev[][] = [[], [], []];
  const expected: string[] = [];
  for (let p = 0; p < 3; p++) {
    for (let i = 0; i < STEPS; i++) {
      const t = T0 + i * MIN;
      const user = `u-p${p}-${i}`;
      const address = `0x${p.toString(16).padStart(2, '0')}${i.toString(16).padStart(38, '0')}`;
      byPartition[p]!.push(whitelist(user, address, t - MIN));
      if (p === 0) {
        for (let k = 0; k < FILLER_PER_STEP; k++) {
          byPartition[p]!.push(whitelist(`f-${i}-${k}`, `0xff${i}${k}`.padEnd(42, '0'), t - MIN + k));
        }
      }
      byPartition[p]!.push(approval(user, `w-${user}`, 's', t, { address }));
      expected.push(`new-address-cooldown:w-${user}`);
    }
  }
  return { byPartition, expected: expected.sort() };
}

/** Publishes each partition in small sends, so each fetch (bounded in bytes) takes a few events. */
async function publishBacklog(kafka: KafkaClient, topics: TopicNames, byPartition: Ev[][]): Promise<number> {
  const producer = kafka.producer();
  await producer.connect();
  let n = 0;
  // The dense partition last, as after an outage where one upstream service's backlog lands late.
  for (const p of [1, 2, 0]) {
    const events = byPartition[p]!;
    for (let i = 0; i < events.length; i += 5) {
      const records: OutRecord[] = events.slice(i, i + 5).map((e) => ({
        topic: topics.wallet,
        partition: p,
        key: String(e.userId),
        value: JSON.stringify(e),
      }));
      await producer.send(records);
      n += records.length;
    }
  }
  await producer.disconnect();
  return n;
}

/** The largest event time a flag had over a flag produced after it: how far out of order they came. */
function worstInversionMs(flags: Arrived[]): number {
  const byProduced = [...flags].sort((a, b) => a.producedAtMs - b.producedAtMs);
  let worst = 0;
  let maxBefore = -Infinity; // over flags produced strictly earlier
  let i = 0;
  while (i < byProduced.length) {
    let j = i;
    while (j < byProduced.length && byProduced[j]!.producedAtMs === byProduced[i]!.producedAtMs) j++;
    for (let k = i; k < j; k++) worst = Math.max(worst, maxBefore - byProduced[k]!.occurredAtMs);
    for (let k = i; k < j; k++) maxBefore = Math.max(maxBefore, byProduced[k]!.occurredAtMs);
    i = j;
  }
  return worst;
}

describe('detector: event-time alignment across partitions', () => {
  const { kafka, fresh } = realStack();
  const rules = parseRulesConfig({
    graceMs: 2000,
    idleTimeoutMs: 1000,
    rules: [{ kind: 'new-address-cooldown' }],
  });

  /** Runs a detector over the backlog; returns the flags as produced and the most partitions it held paused. */
  async function run(label: string, alignMs: number) {
    const prefix = fresh(label);
    const topics = await provisionTopics(kafka, prefix);
    const { byPartition, expected } = backlog();
    const total = await publishBacklog(kafka, topics, byPartition);

    const arrived: Arrived[] = [];
    const reader = kafka.consumer({
      groupId: `${prefix}-reader`,
      topics: [topics.flags],
      fromBeginning: true,
      handle: async (batch) => {
        for (const m of batch.messages) {
          const f = JSON.parse(m.value!.toString()) as { flagId: string; occurredAt: string };
          arrived.push({
            flagId: f.flagId,
            occurredAtMs: Date.parse(f.occurredAt),
            producedAtMs: m.timestampMs,
          });
        }
      },
    });
    await reader.start();
    const { detector, registry, started } = startDetector(
      prefix,
      { BULWARK_FETCH_MAX_BYTES_PER_PARTITION: '2048', BULWARK_ALIGN_MAX_AHEAD_MS: String(alignMs) },
      rules,
    );
    let mostPaused = 0;
    const sampler = setInterval(() => {
      void counter(registry, 'bulwark_detector_partitions_paused_for_alignment').then((v) => {
        mostPaused = Math.max(mostPaused, v);
      });
    }, 20);
    try {
      await started;
      await waitFor(async () => (await counter(registry, 'bulwark_events_consumed_total')) === total, 90000);
      await waitFor(() => arrived.length >= expected.length, 30000);
      const pausedAtEnd = await waitFor(
        async () => (await counter(registry, 'bulwark_detector_partitions_paused_for_alignment')) === 0,
        10000,
      );
      return { arrived, expected, mostPaused, pausedAtEnd };
    } finally {
      clearInterval(sampler);
      await detector.stop();
      await reader.stop();
    }
  }

  it('holds a partition that runs ahead until the others catch up: same flags, in event-time order within the bound', async () => {
    const aligned = await run('align-on', ALIGN_MS);
    expect(aligned.arrived.map((f) => f.flagId).sort()).toEqual(aligned.expected);
    expect(aligned.mostPaused).toBeGreaterThan(0);
    expect(aligned.pausedAtEnd).toBe(true); // nothing left paused once the backlog is done
    // The bound, plus a batch of a sparse partition (2.5 min here) or two, never the whole two hours.
    const inversion = worstInversionMs(aligned.arrived);
    expect(inversion).toBeLessThanOrEqual(ALIGN_MS + 15 * MIN);

    // The same backlog with alignment off (0): the sparse partitions run hours ahead. This is what the test
    // catches should alignment stop working.
    const unaligned = await run('align-off', 0);
    expect(unaligned.arrived.map((f) => f.flagId).sort()).toEqual(unaligned.expected);
    expect(unaligned.mostPaused).toBe(0);
    expect(worstInversionMs(unaligned.arrived)).toBeGreaterThan(60 * MIN);
    console.log(
      `alignment: worst flag inversion ${Math.round(inversion / 1000)} s with a ${ALIGN_MS / 1000} s bound, ` +
        `${Math.round(worstInversionMs(unaligned.arrived) / 1000)} s without`,
    );
  });
});
