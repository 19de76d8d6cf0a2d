import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadReplayConfig } from '../../libs/replay/config';
import { replayInProcess } from '../../libs/replay/in-process';
import { openLog, readLines } from '../../libs/replay/lines';
import type { ReplayReport } from '../../libs/replay/report';
import { simulate, type SimulateOptions } from '../../libs/simulate';
import { provisionTopics, realStack } from '../helpers/env';
import { configFile, startReplayStack } from '../helpers/replay-stack';

jest.setTimeout(400000);

/**
 * Issue 13's backlog test: an incident published through Kafka as one backlog after an outage, with one
 * partition's events landing last (after all the others), into a live detector and breaker. The breaker
 * counts flags in event-time order across the flag topic's partitions (held until the detector's flag
 * watermark passes them), so it trips at the same crossing as in-process and the halt takes effect within
 * the grace period plus 5 s of event time of the in-process halt, with the same flags.
 */
const INCIDENT: SimulateOptions = {
  seed: 1301,
  users: 800,
  start: '2022-01-16T16:00:00.000Z',
  durationMs: 9 * 3_600_000,
  withdrawalsPerUserPerDay: 3,
  attack: { at: '2022-01-17T00:00:00.000Z', users: 60, durationMs: 10 * 60_000, freshAddressShare: 0.7 },
  lateMfaShare: 0.05,
};
const PARTITIONS = 3;
const LAST = 2;

/** FNV-1a: a user's partition, the same on both input topics. */
function partitionOf(userId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) h = Math.imul(h ^ userId.charCodeAt(i), 0x01000193) >>> 0;
  return h % PARTITIONS;
}

const userOf = (line: string): string | undefined => {
  try {
    const v = JSON.parse(line) as { userId?: unknown };
    return typeof v.userId === 'string' ? v.userId : undefined;
  } catch {
    return undefined;
  }
};

const firstHalt = (r: ReplayReport) => r.breaker.find((b) => b.scope === 'global' && b.state === 'halted');

describe('breaker: event-time order across flag partitions after a skewed backlog', () => {
  const { kafka, redis, fresh } = realStack();
  const config = loadReplayConfig(configFile('event-time-order', 'idleTimeoutMs: 1000\n'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-order-'));
  const inOrder = path.join(dir, 'incident.jsonl');
  const skewed = path.join(dir, 'skewed.jsonl');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  beforeAll(() => {
    const lines = [...simulate(INCIDENT)];
    fs.writeFileSync(inOrder, lines.join('\n') + '\n');
    // One partition's events last: the backlog of one upstream shard that came back after the others.
    const early = lines.filter((l) => partitionOf(userOf(l) ?? '') !== LAST);
    const late = lines.filter((l) => partitionOf(userOf(l) ?? '') === LAST);
    fs.writeFileSync(skewed, [...early, ...late].join('\n') + '\n');
  });

  async function throughKafka(label: string, breakerEnv: Record<string, string> = {}) {
    const prefix = fresh(label);
    const topics = await provisionTopics(kafka, prefix);
    const stack = await startReplayStack(prefix, { kafka, redis, topics, config, breakerEnv });
    try {
      return await stack.replay(skewed, Infinity, {
        timeoutMs: 300_000,
        sliceLines: 0,
        partitionFor: partitionOf,
      });
    } finally {
      await stack.stop();
    }
  }

  it('same flags as in-process, and the halt within grace + 5 s of event time of the in-process halt', async () => {
    const reference = (
      await replayInProcess(readLines(await openLog(inOrder)), {
        redis,
        rules: config.rules,
        breaker: config.breaker,
      })
    ).report;
    const refHalt = firstHalt(reference);
    expect(refHalt).toBeDefined();

    const live = await throughKafka('order-on');
    expect(live.flags).toEqual(reference.flags);
    const halt = firstHalt(live);
    expect(halt).toBeDefined();
    const lateMs = Date.parse(halt!.at) - Date.parse(refHalt!.at);
    console.log(
      `skewed backlog: in-process halt at ${refHalt!.at} (crossed ${refHalt!.crossedAt}), ` +
        `live ${halt!.at} (crossed ${halt!.crossedAt}): ${lateMs / 1000} s later`,
    );
    expect(Math.abs(lateMs)).toBeLessThanOrEqual(config.rules.graceMs + 5000);
    expect(halt!.crossedAt).toBe(refHalt!.crossedAt);

    // The same backlog with ordering off (flags counted as they arrive): what the test catches should the
    // ordering stop working.
    const unordered = await throughKafka('order-off', { BULWARK_FLAG_ORDER_MAX_HOLD_MS: '0' });
    expect(unordered.flags).toEqual(reference.flags);
    const offHalt = firstHalt(unordered);
    console.log(
      `ordering off: halt at ${offHalt?.at} (crossed ${offHalt?.crossedAt}), ` +
        `${(Date.parse(offHalt!.at) - Date.parse(refHalt!.at)) / 1000} s after in-process`,
    );
    // Seen 74 s and 140 s late, at later crossings: the skew is real, and the ordering is what removes it.
    expect(Date.parse(offHalt!.at)).toBeGreaterThan(Date.parse(halt!.at));
  });
});
