import { configErrorOf } from '../../test/helpers/config-error';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULTS,
  defaultRulesConfig,
  loadRulesConfig,
  parseRulesConfig,
  rulesOfKind,
  type RulesConfig,
} from './config';

const listsDir = path.join(os.tmpdir(), `bulwark-lists-${process.pid}`);
beforeAll(() => {
  fs.mkdirSync(listsDir, { recursive: true });
  fs.writeFileSync(
    path.join(listsDir, 'sanctioned_addresses_ETH.txt'),
    '0x722122dF12D4e14e13Ac3b6895a86e84145b6967\n',
  );
});
afterAll(() => fs.rmSync(listsDir, { recursive: true, force: true }));

const env = { BULWARK_SANCTIONS_DIR: listsDir };

describe('rules config', () => {
  it('defaults to the contract', () => {
    const c: RulesConfig = defaultRulesConfig({ env });
    expect(c.graceMs).toBe(30_000);
    expect(c.idleTimeoutMs).toBe(10_000);
    expect(c.dedupHorizonMs).toBe(48 * 3_600_000);
    expect(c.rules.map((r) => [r.id, r.severity])).toEqual([
      ['mfa-missing', 'critical'],
      ['new-address-cooldown', 'high'],
      ['mfa-reset-withdrawal', 'high'],
      ['new-device-withdrawal', 'medium'],
      ['velocity', 'medium'],
      ['sanctioned-destination', 'critical'],
    ]);
    expect(rulesOfKind(c, 'mfa-missing')[0]!.params.lookbackMs).toBe(600_000);
    expect(rulesOfKind(c, 'velocity')[0]!.params).toEqual({
      windowMs: 3_600_000,
      maxCount: 5,
      maxUsd: 100_000,
    });
    expect(rulesOfKind(c, 'new-device-withdrawal')[0]!.params).toEqual({
      unseenMs: 90 * 86_400_000,
      loginWithinMs: 1_800_000,
    });
    expect(rulesOfKind(c, 'sanctioned-destination')[0]!.params.listsDir).toBe(path.resolve(listsDir));
  });

  it('the shipped YAML equals the built-in defaults', () => {
    const file = loadRulesConfig(undefined, env);
    const builtIn = defaultRulesConfig({ env });
    expect(file).toEqual(builtIn);
  });

  it('runs several instances of one kind with their own params', () => {
    const c = parseRulesConfig(
      {
        rules: [
          { id: 'velocity', kind: 'velocity' },
          {
            id: 'velocity-large',
            kind: 'velocity',
            severity: 'high',
            params: { windowMs: 3_600_000, maxCount: 1, maxUsd: 500_000 },
          },
        ],
      },
      { env },
    );
    expect(rulesOfKind(c, 'velocity').map((r) => [r.id, r.params.maxCount, r.params.maxUsd])).toEqual([
      ['velocity', 5, 100_000],
      ['velocity-large', 1, 500_000],
    ]);
  });

  it('names the bad field path', () => {
    const msg = configErrorOf(() =>
      parseRulesConfig(
        {
          rules: [
            { kind: 'mfa-missing' },
            { kind: 'velocity' },
            { id: 'v2', kind: 'velocity', params: { windowMs: -5 } },
          ],
        },
        { env },
      ),
    );
    expect(msg).toContain('rules[2].params.windowMs: expected a positive number');
  });

  it('reports every problem: unknown kinds, unknown params, duplicate ids, bad severities, globals', () => {
    const msg = configErrorOf(() =>
      parseRulesConfig(
        {
          graceMs: 'soon',
          rules: [
            { kind: 'nope' },
            { kind: 'mfa-missing', params: { lookbakMs: 1 } },
            { kind: 'mfa-missing', severity: 'urgent' },
            { id: 'a:b', kind: 'velocity' },
          ],
        },
        { env },
      ),
    );
    expect(msg).toContain('graceMs: expected a number >= 0');
    const rulesMsg = configErrorOf(() =>
      parseRulesConfig(
        {
          rules: [
            { kind: 'nope' },
            { kind: 'mfa-missing', params: { lookbakMs: 1 } },
            { kind: 'mfa-missing' },
            { kind: 'velocity', severity: 'urgent' },
            { id: 'a:b', kind: 'velocity' },
            { kind: 'velocity', id: 'v3', params: { maxCount: null, maxUsd: null } },
          ],
        },
        { env },
      ),
    );
    expect(rulesMsg).toContain('rules[0].kind: expected one of mfa-missing, new-address-cooldown');
    expect(rulesMsg).toContain('rules[1].params.lookbakMs: unknown field');
    expect(rulesMsg).toContain('rules[2].id: "mfa-missing" is already the id of rules[1]');
    expect(rulesMsg).toContain('rules[3].severity: expected one of critical, high, medium, low');
    expect(rulesMsg).toContain('rules[4].id: expected a rule id');
    expect(rulesMsg).toContain('rules[5].params: maxCount and maxUsd cannot both be null');
  });

  it('makes a missing sanctions folder a clear error naming the field', () => {
    const msg = configErrorOf(() =>
      parseRulesConfig(
        { rules: [{ kind: 'sanctioned-destination', params: { listsDir: '/nonexistent/lists' } }] },
        { env },
      ),
    );
    expect(msg).toMatch(
      /rules\[0\]\.params\.listsDir: cannot read the sanctions lists directory \/nonexistent\/lists/,
    );
  });

  it('resolves listsDir relative to the config file and reads YAML or JSON', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-cfg-'));
    try {
      fs.cpSync(listsDir, path.join(dir, 'lists'), { recursive: true });
      fs.writeFileSync(
        path.join(dir, 'r.yaml'),
        'graceMs: 1000\nrules:\n  - kind: sanctioned-destination\n    params: { listsDir: lists }\n',
      );
      const c = loadRulesConfig(path.join(dir, 'r.yaml'), {});
      expect(c.graceMs).toBe(1000);
      expect(rulesOfKind(c, 'sanctioned-destination')[0]!.params.listsDir).toBe(path.join(dir, 'lists'));
      fs.writeFileSync(
        path.join(dir, 'r.json'),
        JSON.stringify({ rules: [{ kind: 'velocity', params: { windowMs: 0 } }] }),
      );
      expect(configErrorOf(() => loadRulesConfig(path.join(dir, 'r.json'), env))).toContain(
        'rules[0].params.windowMs: expected a positive number',
      );
      fs.writeFileSync(path.join(dir, 'bad.yaml'), 'rules: [\n');
      expect(configErrorOf(() => loadRulesConfig(path.join(dir, 'bad.yaml'), env))).toContain(
        'not valid YAML: line 2, column 1:',
      );
      expect(configErrorOf(() => loadRulesConfig(path.join(dir, 'missing.yaml'), env))).toContain(
        'cannot read (no such file)',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown key anywhere, naming its path, instead of running the defaults', () => {
    const msg = configErrorOf(() =>
      parseRulesConfig(
        {
          rulse: [{ kind: 'velocity' }],
          graceMS: 5000,
          rules: [{ id: 'mfa-missing', kind: 'mfa-missing', graceMS: 1, params: { lookbackMS: 1 } }],
        },
        { env },
      ),
    );
    expect(msg).toContain('rulse: unknown field');
    expect(msg).toContain('graceMS: unknown field');
    expect(msg).toContain('rules[0].graceMS: unknown field');
    expect(msg).toContain('rules[0].params.lookbackMS: unknown field');
    // A breaker section belongs to the breaker's own file; the detector says where it goes.
    expect(configErrorOf(() => parseRulesConfig({ breaker: { triggers: [] } }, { env }))).toMatch(
      /breaker: unknown field \(breaker triggers go in their own file/,
    );
    expect(configErrorOf(() => parseRulesConfig(['rules'], { env }))).toContain('(root): expected a mapping');
  });

  it('gives the line and column of a YAML mistake, and refuses a duplicate key', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-cfg-'));
    try {
      const file = path.join(dir, 'r.yaml');
      fs.writeFileSync(file, 'graceMs: 1000\nidleTimeoutMs: 5\ngraceMs: 2000\n');
      expect(configErrorOf(() => loadRulesConfig(file, env))).toBe(
        `rules config ${file}: not valid YAML: line 3, column 1: Map keys must be unique (DUPLICATE_KEY)`,
      );
      fs.writeFileSync(file, 'rules:\n  - kind: velocity\n   severity: high\n');
      expect(configErrorOf(() => loadRulesConfig(file, env))).toMatch(
        /not valid YAML: line 3, column \d+: .+ \([A-Z_]+\)$/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps disabled rules but rulesOfKind skips them', () => {
    const c = parseRulesConfig({ rules: [{ kind: 'velocity', enabled: false }] }, { env });
    expect(c.rules).toHaveLength(1);
    expect(rulesOfKind(c, 'velocity')).toEqual([]);
    expect(DEFAULTS.maxSkewMs).toBeGreaterThan(0);
  });
});
