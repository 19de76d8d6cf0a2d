import type { ChainableCommander } from 'ioredis';
import type { BulwarkEvent } from '../../libs/events';
import type { Flag } from '../../libs/engine';
import { EventFactory, MINUTE, sourced } from '../../libs/engine/synthetic-traffic';
import { windowStoreIndexKeys } from '../../libs/keys';
import { parseRulesConfig, type RulesConfig } from '../../libs/rules';
import { engineBackends, type Engine } from '../helpers/engines';
import { cleanRedis, testRedis, uniquePrefix } from '../helpers/env';

/**
 * mfa-missing end to end: windows, grace, claims, duplicates, restarts, crashes; on every store (the Redis
 * one against the real Redis).
 */

const T0 = Date.parse('2022-01-17T00:00:00.000Z');
const GRACE = 30_000;
const LOOKBACK = 10 * MINUTE;

const mfaOnly: RulesConfig = parseRulesConfig({ rules: [{ kind: 'mfa-missing' }] }, { loadLists: false });

const redis = testRedis();
/** One base prefix per file (one SCAN to clean up); each engine gets its own namespace under it. */
const base = uniquePrefix('engine');
let namespaces = 0;
afterAll(async () => {
  await cleanRedis(redis, base);
  redis.disconnect();
}, 60_000);

