import type { z } from 'zod';
import {
  AUTH_TYPES,
  EVENT_SCHEMAS,
  WALLET_TYPES,
  envelopeSchema,
  type BulwarkEvent,
  type EventType,
  type Topic,
} from './schemas';
import { outsideRange, type EventTimeRange } from './event-time';

/**
 * Turns one raw message value into a valid event, an ignored event of a type we do not know, or the reason
 * it must be dead-lettered (contract section 3). Never throws: a bad message must not stop the consumer.
 *
 * This runs once per consumed event, so the valid path does one JSON.parse, one Map lookup and one zod
 * parse, and builds no strings.
 */

export { AUTH_TYPES, WALLET_TYPES };

/** Contract section 3: the default size limit of a message value. */
export const DEFAULT_MAX_BYTES = 65_536;

export type InvalidCode =
  'null' | 'too_large' | 'not_utf8' | 'not_json' | 'not_object' | 'schema' | 'wrong_topic' | 'event_time';

export type ParseResult =
  | { kind: 'valid'; event: BulwarkEvent }
  | { kind: 'ignored'; type: string; eventId: string; userId: string }
  | { kind: 'invalid'; reason: string; field?: string; code: InvalidCode };

export type InvalidResult = Extract<ParseResult, { kind: 'invalid' }>;

export interface ParseOptions {
  /** Values longer than this many bytes are rejected before they are decoded. */
  maxBytes?: number;
  /** The topic the value came from; an event of the other topic's types is rejected. */
  expectedTopic?: Topic;
  /**
   * The plausible range of `occurredAt` (see event-time.ts): a valid event outside it is refused with
   * code `event_time`, so one absurd date never moves event time. Omitted: any date is accepted.
   */
  eventTime?: EventTimeRange;
}

const TOPIC_OF_TYPE: ReadonlyMap<string, Topic> = new Map<string, Topic>([
  ...AUTH_TYPES.map((t) => [t, 'auth'] as const),
  ...WALLET_TYPES.map((t) => [t, 'wallet'] as const),
]);

/** The input topic a v1 event type belongs on, or undefined for a type this version does not know. */
export function topicOfType(type: string): Topic | undefined {
  return TOPIC_OF_TYPE.get(type);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseEvent(value: Buffer | string | null, opts?: ParseOptions): ParseResult {
  if (value === null || value === undefined) {
    return invalid('null', 'value is null (a tombstone or empty message), expected a JSON object');
  }
  const maxBytes = opts?.maxBytes ?? DEFAULT_MAX_BYTES;

  let text: string;
  if (typeof value === 'string') {
    // A UTF-16 unit encodes to at least one byte and at most three, so the exact count is rarely needed.
    if (value.length > maxBytes || (value.length * 3 > maxBytes && Buffer.byteLength(value) > maxBytes)) {
      return tooLarge(maxBytes);
    }
    if (!isWellFormed(value)) {
      return invalid('not_utf8', 'value has a lone UTF-16 surrogate, so it is not encodable as UTF-8');
    }
    text = value.charCodeAt(0) === 0xfeff ? value.slice(1) : value;
  } else {
    if (value.length > maxBytes) return tooLarge(maxBytes);
    try {
      // Also drops a leading byte order mark, which JSON.parse would refuse.
      text = utf8.decode(value);
    } catch {
      return invalid('not_utf8', 'value is not valid UTF-8');
    }
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return invalid('not_json', `value is not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return invalid(
      'not_object',
      `value is JSON ${json === null ? 'null' : describe(json)}, expected an object`,
    );
  }
  if (mayHoldUnsafeKeys(text)) dropUnsafeKeys(json);

  const type = (json as { type?: unknown }).type;
  const schema = typeof type === 'string' ? EVENT_SCHEMAS.get(type as EventType) : undefined;
  if (schema === undefined) return unknownType(json);

  const expected = opts?.expectedTopic;
  if (expected !== undefined && TOPIC_OF_TYPE.get(type as string) !== expected) {
    return {
      kind: 'invalid',
      code: 'wrong_topic',
      field: 'type',
      reason: `type: "${type as string}" belongs on the ${TOPIC_OF_TYPE.get(type as string)} topic, not the ${expected} topic`,
    };
  }

  const parsed = schema.safeParse(json);
  if (!parsed.success) return schemaInvalid(parsed.error.issues);
  const range = opts?.eventTime;
  if (range !== undefined) {
    const refused = outsideRange(parsed.data.occurredAtMs, range);
    if (refused !== undefined)
      return { kind: 'invalid', code: 'event_time', field: 'occurredAt', reason: refused };
  }
  return { kind: 'valid', event: parsed.data };
}

/** A type we do not know is not an error (producers add types), as long as the envelope is sound. */
function unknownType(json: object): ParseResult {
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) return schemaInvalid(envelope.error.issues);
  const { type, eventId, userId } = envelope.data;
  return { kind: 'ignored', type, eventId, userId };
}

function schemaInvalid(issues: readonly z.core.$ZodIssue[]): InvalidResult {
  const issue = issues[0];
  if (issue === undefined) return invalid('schema', 'value does not match the event schema');
  const field = issue.path.map(String).join('.');
  if (field === '') return invalid('schema', `value ${issue.message}`);
  return { kind: 'invalid', code: 'schema', field, reason: `${field}: ${issue.message}` };
}

function invalid(code: InvalidCode, reason: string): InvalidResult {
  return { kind: 'invalid', code, reason };
}

function tooLarge(maxBytes: number): InvalidResult {
  return invalid('too_large', `value is larger than the limit of ${maxBytes} bytes`);
}

function describe(json: unknown): string {
  return Array.isArray(json) ? 'array' : typeof json;
}

type WellFormed = (this: string) => boolean;
const nativeIsWellFormed = (String.prototype as { isWellFormed?: WellFormed }).isWellFormed;
/** Node 20 has String#isWellFormed; the regex is a fallback for older runtimes and odd builds. */
function isWellFormed(s: string): boolean {
  return nativeIsWellFormed === undefined ? !/\p{Surrogate}/u.test(s) : nativeIsWellFormed.call(s);
}

/**
 * Keys that could reach an object's prototype if the parsed data were ever merged with Object.assign or
 * a naive deep merge. JSON.parse itself only creates own properties, and the zod schemas strip unknown
 * keys, so this is defence in depth for anything that handles the raw tree.
 */
const UNSAFE_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/**
 * Such a key can only appear literally or spelled with a \u escape; scanning the text for both is far
 * cheaper than walking every parsed value.
 */
function mayHoldUnsafeKeys(text: string): boolean {
  return (
    text.includes('\\u') ||
    text.includes('__proto__') ||
    text.includes('constructor') ||
    text.includes('prototype')
  );
}

/** Exported for tests only; index.ts does not re-export it. */
export function dropUnsafeKeys(value: unknown): void {
  // An explicit stack: a deeply nested value must not overflow the call stack.
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (Array.isArray(node)) {
      for (const item of node) stack.push(item);
      continue;
    }
    const record = node as Record<string, unknown>;
    for (const key of UNSAFE_KEYS) {
      if (Object.prototype.hasOwnProperty.call(record, key)) delete record[key];
    }
    for (const key of Object.keys(record)) stack.push(record[key]);
  }
}
