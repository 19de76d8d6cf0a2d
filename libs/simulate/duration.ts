import { UsageError } from '../errors';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses the durations a person types on a command line: `2d`, `90m`, `30s`, `1h`, `250ms`, compounds such
 * as `1h30m`, or a bare number of milliseconds (`"60000"`). Returns whole milliseconds.
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (Number.isFinite(input) && input >= 0) return Math.round(input);
    throw new UsageError(`invalid duration ${String(input)}: must be a non-negative number of milliseconds`);
  }
  const text = input.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text));
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    part.lastIndex = pos;
    const m = part.exec(text);
    if (m === null) break;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
    pos = part.lastIndex;
  }
  if (text.length === 0 || pos !== text.length || !Number.isFinite(total)) {
    throw new UsageError(
      `invalid duration ${JSON.stringify(input)}: use a number with a unit (250ms, 30s, 90m, 1h, 2d, 1w, 1h30m) or plain milliseconds`,
    );
  }
  return Math.round(total);
}
