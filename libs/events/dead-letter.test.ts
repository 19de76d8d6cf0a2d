import { createHash } from 'node:crypto';
import type { RawMessage } from '../kafka';
import { DLQ_LETTER_MAX_BYTES, DLQ_MAX_MESSAGE_BYTES } from '../kafka/topics';
import { DLQ_EXCERPT_BYTES, deadLetterRecord, type DeadLetter } from './index';

const msg = (value: Buffer | null, key: Buffer | null = Buffer.from('u-1')): RawMessage => ({
  topic: 'auth.events.v1',
  partition: 1,
  offset: '42',
  key,
  value,
  timestampMs: 0,
  headers: {},
});
const cause = { code: 'too_large', reason: 'value is larger than the limit of 65536 bytes' };
const opts = { dlqTopic: 'auth.events.v1.dlq', nowIso: '2026-01-01T00:00:00.000Z' };
const letterOf = (r: { value: unknown }) => JSON.parse(String(r.value)) as DeadLetter;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const recordBytes = (r: { key: unknown; value: unknown }) =>
  (r.key === null ? 0 : Buffer.byteLength(r.key as string)) + Buffer.byteLength(String(r.value));

describe('deadLetterRecord', () => {
  it('keeps a value that fits whole (text or base64), with its size and SHA-256', () => {
    const text = Buffer.from('not json 😀');
    const t = letterOf(deadLetterRecord(msg(text), cause, opts));
    expect(t).toMatchObject({ value: 'not json 😀', encoding: 'utf8', size: text.length, sha256: sha(text) });
    expect(t.truncated).toBeUndefined();
    const bin = Buffer.from([0xff, 0xfe, 0x00]);
    expect(letterOf(deadLetterRecord(msg(bin), cause, opts))).toMatchObject({
      value: bin.toString('base64'),
      encoding: 'base64',
      sourceTopic: 'auth.events.v1',
      partition: 1,
      offset: '42',
      key: 'u-1',
      code: 'too_large',
    });
    expect(letterOf(deadLetterRecord(msg(null), cause, opts))).toMatchObject({ value: null, size: 0 });
  });

  it('keeps every value within the 64 KiB input limit whole, even one that JSON escapes six-fold', () => {
    const controls = Buffer.alloc(64 * 1024, 0x01); // each byte becomes \u0001 in JSON
    const r = deadLetterRecord(msg(controls), cause, opts);
    const letter = letterOf(r);
    expect(letter.truncated).toBeUndefined();
    expect(Buffer.from(letter.value!, 'utf8')).toEqual(controls);
    expect(recordBytes(r)).toBeLessThanOrEqual(DLQ_LETTER_MAX_BYTES);
  });

  it('dead-letters ~800 KB of binary as a bounded excerpt with its size and SHA-256', () => {
    const big = Buffer.alloc(800 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    const r = deadLetterRecord(msg(big), cause, opts);
    const letter = letterOf(r);
    expect(letter).toMatchObject({ truncated: true, size: big.length, sha256: sha(big), encoding: 'base64' });
    expect(Buffer.from(letter.value!, 'base64')).toEqual(big.subarray(0, DLQ_EXCERPT_BYTES));
    expect(recordBytes(r)).toBeLessThanOrEqual(DLQ_LETTER_MAX_BYTES);
    expect(DLQ_MAX_MESSAGE_BYTES).toBeGreaterThan(DLQ_LETTER_MAX_BYTES);
  });

  it('cuts a text excerpt on a character boundary so it stays text', () => {
    const text = Buffer.from('é'.repeat(400 * 1024)); // 800 KiB of two-byte characters
    const letter = letterOf(deadLetterRecord(msg(text), cause, opts));
    expect(letter).toMatchObject({ truncated: true, encoding: 'utf8', size: text.length });
    expect(letter.value).toBe('é'.repeat(DLQ_EXCERPT_BYTES / 2));
  });

  it('replaces a huge key by its SHA-256 and keeps an excerpt of it in the letter', () => {
    const key = Buffer.alloc(700 * 1024, 0x6b);
    const r = deadLetterRecord(msg(Buffer.from('{}'), key), cause, opts);
    expect(r.key).toBe(sha(key));
    const letter = letterOf(r);
    expect(letter).toMatchObject({ keyTruncated: true, keySha256: sha(key), value: '{}' });
    expect(recordBytes(r)).toBeLessThanOrEqual(DLQ_LETTER_MAX_BYTES);
  });

  it('honours a lower bound given by the caller', () => {
    const v = Buffer.from('x'.repeat(10_000));
    const r = deadLetterRecord(msg(v), cause, { ...opts, maxBytes: 8000 });
    expect(letterOf(r)).toMatchObject({ truncated: true, size: 10_000 });
    expect(recordBytes(r)).toBeLessThanOrEqual(8000);
  });
});
