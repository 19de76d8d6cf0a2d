import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newOperatorLine } from '../../services/breaker/operators';
import { startBreakerHttp } from '../helpers/breaker-http';
import { cleanRedis, testRedis, uniquePrefix } from '../helpers/env';

jest.setTimeout(60000);

const CLI = path.resolve(__dirname, '../../dist/services/cli/main.js');

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** `bulwark status|halt|resume` as an operator runs them, against a breaker API on real Redis. */
describe('bulwark status, halt and resume', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('cli-op');
  const alice = newOperatorLine('alice');
  const bob = newOperatorLine('bob');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-cli-op-'));
  const tokenFile = (name: string, token: string) => {
    const f = path.join(dir, `${name}.token`);
    fs.writeFileSync(f, `${token}\n`, { mode: 0o600 });
    return f;
  };
  const aliceFile = tokenFile('alice', alice.token);
  const bobFile = tokenFile('bob', bob.token);
  let http: { base: string; close: () => Promise<void> };

  beforeAll(async () => {
    http = await startBreakerHttp(redis, prefix, `${alice.line},${bob.line}`);
  });

  afterAll(async () => {
    await http.close();
    await cleanRedis(redis, prefix);
    redis.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const bulwark = (args: string[], env: Record<string, string> = {}): Promise<Run> =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, [CLI, ...args], {
        env: { PATH: process.env.PATH ?? '', BULWARK_BREAKER_URL: http.base, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('exit', (code) => resolve({ code, out, err }));
    });

  it('shows the state, halts, and resumes only on a second distinct operator, tokens from files', async () => {
    expect(await bulwark(['status'])).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^withdrawals ALLOWED/),
    });

    const halted = await bulwark(['halt', 'asset:ETH', '--reason', 'drill'], {
      BULWARK_TOKEN_FILE: aliceFile,
    });
    expect(halted).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^halted asset:ETH at \S+ \(version \d+\)\n$/),
    });
    const eth = await bulwark(['status', '--asset', 'ETH', '--json']);
    expect(eth.code).toBe(0);
    expect(JSON.parse(eth.out)).toMatchObject({ allowed: false, scope: 'asset:ETH', state: 'halted' });
    expect((await bulwark(['status', '--asset', 'BTC'])).out).toMatch(/^BTC withdrawals ALLOWED/);

    const first = await bulwark(['resume', 'asset:ETH', '--reason', 'drill over'], {
      BULWARK_TOKEN_FILE: aliceFile,
    });
    expect(first).toMatchObject({
      code: 0,
      out: expect.stringMatching(/approved by alice; 1 more distinct operator needed/),
    });
    // The same operator again does not count twice.
    const again = await bulwark(['resume', 'asset:ETH', '--reason', 'again'], {
      BULWARK_TOKEN_FILE: aliceFile,
    });
    expect(again.out).toMatch(/1 more distinct operator needed/);
    const second = await bulwark(['resume', 'asset:ETH', '--reason', 'agreed', '--json'], {
      BULWARK_TOKEN_FILE: bobFile,
    });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.out)).toMatchObject({ status: 'resumed', scope: 'asset:ETH', state: 'open' });
    expect((await bulwark(['status', '--asset', 'ETH'])).out).toMatch(/^ETH withdrawals ALLOWED/);
    // The trail of all that, readable and as JSON; the token from the environment this time.
    const shown = await bulwark(['audit', 'show', '--limit', '5'], { BULWARK_TOKEN: alice.token });
    expect(shown.code).toBe(0);
    const rows = shown.out.trim().split('\n');
    expect(rows[0]).toMatch(/^#\s+recorded\s+action\s+outcome\s+scope\s+by\s+reason$/);
    expect(rows[1]).toMatch(/\bresume\s+changed\s+asset:ETH\s+alice,bob\s/);
    expect(rows.some((r) => /\bhalt\s+changed\s+asset:ETH\s+alice\s+drill$/.test(r))).toBe(true);
    const asJson = await bulwark(['audit', 'show', '--json', '--limit', '2'], {
      BULWARK_TOKEN_FILE: aliceFile,
    });
    expect((JSON.parse(asJson.out) as { entries: unknown[] }).entries).toHaveLength(2);
    expect((await bulwark(['audit', 'show', '--limit', '0'], { BULWARK_TOKEN_FILE: aliceFile })).code).toBe(
      2,
    );
    for (const r of [halted, first, again, second, shown, asJson]) {
      expect(r.out + r.err).not.toContain(alice.token);
      expect(r.out + r.err).not.toContain(bob.token);
    }
  });

  it('refuses a bad token with the answer on one line, exit 1; bad usage exits 2; no token, no request', async () => {
    const bad = await bulwark(['halt', 'global', '--reason', 'x'], { BULWARK_TOKEN: 'not-a-token' });
    expect(bad).toMatchObject({
      code: 1,
      out: '',
      err: expect.stringMatching(/^bulwark: the breaker answered 401: .+\n$/),
    });
    expect(await bulwark(['halt', 'global'], { BULWARK_TOKEN_FILE: aliceFile })).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^bulwark: --reason is required.*\nusage: bulwark status/),
    });
    expect((await bulwark(['halt', '--reason', 'x'], { BULWARK_TOKEN_FILE: aliceFile })).code).toBe(2);
    expect((await bulwark(['halt', 'global', '--reason', 'x', '--token', 'abc'])).code).toBe(2);
    expect(await bulwark(['halt', 'global', '--reason', 'x'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/BULWARK_TOKEN_FILE or BULWARK_TOKEN/),
    });
    const scope = await bulwark(['halt', 'asset:eth', '--reason', 'x'], { BULWARK_TOKEN_FILE: aliceFile });
    expect(scope).toMatchObject({ code: 1, err: expect.stringMatching(/answered 404: .*\(field scope\)/) });
    expect((await bulwark(['status'])).out).toMatch(/^withdrawals ALLOWED/);
  });

  it('says which address it could not reach, exit 1', async () => {
    const r = await bulwark(['status'], { BULWARK_BREAKER_URL: 'http://127.0.0.1:1' });
    expect(r).toMatchObject({
      code: 1,
      err: expect.stringMatching(
        /^bulwark: cannot reach the breaker at http:\/\/127\.0\.0\.1:1 .*BULWARK_BREAKER_URL\n$/,
      ),
    });
  });
});
