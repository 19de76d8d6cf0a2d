import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

/** A service started by one of the project's scripts: the settings it wrote, and how to stop it. */
export interface ScriptedService {
  env: Record<string, string>;
  /** Stops the service if this call started it; one started by someone else (.ci/run, a person) stays. */
  stop(): Promise<void>;
}

/**
 * Starts `scripts/<script> start` unless `status` says it runs already, then reads the `KEY=value` file the
 * script writes. Used for the secured broker and the TLS Redis, which live on their own free ports.
 */
export async function scriptedService(
  script: string,
  envFile: string,
  timeoutMs = 150000,
): Promise<ScriptedService> {
  const file = path.join(ROOT, 'scripts', script);
  const running = await run('bash', [file, 'status'], { cwd: ROOT }).then(
    () => true,
    () => false,
  );
  if (!running) await run('bash', [file, 'start'], { cwd: ROOT, timeout: timeoutMs });
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(path.join(ROOT, envFile), 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return {
    env,
    stop: async () => {
      if (!running) await run('bash', [file, 'stop'], { cwd: ROOT, timeout: 60000 });
    },
  };
}
