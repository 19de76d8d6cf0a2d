import { createHash } from 'node:crypto';
import { loadScriptDir, type Redis } from '../redis';

interface Compiled {
  numberOfKeys: number;
  lua: string;
  sha: string;
}

type Arg = string | number;

/** True for Redis's "this script is not in my cache" error (a restart or SCRIPT FLUSH). */
function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.includes('NOSCRIPT');
}

/**
 * The scripts of one folder (`<camelName>-<numberOfKeys>.lua`, includes resolved by loadScriptDir), called
 * by plain EVALSHA of the SHA1 of their text, so two versions sharing one Redis never collide. A call that
 * meets NOSCRIPT (Redis restarted, SCRIPT FLUSH) loads the scripts and runs again; the scripts are
 * idempotent.
 */
export class CompiledScripts<Name extends string> {
  private readonly byName = new Map<string, Compiled>();

  /** `only`: the scripts of the folder this caller runs (the others are not loaded). */
  constructor(dir: string, only?: readonly Name[]) {
    for (const def of loadScriptDir(dir)) {
      if (only && !only.includes(def.name as Name)) continue;
      const sha = createHash('sha1').update(def.lua).digest('hex');
      this.byName.set(def.name, { numberOfKeys: def.numberOfKeys, lua: def.lua, sha });
    }
  }

  /** Loads every script into Redis's script cache (SCRIPT LOAD is idempotent). */
  async load(redis: Redis): Promise<void> {
    await Promise.all([...this.byName.values()].map((c) => redis.script('LOAD', c.lua)));
  }

  private get(name: Name, keys: string[]): Compiled {
    const c = this.byName.get(name);
    if (!c) throw new Error(`no Lua script named ${name}`);
    if (keys.length !== c.numberOfKeys)
      throw new Error(`script ${name} takes ${c.numberOfKeys} keys, got ${keys.length}`);
    return c;
  }

  /** Runs one call now, loading the scripts once if Redis has lost them. */
  async run<T>(redis: Redis, name: Name, keys: string[], args: Arg[]): Promise<T> {
    const c = this.get(name, keys);
    try {
      return (await redis.evalsha(c.sha, c.numberOfKeys, ...keys, ...args)) as T;
    } catch (err) {
      if (!isNoScript(err)) throw err;
      await this.load(redis);
      return (await redis.evalsha(c.sha, c.numberOfKeys, ...keys, ...args)) as T;
    }
  }
}
