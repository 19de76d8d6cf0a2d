import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { OutRecord, RawMessage } from '../kafka';
import { DLQ_LETTER_MAX_BYTES } from '../kafka/topics';

/**
 * The one encoder of dead letters (contract section 3), shared by the detector's input topics and the
 * breaker's flag topic. A letter holds the original value whole (text, or base64 when it is not UTF-8)
 * whenever the record fits DLQ_LETTER_MAX_BYTES; otherwise it holds a bounded excerpt, the original's
 * size and its SHA-256, so a value of any size can be dead-lettered and never stops consumption.
 */

/** Bytes of the original kept in a letter that cannot hold it whole: enough to recognise it. */
export const DLQ_EXCERPT_BYTES = 4096;
/** Keys longer than this are replaced by their SHA-256 in the record (and excerpted in the letter). */
export const DLQ_MAX_KEY_BYTES = 1024;

/** Why a message was refused: a code, a reason naming the field, and the field when there is one. */
export interface DeadLetterCause<C extends string = string> {
  code: C;
  reason: string;
  field?: string;
}

/** The JSON value written to `<topic>.dlq`: enough to find, understand and re-publish the original. */
export interface DeadLetter<C extends string = string> {
  /** The original value, or its first DLQ_EXCERPT_BYTES when `truncated`. */
  value: string | null;
  encoding: 'utf8' | 'base64';
  /** Present (true) only when `value` is an excerpt; `size` and `sha256` then identify the original. */
  truncated?: true;
  /** Bytes of the original value. */
  size: number;
  /** SHA-256 (hex) of the original value's bytes; absent for a null value. */
  sha256?: string;
  sourceTopic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** Present (true) when the key was too long to keep: `key` is then an excerpt, `keySha256` its hash. */
  keyTruncated?: true;
  keySha256?: string;
  reason: string;
  code: C;
  field?: string;
  deadLetteredAt: string;
}

/**
 * The original value for a dead letter: text when it is valid UTF-8 so that people can read it, base64
 * otherwise so that no byte is lost.
 */
export function encodeForDlq(value: Buffer | null): { value: string | null; encoding: 'utf8' | 'base64' } {
  if (value === null) return { value: null, encoding: 'utf8' };
  if (isUtf8(value)) return { value: value.toString('utf8'), encoding: 'utf8' };
  return { value: value.toString('base64'), encoding: 'base64' };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The first `max` bytes, cut back to a whole UTF-8 character when the whole is text (so it stays text). */
function excerpt(value: Buffer, max: number): Buffer {
  if (value.length <= max) return value;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) to the start of the character cut in two.
  while (end > 0 && (value[end]! & 0xc0) === 0x80) end--;
  const cut = value.subarray(0, end);
  return isUtf8(cut) ? cut : value.subarray(0, max);
}

/**
 * The dead-letter record for one refused message: keyed by the original key, the reason code in a header.
 * `maxBytes` bounds the record's key and value together (tests lower it; services keep the default).
 */
export function deadLetterRecord<C extends string>(
  message: RawMessage,
  cause: DeadLetterCause<C>,
  opts: { dlqTopic: string; nowIso: string; maxBytes?: number },
): OutRecord {
  const budget = opts.maxBytes ?? DLQ_LETTER_MAX_BYTES;
  const rawKey = message.key;
  const longKey = rawKey !== null && rawKey.length > DLQ_MAX_KEY_BYTES;
  const keyText = rawKey === null ? null : excerpt(rawKey, DLQ_MAX_KEY_BYTES).toString('utf8');
  const recordKey: Buffer | string | null = longKey ? sha256(rawKey) : rawKey;
  const base = {
    sourceTopic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: keyText,
    ...(longKey ? { keyTruncated: true as const, keySha256: sha256(rawKey) } : {}),
    reason: cause.reason,
    code: cause.code,
    ...(cause.field === undefined ? {} : { field: cause.field }),
    deadLetteredAt: opts.nowIso,
  };
  const value = message.value;
  const size = value === null ? 0 : value.length;
  const hash = value === null ? undefined : sha256(value);
  const record = (letter: DeadLetter<C>): OutRecord => ({
    topic: opts.dlqTopic,
    key: recordKey,
    value: JSON.stringify(letter),
    headers: { 'bulwark-reason': cause.code },
  });

  const keyBytes = recordKey === null ? 0 : Buffer.byteLength(recordKey);
  // Cheap bound first: JSON escaping makes at most 6 bytes of one (a control character as \u00XX).
  if (value === null || keyBytes + 6 * size + 2048 + cause.reason.length * 6 <= budget) {
    return record({ ...encodeForDlq(value), size, ...(hash ? { sha256: hash } : {}), ...base });
  }
  const whole = record({ ...encodeForDlq(value), size, sha256: hash!, ...base });
  if (keyBytes + Buffer.byteLength(whole.value as string) <= budget) return whole;
  return record({
    ...encodeForDlq(excerpt(value, DLQ_EXCERPT_BYTES)),
    truncated: true,
    size,
    sha256: hash!,
    ...base,
  });
}
