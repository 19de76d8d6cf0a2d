import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from '../redis';
import { CompiledScripts } from './compiled-scripts';

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** A Redis with a script cache and nothing else: EVALSHA of a script it has not loaded answers NOSCRIPT. */
class FakeRedis {
  readonly cache = new Map<string, string>();
  readonly loads: string[] = [];
  readonly calls: unknown[][] = [];
  failWith: Error | undefined;

  script(op: 'LOAD', lua: string): Promise<string> {
    expect(op).toBe('LOAD');
    this.loads.push(lua);
    this.cache.set(sha1(lua), lua);
    return Promise.resolve(sha1(lua));
  }

  evalsha(sha: string, numberOfKeys: number, ...rest: unknown[]): Promise<unknown> {
    this.calls.push([sha, numberOfKeys, ...rest]);
    if (this.failWith) return Promise.reject(this.failWith);
    if (!this.cache.has(sha)) return Promise.reject(new Error('NOSCRIPT No matching script.'));
    return Promise.resolve(`ran ${sha}`);
  }

  flush(): void {
    this.cache.clear();
  }

  asRedis(): Redis {
    return this as unknown as Redis;
  }
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-scripts-'));
  fs.mkdirSync(path.join(dir, 'includes'));
  fs.writeFileSync(path.join(dir, 'includes', 'twice.lua'), 'local function twice(x) return 2 * x end\n');
  fs.writeFileSync(path.join(dir, 'double-1.lua'), '--- @include "twice"\nreturn twice(tonumber(ARGV[1]))\n');
  fs.writeFileSync(path.join(dir, 'pair-2.lua'), 'return { KEYS[1], KEYS[2] }\n');
  fs.writeFileSync(path.join(dir, 'unused-0.lua'), 'return 0\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const DOUBLE = 'local function twice(x) return 2 * x end\n\nreturn twice(tonumber(ARGV[1]))\n';

describe('CompiledScripts', () => {
  it('loads only the scripts named, includes resolved, and calls them by the SHA1 of that text', async () => {
    const redis = new FakeRedis();
    const scripts = new CompiledScripts<'double' | 'pair'>(dir, ['double', 'pair']);
    await scripts.load(redis.asRedis());
    expect(redis.loads.sort()).toEqual([DOUBLE, 'return { KEYS[1], KEYS[2] }\n'].sort());
    expect(await scripts.run(redis.asRedis(), 'double', ['k'], [21])).toBe(`ran ${sha1(DOUBLE)}`);
    // EVALSHA sha, number of keys, the keys, then the arguments.
    expect(redis.calls).toEqual([[sha1(DOUBLE), 1, 'k', 21]]);
  });

  it('loads every script of the folder when no names are given', async () => {
    const redis = new FakeRedis();
    await new CompiledScripts(dir).load(redis.asRedis());
    expect(redis.loads).toHaveLength(3);
  });

  it('refuses an unknown script and a wrong number of keys before calling Redis', async () => {
    const redis = new FakeRedis();
    const scripts = new CompiledScripts<'double' | 'pair' | 'unused'>(dir, ['double', 'pair']);
    await expect(scripts.run(redis.asRedis(), 'unused', [], [])).rejects.toThrow(
      'no Lua script named unused',
    );
    await expect(scripts.run(redis.asRedis(), 'pair', ['only-one'], [])).rejects.toThrow(
      'script pair takes 2 keys, got 1',
    );
    expect(redis.calls).toEqual([]);
  });

  it('loads the scripts again when Redis has lost them (NOSCRIPT) and runs the call once more', async () => {
    const redis = new FakeRedis();
    const scripts = new CompiledScripts<'double'>(dir, ['double']);
    // Never loaded, as after a Redis restart: the first EVALSHA answers NOSCRIPT.
    expect(await scripts.run(redis.asRedis(), 'double', ['k'], ['2'])).toBe(`ran ${sha1(DOUBLE)}`);
    expect(redis.calls).toHaveLength(2);
    expect(redis.loads).toEqual([DOUBLE]);
    redis.flush();
    await scripts.run(redis.asRedis(), 'double', ['k'], ['3']);
    expect(redis.loads).toEqual([DOUBLE, DOUBLE]);
  });

  it('passes any other error through, without loading', async () => {
    const redis = new FakeRedis();
    redis.failWith = new Error('READONLY You can’t write against a read only replica.');
    const scripts = new CompiledScripts<'double'>(dir, ['double']);
    await expect(scripts.run(redis.asRedis(), 'double', ['k'], ['1'])).rejects.toThrow(/READONLY/);
    expect(redis.loads).toEqual([]);
    expect(redis.calls).toHaveLength(1);
  });

  it('the engine folder holds the scripts its callers name, with the key counts they pass', async () => {
    // StateEpoch runs checkEpoch and markEpoch on one key, ProgressTracker recordProgress on one key.
    const names = ['checkEpoch', 'markEpoch', 'recordProgress'] as const;
    const redis = new FakeRedis();
    const scripts = new CompiledScripts<(typeof names)[number]>(path.join(__dirname, 'lua'), names);
    await scripts.load(redis.asRedis());
    expect(redis.loads).toHaveLength(names.length);
    for (const name of names)
      await expect(scripts.run(redis.asRedis(), name, ['key'], [])).resolves.toBeDefined();
  });
});
