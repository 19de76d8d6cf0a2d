/**
 * ioredis 5 (the project's, node_modules) against ioredis 6 (RESP3 by default), installed out of tree.
 * Not part of the tests; run by hand (issue 14):
 *
 *   npm install --prefix .cache/bench-deps/ioredis6 ioredis@6.1.0 --no-save
 *   npx tsc -p tsconfig.build.json && node dist/bench/deps-ioredis.js [-- --rounds 5 --pipelines 200 --inflight 2]
 *
 * The project's hot pattern: pipelines of 500 commands per round trip (250 GET of a ~1 KB user state, 200
 * EVALSHA of commitUser-1.lua, the store's version-check-and-SET script, through defineCommand as
 * libs/redis/scripts.ts does, 25 ZADD on a pending index, 25 SREM on an unacked set), `--inflight` pipelines
 * in flight. Three clients, each on its own keys with the options createRedis uses: v5 (RESP2, the
 * baseline), v6 default (`protocol: 3`) and v6 `protocol: 2`. Each round runs every client once, the order
 * rotated per round; figures are medians over rounds, ratios against v5 in the same round. Node CPU from
 * process.cpuUsage, Redis CPU from INFO cpu (user + sys; anything else Redis does at the time counts too).
 * Before timing, a probe compares the replies of the commands the project uses (RESP3 maps, doubles,
 * booleans, streams) between the clients. Keys live under a fresh `bench-deps-*` prefix, deleted at the end.
 * IOREDIS6_DIR overrides where ioredis 6 is looked for.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { REDIS_URL, arg, redisCpuSeconds, table, writeResult } from './common';

/** The part of an ioredis pipeline this benchmark calls (both majors share it). */
interface Pipe {
  get(key: string): Pipe;
  zadd(key: string, score: number, member: string): Pipe;
  srem(key: string, member: string): Pipe;
  exec(): Promise<[Error | null, unknown][] | null>;
  [command: string]: unknown;
}

/** The part of an ioredis client this benchmark calls. */
interface Client {
  pipeline(): Pipe;
  defineCommand(name: string, def: { numberOfKeys: number; lua: string }): void;
  info(section: string): Promise<string>;
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  scan(cursor: string, ...args: (string | number)[]): Promise<[string, string[]]>;
  unlink(...keys: string[]): Promise<number>;
  quit(): Promise<unknown>;
  ping(): Promise<string>;
  on(event: string, listener: (...a: unknown[]) => void): unknown;
}
type ClientCtor = new (url: string, options: Record<string, unknown>) => Client;

const ROOT = path.join(__dirname, '..', '..');
const V6_DIR =
  process.env.IOREDIS6_DIR ?? path.join(ROOT, '.cache', 'bench-deps', 'ioredis6', 'node_modules', 'ioredis');
/** The window store's version-check-and-SET script, as the project runs it. */
const COMMIT_LUA = fs.readFileSync(
  path.join(ROOT, 'libs', 'engine', 'store', 'lua', 'commitUser-1.lua'),
  'utf8',
);
const STATE_BYTES = 1000;
const GETS = 250;
const COMMITS = 200;
const ZADDS = 25;
const SREMS = 25;
const PER_PIPELINE = GETS + COMMITS + ZADDS + SREMS;

function loadCtor(dir: string): { ctor: ClientCtor; version: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(dir) as { default?: ClientCtor } & ClientCtor;
  const version = (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string })
    .version;
  return { ctor: mod.default ?? mod, version };
}

/** The options libs/redis/client.ts createRedis passes (plus the protocol under test). */
function createOptions(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    maxRetriesPerRequest: 2,
    commandTimeout: 5000,
    enableOfflineQueue: true,
    connectTimeout: 3000,
    lazyConnect: false,
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
    ...extra,
  };
}

interface Variant {
  name: string;
  version: string;
  client: Client;
  ns: string;
  versions: Int32Array;
  cursor: number;
  commitCommand: string;
}

interface RoundFigures {
  commands: number;
  seconds: number;
  commandsPerSec: number;
  nodeCpuUsPerCommand: number;
  redisCpuUsPerCommand: number;
  errors: number;
}

function stateOf(version: number, fill: string): string {
  return `${version} seed\n${fill}`;
}

