import calculateSlot from 'cluster-key-slot';
import { Cluster, type ChainableCommander } from 'ioredis';
import type { Redis } from './client';

/** A standalone Redis or a Redis Cluster: the window store runs on either. */
export type RedisLike = Redis | Cluster;

/** One command on one key; `queue` adds exactly one command to the pipeline it is given. */
export interface KeyedCommand {
  key: string;
  queue: (pipeline: ChainableCommander) => void;
}

/** Redirections a cluster node answers instead of running the command: safe to send again. */
const REDIRECTED = /^MOVED /;
/** How many times commands a node redirected are sent again, each after the slot map is re-read. */
const MAX_REDIRECTS = 5;

/**
 * Runs commands in one pipeline per Redis node, all nodes at once: one round trip on a standalone Redis
 * and one per node on a cluster. Commands keep their order on each node. Returns [error, reply] per
 * command, in the order given (an error is one command's, for the caller to judge).
 *
 * A command answered MOVED (a failover or resharding since the slot map was read) did not run: those are
 * sent again, in their order, once the map is re-read. ioredis does this only for a pipeline whose every
 * command moved to the same node.
 */
export async function execByNode(
  redis: RedisLike,
  commands: readonly KeyedCommand[],
): Promise<[Error | null, unknown][]> {
  const out = new Array<[Error | null, unknown]>(commands.length);
  let todo = commands.map((_c, i) => i);
  for (let redirects = 0; todo.length > 0; redirects++) {
    await sendByNode(redis, commands, todo, out);
    if (!(redis instanceof Cluster) || redirects >= MAX_REDIRECTS) break;
    todo = todo.filter((i) => REDIRECTED.test(out[i]![0]?.message ?? ''));
    if (todo.length > 0) await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
  }
  return out;
}

async function sendByNode(
  redis: RedisLike,
  commands: readonly KeyedCommand[],
  indexes: readonly number[],
  out: [Error | null, unknown][],
): Promise<void> {
  const groups = new Map<string, number[]>();
  if (redis instanceof Cluster) {
    for (const i of indexes) {
      const slot = calculateSlot(commands[i]!.key);
      // Slots not known yet (a cluster still connecting): one pipeline per slot, which ioredis routes.
      const node = redis.slots[slot]?.join(',') ?? `slot:${slot}`;
      const g = groups.get(node);
      if (g) g.push(i);
      else groups.set(node, [i]);
    }
  } else if (indexes.length > 0) groups.set('', [...indexes]);
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const pipeline = redis.pipeline();
      for (const i of group) commands[i]!.queue(pipeline);
      const results = await pipeline.exec();
      if (!results || results.length !== group.length) throw new Error('pipeline was discarded');
      group.forEach((i, j) => (out[i] = results[j]!));
    }),
  );
}
