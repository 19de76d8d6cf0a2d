import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../../libs/errors';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a subcommand's arguments strictly; any problem becomes a UsageError (usage printed, exit 2). An
 * option given twice is refused unless it is declared `multiple`: the second value would silently win.
 */
export function parse<T extends Options>(argv: string[], options: T) {
  const all = { ...options, help: { type: 'boolean', short: 'h' } } satisfies Options;
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: all, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/\. To specify.*$/s, '') : String(err));
  }
  const counts = new Map<string, number>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue;
    const n = (counts.get(t.name) ?? 0) + 1;
    counts.set(t.name, n);
    if (n === 2 && !(all as Options)[t.name]?.multiple)
      throw new UsageError(`--${t.name} given more than once`);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** Throws a UsageError naming the first of `names` given (those that only make sense elsewhere). */
export function refuseOptions(values: Record<string, unknown>, names: string[], why: string): void {
  const given = names.find((n) => values[n] !== undefined);
  if (given !== undefined) throw new UsageError(`--${given} ${why}`);
}

export function intOpt(name: string, value: string | undefined, def: number, min = 0): number {
  if (value === undefined) return def;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min)
    throw new UsageError(`--${name} must be a whole number >= ${min}, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** A decimal number from `min` to `max` (no hex, exponent, Infinity or empty string). */
export function numberOpt(name: string, value: string | undefined, def: number, min: number, max: number) {
  if (value === undefined) return def;
  const n = Number(value);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value) || n < min || n > max)
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

export function shareOpt(name: string, value: string | undefined, def: number): number {
  return numberOpt(name, value, def, 0, 1);
}

export function isoOpt(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(t))
    throw new UsageError(
      `--${name} must be an ISO 8601 time like 2022-01-17T00:00:00Z, got ${JSON.stringify(value)}`,
    );
  return new Date(t).toISOString();
}
