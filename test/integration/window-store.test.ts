import Redis, { Cluster } from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { MemoryWindowStore, StreamEngine, type Flag } from '../../libs/engine';
import { parseEvent, type BulwarkEvent } from '../../libs/events';
import { windowStoreIndexKeys } from '../../libs/keys';
import type { RedisLike } from '../../libs/redis';
import { loadReplayConfig } from '../../libs/replay/config';
import { simulate } from '../../libs/simulate';
import { redisStoreEngine } from '../helpers/engines';
import { cleanRedis, testRedis, uniquePrefix, waitFor } from '../helpers/env';
import { scriptedService, type ScriptedService } from '../helpers/secure-services';

jest.setTimeout(180_000);

/**
 * The Redis window store (libs/engine/store/redis-store.ts) on a standalone Redis and on a real 6-node
 * Redis Cluster (scripts/redis-cluster.sh): the flags of the memory store whatever the sharing, redelivery
 * or restarts, one round trip per node, keys laid out for the cluster, and a master failover mid-stream
 * that loses and doubles nothing.
 */
/** The shipped rules: all six kinds. */
const RULES = loadReplayConfig(undefined).rules;
const BATCH = 150;

/** A simulated day of 300 users with an attack, late MFAs and duplicates: three rule kinds fire (mfa-missing, cooldown, velocity). */
function day(seed: number): BulwarkEvent[] {
  const out: BulwarkEvent[] = [];
  for (const line of simulate({
    seed,
    users: 300,
    start: '2022-02-01T00:00:00.000Z',
    durationMs: 86_400_000,
    withdrawalsPerUserPerDay: 3,
    attack: { at: '2022-02-01T15:00:00.000Z', users: 25, durationMs: 15 * 60_000, freshAddressShare: 0.5 },
    lateMfaShare: 0.15,
    duplicateShare: 0.02,
  })) {
    const p = parseEvent(line);
    if (p.kind === 'valid') out.push(p.event);
  }
  return out;
}

interface EngineLike {
  applyBatch: StreamEngine['applyBatch'];
  closeDue: StreamEngine['closeDue'];
  ackFlags: StreamEngine['ackFlags'];
}

/**
 * Feeds `events` in batches, each by the next engine of `engines` in turn, closing what the newest event
 * time allows after each; a batch whose call fails is applied again, as Kafka redelivers it. Returns the
 * flags in the order received (each acked at once) and how many calls failed.
 */
async function feed(
  engines: EngineLike[],
  events: BulwarkEvent[],
  between?: (batch: number) => Promise<void>,
) {
  const flags: Flag[] = [];
  let failed = 0;
  let watermark = -Infinity;
  const again = async <T>(op: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        if (attempt >= 50) throw err;
        failed++;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  for (let i = 0, b = 0; i < events.length; i += BATCH, b++) {
    await between?.(b);
    const engine = engines[b % engines.length]!;
    const batch = events.slice(i, i + BATCH);
    for (const e of batch) watermark = Math.max(watermark, e.occurredAtMs);
    const res = await again(() => engine.applyBatch(batch.map((event) => ({ event, source: 'test' }))));
    const closed = await again(() => engine.closeDue(watermark - RULES.graceMs));
    await again(() => engine.ackFlags([...res.flags, ...closed]));
    flags.push(...res.flags, ...closed);
  }
  const last = engines[0]!;
  const rest = await again(() => last.closeDue(Number.MAX_SAFE_INTEGER));
  await again(() => last.ackFlags(rest));
  flags.push(...rest);
  return { flags, failed };
}

const byId = (flags: Flag[]) => [...flags].sort((a, b) => a.flagId.localeCompare(b.flagId));

/** The reference: the same stream on the memory store. */
async function memoryFlags(events: BulwarkEvent[]): Promise<Flag[]> {
  return byId((await feed([new StreamEngine(new MemoryWindowStore(), RULES)], events)).flags);
}

/** Counts the pipelines a client sends (a round trip each, to one node). */
function counting(redis: RedisLike): { client: RedisLike; pipelines: () => number } {
  let n = 0;
  const client = new Proxy(redis, {
    get(target, prop, receiver) {
      if (prop !== 'pipeline') return Reflect.get(target, prop, receiver) as unknown;
      return (): ChainableCommander => {
        n++;
        return target.pipeline();
      };
    },
  });
  return { client, pipelines: () => n };
}

let cluster: ScriptedService;
const standalone = testRedis();
let clusterClient: Cluster;

beforeAll(async () => {
  cluster = await scriptedService('redis-cluster.sh', '.cache/redis-cluster/env', 60_000);
  const nodes = cluster.env.REDIS_CLUSTER_NODES!.split(',').map((hp) => {
    const [host, port] = hp.split(':');
    return { host: host!, port: Number(port) };
  });
  clusterClient = new Cluster(nodes, { redisOptions: { commandTimeout: 5000 } });
  await waitFor(async () => (await clusterClient.cluster('INFO')).includes('cluster_state:ok'), 30_000);
  // Replicas attach after the cluster reports ok; the failover test needs each shard's replica listed.
  await waitFor(async () => {
    const shards = (await clusterClient.cluster('SLOTS')) as unknown[][];
    return shards.length >= 3 && shards.every((shard) => shard.length >= 4);
  }, 60_000);
});

const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await cleanRedis(standalone, p);
  clusterClient?.disconnect();
  standalone.disconnect();
  await cluster?.stop();
});
const fresh = (label: string) => {
  const p = uniquePrefix(label);
  prefixes.push(p);
  return p;
};

