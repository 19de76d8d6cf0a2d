import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

/** The built entry points (`npm run -s build` first): tests run them as an operator would. */
export const DIST = path.resolve(__dirname, '../../dist');
export const CLI = path.join(DIST, 'services/cli/main.js');
export const DETECTOR = path.join(DIST, 'services/detector/main.js');
export const BREAKER = path.join(DIST, 'services/breaker/main.js');
export const PROVISION = path.join(DIST, 'services/provision/main.js');

export interface Finished {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A local port nothing listens on (bound, then closed): connections to it are refused at once. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * Runs `node script args` with `env` over a clean copy of the test's environment; kills it (and fails) if
 * it has not exited after `killAfterMs`, so a hang is a failure, never a stuck suite.
 */
export function runNode(
  script: string,
  args: string[],
  env: Record<string, string | undefined>,
  opts: { killAfterMs?: number; onStart?: (pid: number) => void } = {},
): Promise<Finished> & { pid: number } {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, BULWARK_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const done = new Promise<Finished>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${path.basename(script)} ${args.join(' ')} still running after ${opts.killAfterMs} ms`),
      );
    }, opts.killAfterMs ?? 60000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
  return Object.assign(done, { pid: child.pid ?? -1 });
}

/** The error a process printed: exactly one line, and no stack trace. */
export function oneLine(r: Finished): string {
  const lines = r.stderr.trimEnd().split('\n');
  expect({ stderr: r.stderr, lines: lines.length }).toEqual({ stderr: r.stderr, lines: 1 });
  expect(r.stderr).not.toMatch(/\n\s+at |"stack"/);
  return lines[0]!;
}