async function seed(v: Variant, users: number, fill: string): Promise<void> {
  for (let i = 0; i < users; i += 1000) {
    const p = v.client.pipeline();
    for (let j = i; j < Math.min(users, i + 1000); j++) {
      (p.set as (k: string, val: string) => Pipe)(`${v.ns}:u:${j}`, stateOf(1, fill));
      (p.sadd as (k: string, m: string) => Pipe)(`${v.ns}:idx:unacked`, `u${j}`);
      v.versions[j] = 1;
    }
    await p.exec();
  }
}

/** One pipeline of the hot pattern; returns the number of per-command errors and wrong replies. */
async function onePipeline(v: Variant, users: number, fill: string): Promise<number> {
  const p = v.client.pipeline();
  const start = v.cursor;
  v.cursor = (v.cursor + COMMITS) % users;
  for (let k = 0; k < GETS; k++) p.get(`${v.ns}:u:${(start + COMMITS + k) % users}`);
  const committed: number[] = [];
  const commit = p[v.commitCommand] as (key: string, ...args: (string | number)[]) => Pipe;
  for (let k = 0; k < COMMITS; k++) {
    const u = (start + k) % users;
    committed.push(u);
    commit.call(p, `${v.ns}:u:${u}`, v.versions[u]!, fill, 0, `w${start}-${k}`);
  }
  for (let k = 0; k < ZADDS; k++) p.zadd(`${v.ns}:idx:pending`, start + k, `u${(start + k) % users}`);
  for (let k = 0; k < SREMS; k++) p.srem(`${v.ns}:idx:unacked`, `u${(start + k) % users}`);
  const res = await p.exec();
  if (!res || res.length !== PER_PIPELINE) return PER_PIPELINE;
  let bad = 0;
  for (let k = 0; k < GETS; k++) {
    const [err, val] = res[k]!;
    if (err || typeof val !== 'string' || val.length < STATE_BYTES) bad++;
  }
  for (let k = 0; k < COMMITS; k++) {
    const [err, val] = res[GETS + k]!;
    const u = committed[k]!;
    if (err || typeof val !== 'number' || val !== v.versions[u]! + 1) bad++;
    else v.versions[u] = val;
  }
  for (let k = GETS + COMMITS; k < PER_PIPELINE; k++) {
    const [err, val] = res[k]!;
    if (err || typeof val !== 'number') bad++;
  }
  return bad;
}

