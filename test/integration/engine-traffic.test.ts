import type { BulwarkEvent } from '../../libs/events';
import { liveEngine, type Flag, type StreamEngine } from '../../libs/engine';
import { EventFactory, HOUR, MINUTE, ordinaryTraffic, sourced } from '../../libs/engine/synthetic-traffic';
import { parseRulesConfig } from '../../libs/rules';
import { cleanRedis, testRedis, uniquePrefix } from '../helpers/env';

/**
 * A mixed log: 3,000 users' ordinary withdrawals over two hours, a fifth of them with the MFA arriving late
 * (within the grace period), and a burst of 400 approvals without any MFA in 15 minutes. Every burst
 * approval must get mfa-missing and no ordinary one may, however the log is split across instances.
 */

const START = Date.parse('2022-01-16T23:00:00.000Z');
const BURST_AT = Date.parse('2022-01-17T00:00:00.000Z');
const BURST = 400;

const redis = testRedis();
const base = uniquePrefix('engine-traffic');
afterAll(async () => {
  await cleanRedis(redis, base);
  redis.disconnect();
}, 60_000);

function mixedLog(): { events: BulwarkEvent[]; burst: Set<string> } {
  const ordinary = ordinaryTraffic({
    users: 3000,
    startMs: START,
    durationMs: 2 * HOUR,
    withdrawalsPerUser: 1,
    lateMfaShare: 0.2,
    seed: 7,
  });
  const f = new EventFactory('attack');
  const burst = new Set<string>();
  const attack: BulwarkEvent[] = [];
  for (let i = 0; i < BURST; i++) {
    // Existing users, logged in by the attacker; half the approvals even claim MFA was verified.
    const userId = `user-${i * 7}`;
    const at = BURST_AT + Math.floor((i * 15 * MINUTE) / BURST);
    const withdrawalId = `attack-${i}`;
    burst.add(withdrawalId);
    attack.push(f.login(userId, at - MINUTE, `atk-${i}`, 'attacker'));
    attack.push(
      f.approved(userId, at, {
        withdrawalId,
        sessionId: `atk-${i}`,
        amountUsd: 20_000,
        mfaVerified: i % 2 === 0,
      }),
    );
  }
  // Arrival order: the ordinary log already is; attack events arrive when they happen.
  const events: BulwarkEvent[] = [];
  let j = 0;
  for (const e of ordinary) {
    while (j < attack.length && attack[j]!.occurredAtMs <= e.occurredAtMs) events.push(attack[j++]!);
    events.push(e);
  }
  events.push(...attack.slice(j));
  return { events, burst };
}

/** Batches of 500; after each, the watermark is the newest event time seen (one ordered stream). */
async function replay(engines: StreamEngine[], events: BulwarkEvent[]): Promise<Flag[]> {
  const flags: Flag[] = [];
  let watermark = -Infinity;
  for (let i = 0, b = 0; i < events.length; i += 500, b++) {
    const e = engines[b % engines.length]!;
    const batch = events.slice(i, i + 500);
    for (const ev of batch) watermark = Math.max(watermark, ev.occurredAtMs);
    const res = await e.applyBatch(sourced(batch));
    const closed = await e.closeDue(watermark);
    await e.ackFlags([...res.flags, ...closed]);
    flags.push(...res.flags, ...closed);
  }
  const rest = await engines[0]!.closeDue(Number.MAX_SAFE_INTEGER);
  await engines[0]!.ackFlags(rest);
  return [...flags, ...rest];
}

describe('mixed traffic with an attack burst', () => {
  const rules = parseRulesConfig({}, { loadLists: false, env: { BULWARK_SANCTIONS_DIR: __dirname } });
  const withoutSanctions = {
    ...rules,
    rules: rules.rules.filter((r) => r.kind !== 'sanctioned-destination'),
  };

  it('flags every burst approval with mfa-missing and no ordinary one, in one run and split over two instances', async () => {
    const { events, burst } = mixedLog();
    expect(events.length).toBeGreaterThan(15_000);
    const one = await replay([liveEngine({ redis, prefix: `${base}:1`, rules: withoutSanctions })], events);
    const mfaMissing = one.filter((f) => f.ruleId === 'mfa-missing').map((f) => f.withdrawalId);
    expect(new Set(mfaMissing)).toEqual(burst);
    expect(mfaMissing).toHaveLength(BURST);
    // Half the burst claimed no MFA: flagged at the approval itself; the rest when the grace ran out.
    const atOnce = one.filter((f) => f.ruleId === 'mfa-missing' && f.raisedAt === f.occurredAt).length;
    expect(atOnce).toBe(BURST / 2);

    const prefix = `${base}:2`;
    // Two instances on one state, as two detectors sharing one Redis.
    const pair = [
      liveEngine({ redis, prefix, rules: withoutSanctions }),
      liveEngine({ redis, prefix, rules: withoutSanctions }),
    ];
    const split = await replay(pair, events);
    const strip = (fs: Flag[]) => fs.map((f) => `${f.flagId}@${f.raisedAt}`).sort();
    expect(strip(split)).toEqual(strip(one));
  }, 120_000);
});
