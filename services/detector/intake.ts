import { encodeForDlq, parseEvent, type BulwarkEvent, type InvalidCode } from '../../libs/events';
import type { OutRecord, RawMessage } from '../../libs/kafka';

/** What one consumed message turned into. */
export type Intake =
  | { kind: 'valid'; event: BulwarkEvent; message: RawMessage }
  | { kind: 'ignored'; message: RawMessage }
  | { kind: 'invalid'; code: InvalidCode; dlq: OutRecord; message: RawMessage };

/** The JSON value written to `<topic>.dlq`: enough to find, understand and re-publish the original. */
export interface DeadLetter {
  value: string | null;
  encoding: 'utf8' | 'base64';
  sourceTopic: string;
  partition: number;
  offset: string;
  key: string | null;
  reason: string;
  code: InvalidCode;
  field?: string;
  deadLetteredAt: string;
}

/**
 * Sorts a batch of raw messages into valid events, unknown types and dead letters. Pure apart from the
 * dead-letter timestamp (wall time is fine there: it records when, it decides nothing).
 */
export function intakeBatch(
  messages: RawMessage[],
  opts: { maxBytes: number; expectedTopic: 'auth' | 'wallet'; dlqTopic: string; nowIso: string },
): Intake[] {
  return messages.map((message): Intake => {
    const parsed = parseEvent(message.value, { maxBytes: opts.maxBytes, expectedTopic: opts.expectedTopic });
    if (parsed.kind === 'valid') return { kind: 'valid', event: parsed.event, message };
    if (parsed.kind === 'ignored') return { kind: 'ignored', message };
    const original = encodeForDlq(message.value);
    const key = message.key === null ? null : message.key.toString('utf8');
    const letter: DeadLetter = {
      value: original.value,
      encoding: original.encoding,
      sourceTopic: message.topic,
      partition: message.partition,
      offset: message.offset,
      key,
      reason: parsed.reason,
      code: parsed.code,
      ...(parsed.field === undefined ? {} : { field: parsed.field }),
      deadLetteredAt: opts.nowIso,
    };
    return {
      kind: 'invalid',
      code: parsed.code,
      message,
      dlq: {
        topic: opts.dlqTopic,
        key: message.key,
        value: JSON.stringify(letter),
        headers: { 'bulwark-reason': parsed.code },
      },
    };
  });
}