describe.each([
  ['standalone Redis', () => standalone as RedisLike, 1],
  ['a 6-node Redis Cluster', () => clusterClient as RedisLike, 3],
] as const)('the Redis window store on %s', (_name, client, masters) => {
  const events = day(11);
  let reference: Flag[];
  beforeAll(async () => {
    reference = await memoryFlags(events);
    expect(new Set(reference.map((f) => f.ruleId)).size).toBeGreaterThanOrEqual(3);
  });

  it('raises the memory store’s flags, each once, with three instances sharing the state', async () => {
    const prefix = fresh('ws-share');
    const engines = [0, 1, 2].map(() => redisStoreEngine(client(), prefix, RULES));
    const { flags } = await feed(engines, events);
    expect(new Set(flags.map((f) => f.flagId)).size).toBe(flags.length);
    expect(byId(flags)).toEqual(reference);
  });

  it('a redelivered stream changes nothing, and a restart hands back what was not acked', async () => {
    const prefix = fresh('ws-redeliver');
    const a = redisStoreEngine(client(), prefix, RULES);
    await feed([a], events);
    // The whole stream again, as after a crash before any offset commit: every event a duplicate.
    const again = redisStoreEngine(client(), prefix, RULES);
    const res = await again.applyBatch(events.map((event) => ({ event, source: 'test' })));
    expect(new Set(res.outcomes)).toEqual(new Set(['duplicate']));
    expect(res.flags).toEqual([]);
    expect(await again.closeDue(Number.MAX_SAFE_INTEGER)).toEqual([]);
    // Flags raised and not acked before a "crash" come back from a new instance, once.
    const approvals = day(12).filter((e) => e.type === 'withdrawal.approved');
    const raised = (await a.applyBatch(approvals.map((event) => ({ event, source: 'test' })))).flags;
    const closed = await a.closeDue(Number.MAX_SAFE_INTEGER);
    expect(raised.length + closed.length).toBeGreaterThan(0);
    const restarted = redisStoreEngine(client(), prefix, RULES);
    expect(byId(await restarted.unackedFlags())).toEqual(byId([...raised, ...closed]));
    await restarted.ackFlags(await restarted.unackedFlags());
    expect(await restarted.unackedFlags()).toEqual([]);
    // Index entries the first instance settled but had not yet removed are stale, and cleared by a close.
    expect(await restarted.closeDue(Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect(await restarted.pendingCount()).toBe(0);
  });

  it('a batch of users it has written costs one pipeline per node', async () => {
    const prefix = fresh('ws-trips');
    const { client: counted, pipelines } = counting(client());
    const engine = redisStoreEngine(counted, prefix, RULES);
    const logins = events.filter((e) => e.type === 'login.succeeded').slice(0, 200);
    await engine.applyBatch(logins.map((event) => ({ event, source: 'test' })));
    const before = pipelines();
    // The same users again: their state is known, so the batch is one write per node, no read.
    const later = logins.map((e, i) => ({ ...e, eventId: `again-${i}`, occurredAtMs: e.occurredAtMs + 1 }));
    await engine.applyBatch(later.map((event) => ({ event, source: 'test' })));
    expect(pipelines() - before).toBeLessThanOrEqual(masters);
    expect(pipelines() - before).toBeGreaterThan(0);
  });

  it('keeps each user under the user’s hash tag, and two index keys', async () => {
    const prefix = fresh('ws-keys');
    await feed([redisStoreEngine(client(), prefix, RULES)], events.slice(0, 600));
    const keys = new Set<string>();
    const masterNodes = client() instanceof Cluster ? (client() as Cluster).nodes('master') : [client()];
    for (const node of masterNodes) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        for (const k of found) keys.add(k);
      } while (cursor !== '0');
    }
    const index = windowStoreIndexKeys(prefix);
    const users = new Set(events.slice(0, 600).map((e) => e.userId));
    const expected = new Set([...users].map((u) => `${prefix}:{u:${u}}:st`));
    for (const k of keys) if (k !== index.pending && k !== index.unacked) expect(expected).toContain(k);
    expect([...keys].filter((k) => k.endsWith(':st')).length).toBe(users.size);
  });
});