describe.each(engineBackends(redis))('$name', (backend) => {
  /** Tests that break the state in Redis, or the calls to it, for the store that keeps it there. */
  const skip = (() => undefined) as unknown as jest.It;
  const inRedis: jest.It = backend.pendingIndexKey && backend.createOn ? it : skip;

  function freshPrefix(): string {
    return `${base}:${++namespaces}`;
  }

  async function engineOn(prefix: string, cfg: RulesConfig = mfaOnly): Promise<Engine> {
    return backend.create(prefix, cfg);
  }

  async function freshEngine(cfg: RulesConfig = mfaOnly): Promise<Engine> {
    return engineOn(freshPrefix(), cfg);
  }

  const ids = (flags: Flag[]) => flags.map((f) => f.flagId).sort();

  /** Applies events, closes everything due at `closeAt`, acks, and returns every flag raised. */
  async function run(e: Engine, events: BulwarkEvent[], closeAt: number): Promise<Flag[]> {
    const applied = await e.applyBatch(sourced(events));
    const closed = await e.closeDue(closeAt);
    const all = [...applied.flags, ...closed];
    await e.ackFlags(all);
    return all;
  }

  describe('mfa-missing', () => {
    const f = new EventFactory('mm');
    const approval = (userId: string, at = T0) =>
      f.approved(userId, at, { withdrawalId: `w-${userId}`, sessionId: 's1' });

    it('flags an approval without MFA once the watermark passes occurredAt + grace, not before', async () => {
      const e = await freshEngine();
      const res = await e.applyBatch(sourced([approval('u1')]));
      expect(res).toEqual({ flags: [], outcomes: ['applied'] });
      expect(await e.pendingCount()).toBe(1);
      expect(await e.closeDue(T0 + GRACE - 1)).toEqual([]);
      const flags = await e.closeDue(T0 + GRACE);
      expect(flags).toHaveLength(1);
      expect(flags[0]).toMatchObject({
        flagId: 'mfa-missing:w-u1',
        ruleId: 'mfa-missing',
        severity: 'critical',
        userId: 'u1',
        withdrawalId: 'w-u1',
        occurredAt: '2022-01-17T00:00:00.000Z',
        raisedAt: '2022-01-17T00:00:30.000Z',
        asset: 'ETH',
        amountUsd: 4800.5,
      });
      expect(flags[0]!.evidence).toMatchObject({
        reason: 'no-mfa-in-window',
        sessionId: 's1',
        lastMfaForSession: null,
        lastMfaForUser: null,
        windowStart: '2022-01-16T23:50:00.000Z',
        windowEnd: '2022-01-17T00:00:30.000Z',
        claims: { factors: ['password', 'totp'], mfaVerified: true },
      });
      expect(await e.pendingCount()).toBe(0);
      expect(await e.closeDue(T0 + 10 * GRACE)).toEqual([]);
    });

    it('lookback: an MFA exactly 10 min before counts, 1 ms earlier does not', async () => {
      const e = await freshEngine();
      const inside = await run(e, [f.mfa('in', T0 - LOOKBACK, 's1'), approval('in')], T0 + GRACE);
      const outside = await run(e, [f.mfa('out', T0 - LOOKBACK - 1, 's1'), approval('out')], T0 + GRACE);
      expect(inside).toEqual([]);
      expect(ids(outside)).toEqual(['mfa-missing:w-out']);
      expect(outside[0]!.evidence).toMatchObject({
        lastMfaForSession: { atMs: T0 - LOOKBACK - 1, factor: 'totp' },
        lastMfaForUser: { atMs: T0 - LOOKBACK - 1, sessionId: 's1' },
      });
    });

    it('grace: an MFA up to 30 s after the approval counts, 1 ms later does not', async () => {
      const e = await freshEngine();
      const inside = await run(e, [approval('in'), f.mfa('in', T0 + GRACE, 's1')], T0 + GRACE);
      const outside = await run(e, [approval('out'), f.mfa('out', T0 + GRACE + 1, 's1')], T0 + GRACE + 1);
      expect(inside).toEqual([]);
      expect(ids(outside)).toEqual(['mfa-missing:w-out']);
      // The late MFA is in the evidence: it was seen, just after the grace period.
      expect(outside[0]!.evidence).toMatchObject({
        lastMfaForSession: { atMs: T0 + GRACE + 1 },
        lastMfaForUser: null,
      });
    });

    it('an MFA in another session of the same user does not count', async () => {
      const e = await freshEngine();
      const flags = await run(e, [f.mfa('u', T0 - MINUTE, 'other'), approval('u')], T0 + GRACE);
      expect(ids(flags)).toEqual(['mfa-missing:w-u']);
      expect(flags[0]!.evidence).toMatchObject({
        lastMfaForSession: null,
        lastMfaForUser: { sessionId: 'other', atMs: T0 - MINUTE },
      });
    });

    it('an MFA of another user in the same session id does not count', async () => {
      const e = await freshEngine();
      expect(ids(await run(e, [f.mfa('x', T0 - MINUTE, 's1'), approval('y')], T0 + GRACE))).toEqual([
        'mfa-missing:w-y',
      ]);
    });

    it('out of order within grace: the MFA arrives in a later batch but before the watermark passes -> no flag', async () => {
      const e = await freshEngine();
      await e.applyBatch(sourced([approval('u')]));
      expect(await e.closeDue(T0 + GRACE - 1)).toEqual([]);
      await e.applyBatch(sourced([f.mfa('u', T0 - MINUTE, 's1')]));
      expect(await e.closeDue(T0 + GRACE)).toEqual([]);
      expect(await e.pendingCount()).toBe(0);
    });

    it('out of order beyond grace: the MFA arrives after the decision -> the flag stands', async () => {
      const e = await freshEngine();
      await e.applyBatch(sourced([approval('u')]));
      const flags = await e.closeDue(T0 + GRACE);
      expect(ids(flags)).toEqual(['mfa-missing:w-u']);
      await e.ackFlags(flags);
      const late = await e.applyBatch(sourced([f.mfa('u', T0 - MINUTE, 's1')]));
      expect(late.flags).toEqual([]);
      expect(await e.closeDue(T0 + 100 * GRACE)).toEqual([]);
    });

    it('an auth stream hours ahead of the wallet stream does not trim the MFA a lagging approval needs', async () => {
      // Live, a partition can be read hours of event time ahead of another (a backlog, a slow partition).
      // The wallet stream (and so the watermark) is still at T0 when this user's auth events reach T0 + 12 h.
      const e = await freshEngine();
      const H = 3_600_000;
      const ahead = [f.mfa('lag', T0 - MINUTE, 's1')];
      for (let i = 1; i <= 12; i++) ahead.push(f.mfa('lag', T0 + i * H, `later-${i}`));
      for (const ev of ahead) await e.applyBatch(sourced([ev]), { watermarkMs: T0 - 2 * MINUTE });
      await e.applyBatch(sourced([approval('lag')]), { watermarkMs: T0 - 2 * MINUTE });
      expect(await e.closeDue(T0 + GRACE)).toEqual([]);
    });

    it('once the watermark has passed, old facts are trimmed (memory stays bounded per user)', async () => {
      const e = await freshEngine();
      const H = 3_600_000;
      const events = [f.mfa('trim', T0 - MINUTE, 's1')];
      for (let i = 1; i <= 12; i++) events.push(f.mfa('trim', T0 + i * H, `later-${i}`));
      for (const ev of events) await e.applyBatch(sourced([ev]), { watermarkMs: T0 + 12 * H });
      // The approval comes far too late (beyond retention behind the watermark): its MFA is gone.
      await e.applyBatch(sourced([approval('trim')]), { watermarkMs: T0 + 12 * H });
      expect(ids(await e.closeDue(T0 + GRACE))).toEqual(['mfa-missing:w-trim']);
    });

    it('an inline close decides at its place in the batch: a later MFA line no longer counts', async () => {
      const e = await freshEngine();
      const a = approval('inl');
      const ref = { userId: 'inl', eventId: a.eventId, withdrawalId: 'w-inl' };
      const mfaBefore = f.mfa('inl', T0 - MINUTE, 's1');
      // Line order: approval, (event time passes the due here), MFA. The decision must not see the MFA.
      const late = await e.applyBatch(sourced([a, mfaBefore]), {
        closes: [{ before: 1, watermarkMs: T0 + GRACE, refs: [ref] }],
      });
      expect(ids(late.flags)).toEqual(['mfa-missing:w-inl']);
      expect(late.outcomes).toEqual(['applied', 'applied']);
      expect(await e.pendingCount()).toBe(0);

      // The same lines with the close after the MFA: no flag, and nothing left pending.
      const e2 = await freshEngine();
      const ok = await e2.applyBatch(sourced([a, mfaBefore]), {
        closes: [{ before: 2, watermarkMs: T0 + GRACE, refs: [ref] }],
      });
      expect(ok.flags).toEqual([]);
      expect(await e2.pendingCount()).toBe(0);
      expect(await e2.unackedFlags()).toEqual([]);
    });

    it('claims of no MFA flag at once (raisedAt = occurredAt), with no second flag at the close', async () => {
      const e = await freshEngine();
      const notVerified = f.approved('a', T0, { withdrawalId: 'wa', sessionId: 's1', mfaVerified: false });
      const noFactor = f.approved('b', T0, { withdrawalId: 'wb', sessionId: 's1', factors: ['password'] });
      const res = await e.applyBatch(sourced([f.mfa('a', T0 - MINUTE, 's1'), notVerified, noFactor]));
      expect(ids(res.flags)).toEqual(['mfa-missing:wa', 'mfa-missing:wb']);
      const a = res.flags.find((x) => x.withdrawalId === 'wa')!;
      expect(a.raisedAt).toBe(a.occurredAt);
      expect(a.evidence).toMatchObject({ reason: 'mfa-not-verified', claims: { mfaVerified: false } });
      expect(res.flags.find((x) => x.withdrawalId === 'wb')!.evidence).toMatchObject({
        reason: 'no-second-factor',
      });
      await e.ackFlags(res.flags);
      // Nothing waits for the auth stream any more: no pending decision, nothing at the close.
      expect(await e.pendingCount()).toBe(0);
      expect(await e.closeDue(T0 + GRACE)).toEqual([]);
    });

    it('a withdrawal approved twice (two eventIds) gets one flag', async () => {
      const e = await freshEngine();
      const spec = { withdrawalId: 'w', sessionId: 's1' };
      const flags = await run(
        e,
        [f.approved('u', T0, spec), f.approved('u', T0 + 1000, spec)],
        T0 + 10 * GRACE,
      );
      expect(ids(flags)).toEqual(['mfa-missing:w']);
    });
  });

  describe('duplicates', () => {
    const f = new EventFactory('dup');

    it('in one batch: applied once, the repeat changes nothing and raises nothing new', async () => {
      const e = await freshEngine();
      const bad = f.approved('u', T0, { withdrawalId: 'w', sessionId: 's', mfaVerified: false });
      const mfa = f.mfa('v', T0 - MINUTE, 's');
      const res = await e.applyBatch(sourced([bad, bad, mfa, mfa]));
      expect(res.outcomes).toEqual(['applied', 'duplicate', 'applied', 'duplicate']);
      expect(ids(res.flags)).toEqual(['mfa-missing:w']);
    });

    it('across batches: a redelivered event is a duplicate; after ack it hands back nothing', async () => {
      const e = await freshEngine();
      const bad = f.approved('u', T0, { withdrawalId: 'w', sessionId: 's', mfaVerified: false });
      const first = await e.applyBatch(sourced([bad]));
      await e.ackFlags(first.flags);
      const again = await e.applyBatch(sourced([bad]));
      expect(again).toEqual({ flags: [], outcomes: ['duplicate'] });
    });

    it('a duplicate of an approval with no MFA changes nothing: one pending decision, one flag', async () => {
      const e = await freshEngine();
      const a = f.approved('u', T0, { withdrawalId: 'w', sessionId: 's' });
      await e.applyBatch(sourced([a]));
      expect((await e.applyBatch(sourced([a]))).outcomes).toEqual(['duplicate']);
      const flags = await e.closeDue(T0 + GRACE);
      expect(ids(flags)).toEqual(['mfa-missing:w']);
      await e.ackFlags(flags);
      expect((await e.applyBatch(sourced([a]))).flags).toEqual([]);
      expect(await e.closeDue(T0 + 2 * GRACE)).toEqual([]);
      expect(await e.pendingCount()).toBe(0);
    });

    it('a duplicate MFA does not add a second fact (its redelivery after a decision changes nothing)', async () => {
      const e = await freshEngine();
      const mfa = f.mfa('u', T0 - MINUTE, 's');
      const res = await e.applyBatch(
        sourced([mfa, f.approved('u', T0, { withdrawalId: 'w', sessionId: 's' }), mfa]),
      );
      expect(res.outcomes).toEqual(['applied', 'applied', 'duplicate']);
      expect(await e.closeDue(T0 + GRACE)).toEqual([]);
    });
  });

  describe('crash recovery', () => {
    const f = new EventFactory('crash');

    it('flags of applyBatch that were never acked come back when the event is redelivered', async () => {
      const prefix = freshPrefix();
      const a = await engineOn(prefix);
      const bad = f.approved('u', T0, { withdrawalId: 'w', sessionId: 's', mfaVerified: false });
      const mfa = f.mfa('u', T0, 's');
      const first = await a.applyBatch(sourced([bad, mfa]));
      expect(ids(first.flags)).toEqual(['mfa-missing:w']);
      // "Crash": no ack. A new instance gets the redelivered batch.
      const b = await engineOn(prefix);
      const again = await b.applyBatch(sourced([bad, mfa]));
      expect(again.outcomes).toEqual(['duplicate', 'duplicate']);
      expect(again.flags).toEqual(first.flags);
      await b.ackFlags(again.flags);
      expect((await b.applyBatch(sourced([bad]))).flags).toEqual([]);
    });

    it('flags of closeDue that were never acked come back from unackedFlags() on a new instance', async () => {
      const prefix = freshPrefix();
      const a = await engineOn(prefix);
      await a.applyBatch(
        sourced([
          f.approved('u1', T0, { withdrawalId: 'w1', sessionId: 's' }),
          f.approved('u2', T0 + 5, { withdrawalId: 'w2', sessionId: 's' }),
        ]),
      );
      await a.applyBatch(sourced([f.mfa('u2', T0, 's')]));
      const decided = await a.closeDue(T0 + GRACE + 5);
      expect(ids(decided)).toEqual(['mfa-missing:w1']);
      const b = await engineOn(prefix);
      const recovered = await b.unackedFlags();
      expect(recovered).toEqual(decided);
      await b.ackFlags(recovered);
      expect(await b.unackedFlags()).toEqual([]);
      expect(await a.unackedFlags()).toEqual([]);
    });

    inRedis(
      'a crash while closeDue writes its decision (the write done, its reply never read) loses no flag',
      async () => {
        const prefix = freshPrefix();
        const a = await engineOn(prefix);
        await a.applyBatch(sourced([f.approved('u', T0, { withdrawalId: 'w', sessionId: 's' })]));
        // An instance whose process "dies" in closeDue's commit: the pipeline that registers the raised flag
        // in the unacked index (with the user's state write) reaches Redis and runs, and then the process is
        // gone: that call rejects before the engine sees its replies, and so does every later one. The flag
        // was decided and written, never handed to the caller, never produced.
        const unacked = windowStoreIndexKeys(prefix).unacked;
        let dead = false;
        let wrote = false;
        const dying = new Proxy(redis, {
          get(target, prop, receiver) {
            if (prop !== 'pipeline') return Reflect.get(target, prop, receiver) as unknown;
            return (): ChainableCommander => {
              const p = target.pipeline();
              let flagIndexed = false;
              const zadd = p.zadd.bind(p) as (...args: unknown[]) => ChainableCommander;
              (p as unknown as { zadd: unknown }).zadd = (key: string, ...rest: unknown[]) => {
                if (key === unacked) flagIndexed = true;
                return zadd(key, ...rest);
              };
              const exec = p.exec.bind(p);
              p.exec = (async () => {
                if (dead) throw new Error('process died');
                const replies = await exec();
                if (flagIndexed) {
                  wrote = true;
                  dead = true;
                  throw new Error('process died');
                }
                return replies;
              }) as typeof p.exec;
              return p;
            };
          },
        });
        const crashing = await backend.createOn!(dying, prefix, mfaOnly);
        await expect(crashing.closeDue(T0 + GRACE)).rejects.toThrow('process died');
        expect(wrote).toBe(true);
        // The restarted instance finds the decided flag, and deciding again raises nothing new.
        const b = await engineOn(prefix);
        const recovered = await b.unackedFlags();
        expect(ids(recovered)).toEqual(['mfa-missing:w']);
        expect(recovered[0]!.raisedAt).toBe(new Date(T0 + GRACE).toISOString());
        expect(await b.closeDue(T0 + GRACE)).toEqual([]);
        await b.ackFlags(recovered);
        expect(await b.unackedFlags()).toEqual([]);
        expect(await b.pendingCount()).toBe(0);
      },
    );

    inRedis('a pending-index entry lost in a crash is restored by the redelivered approval', async () => {
      const prefix = freshPrefix();
      const a = await engineOn(prefix);
      const approval = f.approved('u', T0, { withdrawalId: 'w', sessionId: 's' });
      await a.applyBatch(sourced([approval]));
      // Simulate the crash between the state write and the index write.
      await redis.del(backend.pendingIndexKey!(prefix));
      expect(await a.closeDue(T0 + GRACE)).toEqual([]);
      const b = await engineOn(prefix);
      expect((await b.applyBatch(sourced([approval]))).outcomes).toEqual(['duplicate']);
      expect(ids(await b.closeDue(T0 + GRACE))).toEqual(['mfa-missing:w']);
    });
  });

  describe('same flags however the work is split', () => {
    /** 40 users: half with an MFA in the window, some late within grace, some in another session, some claims. */
    function scenario(): BulwarkEvent[] {
      const f = new EventFactory('det');
      const events: BulwarkEvent[] = [];
      for (let i = 0; i < 40; i++) {
        const u = `user-${i}`;
        const at = T0 + i * 7_000;
        const spec = { withdrawalId: `w${i}`, sessionId: `s${i}`, mfaVerified: i % 9 !== 0 };
        if (i % 4 === 0) events.push(f.mfa(u, at - MINUTE, `s${i}`), f.approved(u, at, spec));
        else if (i % 4 === 1) events.push(f.approved(u, at, spec), f.mfa(u, at + 10_000, `s${i}`));
        else if (i % 4 === 2) events.push(f.mfa(u, at - MINUTE, 'elsewhere'), f.approved(u, at, spec));
        else events.push(f.approved(u, at, spec));
      }
      return events;
    }

    /** Feeds batches of 7; after each, closes everything the batch's newest event time allows. */
    async function feed(engines: Engine[], events: BulwarkEvent[], restartAfter?: number, prefix?: string) {
      const flags: Flag[] = [];
      let watermark = -Infinity;
      let pool = engines;
      for (let i = 0, b = 0; i < events.length; i += 7, b++) {
        if (restartAfter !== undefined && b === restartAfter) pool = [await engineOn(prefix!)];
        const e = pool[b % pool.length]!;
        const batch = events.slice(i, i + 7);
        for (const ev of batch) watermark = Math.max(watermark, ev.occurredAtMs);
        const res = await e.applyBatch(sourced(batch));
        // Close with the *other* instance where there are two, to share the load both ways.
        const closer = pool[(b + 1) % pool.length]!;
        const closed = await closer.closeDue(watermark - GRACE);
        await e.ackFlags(res.flags);
        await closer.ackFlags(closed);
        flags.push(...res.flags, ...closed);
      }
      const last = pool[0]!;
      const rest = await last.closeDue(Number.MAX_SAFE_INTEGER);
      await last.ackFlags(rest);
      flags.push(...rest);
      return flags.map(({ evidence: _e, ...f }) => f).sort((a, b) => a.flagId.localeCompare(b.flagId));
    }

    it('one run, two runs with a restart between, and two instances alternating agree', async () => {
      const events = scenario();
      const one = await feed([await freshEngine()], events);
      const p2 = freshPrefix();
      const restarted = await feed([await engineOn(p2)], events, 3, p2);
      const p3 = freshPrefix();
      const split = await feed([await engineOn(p3), await engineOn(p3)], events);
      expect(one.length).toBeGreaterThan(10);
      expect(restarted).toEqual(one);
      expect(split).toEqual(one);
      // Expected: no-MFA users (i % 4 == 3) and other-session users (i % 4 == 2), plus every mfaVerified:false.
      const expected = [...Array(40).keys()]
        .filter((i) => i % 4 >= 2 || i % 9 === 0)
        .map((i) => `mfa-missing:w${i}`);
      expect(one.map((x) => x.flagId)).toEqual(expected.sort());
    });

    it('two instances closing the same decisions at once hand each flag to exactly one of them', async () => {
      const prefix = freshPrefix();
      const [a, b] = [await engineOn(prefix), await engineOn(prefix)];
      const f = new EventFactory('race');
      const events = [...Array(200).keys()].map((i) =>
        f.approved(`r${i}`, T0 + i, { withdrawalId: `w${i}`, sessionId: 's' }),
      );
      await a.applyBatch(sourced(events));
      const [fa, fb] = await Promise.all([a.closeDue(T0 + GRACE + 1000), b.closeDue(T0 + GRACE + 1000)]);
      const all = [...fa, ...fb].map((x) => x.flagId);
      expect(new Set(all).size).toBe(200);
      expect(all).toHaveLength(200);
      await a.ackFlags([...fa, ...fb]);
      expect(await a.unackedFlags()).toEqual([]);
    });
  });
});
