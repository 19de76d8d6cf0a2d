import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runHashToken } from './hash-token';
import { OperatorRegistry } from './operators';

async function run(argv: string[], opts: { stdin?: string; terminal?: boolean } = {}) {
  let out = '';
  let err = '';
  const code = await runHashToken(argv, {
    readStdin: async () => opts.stdin ?? '',
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    stderrIsTerminal: opts.terminal ?? false,
  });
  return { code, out, err };
}

describe('hash-token', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hash-token-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a token given as an argument, without echoing it', async () => {
    const token = 'Zk3v9QmWp2Lx7RtB4nYc8HsJ5dFg1KaUeT6oPiNq';
    const r = await run(['alice', token]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/token on the command line is refused/);
    expect(r.err + r.out).not.toContain(token);
  });

  it('refuses weak tokens from stdin with the reason, and accepts a strong one', async () => {
    for (const weak of [
      'hunter2',
      'password-password-password-password',
      'a-given-token-that-is-long-enough',
    ]) {
      const r = await run(['alice', '--stdin'], { stdin: `${weak}\n` });
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/at least 32|repeats itself|too predictable/);
      expect(r.err + r.out).not.toContain(weak);
    }
    const strong = 'Zk3v9QmWp2Lx7RtB4nYc8HsJ5dFg1KaUeT6oPiNq';
    const ok = await run(['alice', '-', '--roles', 'halt'], { stdin: `${strong}\n` });
    expect(ok).toMatchObject({ code: 0, err: '' });
    expect(OperatorRegistry.parse(ok.out, 'test').verify(strong)).toMatchObject({ name: 'alice' });
    expect(ok.out).not.toContain(strong);
  });

  it('writes a generated token only to a new mode-600 file, or to a terminal', async () => {
    const file = path.join(dir, 'alice.token');
    const r = await run(['alice', '--token-file', file]);
    expect(r.code).toBe(0);
    const token = fs.readFileSync(file, 'utf8').trim();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(r.out + r.err).not.toContain(token);
    expect(OperatorRegistry.parse(r.out, 'test').verify(token)).toMatchObject({ name: 'alice' });

    // Never overwrites, and never prints a token to a pipe or a log file.
    expect((await run(['bob', '--token-file', file])).code).toBe(2);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(token);
    const piped = await run(['bob']);
    expect(piped.code).toBe(2);
    expect(piped.err).toMatch(/not a terminal.*--token-file/);
    expect(piped.out).toBe('');

    const shown = await run(['bob'], { terminal: true });
    expect(shown.code).toBe(0);
    const shownToken = shown.err.trim().split('\n').pop()!;
    expect(OperatorRegistry.parse(shown.out, 'test').verify(shownToken)).toMatchObject({ name: 'bob' });
  });

  it('prints usage and exits 2 for bad arguments', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['alice', '--roles'])).code).toBe(2);
    expect((await run(['alice', '--wat'])).code).toBe(2);
    expect((await run(['alice', '--roles', 'root'], { terminal: true })).err).toMatch(/role "root"/);
    expect(await run(['--help'])).toMatchObject({ code: 0, out: expect.stringMatching(/^usage/) });
  });
});
