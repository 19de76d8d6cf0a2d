import {
  deadLetterRecord,
  parseEvent,
  type BulwarkEvent,
  type EventTimeRange,
  type InvalidCode,
} from '../../libs/events';
import type { OutRecord, RawMessage } from '../../libs/kafka';

export type { DeadLetter } from '../../libs/events';

/** What one consumed message turned into. */
export type Intake =
  | { kind: 'valid'; event: BulwarkEvent; message: RawMessage }
  | { kind: 'ignored'; message: RawMessage }
  | { kind: 'invalid'; code: InvalidCode; dlq: OutRecord; message: RawMessage };

/**
 * Sorts a batch of raw messages into valid events, unknown types and dead letters. Pure: the dead-letter
 * timestamp and the plausible event-time range come from the caller (wall time is fine there: it refuses
 * absurd dates and records when, it decides no rule).
 */
export function intakeBatch(
  messages: RawMessage[],
  opts: {
    maxBytes: number;
    expectedTopic: 'auth' | 'wallet';
    dlqTopic: string;
    nowIso: string;
    eventTime?: EventTimeRange;
    /** Bounds a dead letter's record (default: the DLQ limit); tests lower it. */
    maxLetterBytes?: number;
  },
): Intake[] {
  return messages.map((message): Intake => {
    const parsed = parseEvent(message.value, {
      maxBytes: opts.maxBytes,
      expectedTopic: opts.expectedTopic,
      ...(opts.eventTime ? { eventTime: opts.eventTime } : {}),
    });
    if (parsed.kind === 'valid') return { kind: 'valid', event: parsed.event, message };
    if (parsed.kind === 'ignored') return { kind: 'ignored', message };
    return {
      kind: 'invalid',
      code: parsed.code,
      message,
      dlq: deadLetterRecord(message, parsed, {
        dlqTopic: opts.dlqTopic,
        nowIso: opts.nowIso,
        ...(opts.maxLetterBytes === undefined ? {} : { maxBytes: opts.maxLetterBytes }),
      }),
    };
  });
}
