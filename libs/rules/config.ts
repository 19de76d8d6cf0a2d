import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readYamlFile } from '../config/yaml';
import { ConfigError, errorMessage } from '../errors';
import { DEFAULTS } from './defaults';
import { RULE_REGISTRY } from './registry';
import { SEVERITIES, type Severity } from './rule-kind';
import { sanctionsListsFor } from './sanctions';

/**
 * Rules are data: a list of rule instances `{ id, kind, severity, enabled, params }`, so a second instance
 * of a kind (a `velocity-large` next to `velocity`) is a config change, not a code change. The file is YAML
 * or JSON; the schema turns it into the compiled `RulesConfig` (raw -> validated, defaults filled, paths
 * resolved) and code after start-up only ever sees that. Every default is the contract's (section 5).
 */

/** Every rule kind, in the contract's order (section 5): the registry's names. */
export type RuleKind = keyof typeof RULE_REGISTRY;
export const RULE_KINDS = Object.keys(RULE_REGISTRY) as RuleKind[];

export { SEVERITIES, type Severity } from './rule-kind';
export { DEFAULTS } from './defaults';

/** The environment variable naming the sanctions lists folder when a rule does not. */
export const SANCTIONS_DIR_ENV = 'BULWARK_SANCTIONS_DIR';

const positiveMs = (def: number) =>
  z
    .number({ error: 'expected a positive number' })
    .positive({ error: 'expected a positive number' })
    .default(def);
const nonNegativeMs = (def: number) =>
  z.number({ error: 'expected a number >= 0' }).min(0, { error: 'expected a number >= 0' }).default(def);

type Definition<K extends RuleKind> = (typeof RULE_REGISTRY)[K];
type ParamsOf<K extends RuleKind> = z.output<Definition<K>['params']>;
type CompiledParamsOf<K extends RuleKind> = Parameters<Definition<K>['compile']>[0]['params'];

/** The compiled parameters of each kind (sanctions: the folder resolved to an absolute path). */
export type RuleParams = { [K in RuleKind]: CompiledParamsOf<K> };

/** One rule instance; `kind` narrows `params`. */
export type RuleInstance = {
  [K in RuleKind]: { id: string; kind: K; severity: Severity; enabled: boolean; params: RuleParams[K] };
}[RuleKind];
export type RuleOf<K extends RuleKind> = Extract<RuleInstance, { kind: K }>;

export interface RulesConfig {
  /** How long after an approval (event time) an MFA from the auth stream still counts, and decisions wait. */
  graceMs: number;
  /** A caught-up input with no event for this long (wall clock) stops holding the watermark back. */
  idleTimeoutMs: number;
  /** How long an eventId is remembered (event time) so its redelivery is recognised as a duplicate. */
  dedupHorizonMs: number;
  /**
   * How far one input stream may run ahead of the other (event time, and wall time while catching up) and
   * still be matched exactly: auth facts (MFA, resets, logins, devices) are kept this much past their window.
   */
  maxSkewMs: number;
  rules: RuleInstance[];
}

const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const topSchema = z.strictObject({
  graceMs: nonNegativeMs(DEFAULTS.graceMs),
  idleTimeoutMs: positiveMs(DEFAULTS.idleTimeoutMs),
  dedupHorizonMs: positiveMs(DEFAULTS.dedupHorizonMs),
  maxSkewMs: nonNegativeMs(DEFAULTS.maxSkewMs),
  rules: z.array(z.unknown(), { error: 'expected a list of rules' }).optional(),
});

const ruleSchema = z.strictObject({
  id: z
    .string({ error: 'expected a rule id (1-64 of A-Z a-z 0-9 . _ -, no colon)' })
    .regex(RULE_ID, { error: 'expected a rule id (1-64 of A-Z a-z 0-9 . _ -, no colon)' })
    .optional(),
  kind: z.enum(RULE_KINDS as [RuleKind, ...RuleKind[]], {
    error: `expected one of ${RULE_KINDS.join(', ')}`,
  }),
  severity: z.enum(SEVERITIES, { error: `expected one of ${SEVERITIES.join(', ')}` }).optional(),
  enabled: z.boolean({ error: 'expected true or false' }).default(true),
  params: z.unknown().optional(),
});

/** `rules[2].params.windowMs` from a zod path. */
function fieldPath(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const p of parts) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(root)';
}

/** Where a misplaced key belongs, for the hint after "unknown field". */
const HINTS: Record<string, string> = {
  breaker: 'breaker triggers go in their own file (BULWARK_BREAKER_CONFIG), or in a replay --config',
};

function issueLines(error: z.ZodError, prefix: readonly PropertyKey[]): string[] {
  return error.issues.flatMap((i) => {
    // One line per unknown key, named by its own path (`rules[0].graceMS`), so a typo is found at once.
    if (i.code === 'unrecognized_keys')
      return i.keys.map((k) => {
        const hint = prefix.length === 0 && i.path.length === 0 ? HINTS[k] : undefined;
        return `${fieldPath([...prefix, ...i.path, k])}: unknown field${hint ? ` (${hint})` : ''}`;
      });
    return [`${fieldPath([...prefix, ...i.path])}: ${i.message}`];
  });
}

/** The folder holding this repository's package.json (works from libs/ under ts-jest and from dist/). */
export function repoRoot(from = __dirname): string {
  let dir = from;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'bulwark') return dir;
      } catch {
        // not ours; keep climbing
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(from, '..', '..');
    dir = up;
  }
}

/** The OFAC lists vendored in this repository (data/ofac-sanctioned-addresses, MIT; see SOURCE.md there). */
export function bundledSanctionsDir(): string {
  return path.join(repoRoot(), 'data', 'ofac-sanctioned-addresses');
}

