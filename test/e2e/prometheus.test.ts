import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Breaker, defaultBreakerConfig } from '../../libs/breaker';
import { ServiceHttp } from '../../libs/http/server';
import { silentLogger } from '../../libs/logger';
import { breakerMetrics, createRegistry } from '../../libs/metrics';
import { cleanRedis, testRedis, uniquePrefix, waitFor } from '../helpers/env';

jest.setTimeout(60000);

const PROMETHEUS = process.env.BULWARK_PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const ALERTS = path.resolve(__dirname, '..', '..', 'deploy', 'prometheus', 'alerts.yml');
const present = fs.existsSync(PROMETHEUS);
if (!present)
  console.warn(
    `SKIPPED test/e2e/prometheus.test.ts: no prometheus binary at ${PROMETHEUS} (apt-get install prometheus)`,
  );

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

(present ? describe : describe.skip)('Prometheus fires BulwarkWithdrawalsHalted from a real scrape', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('brk-prom');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-prom-'));
  let prom: ChildProcess | undefined;
  let http: ServiceHttp | undefined;
  let promLog = '';

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      prom.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      if (prom.exitCode === null) prom.kill('SIGKILL');
    }
    await http?.close();
    await cleanRedis(redis, prefix);
    redis.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes the breaker, evaluates deploy/prometheus/alerts.yml, and fires on a halt', async () => {
    const registry = createRegistry('breaker', false);
    const breaker = await Breaker.create({
      redis,
      prefix,
      config: defaultBreakerConfig(),
      logger: silentLogger(),
      metrics: breakerMetrics(registry),
    });
    http = new ServiceHttp({
      port: 0,
      registry,
      logger: silentLogger(),
      ready: () => ({ ready: true, reasons: [] }),
    });
    const breakerPort = await http.listen();

    const promPort = await freePort();
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${JSON.stringify(ALERTS)}`,
        'scrape_configs:',
        '  - job_name: bulwark-breaker',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${breakerPort}']`,
        '',
      ].join('\n'),
    );
    prom = spawn(
      PROMETHEUS,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stderr!.on('data', (d: Buffer) => (promLog += d.toString()));
    const api = `http://127.0.0.1:${promPort}`;
    const alerts = async (): Promise<PromAlert[]> => {
      const res = await fetch(`${api}/api/v1/alerts`);
      return ((await res.json()) as { data: { alerts: PromAlert[] } }).data.alerts;
    };

    try {
      await waitFor(async () => (await fetch(`${api}/-/ready`)).ok, 20000, 200);
      // The breaker is scraped and open: the gauge reads 0 and nothing fires.
      await waitFor(
        async () => {
          const res = await fetch(
            `${api}/api/v1/query?query=${encodeURIComponent('bulwark_breaker_state{scope="global"}')}`,
          );
          const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
          return body.data.result[0]?.value[1] === '0';
        },
        20000,
        200,
      );
      expect((await alerts()).filter((a) => a.labels.alertname === 'BulwarkWithdrawalsHalted')).toEqual([]);

      await breaker.halt('global', 'e2e: alert must fire', 'alice');
      const started = Date.now();
      const firing = await waitFor(
        async () => {
          const found = (await alerts()).find(
            (a) =>
              a.labels.alertname === 'BulwarkWithdrawalsHalted' &&
              a.labels.scope === 'global' &&
              a.state === 'firing',
          );
          return found;
        },
        30000,
        250,
      );
      expect(firing?.labels.severity).toBe('page');
      expect(Date.now() - started).toBeLessThan(30000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nprometheus log:\n${promLog.slice(-2000)}`);
    }
  });
});
