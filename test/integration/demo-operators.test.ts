import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OperatorRegistry } from '../../services/breaker/operators';

/**
 * The demo's operator setup (scripts/demo-operators.sh, run by scripts/demo.sh): tokens only in mode-600
 * files, never in a command's arguments or the script's output. Every `node` and `cat` it starts is recorded
 * through a PATH shim, so a token passed as an argument would show.
 */
describe('demo operators', () => {
  it('writes tokens, curl header files and the operators file with mode 600, no token in argv or output', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-ops-'));
    const shim = path.join(dir, 'bin');
    const argvLog = path.join(dir, 'argv.log');
    fs.mkdirSync(shim);
    const shims: [string, string][] = [
      ['node', process.execPath],
      ['cat', execFileSync('sh', ['-c', 'command -v cat']).toString().trim()],
    ];
    for (const [name, real] of shims)
      fs.writeFileSync(
        path.join(shim, name),
        `#!/bin/sh\nprintf '%s\\n' "${name} $*" >>'${argvLog}'\nexec '${real}' "$@"\n`,
        { mode: 0o755 },
      );
    const out = path.join(dir, 'ops');
    const printed = execFileSync('bash', ['scripts/demo-operators.sh', out], {
      env: { ...process.env, PATH: `${shim}:${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString();
    expect(printed.trim()).toBe(out);

    const registry = OperatorRegistry.parse(fs.readFileSync(path.join(out, 'operators'), 'utf8'), 'demo');
    const argv = fs.readFileSync(argvLog, 'utf8');
    expect(argv).toMatch(/hash-token\.js alice --token-file/);
    for (const name of ['alice', 'bob']) {
      const token = fs.readFileSync(path.join(out, `${name}.token`), 'utf8').trim();
      expect(registry.verify(token)).toMatchObject({ name });
      expect(fs.readFileSync(path.join(out, `${name}.auth`), 'utf8')).toBe(
        `Authorization: Bearer ${token}\n`,
      );
      expect(argv).not.toContain(token);
      expect(printed).not.toContain(token);
    }
    for (const f of fs.readdirSync(out)) expect(fs.statSync(path.join(out, f)).mode & 0o777).toBe(0o600);
    expect(fs.statSync(out).mode & 0o777).toBe(0o700);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
