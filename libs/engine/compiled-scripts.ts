import { createHash } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import { loadScriptDir, type Redis } from '../redis';

/**
 * The engine's Lua scripts with the compiled rules baked in: each script that reads `SPEC` gets a first
 * line `local SPEC = { ... }` (a Lua table constructor built from the rules config) before it is
 * loaded. Passing the same spec as an argument on every call would cost a cjson.decode in Redis and a
 * few hundred bytes on the wire per event; baked in, it is a constant. Scripts are addressed by the SHA1 of
 * their final text, so engines with different rules sharing one Redis never collide.
 */

type LuaValue = number | string | boolean | null | LuaValue[] | { [key: string]: LuaValue };

/** A Lua literal for `value`: a number, a string with every byte outside printable ASCII escaped, a table. */
export function luaLiteral(value: LuaValue): string {
  if (value === null) return 'false';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot bake ${value} into Lua`);
    return Number.isInteger(value) ? value.toFixed(0) : String(value);
  }
  if (typeof value === 'string') {
    let out = '"';
    for (const byte of Buffer.from(value, 'utf8')) {
      out +=
        byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c
          ? String.fromCharCode(byte)
          : `\\${byte}`;
    }
    return `${out}"`;
  }
  if (Array.isArray(value)) return `{${value.map(luaLiteral).join(', ')}}`;
  const fields = Object.entries(value).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`Lua table key ${k} must be an identifier`);
    return `${k} = ${luaLiteral(v)}`;
  });
  return `{${fields.join(', ')}}`;
}

export type Spec = { [key: string]: LuaValue };

interface Compiled {
  numberOfKeys: number;
  lua: string;
  sha: string;
}

type Arg = string | number;

/** True for Redis's "this script is not in my cache" error (a restart or SCRIPT FLUSH). */
export function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.includes('NOSCRIPT');
}

/**
 * The scripts of one folder, each with its spec (if any) baked in, called by plain EVALSHA: cheaper per
 * call than ioredis custom commands, which matters at tens of thousands of calls a second. `load()` puts
 * them in Redis's script cache; a caller that meets NOSCRIPT loads again and retries (scripts are
 * idempotent).
 */
export class CompiledScripts<Name extends string> {
  private readonly byName = new Map<string, Compiled>();

  constructor(dir: string, specs: Partial<Record<Name, Spec>>, only?: readonly Name[]) {
    for (const def of loadScriptDir(dir)) {
      if (only && !only.includes(def.name as Name)) continue;
      const spec = specs[def.name as Name];
      const lua = spec ? `local SPEC = ${luaLiteral(spec)}\n${def.lua}` : def.lua;
      const sha = createHash('sha1').update(lua).digest('hex');
      this.byName.set(def.name, { numberOfKeys: def.numberOfKeys, lua, sha });
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

  /** Queues one call on a pipeline. */
  queue(pipeline: ChainableCommander, name: Name, keys: string[], args: Arg[]): void {
    const c = this.get(name, keys);
    pipeline.evalsha(c.sha, c.numberOfKeys, ...keys, ...args);
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
