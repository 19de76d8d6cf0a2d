import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../../libs/errors';

/** Parses a subcommand's arguments strictly; any problem becomes a UsageError (usage printed, exit 2). */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/\. To specify.*$/s, '') : String(err));
  }
}

export function intOpt(name: string, value: string | undefined, def: number, min = 0): number {
  if (value === undefined) return def;
  if (!/^\d+$/.test(value) || Number(value) < min)
    throw new UsageError(`--${name} must be a whole number >= ${min}, got ${JSON.stringify(value)}`);
  return Number(value);
}

export function shareOpt(name: string, value: string | undefined, def: number): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new UsageError(`--${name} must be a number from 0 to 1, got ${JSON.stringify(value)}`);
  return n;
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
