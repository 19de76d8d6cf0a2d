import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * The services (built, from dist/) stop at start with one line naming the transport variable to fix, and never
 * print a password on the way. No broker or Redis is reached: every case fails in configuration.
 */
const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-transport-'));
const passwordFile = path.join(dir, 'kafka.password');
fs.writeFileSync(passwordFile, 'pw-7d1e0c-never-printed\n', { mode: 0o600 });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function start(
  service: string,
  vars: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  const main = path.join(ROOT, 'dist/services', service, 'main.js');
  try {
    await run(process.execPath, [main], {
      env: { PATH: process.env.PATH, BULWARK_LOG_LEVEL: 'silent', ...vars },
      timeout: 20000,
    });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

describe('transport settings at service start', () => {
  it.each(['provision', 'detector'])(
    '%s refuses SASL PLAIN without TLS, naming the variable',
    async (service) => {
      const res = await start(service, {
        BULWARK_KAFKA_SASL_MECHANISM: 'plain',
        BULWARK_KAFKA_SASL_USERNAME: 'detector',
        BULWARK_KAFKA_SASL_PASSWORD_FILE: passwordFile,
      });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('BULWARK_KAFKA_SASL_MECHANISM="plain": PLAIN sends the password in clear');
      expect(res.stderr).not.toContain('pw-7d1e0c');
    },
  );

  it('the detector names a missing password file', async () => {
    const res = await start('detector', {
      BULWARK_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      BULWARK_KAFKA_SASL_USERNAME: 'detector',
      BULWARK_KAFKA_SASL_PASSWORD_FILE: path.join(dir, 'missing'),
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/BULWARK_KAFKA_SASL_PASSWORD_FILE=".*missing": cannot read it \(ENOENT\)/);
  });

  it('the detector never prints the password of an invalid BULWARK_REDIS_URL', async () => {
    const res = await start('detector', { BULWARK_REDIS_URL: 'redis//bulwark:pw-7d1e0c@10.0.0.5:6379' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('BULWARK_REDIS_URL=');
    expect(res.stderr).not.toContain('pw-7d1e0c');
  });
});
