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

/**
 * Runs commands in one pipeline per Redis node, all nodes at once: one round trip on a standalone Redis
 * and one per node on a cluster. Commands keep their order on each node. Returns [error, reply] per
 * command, in the order given (an error is one command's, for the caller to judge).
 */
export async function execByNode(
  redis: RedisLike,
  commands: readonly KeyedCommand[],
): Promise<[Error | null, unknown][]> {
  const groups = new Map<string, number[]>();
  if (redis instanceof Cluster) {
    for (let i = 0; i < commands.length; i++) {
      const slot = calculateSlot(commands[i]!.key);
      // Slots not known yet (a cluster still connecting): one pipeline per slot, which ioredis routes.
      const node = redis.slots[slot]?.join(',') ?? `slot:${slot}`;
      const g = groups.get(node);
      if (g) g.push(i);
      else groups.set(node, [i]);
    }
  } else if (commands.length > 0)
    groups.set(
      '',
      commands.map((_c, i) => i),
    );
  const out = new Array<[Error | null, unknown]>(commands.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const pipeline = redis.pipeline();
      for (const i of indexes) commands[i]!.queue(pipeline);
      const results = await pipeline.exec();
      if (!results || results.length !== indexes.length) throw new Error('pipeline was discarded');
      indexes.forEach((i, j) => (out[i] = results[j]!));
    }),
  );
  return out;
}
