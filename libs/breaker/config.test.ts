import { configErrorOf } from '../../test/helpers/config-error';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  defaultBreakerConfig,
  loadBreakerConfig,
  parseBreakerConfig,
  stalledTrigger,
  windowTriggers,
} from './config';

const base = () =>
  JSON.parse(JSON.stringify(defaultBreakerConfig())) as Record<string, unknown> & {
    triggers: Record<string, unknown>[];
  };

describe('breaker trigger config', () => {
  it('defaults to the contract: 3 critical users, 250,000 USD high/critical, 60 s stall, all global over 10 min', () => {
    const cfg = defaultBreakerConfig();
    expect(windowTriggers(cfg)).toEqual([
      expect.objectContaining({
        id: 'critical-users',
        kind: 'distinct-users',
        target: 'global',
        threshold: 3,
        windowMs: 600000,
        match: { severities: ['critical'] },
      }),
      expect.objectContaining({
        id: 'flagged-value',
        kind: 'sum-amount-usd',
        target: 'global',
        threshold: 250000,
        windowMs: 600000,
        match: { severities: ['high', 'critical'] },
      }),
    ]);
    expect(stalledTrigger(cfg)).toEqual({
      id: 'detector-stalled',
      kind: 'detector-stalled',
      target: 'global',
      stallMs: 60000,
    });
    expect(cfg.resume).toEqual({ approvalsRequired: 2, approvalWindowMs: 900000 });
  });

  it('names the path of a bad field', () => {
    const cfg = base();
    cfg.triggers[1]!.threshold = -5;
    expect(configErrorOf(() => parseBreakerConfig(cfg, 'x.yaml'))).toBe(
      'x.yaml: triggers.1.threshold: must be > 0',
    );
    const bad = base();
    bad.triggers[0]!.target = 'asset:eth';
    expect(configErrorOf(() => parseBreakerConfig(bad))).toMatch(
      /triggers\.0\.target: must be "global", "asset:\*"/,
    );
    const kind = base();
    kind.triggers[0]!.kind = 'magic';
    expect(configErrorOf(() => parseBreakerConfig(kind))).toMatch(/triggers\.0\.kind/);
    const sev = base();
    sev.triggers[0]!.match = { severities: ['urgent'] };
    expect(configErrorOf(() => parseBreakerConfig(sev))).toMatch(
      /triggers\.0\.match\.severities\.0: must be one of/,
    );
  });

  it('rejects unknown fields, duplicate ids, fewer than two approvals and an asset:* stall trigger', () => {
    const extra = base();
    extra.triggers[0]!.treshold = 3;
    expect(configErrorOf(() => parseBreakerConfig(extra))).toMatch(/triggers\.0\.treshold: unknown field/);
    expect(configErrorOf(() => parseBreakerConfig({ ...base(), trigers: [] }))).toMatch(
      /trigers: unknown field/,
    );
    expect(
      configErrorOf(() =>
        parseBreakerConfig({ ...base(), resume: { approvalsRequired: 2, approvalWindowMS: 1 } }),
      ),
    ).toMatch(/resume\.approvalWindowMS: unknown field/);
    const dup = base();
    dup.triggers[1]!.id = 'critical-users';
    expect(configErrorOf(() => parseBreakerConfig(dup))).toMatch(
      /triggers\.1\.id: duplicate id critical-users/,
    );
    expect(configErrorOf(() => parseBreakerConfig({ ...base(), resume: { approvalsRequired: 1 } }))).toMatch(
      /resume\.approvalsRequired: must be at least 2/,
    );
    const stall = base();
    stall.triggers[2]!.target = 'asset:*';
    expect(configErrorOf(() => parseBreakerConfig(stall))).toMatch(
      /triggers\.2\.target: a detector-stalled trigger/,
    );
  });

  it('accepts a per-asset trigger as data', () => {
    const cfg = base();
    cfg.triggers.push({
      id: 'eth-value',
      kind: 'sum-amount-usd',
      target: 'asset:ETH',
      windowMs: 60000,
      threshold: 1000,
    });
    cfg.triggers.push({
      id: 'any-asset',
      kind: 'distinct-withdrawals',
      target: 'asset:*',
      windowMs: 60000,
      threshold: 5,
    });
    expect(windowTriggers(parseBreakerConfig(cfg)).map((t) => t.id)).toEqual([
      'critical-users',
      'flagged-value',
      'eth-value',
      'any-asset',
    ]);
  });

  it('reports unreadable and non-YAML files by name', () => {
    expect(configErrorOf(() => loadBreakerConfig('/nonexistent/breaker.yaml'))).toMatch(
      /^\/nonexistent\/breaker.yaml: cannot read/,
    );
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'brk-cfg-')), 'b.yaml');
    fs.writeFileSync(file, 'triggers: [unclosed');
    expect(configErrorOf(() => loadBreakerConfig(file))).toMatch(/not valid YAML: line \d+, column \d+: /);
    fs.writeFileSync(file, 'allowedLatenessMs: 1\nallowedLatenessMs: 2\ntriggers: []\n');
    expect(configErrorOf(() => loadBreakerConfig(file))).toMatch(/line 2, column 1: Map keys must be unique/);
  });
});
