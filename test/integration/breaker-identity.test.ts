import { serviceEnv } from '../helpers/service-env';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newOperatorLine } from '../../services/breaker/operators';
import { realStack, waitFor } from '../helpers/env';
import { startTestIdp, unsignedToken, type TestIdp } from '../helpers/jwks';

jest.setTimeout(90000);

/**
 * The built breaker (dist/, so the compiled require of the ES-module jose is exercised too) with static
 * operators from a file and JWT operators from a JWKS the test serves.
 */
describe('breaker operator identity: JWT operators, static operators reloaded, as a real process', () => {
  const { fresh } = realStack();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breaker-identity-'));
  const opsFile = path.join(dir, 'operators');
  const alice = newOperatorLine('alice');
  const bob = newOperatorLine('bob', undefined, 'halt+audit');
  let idp: TestIdp;
  let child: ChildProcess | undefined;
  let output = '';
  let base = '';
  const secrets: string[] = [alice.token, bob.token];

  beforeAll(async () => {
    idp = await startTestIdp('ES256');
    fs.writeFileSync(opsFile, `${alice.line}\n${bob.line}\n`, { mode: 0o600 });
    const prefix = fresh('brk-id');
    child = spawn(process.execPath, ['dist/services/breaker/main.js'], {
      env: {
        PATH: process.env.PATH,
        ...serviceEnv(prefix),
        BULWARK_BREAKER_PORT: '0',
        BULWARK_LOG_LEVEL: 'info',
        BULWARK_OPERATORS_FILE: opsFile,
        // Only SIGHUP reloads here (polling is covered by operator-file.test.ts).
        BULWARK_OPERATORS_RELOAD_MS: '3600000',
        BULWARK_OIDC_ISSUER: idp.issuer,
        BULWARK_OIDC_AUDIENCE: idp.audience,
        BULWARK_OIDC_JWKS_URL: idp.jwksUrl,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const port = await waitFor(() => /"port":(\d+).*breaker service started/.exec(output)?.[1], 60000);
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await idp.close();
    fs.rmSync(dir, { recursive: true, force: true });
    // Nothing secret reaches the breaker's logs.
    for (const s of secrets) expect(output).not.toContain(s);
  });

  async function call(method: string, route: string, token?: string, body?: unknown) {
    const res = await fetch(`${base}${route}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const jwtFor = async (sub: string, roles: string[], opts = {}) => {
    const t = await idp.sign({ sub, roles }, opts);
    secrets.push(t);
    return t;
  };

  it('two JWT operators resume with four eyes; bad JWTs get 401, a missing role 403', async () => {
    const dana = await jwtFor('dana', ['halt', 'resume', 'audit']);
    const erin = await jwtFor('erin', ['resume']);
    const viewer = await jwtFor('vic', ['audit']);
    const reason = { scope: 'global', reason: 'idp operators test' };
    expect(await call('POST', '/v1/breaker/halt', dana, reason)).toMatchObject({
      status: 200,
      body: { changed: true, state: 'halted', by: 'dana' },
    });
    expect((await call('POST', '/v1/breaker/halt', viewer, reason)).status).toBe(403);
    expect((await call('POST', '/v1/breaker/halt', erin, reason)).status).toBe(403);
    const expired = await jwtFor('erin', ['resume'], { expiresIn: -300 });
    const foreign = await jwtFor('erin', ['resume'], { foreignKey: true });
    const wrongAud = await jwtFor('erin', ['resume'], { audience: 'other' });
    const none = unsignedToken(
      { alg: 'none' },
      { sub: 'erin', roles: ['resume'], iss: idp.issuer, aud: idp.audience, exp: Date.now() / 1000 + 300 },
    );
    for (const bad of [expired, foreign, wrongAud, none])
      expect((await call('POST', '/v1/breaker/resume', bad, reason)).status).toBe(401);

    expect(await call('POST', '/v1/breaker/resume', dana, reason)).toMatchObject({
      status: 202,
      body: { status: 'pending', approvals: ['dana'] },
    });
    // A second token of the same person is still the same person.
    const danaAgain = await jwtFor('dana', ['resume']);
    expect(await call('POST', '/v1/breaker/resume', danaAgain, reason)).toMatchObject({
      status: 202,
      body: { approvals: ['dana'] },
    });
    expect(await call('POST', '/v1/breaker/resume', erin, reason)).toMatchObject({
      status: 200,
      body: { status: 'resumed', state: 'open', by: 'dana,erin' },
    });
    // Static and JWT operators work side by side: alice (static) halts, JWT erin and alice resume.
    expect((await call('POST', '/v1/breaker/halt', alice.token, reason)).status).toBe(200);
    expect((await call('POST', '/v1/breaker/resume', alice.token, reason)).status).toBe(202);
    expect(await call('POST', '/v1/breaker/resume', erin, reason)).toMatchObject({
      status: 200,
      body: { by: 'alice,erin' },
    });
    expect(idp.fetches()).toBe(1);
  });

  it('SIGHUP reloads the operators file: a removed token stops working, a bad file keeps the old list', async () => {
    const audit = (t: string) => call('GET', '/v1/breaker/audit?limit=1', t).then((r) => r.status);
    expect(await audit(bob.token)).toBe(200);
    const carol = newOperatorLine('carol');
    secrets.push(carol.token);

    fs.writeFileSync(opsFile, `${alice.line}\n${carol.line}\n`);
    child!.kill('SIGHUP');
    await waitFor(async () => (await audit(bob.token)) === 401);
    expect(await audit(carol.token)).toBe(200);

    fs.writeFileSync(opsFile, `${alice.line}\ncarol:not-a-salt:zz\n`);
    child!.kill('SIGHUP');
    const metrics = async () => (await fetch(`${base}/metrics`)).text();
    await waitFor(async () =>
      /bulwark_operator_reloads_total\{[^}]*outcome="error"[^}]*\} 1/.test(await metrics()),
    );
    expect(await audit(carol.token)).toBe(200);
    expect(await audit(alice.token)).toBe(200);
    expect(output).toMatch(/operators file rejected; the previous list stays/);
    expect(child!.exitCode).toBeNull();
  });
});

describe('breaker identity settings at start', () => {
  it('exits 1 with one line naming the variable for OIDC settings that do not fit together', async () => {
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const p = spawn(process.execPath, ['dist/services/breaker/main.js'], {
          env: { PATH: process.env.PATH, ...env },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        p.stderr!.on('data', (c: Buffer) => (err += c.toString()));
        p.on('exit', (code) => resolve({ code, err }));
      });
    expect(await run({ BULWARK_OIDC_ISSUER: 'https://idp.example/' })).toEqual({
      code: 1,
      err: expect.stringMatching(/^bulwark breaker: BULWARK_OIDC_AUDIENCE is unset: .*\n$/),
    });
    expect(
      await run({
        BULWARK_OIDC_ISSUER: 'https://idp.example/',
        BULWARK_OIDC_AUDIENCE: 'b',
        BULWARK_OIDC_JWKS_URL: 'http://idp.example/jwks',
      }),
    ).toMatchObject({ code: 1, err: expect.stringMatching(/BULWARK_OIDC_JWKS_URL=.*must be https/) });
    const weak = await run({ BULWARK_OPERATORS: 'alice' });
    expect(weak).toMatchObject({ code: 1, err: expect.stringMatching(/BULWARK_OPERATORS: entry 1 must be/) });
  });
});