async function runRound(
  v: Variant,
  probe: Client,
  pipelines: number,
  inflight: number,
  users: number,
  fill: string,
): Promise<RoundFigures> {
  const r0 = await redisCpuSeconds(probe);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let next = 0;
  let errors = 0;
  const worker = async () => {
    while (next < pipelines) {
      next++;
      const bad = await onePipeline(v, users, fill);
      errors += bad;
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const r1 = await redisCpuSeconds(probe);
  const commands = pipelines * PER_PIPELINE;
  return {
    commands,
    seconds,
    commandsPerSec: commands / seconds,
    nodeCpuUsPerCommand: (c.user + c.system) / commands,
    redisCpuUsPerCommand: ((r1 - r0) * 1e6) / commands,
    errors,
  };
}

/** Replies of the commands the project reads (shapes RESP3 changes), per client, as JSON. */
async function replyShapes(c: Client, ns: string): Promise<Record<string, string>> {
  const k = (s: string) => `${ns}:probe:${s}`;
  await c.call('DEL', k('h'), k('z'), k('x'), k('s'), k('str'));
  await c.call('HSET', k('h'), 'a', '1', 'b', 'two');
  await c.call('ZADD', k('z'), 1.5, 'm1', 2, 'm2');
  await c.call('XADD', k('x'), '1-1', 'f', 'v');
  await c.call('XADD', k('x'), '2-1', 'f', 'w');
  await c.call('SADD', k('s'), 'a');
  await c.call('SET', k('str'), 'x');
  const cases: [string, () => Promise<unknown>][] = [
    [
      'hgetall',
      () => (c as unknown as Record<string, (k: string) => Promise<unknown>>).hgetall!.call(c, k('h')),
    ],
    ['hget', () => c.call('HGET', k('h'), 'b')],
    ['zrange withscores', () => c.call('ZRANGE', k('z'), 0, -1, 'WITHSCORES')],
    [
      'zrangebyscore withscores limit',
      () => c.call('ZRANGEBYSCORE', k('z'), '-inf', '+inf', 'WITHSCORES', 'LIMIT', 0, 10),
    ],
    ['zscore', () => c.call('ZSCORE', k('z'), 'm1')],
    ['zcard', () => c.call('ZCARD', k('z'))],
    ['xrange', () => c.call('XRANGE', k('x'), '-', '+', 'COUNT', 10)],
    ['xrevrange', () => c.call('XREVRANGE', k('x'), '+', '-', 'COUNT', 1)],
    ['smembers', () => c.call('SMEMBERS', k('s'))],
    ['mget with a missing key', () => c.call('MGET', k('str'), k('none'))],
    ['exists', () => c.call('EXISTS', k('str'))],
    [
      'scan (all pages)',
      () => scanAll(c, `${ns}:probe:str`).then((keys) => keys.map((x) => x.replace(ns, '<ns>'))),
    ],
    ['eval return true', () => c.call('EVAL', 'return true', 0)],
    ['eval return false', () => c.call('EVAL', 'return false', 0)],
    ['eval return {1,"a",{2}}', () => c.call('EVAL', "return {1,'a',{2}}", 0)],
    ['eval return 3.7', () => c.call('EVAL', 'return 3.7', 0)],
    ['eval return ZSCORE', () => c.call('EVAL', "return redis.call('ZSCORE', KEYS[1], 'm1')", 1, k('z'))],
    [
      'eval error_reply',
      () => c.call('EVAL', "return redis.error_reply('E1 no')", 0).catch((e: Error) => `error: ${e.message}`),
    ],
    ['config get', () => c.call('CONFIG', 'GET', 'maxmemory-policy')],
    ['info cpu (type, first line)', () => c.info('cpu').then((s) => `${typeof s}: ${s.split('\n')[0]}`)],
  ];
  const out: Record<string, string> = {};
  for (const [name, run] of cases) {
    try {
      const v = await run();
      out[name] = JSON.stringify(name === 'smembers' && Array.isArray(v) ? [...(v as string[])].sort() : v);
    } catch (err) {
      out[name] = `threw: ${(err as Error).message}`;
    }
  }
  return out;
}

async function scanAll(c: Client, match: string): Promise<string[]> {
  let cursor = '0';
  const out: string[] = [];
  do {
    const [nextCursor, keys] = await c.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = nextCursor;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

async function deleteNs(c: Client, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [nextCursor, keys] = await c.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = nextCursor;
    if (keys.length > 0) deleted += await c.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const rounds = arg('rounds', 5);
  const pipelines = arg('pipelines', 200);
  const inflight = arg('inflight', 2);
  const users = arg('users', 20000);
  if (!fs.existsSync(path.join(V6_DIR, 'package.json')))
    throw new Error(
      `ioredis 6 not found at ${V6_DIR}: npm install --prefix .cache/bench-deps/ioredis6 ioredis@6.1.0 --no-save`,
    );
  const v5 = loadCtor(path.dirname(require.resolve('ioredis/package.json')));
  const v6 = loadCtor(V6_DIR);
  const prefix = `bench-deps-redis-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const lua = COMMIT_LUA;
  const fill = 'x'.repeat(STATE_BYTES);
  const specs: [string, { ctor: ClientCtor; version: string }, Record<string, unknown>][] = [
    ['v5 (RESP2)', v5, {}],
    ['v6 default (RESP3)', v6, {}],
    ['v6 protocol: 2', v6, { protocol: 2 }],
  ];
  const variants: Variant[] = specs.map(([name, lib, extra], i) => {
    const client = new lib.ctor(REDIS_URL, createOptions(extra));
    client.on('error', () => undefined);
    const commitCommand = `benchdeps_commitUser_${i}`;
    client.defineCommand(commitCommand, { numberOfKeys: 1, lua });
    return {
      name,
      version: lib.version,
      client,
      ns: `${prefix}:c${i}`,
      versions: new Int32Array(users),
      cursor: 0,
      commitCommand,
    };
  });
  const probe = new v5.ctor(REDIS_URL, createOptions({}));
  probe.on('error', () => undefined);
  const figures = new Map<string, RoundFigures[]>(variants.map((v) => [v.name, []]));
  let shapes: Record<string, Record<string, string>> = {};
  try {
    await Promise.all([probe.ping(), ...variants.map((v) => v.client.ping())]);
    const hello = await Promise.all(
      variants.map(async (v) => {
        const list = String(await v.client.call('CLIENT', 'INFO'));
        return `${v.name}: ${/resp=(\d)/.exec(list)?.[0] ?? list}`;
      }),
    );
    console.log(`connections: ${hello.join('; ')}`);
    shapes = Object.fromEntries(
      await Promise.all(variants.map(async (v) => [v.name, await replyShapes(v.client, v.ns)] as const)),
    );
    const base = shapes[variants[0]!.name]!;
    const diffs: (string | number)[][] = [['reply', ...variants.map((v) => v.name)]];
    for (const cmd of Object.keys(base))
      if (variants.some((v) => shapes[v.name]![cmd] !== base[cmd]))
        diffs.push([cmd, ...variants.map((v) => shapes[v.name]![cmd]!)]);
    console.log(
      diffs.length === 1
        ? `reply shapes: all ${Object.keys(base).length} probes identical across clients`
        : `reply shapes that differ from v5:\n${table(diffs)}`,
    );
    for (const v of variants) await seed(v, users, fill);
    // Warm-up (not counted): loads the script (NOSCRIPT, then EVAL), JIT, socket buffers.
    for (const v of variants) await runRound(v, probe, Math.max(10, pipelines / 10), inflight, users, fill);
    for (let r = 0; r < rounds; r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
      for (const v of order) {
        const f = await runRound(v, probe, pipelines, inflight, users, fill);
        figures.get(v.name)!.push(f);
        console.log(
          `round ${r + 1} ${v.name.padEnd(20)} ${Math.round(f.commandsPerSec).toLocaleString('en-US')} cmd/s, ` +
            `node ${f.nodeCpuUsPerCommand.toFixed(2)} µs/cmd, redis ${f.redisCpuUsPerCommand.toFixed(2)} µs/cmd` +
            (f.errors ? `, ${f.errors} bad replies` : ''),
        );
      }
    }
  } finally {
    const deleted = await deleteNs(probe, prefix);
    console.log(`deleted ${deleted} keys under ${prefix}`);
    await Promise.all([probe.quit(), ...variants.map((v) => v.client.quit())]);
  }
  const baseRounds = figures.get(variants[0]!.name)!;
  const rows: (string | number)[][] = [
    [
      'client',
      'version',
      'cmd/s (median)',
      'ratio',
      'Node µs/cmd',
      'ratio',
      'Redis µs/cmd',
      'ratio',
      'bad replies',
    ],
  ];
  const summary: Record<string, unknown> = {};
  for (const v of variants) {
    const fs_ = figures.get(v.name)!;
    const ratio = (pick: (f: RoundFigures) => number) =>
      median(fs_.map((f, i) => pick(f) / pick(baseRounds[i]!)));
    const s = {
      version: v.version,
      commandsPerSec: median(fs_.map((f) => f.commandsPerSec)),
      nodeCpuUsPerCommand: median(fs_.map((f) => f.nodeCpuUsPerCommand)),
      redisCpuUsPerCommand: median(fs_.map((f) => f.redisCpuUsPerCommand)),
      ratioCommandsPerSec: ratio((f) => f.commandsPerSec),
      ratioNodeCpu: ratio((f) => f.nodeCpuUsPerCommand),
      ratioRedisCpu: ratio((f) => f.redisCpuUsPerCommand),
      badReplies: fs_.reduce((a, f) => a + f.errors, 0),
    };
    summary[v.name] = s;
    rows.push([
      v.name,
      v.version,
      Math.round(s.commandsPerSec),
      s.ratioCommandsPerSec.toFixed(2),
      s.nodeCpuUsPerCommand.toFixed(2),
      s.ratioNodeCpu.toFixed(2),
      s.redisCpuUsPerCommand.toFixed(2),
      s.ratioRedisCpu.toFixed(2),
      s.badReplies,
    ]);
  }
  console.log(
    `\n${rounds} rounds x ${pipelines} pipelines x ${PER_PIPELINE} commands ` +
      `(${GETS} GET, ${COMMITS} EVALSHA commitUser, ${ZADDS} ZADD, ${SREMS} SREM), ${inflight} in flight, ` +
      `${users} users of ${STATE_BYTES} B; ratios are medians of per-round ratios against v5\n`,
  );
  console.log(table(rows));
  const file = writeResult('deps-ioredis', {
    options: { rounds, pipelines, inflight, users, stateBytes: STATE_BYTES, perPipeline: PER_PIPELINE },
    summary,
    rounds: Object.fromEntries(figures),
    replyShapes: shapes,
  });
  console.log(`\nresult: ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
