import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Scripts, execPipeline, redisAnswers } from '../../libs/redis';
import { cleanRedis, testRedis, uniquePrefix } from '../helpers/env';

describe('real Redis', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('redis');
  afterAll(async () => {
    await cleanRedis(redis, prefix);
    redis.disconnect();
  });

  it('answers PING', async () => {
    expect(await redisAnswers(redis)).toBe(true);
  });

  it('loads Lua scripts from files with includes and runs them pipelined', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-lua-'));
    fs.mkdirSync(path.join(dir, 'includes'));
    fs.writeFileSync(path.join(dir, 'includes', 'double.lua'), 'local function double(x) return x * 2 end\n');
    fs.writeFileSync(
      path.join(dir, 'addTwice-1.lua'),
      '--- @include "double"\nreturn redis.call("INCRBY", KEYS[1], double(tonumber(ARGV[1])))\n',
    );
    const scripts = new Scripts<'addTwice'>(redis, dir);
    const key = `${prefix}:counter`;
    const pipeline = redis.pipeline();
    for (let i = 0; i < 5; i++) scripts.queue(pipeline, 'addTwice', [key], [i]);
    const results = await execPipeline(pipeline);
    expect(results).toEqual([0, 2, 6, 12, 20]);
    await expect(scripts.run('addTwice', [key], [1])).resolves.toBe(22);
  });
});
