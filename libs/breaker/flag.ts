import { z } from 'zod';
import { MAX_AMOUNT_USD, outsideRange, type EventTimeRange } from '../events';
import { TICKER_PATTERN } from './scope';

/**
 * A flag as the detector writes it to `risk.flags.v1` (the engine declares the same shape as an interface;
 * structural typing makes the two interchangeable). Unknown extra fields are dropped, as for events.
 */
const isoWithOffset = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 timestamp with offset' });
const id = z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters');

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const flagSchema = z.object({
  flagId: z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters'),
  ruleId: id,
  severity: z.enum(SEVERITIES, { error: 'must be one of critical, high, medium, low' }),
  userId: id,
  withdrawalId: id,
  eventId: id,
  occurredAt: isoWithOffset,
  raisedAt: isoWithOffset,
  asset: z.string().regex(TICKER_PATTERN, 'must be an upper-case ticker'),
  // Bounded as in the event schema: its cents must stay an exact integer for the breaker's HINCRBY.
  amountUsd: z
    .number({ error: 'must be a number' })
    .finite()
    .nonnegative('must be >= 0')
    .max(MAX_AMOUNT_USD, `must be at most ${MAX_AMOUNT_USD} (1e11)`),
  evidence: z.record(z.string(), z.unknown(), { error: 'must be an object' }),
});

export type Flag = z.infer<typeof flagSchema>;

export type FlagParse =
  { ok: true; flag: Flag } | { ok: false; code: FlagInvalidCode; reason: string; field?: string };
export type FlagInvalidCode = 'empty' | 'too-large' | 'not-json' | 'not-object' | 'schema' | 'event-time';

/**
 * Parses one message value; never throws. The reason names the first field at fault. With `eventTime`, a
 * flag whose occurredAt lies outside that range is refused (code event-time): it must not move a window.
 */
export function parseFlag(
  value: Buffer | string | null,
  maxBytes = 64 * 1024,
  opts: { eventTime?: EventTimeRange } = {},
): FlagParse {
  if (value === null || value.length === 0) return { ok: false, code: 'empty', reason: 'empty value' };
  const size = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
  if (size > maxBytes)
    return { ok: false, code: 'too-large', reason: `value is ${size} bytes, limit ${maxBytes}` };
  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    return { ok: false, code: 'not-json', reason: 'value is not JSON' };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    return { ok: false, code: 'not-object', reason: 'value is not a JSON object' };
  const r = flagSchema.safeParse(json);
  if (r.success) {
    const refused = opts.eventTime && outsideRange(Date.parse(r.data.occurredAt), opts.eventTime);
    if (refused) return { ok: false, code: 'event-time', reason: refused, field: 'occurredAt' };
    return { ok: true, flag: r.data };
  }
  const issue = r.error.issues[0]!;
  const field = issue.path.map(String).join('.') || '(root)';
  return { ok: false, code: 'schema', reason: `${field}: ${issue.message}`, field };
}
