import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { liveEngine } from '../../libs/engine';
import { counter, detectorEnv, fastRules, publish, readAll, startDetector } from '../helpers/detector';
import { REDIS_URL, provisionTopics, realStack, testKafka, waitFor } from '../helpers/env';
import { userStream } from '../helpers/events';
import { TcpProxy } from '../helpers/tcp-proxy';

jest.setTimeout(180000);

const MAIN = path.resolve(__dirname, '../../dist/services/detector/main.js');

/** The distinct flag ids on a flag topic once `expected` of them have arrived. */
async function distinctFlags(
  kafka: ReturnType<typeof testKafka>,
  topic: string,
  expected: number,
): Promise<string[]> {
  const msgs = await readAll(
    kafka,
    [topic],
    (m) => new Set(m.map((x) => x.value!.flagId)).size >= expected,
    90000,
  );
  return [...new Set(msgs.map((m) => String(m.value!.flagId)))].sort();
}

describe('detector recovery', () => {
  const { kafka, redis, fresh } = realStack();

  const users = 600;
  const attacked = 40;
  const { events, attackedWithdrawals } = userStream(users, attacked);
  const expected = attackedWithdrawals.map((wd) => `mfa-missing:${wd}`).sort();

  it('killed with SIGKILL mid-stream and restarted, ends with the same flags as a run-through', async () => {
    const prefix = fresh('kill');
    const topics = await provisionTopics(kafka, prefix);
    await publish(kafka, topics, events);
    const rulesFile = path.join(os.tmpdir(), `${prefix}-rules.json`);
    fs.writeFileSync(rulesFile, JSON.stringify({ graceMs: 2000, idleTimeoutMs: 1000 }));
    const env = { ...process.env, ...detectorEnv(prefix, { BULWARK_RULES_CONFIG: rulesFile }) };
    const spawnDetector = (): ChildProcess => spawn(process.execPath, [MAIN], { env, stdio: 'ignore' });

    const first = spawnDetector();
    // Kill it once it has committed part of the stream, but not all of it.
    await waitFor(
      async () => {
        const committed = await kafka.committedOffsets(`${prefix}-detector`, topics.wallet);
        return [...committed.values()].some((o) => Number(o) > 0);
      },
      60000,
      20,
    );
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    const second = spawnDetector();
    try {
      const flags = await distinctFlags(kafka, topics.flags, expected.length);
      const engine = liveEngine({ redis, prefix, rules: fastRules() });
      await waitFor(async () => (await engine.pendingCount()) === 0, 60000);
      expect(flags.filter((f) => f.startsWith('mfa-missing:'))).toEqual(expected);
      // Nothing applied twice: no velocity or other flag crept in from double-counted events.
      expect(flags).toEqual(expected);
      expect(await engine.unackedFlags()).toEqual([]);
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
  });

  it('pauses while Redis is unreachable and loses nothing once it is back', async () => {
    const prefix = fresh('outage');
    const topics = await provisionTopics(kafka, prefix);
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379));
    const port = await proxy.start();
    const half = Math.floor(events.length / 2);
    await publish(kafka, topics, events.slice(0, half));
    const { detector, registry, started } = startDetector(prefix, {
      BULWARK_REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    await started;
    try {
      await waitFor(async () => (await counter(registry, 'bulwark_events_consumed_total')) > 0);
      proxy.cut();
      await publish(kafka, topics, events.slice(half));
      await waitFor(async () => !(await detector.readiness()).ready, 30000);
      await waitFor(async () => (await counter(registry, 'bulwark_redis_errors_total')) > 0);
      // The batch in hand waits (paused) rather than being committed or dropped.
      await waitFor(async () => (await counter(registry, 'bulwark_consumer_paused')) === 1, 30000);
      proxy.restore();
      const flags = await distinctFlags(kafka, topics.flags, expected.length);
      await waitFor(async () => (await detector.readiness()).ready, 30000);
      expect(flags).toEqual(expected);
      expect(await counter(registry, 'bulwark_consumer_paused')).toBe(0);
    } finally {
      await detector.stop();
      await proxy.stop();
    }
  });
});
