import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadReplayConfig } from '../../libs/replay/config';
import { provisionTopics, realStack, waitFor } from '../helpers/env';
import { freePort } from '../helpers/own-broker';
import { configFile, startReplayStack } from '../helpers/replay-stack';

jest.setTimeout(120000);

const PROMETHEUS = process.env.BULWARK_PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const DASHBOARD = path.resolve(__dirname, '../../deploy/grafana/bulwark.json');
const FIXTURE = path.resolve(__dirname, '../fixtures/replay/basic.jsonl');

interface Panel {
  title: string;
  targets: { expr: string }[];
}

/** Metric names (from `# TYPE`) and the label names seen on each one's series, from Prometheus text. */
function exposition(text: string, into: Map<string, Set<string>>): void {
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) \S+$/.exec(line);
    if (type) {
      if (!into.has(type[1]!)) into.set(type[1]!, new Set());
      continue;
    }
    const series = /^([a-zA-Z_:][\w:]*)\{([^}]*)\}/.exec(line);
    if (!series) continue;
    const name = series[1]!.replace(/_(bucket|sum|count)$/, (m) => (into.has(series[1]!) ? m : ''));
    const labels = into.get(name) ?? into.get(series[1]!);
    if (!labels) continue;
    for (const m of series[2]!.matchAll(/([a-zA-Z_]\w*)="/g)) labels.add(m[1]!);
  }
}

/**
 * deploy/grafana/bulwark.json against what the services really expose: a live detector and breaker replay a
 * small log (so counters, gauges and histograms have series), then every panel query must name only metrics
 * they export, group only by labels those metrics carry, and parse in a real Prometheus.
 */
describe('the Grafana dashboard queries the metrics the services expose', () => {
  const { kafka, redis, fresh } = realStack();
  let prom: ChildProcess | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-dash-'));

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      prom.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
      if (prom.exitCode === null) prom.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every query names exposed metrics and labels, and Prometheus accepts it', async () => {
    const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
    const queries = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
    expect(queries.length).toBeGreaterThan(10);

    const prefix = fresh('dash');
    const topics = await provisionTopics(kafka, prefix);
    const config = loadReplayConfig(configFile('dash', 'graceMs: 2000\nidleTimeoutMs: 1000\n'));
    const stack = await startReplayStack(prefix, { kafka, redis, topics, config });
    const exposed = new Map<string, Set<string>>();
    try {
      const report = await stack.replay(FIXTURE, Infinity);
      expect(report.breaker.length).toBeGreaterThan(0); // the log halts: breaker series exist
      exposition(await stack.registry.metrics(), exposed);
      exposition(await (await fetch(`http://127.0.0.1:${stack.breaker.port}/metrics`)).text(), exposed);
    } finally {
      await stack.stop();
    }

    for (const { panel, expr } of queries) {
      const names = [...new Set(expr.match(/bulwark_[a-z_]+/g) ?? [])].map((n) =>
        exposed.has(n) ? n : n.replace(/_(bucket|sum|count)$/, ''),
      );
      expect(names.length).toBeGreaterThan(0);
      for (const name of names)
        expect({ panel, name, exposed: exposed.has(name) }).toEqual({ panel, name, exposed: true });
      const labels = new Set(names.flatMap((n) => [...(exposed.get(n) ?? [])]));
      if (labels.size === 0) continue; // no series yet (a counter never incremented): names are checked
      for (const group of expr.matchAll(/\bby \(([^)]*)\)/g))
        for (const label of group[1]!.split(',').map((l) => l.trim()))
          if (label !== 'le')
            expect({ panel, label, carried: labels.has(label) }).toEqual({ panel, label, carried: true });
    }

    // Syntax: a real Prometheus parses every query (no data needed).
    const port = await freePort();
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\n');
    prom = spawn(
      PROMETHEUS,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
    const api = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => (await fetch(`${api}/-/ready`).catch(() => undefined))?.ok ?? false,
      20000,
      200,
    );
    for (const { panel, expr } of queries) {
      const q = expr.replaceAll('$__rate_interval', '1m');
      const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { status: string; error?: string };
      expect({ panel, status: body.status, error: body.error }).toEqual({
        panel,
        status: 'success',
        error: undefined,
      });
    }
  });
});