/** The default rules file: `config/rules.default.yaml` at the repository root. */
export function defaultRulesPath(): string {
  return path.join(repoRoot(), 'config', 'rules.default.yaml');
}

function resolveListsDir(
  given: string | undefined,
  baseDir: string,
  env: Record<string, string | undefined>,
  field: string,
): string {
  if (given !== undefined) return path.resolve(baseDir, given);
  const fromEnv = env[SANCTIONS_DIR_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return path.resolve(fromEnv);
  const bundled = bundledSanctionsDir();
  if (fs.existsSync(bundled)) return bundled;
  throw new ConfigError(
    `${field}: no sanctions lists folder: set params.listsDir, or ${SANCTIONS_DIR_ENV}, to a folder of ` +
      `sanctioned_addresses_<TICKER>.txt files (the default ${bundled} does not exist)`,
  );
}

export interface ParseOptions {
  /** Relative `listsDir` values resolve against this folder (the config file's); default the cwd. */
  baseDir?: string;
  /** Names the input in error messages. */
  source?: string;
  env?: Record<string, string | undefined>;
  /** Read the sanctions lists now so a bad folder fails at start-up (default true). */
  loadLists?: boolean;
}

/** The top-level keys a rules file may hold. */
export const RULES_TOP_KEYS = Object.keys(topSchema.shape);

/** The contract's six default rules, as the file would list them. */
export function defaultRuleList(): unknown[] {
  return RULE_KINDS.map((kind) => ({ id: kind, kind }));
}

/**
 * Validates a parsed config object and compiles it. Throws ConfigError whose message names every bad field
 * by path, e.g. `rules[2].params.windowMs: expected a positive number`.
 */
export function parseRulesConfig(raw: unknown, opts: ParseOptions = {}): RulesConfig {
  const source = opts.source ?? 'rules config';
  const env = opts.env ?? process.env;
  const fail = (lines: string[]): never => {
    throw new ConfigError(`invalid ${source}: ${lines.join('; ')}`, { issues: lines });
  };
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw)))
    return fail([`(root): expected a mapping of ${RULES_TOP_KEYS.join(', ')}`]);
  const top = topSchema.safeParse(raw ?? {});
  const lines: string[] = top.success ? [] : issueLines(top.error, []);
  // Go on to the rules even when the top level is wrong, so one run names every mistake.
  const given = top.success ? top.data.rules : (raw as { rules?: unknown }).rules;
  const list = given === undefined ? defaultRuleList() : Array.isArray(given) ? given : [];

  const rules: RuleInstance[] = [];
  const seen = new Map<string, number>();
  list.forEach((entry, i) => {
    const base = ruleSchema.safeParse(entry);
    if (!base.success) {
      lines.push(...issueLines(base.error, ['rules', i]));
      // Name a typo in the params too, where the kind is known.
      const { kind, params } = (entry ?? {}) as { kind?: unknown; params?: unknown };
      const schema = (RULE_KINDS as readonly unknown[]).includes(kind)
        ? RULE_REGISTRY[kind as RuleKind].params
        : undefined;
      const p = schema?.safeParse(params ?? {});
      if (p && !p.success) lines.push(...issueLines(p.error, ['rules', i, 'params']));
      return;
    }
    const { kind } = base.data;
    const id = base.data.id ?? kind;
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      lines.push(`rules[${i}].id: "${id}" is already the id of rules[${earlier}]; ids must be unique`);
      return;
    }
    seen.set(id, i);
    const params = RULE_REGISTRY[kind].params.safeParse(base.data.params ?? {});
    if (!params.success) {
      lines.push(...issueLines(params.error, ['rules', i, 'params']));
      return;
    }
    const severity = base.data.severity ?? RULE_REGISTRY[kind].severity;
    const common = { id, severity, enabled: base.data.enabled };
    if (kind === 'sanctioned-destination') {
      const field = `rules[${i}].params.listsDir`;
      try {
        const given = (params.data as ParamsOf<'sanctioned-destination'>).listsDir;
        const listsDir = resolveListsDir(given, opts.baseDir ?? process.cwd(), env, field);
        if (opts.loadLists !== false && base.data.enabled) sanctionsListsFor(listsDir, field);
        rules.push({ ...common, kind, params: { listsDir } });
      } catch (err) {
        lines.push(errorMessage(err));
      }
      return;
    }
    rules.push({ ...common, kind, params: params.data } as RuleInstance);
  });
  if (lines.length > 0 || !top.success) return fail(lines);
  const { graceMs, idleTimeoutMs, dedupHorizonMs, maxSkewMs } = top.data;
  return { graceMs, idleTimeoutMs, dedupHorizonMs, maxSkewMs, rules };
}

/** The contract's defaults without reading any file. */
export function defaultRulesConfig(opts: ParseOptions = {}): RulesConfig {
  return parseRulesConfig({}, { source: 'default rules', ...opts });
}

/**
 * Reads and compiles a rules file (YAML or JSON): `file`, else BULWARK_RULES_CONFIG, else
 * `config/rules.default.yaml`. Throws ConfigError naming the file and the bad field.
 */
export function loadRulesConfig(
  file?: string,
  env: Record<string, string | undefined> = process.env,
): RulesConfig {
  const chosen = file ?? env.BULWARK_RULES_CONFIG ?? defaultRulesPath();
  const abs = path.resolve(chosen);
  const raw = readYamlFile(abs, `rules config ${abs}`);
  return parseRulesConfig(raw, { baseDir: path.dirname(abs), source: `rules config ${abs}`, env });
}

/** The enabled instances of one kind, in file order. */
export function rulesOfKind<K extends RuleKind>(config: RulesConfig, kind: K): RuleOf<K>[] {
  return config.rules.filter((r): r is RuleOf<K> => r.kind === kind && r.enabled);
}
