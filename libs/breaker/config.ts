import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readYamlFile } from '../config/yaml';
import { ConfigError } from '../errors';
import { SEVERITIES } from './flag';
import { TICKER_PATTERN } from './scope';

/**
 * Triggers are data: a trigger names what it counts over a sliding window of event time, which flags it
 * counts, the threshold, and which scope it halts. Adding a per-asset value trigger is a config change.
 *
 *   distinct-users        distinct userIds with a matching flag
 *   distinct-withdrawals  distinct withdrawals with a matching flag (several rules on one withdrawal count once)
 *   sum-amount-usd        amountUsd of distinct withdrawals with a matching flag (each withdrawal once)
 *   detector-stalled      the detector made no progress for `stallMs` while input waits (watched by the service)
 *
 * `target` is `global`, `asset:<TICKER>`, or `asset:*` (the asset of the flag itself).
 */
const triggerId = z
  .string({ error: 'must be a string' })
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be 1-64 characters of a-z 0-9 - (kebab-case)');

const target = z
  .string({ error: 'must be a string' })
  .refine(
    (s) => s === 'global' || s === 'asset:*' || (s.startsWith('asset:') && TICKER_PATTERN.test(s.slice(6))),
    'must be "global", "asset:*" or "asset:<UPPERCASE TICKER>"',
  );

const positiveMs = (what: string) =>
  z
    .number({ error: `must be ${what} in milliseconds` })
    .int('must be a whole number of milliseconds')
    .positive('must be > 0');

const match = z
  .strictObject({
    severities: z
      .array(z.enum(SEVERITIES, { error: 'must be one of critical, high, medium, low' }))
      .min(1)
      .optional(),
    rules: z.array(z.string().min(1)).min(1).optional(),
    assets: z.array(z.string().regex(TICKER_PATTERN, 'must be an upper-case ticker')).min(1).optional(),
  })
  .default({});

const windowed = {
  id: triggerId,
  target,
  match,
  windowMs: positiveMs('a window'),
  threshold: z.number({ error: 'must be a number' }).positive('must be > 0'),
  /** Words for the reason: "3 <label> within 10 min". */
  label: z.string().min(1).max(120).optional(),
};

const triggerSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('distinct-users'), ...windowed }),
    z.strictObject({ kind: z.literal('distinct-withdrawals'), ...windowed }),
    z.strictObject({ kind: z.literal('sum-amount-usd'), ...windowed }),
    z.strictObject({
      kind: z.literal('detector-stalled'),
      id: triggerId,
      target,
      stallMs: positiveMs('a duration'),
    }),
  ],
  { error: 'kind must be one of distinct-users, distinct-withdrawals, sum-amount-usd, detector-stalled' },
);

export const breakerConfigSchema = z
  .strictObject({
    /** How far behind the newest flag of a window (in event time) a late flag still counts; older is dropped. */
    allowedLatenessMs: z
      .number({ error: 'must be a duration in milliseconds' })
      .int('must be a whole number of milliseconds')
      .min(0, 'must be >= 0')
      .default(3_600_000),
    /**
     * A flag dated further than this ahead of the wall clock is not counted: one absurd occurredAt would
     * otherwise move event time so far on that every real flag after it looks late.
     */
    maxFutureSkewMs: z
      .number({ error: 'must be a duration in milliseconds' })
      .int('must be a whole number of milliseconds')
      .positive('must be > 0')
      .default(3_600_000),
    resume: z
      .strictObject({
        approvalsRequired: z.number().int().min(2, 'must be at least 2 (four eyes)').default(2),
        approvalWindowMs: positiveMs('a duration').default(900_000),
      })
      .default({ approvalsRequired: 2, approvalWindowMs: 900_000 }),
    triggers: z.array(triggerSchema, { error: 'must be a list of triggers' }),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.triggers.forEach((t, i) => {
      if (seen.has(t.id))
        ctx.addIssue({ code: 'custom', path: ['triggers', i, 'id'], message: `duplicate id ${t.id}` });
      seen.add(t.id);
    });
    const stalled = cfg.triggers.filter((t) => t.kind === 'detector-stalled');
    if (stalled.length > 1)
      ctx.addIssue({ code: 'custom', path: ['triggers'], message: 'at most one detector-stalled trigger' });
    if (stalled[0]?.target === 'asset:*')
      ctx.addIssue({
        code: 'custom',
        path: ['triggers', cfg.triggers.indexOf(stalled[0]), 'target'],
        message:
          'a detector-stalled trigger has no flag to take an asset from: use "global" or "asset:<TICKER>"',
      });
  });

export type BreakerConfig = z.output<typeof breakerConfigSchema>;
export type TriggerConfig = BreakerConfig['triggers'][number];
export type WindowTrigger = Exclude<TriggerConfig, { kind: 'detector-stalled' }>;
export type StalledTrigger = Extract<TriggerConfig, { kind: 'detector-stalled' }>;

/** Validates raw config (parsed YAML or JSON); the error names the source and the path of the bad field. */
export function parseBreakerConfig(raw: unknown, source = 'breaker config'): BreakerConfig {
  const r = breakerConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const at = (p: readonly PropertyKey[]) => p.map(String).join('.') || '(root)';
  // An unknown key is named by its own path (`triggers.0.windowMS: unknown field`), one line each.
  const lines = r.error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => `${at([...i.path, k])}: unknown field`)
      : [`${at(i.path)}: ${i.message}`],
  );
  throw new ConfigError(`${source}: ${lines.join('; ')}`, { issues: lines });
}

/** Reads a YAML (or JSON, a subset of YAML) breaker config file. */
export function loadBreakerConfig(file: string = defaultBreakerConfigPath()): BreakerConfig {
  return parseBreakerConfig(readYamlFile(file, file), file);
}

/** The contract's default triggers, from `config/breaker.default.yaml`. */
export function defaultBreakerConfig(): BreakerConfig {
  return loadBreakerConfig(defaultBreakerConfigPath());
}

/**
 * `config/breaker.default.yaml` at the repository root, found by walking up from here, so it resolves both
 * from the sources (libs/breaker) and from the build (dist/libs/breaker).
 */
export function defaultBreakerConfigPath(): string {
  const rel = path.join('config', 'breaker.default.yaml');
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, rel);
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, '..', '..', rel);
  }
}

export function windowTriggers(cfg: BreakerConfig): WindowTrigger[] {
  return cfg.triggers.filter((t): t is WindowTrigger => t.kind !== 'detector-stalled');
}

export function stalledTrigger(cfg: BreakerConfig): StalledTrigger | undefined {
  return cfg.triggers.find((t): t is StalledTrigger => t.kind === 'detector-stalled');
}
