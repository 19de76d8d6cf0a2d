import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChainableCommander } from 'ioredis';
import type { RedisLike } from './by-node';

/**
 * Lua scripts live as files, one per command, named `<camelName>-<numberOfKeys>.lua` (after BullMQ);
 * shared Lua sits in `includes/` and is pulled in with a line `--- @include "name"`. Each script is
 * registered with ioredis `defineCommand` (EVALSHA with EVAL fallback) under a name carrying a hash of its
 * text, so two versions sharing one Redis never collide.
 */
export interface ScriptDef {
  name: string;
  numberOfKeys: number;
  lua: string;
  command: string;
}

const INCLUDE = /^--- @include "([\w-]+)"\s*$/gm;

export function loadScriptDir(dir: string): ScriptDef[] {
  const includesDir = path.join(dir, 'includes');
  const resolve = (text: string, seen: Set<string>): string =>
    text.replace(INCLUDE, (_m, name: string) => {
      if (seen.has(name)) return '';
      seen.add(name);
      return resolve(fs.readFileSync(path.join(includesDir, `${name}.lua`), 'utf8'), seen);
    });
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.lua'))
    .sort()
    .map((file) => {
      const m = /^([a-zA-Z0-9]+)-(\d+)\.lua$/.exec(file);
      if (!m) throw new Error(`script file ${file} must be named <camelName>-<numberOfKeys>.lua`);
      const lua = resolve(fs.readFileSync(path.join(dir, file), 'utf8'), new Set());
      const hash = createHash('sha1').update(lua).digest('hex').slice(0, 8);
      const name = m[1]!;
      return { name, numberOfKeys: Number(m[2]), lua, command: `bulwark_${name}_${hash}` };
    });
}

type ScriptArg = string | number | Buffer;

/** Typed access to a folder of scripts: run one now, or queue it on a pipeline (one round trip per batch). */
export class Scripts<Name extends string = string> {
  private readonly byName = new Map<string, ScriptDef>();

  constructor(
    private readonly redis: RedisLike,
    dir: string,
  ) {
    for (const def of loadScriptDir(dir)) {
      this.byName.set(def.name, def);
      redis.defineCommand(def.command, { numberOfKeys: def.numberOfKeys, lua: def.lua });
    }
  }

  private def(name: Name): ScriptDef {
    const d = this.byName.get(name);
    if (!d) throw new Error(`no Lua script named ${name}`);
    return d;
  }

  private check(d: ScriptDef, keys: string[]): void {
    if (keys.length !== d.numberOfKeys)
      throw new Error(`script ${d.name} takes ${d.numberOfKeys} keys, got ${keys.length}`);
  }

  async run<T = unknown>(name: Name, keys: string[], args: ScriptArg[]): Promise<T> {
    const d = this.def(name);
    this.check(d, keys);
    const fn = (this.redis as unknown as Record<string, (...a: ScriptArg[]) => Promise<T>>)[d.command]!;
    return fn.call(this.redis, ...keys, ...args);
  }

  queue(pipeline: ChainableCommander, name: Name, keys: string[], args: ScriptArg[]): ChainableCommander {
    const d = this.def(name);
    this.check(d, keys);
    const fn = (pipeline as unknown as Record<string, (...a: ScriptArg[]) => ChainableCommander>)[d.command]!;
    return fn.call(pipeline, ...keys, ...args);
  }
}

/** Runs a pipeline and turns a per-command error into a thrown one: a batch applies whole or is retried. */
export async function execPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = await pipeline.exec();
  if (!results) throw new Error('pipeline was discarded');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
