import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors';
import { loadReplayConfig } from './config';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-replay-cfg-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function messageOf(yaml: string): string {
  const file = path.join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, yaml);
  try {
    loadReplayConfig(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('replay --config', () => {
  it('refuses a top-level typo instead of replaying the defaults', () => {
    expect(messageOf('rulse:\n  - kind: velocity\n')).toMatch(/: rulse: unknown field$/);
    expect(messageOf('graceMS: 1000\n')).toMatch(/: graceMS: unknown field$/);
  });

  it('refuses an unknown key in the breaker section, naming its path', () => {
    expect(messageOf('breaker:\n  trigers: []\n')).toMatch(/\(breaker section\): .*trigers: unknown field/);
    expect(
      messageOf(
        'breaker:\n  triggers:\n    - { id: a, kind: distinct-users, target: global, windowMS: 1, threshold: 1 }\n',
      ),
    ).toMatch(/triggers\.0\.windowMS: unknown field/);
  });

  it('gives a YAML mistake its line and column, not just a code', () => {
    expect(messageOf('graceMs: 1000\nrules:\n  - kind: velocity\n   severity: high\n')).toMatch(
      /not valid YAML: line 4, column \d+: .+ \([A-Z_]+\)$/,
    );
  });

  it('still reads a good file with a breaker section', () => {
    const file = path.join(dir, 'good.yaml');
    fs.writeFileSync(
      file,
      'graceMs: 2000\nrules:\n  - { kind: velocity }\nbreaker:\n  triggers:\n' +
        '    - { id: a, kind: distinct-users, target: global, windowMs: 60000, threshold: 2 }\n',
    );
    const c = loadReplayConfig(file);
    expect(c.rules.graceMs).toBe(2000);
    expect(c.breaker.triggers.map((t) => t.id)).toEqual(['a']);
  });
});
