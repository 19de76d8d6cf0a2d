import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KafkaClient, topicDeclarations, topicNames } from '../../libs/kafka';
import { silentLogger } from '../../libs/logger';
import { simulate } from '../../libs/simulate';
import { loadReplayConfig } from '../../libs/replay/config';
import { REDIS_URL, cleanRedis, testRedis, uniquePrefix, waitFor } from '../helpers/env';
import { OwnBroker } from '../helpers/own-broker';
import { configFile, startReplayStack } from '../helpers/replay-stack';

jest.setTimeout(300000);

const CLI = path.resolve(__dirname, '../../dist/services/cli/main.js');

/**
 * `bulwark replay --mode kafka` against a broker of this test's own, which goes away mid-replay. Before,
 * the replay hung for ever (waits without bounds, a consumer stop that never returned, and a process kept
 * alive by clients reconnecting); now it exits non-zero with one line saying what failed.
 */
describe('kafka-mode replay when Kafka goes away', () => {
  const broker = new OwnBroker();
  const cliEnv = (prefix: string): NodeJS.ProcessEnv => ({
    ...process.env,
    BULWARK_KAFKA_BROKERS: broker.brokers.join(','),
    BULWARK_REDIS_URL: REDIS_URL,
    BULWARK_KEY_PREFIX: prefix,
    BULWARK_TOPIC_PREFIX: `${prefix}.`,
    BULWARK_DETECTOR_GROUP: `${prefix}-detector`,
    BULWARK_BREAKER_GROUP: `${prefix}-breaker`,
  });
  afterAll(async () => broker.destroy());

  it('exits non-zero with one line naming what failed, within a bounded time', async () => {
    await broker.start();
    const prefix = uniquePrefix('gone');
    const kafka = new KafkaClient({ brokers: broker.brokers, clientId: 'test', logger: silentLogger() });
    await kafka.ensureTopics(topicDeclarations(topicNames(`${prefix}.`), 3));
    await kafka.close();

    const log = path.join(os.tmpdir(), `${prefix}.jsonl`);
    fs.writeFileSync(
      log,
      [...simulate({ seed: 3, users: 100, durationMs: 6 * 3_600_000, withdrawalsPerUserPerDay: 1.5 })].join(
        '\n',
      ) + '\n',
    );
    // No detector runs: the replay publishes its first slice and waits for a commit that cannot come.
    const child = spawn(
      process.execPath,
      [CLI, 'replay', log, '--mode', 'kafka', '--slice', '50', '--timeout-ms', '600000'],
      {
        env: cliEnv(prefix),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      // Once the replay has published (the input topics hold events), the broker goes away for good.
      const probe = new KafkaClient({ brokers: broker.brokers, clientId: 'probe', logger: silentLogger() });
      await waitFor(async () => {
        const end = await probe.endOffsets(`${prefix}.auth.events.v1`);
        return [...end.values()].some((o) => o !== '0');
      }, 60000);
      await probe.close();
      await broker.stop();

      const code = await Promise.race([
        exited,
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 150_000).unref()),
      ]);
      expect(code).toBe(1);
      const lines = stderr
        .split(/[\r\n]+/)
        .filter((l) => l.startsWith('bulwark:'))
        .map((l) => l.trim());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^bulwark: lost Kafka at BULWARK_KAFKA_BROKERS=127\.0\.0\.1:\d+: .*while waiting for the detector to consume/,
      );
    } finally {
      child.kill('SIGKILL');
    }
  });

  // Before, the detector could stop for good here: a commit that failed while the broker restarted was
  // dropped after the fetch position had moved on, so a partition with no newer input kept its old committed
  // offset, its lag never cleared and it held the watermark; the replay then waited for it (and its
  // KafkaClient.close could wait for ever). Now a failed commit fails the batch, which is read and committed
  // again, and close is bounded.
  it('after a broker restart mid-replay with the services running, it finishes or fails with one line', async () => {
    await broker.start(); // the first test left it stopped; start is a no-op when it runs
    const prefix = uniquePrefix('restart');
    const kafka = new KafkaClient({ brokers: broker.brokers, clientId: 'test', logger: silentLogger() });
    const topics = topicNames(`${prefix}.`);
    await kafka.ensureTopics(topicDeclarations(topics, 3));
    const redis = testRedis();
    const stack = await startReplayStack(prefix, {
      kafka,
      redis,
      topics,
      config: loadReplayConfig(configFile('restart', 'graceMs: 2000\nidleTimeoutMs: 1000\n')),
      brokers: broker.brokers,
    });
    const log = path.join(os.tmpdir(), `${prefix}.jsonl`);
    fs.writeFileSync(
      log,
      [...simulate({ seed: 5, users: 200, durationMs: 12 * 3_600_000, withdrawalsPerUserPerDay: 1.5 })].join(
        '\n',
      ) + '\n',
    );
    const child = spawn(
      process.execPath,
      [
        CLI,
        'replay',
        log,
        '--mode',
        'kafka',
        '--slice',
        '100',
        '--timeout-ms',
        '120000',
        '--report',
        `${log}.report.json`,
      ],
      { env: cliEnv(prefix), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await waitFor(async () => {
        const end = await kafka.endOffsets(topics.auth);
        return [...end.values()].some((o) => o !== '0');
      }, 60000);
      await broker.stop();
      await broker.start();
      // Before, the replay logged "Failed to find group coordinator" here and fetched for ever.
      const code = await Promise.race([
        exited,
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 200_000).unref()),
      ]);
      const lines = stderr
        .split(/[\r\n]+/)
        .filter((l) => l.startsWith('bulwark:'))
        .map((l) => l.trim());
      // It finishes with its report (publishing and every wait ride out a restart shorter than the Kafka
      // timeout), or, where the broker took longer to come back, fails with one line saying what it was doing.
      if (code === 0) {
        expect(lines).toEqual([]);
        const report = JSON.parse(fs.readFileSync(`${log}.report.json`, 'utf8')) as {
          events: { total: number };
        };
        expect(report.events.total).toBeGreaterThan(0);
      } else {
        expect({ code, lines: lines.length }).toEqual({ code: 1, lines: 1 });
      }
    } finally {
      child.kill('SIGKILL');
      await stack.stop();
      await kafka.close();
      await cleanRedis(redis, prefix);
      redis.disconnect();
    }
  });
});
