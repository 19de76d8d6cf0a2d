import { serviceEnv } from '../helpers/service-env';
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { defaultBreakerConfig } from '../../libs/breaker';
import { silentLogger } from '../../libs/logger';
import { breakerEnvSchema } from '../../services/breaker/config';
import { OperatorRegistry, newOperatorLine } from '../../services/breaker/operators';
import { startBreakerService, type RunningBreakerService } from '../../services/breaker/service';
import {
  cleanRedis,
  deleteTopicsWithPrefix,
  provisionTopics,
  testKafka,
  testRedis,
  uniquePrefix,
  waitFor,
} from '../helpers/env';

jest.setTimeout(90000);

const CLIENT = path.resolve(__dirname, '../../examples/python/guard_client.py');

/** Runs the example with python3 without blocking this process, whose event loop serves the breaker. */
function guardClient(url: string, asset: string): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [CLIENT, '--asset', asset, '--timeout', '5'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BULWARK_BREAKER_URL: url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: stdout.trim() });
    });
  });
}

describe('examples/python/guard_client.py against a real breaker', () => {
  const redis = testRedis();
  const kafka = testKafka();
  const topicPrefix = uniquePrefix('py-guard');
  const keyPrefix = uniquePrefix('py-guard');
  const alice = newOperatorLine('alice');
  let service: RunningBreakerService | undefined;

  beforeAll(async () => {
    await provisionTopics(kafka, topicPrefix, 1);
  });

  afterAll(async () => {
    await service?.stop();
    await deleteTopicsWithPrefix(kafka, topicPrefix);
    await kafka.close();
    await cleanRedis(redis, keyPrefix);
    redis.disconnect();
  });

  it('allows while open, refuses after an operator halt, and refuses once the breaker is stopped', async () => {
    const env = {
      ...breakerEnvSchema.parse(serviceEnv(topicPrefix, { keyPrefix: keyPrefix })),
      BULWARK_BREAKER_PORT: 0,
    };
    service = await startBreakerService(
      env,
      OperatorRegistry.parse(alice.line, 'test'),
      defaultBreakerConfig(),
      silentLogger(),
    );
    const base = `http://127.0.0.1:${service.port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok);

    expect(await guardClient(base, 'ETH')).toEqual({ status: 0, stdout: 'allowed: asset:ETH open' });

    const halt = await fetch(`${base}/v1/breaker/halt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({ scope: 'asset:ETH', reason: 'python client test' }),
    });
    expect(halt.status).toBe(200);
    expect(await guardClient(base, 'ETH')).toEqual({
      status: 1,
      stdout: 'not allowed: asset:ETH halted: python client test',
    });
    // Only the halted asset is refused: the client reads the answer, it does not just fail.
    expect(await guardClient(base, 'BTC')).toEqual({ status: 0, stdout: 'allowed: asset:BTC open' });

    await service.stop();
    service = undefined;
    const stopped = await guardClient(base, 'BTC');
    expect(stopped.status).toBe(1);
    expect(stopped.stdout).toMatch(/^not allowed: breaker unreachable/);
  });

  it('refuses on answers that are not a clear "open": non-200, non-JSON, wrong shape', async () => {
    const answers: Array<[number, string]> = [
      [503, JSON.stringify({ allowed: true, state: 'open', scope: 'global' })],
      [200, 'allowed'],
      [200, '[true]'],
      [200, JSON.stringify({ allowed: 'true', state: 'open', scope: 'global' })],
      [200, JSON.stringify({ allowed: true, state: 'unknown', scope: 'global' })],
      [302, ''],
    ];
    let next = 0;
    const server = http.createServer((_req, res) => {
      const [status, body] = answers[next++]!;
      res.writeHead(status, { 'content-type': 'application/json', location: 'http://127.0.0.1:1/' });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      const results = [];
      for (let i = 0; i < answers.length; i++)
        results.push((await guardClient(`http://127.0.0.1:${port}`, 'ETH')).status);
      expect(results).toEqual(answers.map(() => 1));
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