describe('a master failover in the middle of a stream', () => {
  it('loses nothing and doubles nothing', async () => {
    const events = day(13);
    const reference = await memoryFlags(events);
    const prefix = uniquePrefix('ws-failover');
    const engines = [
      redisStoreEngine(clusterClient, prefix, RULES),
      redisStoreEngine(clusterClient, prefix, RULES),
    ];
    // The replica of the master holding the pending index: the failover moves users and the index.
    const indexSlot = Number(await clusterClient.cluster('KEYSLOT', windowStoreIndexKeys(prefix).pending));
    const half = Math.floor(events.length / BATCH / 2);
    let promoted: { host: string; port: number } | undefined;
    const { flags } = await feed(engines, events, async (b) => {
      if (b !== half) return;
      const shards = await clusterClient.cluster('SLOTS');
      const shard = shards.find(([from, to]) => from <= indexSlot && indexSlot <= to)!;
      const replica = shard[3]!;
      promoted = { host: replica[0], port: replica[1] };
      const node = new Redis({ host: replica[0], port: replica[1] });
      try {
        expect(await node.cluster('FAILOVER')).toBe('OK');
        await waitFor(async () => ((await node.role()) as [string])[0] === 'master', 30_000);
      } finally {
        node.disconnect();
      }
    });
    expect(promoted).toBeDefined();
    expect(new Set(flags.map((f) => f.flagId)).size).toBe(flags.length);
    expect(byId(flags)).toEqual(reference);
  });
});

describe('a node failing its share of a commit on the cluster', () => {
  it('never leaves a raised flag that no index names', async () => {
    const prefix = uniquePrefix('ws-partial');
    const index = windowStoreIndexKeys(prefix);
    // Fails, once, the pipeline that adds an unacked flag to the index; the other nodes' pipelines run.
    let armed = false;
    let injected = 0;
    const faulty = new Proxy(clusterClient, {
      get(target, prop, receiver) {
        if (prop !== 'pipeline') return Reflect.get(target, prop, receiver) as unknown;
        return (): ChainableCommander => {
          const p = target.pipeline();
          let flagsIndexed = false;
          const zadd = p.zadd.bind(p) as (...args: unknown[]) => ChainableCommander;
          (p as unknown as { zadd: unknown }).zadd = (key: string, ...rest: unknown[]) => {
            if (key === index.unacked) flagsIndexed = true;
            return zadd(key, ...rest);
          };
          const exec = p.exec.bind(p);
          p.exec = (async () => {
            if (armed && flagsIndexed) {
              armed = false;
              injected++;
              p.discard?.();
              throw new Error('injected: node unreachable');
            }
            return exec();
          }) as typeof p.exec;
          return p;
        };
      },
    });
    const engine = redisStoreEngine(faulty, prefix, RULES);
    const events = day(14);
    const approvals = events.filter((e) => e.type === 'withdrawal.approved');
    const res = await engine.applyBatch(approvals.map((event) => ({ event, source: 'test' })));
    await engine.ackFlags(res.flags);
    // Every approval waits for its grace: the close raises the MFA flags, and its commit is cut in half.
    armed = true;
    await expect(engine.closeDue(Number.MAX_SAFE_INTEGER)).rejects.toThrow(/injected/);
    expect(injected).toBe(1);
    const retried = await engine.closeDue(Number.MAX_SAFE_INTEGER);
    const restarted = redisStoreEngine(clusterClient, prefix, RULES);
    const recovered = [...retried, ...(await restarted.unackedFlags())];
    const expected = (await memoryFlags(approvals)).filter(
      (f) => !res.flags.some((r) => r.flagId === f.flagId),
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(new Set(recovered.map((f) => f.flagId))).toEqual(new Set(expected.map((f) => f.flagId)));
  });
});
