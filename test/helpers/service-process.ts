import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { waitFor } from './env';

/**
 * A Bulwark service run as a real process from `dist/` (run `npm run -s build` first), with its JSON log
 * lines kept so a test can read the port it bound (port 0) and check what it logged.
 */
export interface LogLine {
  level: number;
  msg?: string;
  component?: string;
  port?: number;
  [k: string]: unknown;
}

export interface ServiceProcess {
  child: ChildProcess;
  /** Parsed JSON log lines (stdout); anything that is not JSON is kept in `other`. */
  lines: LogLine[];
  other: string[];
  port: number;
  running(): boolean;
  stop(): Promise<void>;
}

const DIST = path.resolve(__dirname, '../../dist/services');

/** Starts `dist/services/<name>/main.js` with `env` and waits until it logs the port it listens on. */
export async function startServiceProcess(
  name: 'breaker' | 'detector',
  env: Record<string, string>,
  timeoutMs = 60000,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [path.join(DIST, name, 'main.js')], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const other: string[] = [];
  const keep = (text: string) => {
    for (const l of text.split('\n').filter((x) => x.trim().length > 0)) {
      try {
        lines.push(JSON.parse(l) as LogLine);
      } catch {
        other.push(l);
      }
    }
  };
  let pendingOut = '';
  child.stdout!.on('data', (d: Buffer) => {
    const text = pendingOut + d.toString();
    const cut = text.lastIndexOf('\n');
    pendingOut = text.slice(cut + 1);
    keep(text.slice(0, cut + 1));
  });
  child.stderr!.on('data', (d: Buffer) => other.push(d.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  const port = await waitFor(() => {
    if (exited) throw new Error(`${name} exited at start: ${other.join(' ')}`);
    return lines.find((l) => typeof l.port === 'number' && l.port > 0)?.port;
  }, timeoutMs).catch((err: unknown): never => {
    child.kill('SIGKILL');
    throw err;
  });
  if (port === undefined) throw new Error('unreachable: waitFor returns a truthy value');
  return {
    child,
    lines,
    other,
    port,
    running: () => !exited,
    stop: async () => {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15000);
      await gone;
      clearTimeout(t);
    },
  };
}
