import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors';
import type { Redis } from '../redis';

/**
 * A replay's Redis namespace. Every key Bulwark writes is `<prefix>:<rest>` (libs/keys), so a namespace owns
 * exactly the keys starting with `<namespace>:`. A replay may only run in a namespace of its own: never the
 * live one (BULWARK_KEY_PREFIX), never one that overlaps it, never one that already holds keys (a kept or a
 * running replay's: sharing it would turn every event into a silent duplicate). Clean-up deletes only
 * `<namespace>:*`, so `X` never touches `Xy:...`.
 */

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The claim a running replay holds on its namespace (SET NX): two replays can never share one. */
export function claimKey(namespace: string): string {
  return `${namespace}:replay:claim`;
}

/** Why `namespace` may not be used next to the live prefix, or undefined when it may. Pure: no Redis. */
export function namespaceProblem(namespace: string, livePrefix: string): string | undefined {
  if (!NAME.test(namespace)) return 'must be 1-64 characters of A-Z a-z 0-9 _ . : -';
  if (namespace === livePrefix) return `is the live key prefix (BULWARK_KEY_PREFIX=${livePrefix})`;
  if (namespace.includes(livePrefix))
    return `contains the live key prefix (BULWARK_KEY_PREFIX=${livePrefix}); choose a name without it`;
  if (livePrefix.includes(namespace))
    return `is part of the live key prefix (BULWARK_KEY_PREFIX=${livePrefix}); choose a name without it`;
  return undefined;
}

/** A fresh random namespace that passes `namespaceProblem` for this live prefix. */
export function randomNamespace(livePrefix: string): string {
  for (let i = 0; ; i++) {
    const name =
      i === 0
        ? `replay-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`
        : `r${randomBytes(8).toString('hex')}`;
    if (namespaceProblem(name, livePrefix) === undefined || i >= 50) return name;
  }
}

/** Redis MATCH pattern for the keys of `namespace` (glob characters escaped, the delimiter exact). */
function pattern(namespace: string): string {
  return `${namespace.replace(/[*?[\]\\]/g, '\\$&')}:*`;
}

async function* scanKeys(redis: Redis, namespace: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern(namespace), 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== '0');
}

export interface NamespaceClaim {
  namespace: string;
  /** Deletes every key under `<namespace>:` (what this replay wrote, the namespace having been empty). */
  release(opts: { keep: boolean }): Promise<number>;
}

/**
 * Takes `namespace` for one replay, or throws a ConfigError (one line) when it is live, overlaps the live
 * prefix, is held by another replay, or already holds keys. The claim is taken first (SET NX), so two
 * replays starting at once cannot both find the namespace empty.
 */
export async function claimNamespace(
  redis: Redis,
  namespace: string,
  livePrefix: string,
): Promise<NamespaceClaim> {
  const problem = namespaceProblem(namespace, livePrefix);
  if (problem) throw new ConfigError(`--namespace ${namespace} ${problem}`);
  const token = randomBytes(8).toString('hex');
  if ((await redis.set(claimKey(namespace), token, 'NX')) !== 'OK')
    throw new ConfigError(
      `--namespace ${namespace} is in use by another replay; choose a fresh one (or omit --namespace)`,
    );
  for await (const keys of scanKeys(redis, namespace)) {
    if (keys.some((k) => k !== claimKey(namespace))) {
      await redis.del(claimKey(namespace));
      throw new ConfigError(
        `--namespace ${namespace} already holds keys (a kept replay's?); choose a fresh one (or omit --namespace)`,
      );
    }
  }
  return {
    namespace,
    release: async ({ keep }) => {
      if (keep) {
        await redis.del(claimKey(namespace));
        return 0;
      }
      let deleted = 0;
      for await (const keys of scanKeys(redis, namespace)) deleted += await redis.unlink(...keys);
      return deleted;
    },
  };
}
