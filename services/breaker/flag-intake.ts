import { parseFlag, type FlagInvalidCode, type OrderEntry } from '../../libs/breaker';
import { deadLetterRecord, type DeadLetter, type EventTimeRange } from '../../libs/events';
import type { OutRecord, RawMessage } from '../../libs/kafka';

/** The JSON value written to `<flags topic>.dlq`; the same shape as the detector's dead letters. */
export type FlagDeadLetter = DeadLetter<FlagInvalidCode>;

export interface FlagIntake {
  /** Every message by offset, its flag or null (dead-lettered): for the event-time orderer. */
  entries: OrderEntry[];
  deadLetters: OutRecord[];
  invalid: FlagInvalidCode[];
}

/**
 * Sorts a batch into valid flags and dead letters. Pure apart from the dead-letter time and the plausible
 * event-time range it is given (a flag dated far in the future is dead-lettered, not silently dropped).
 */
export function intakeFlags(
  messages: RawMessage[],
  opts: { dlqTopic: string; nowIso: string; maxBytes?: number; eventTime?: EventTimeRange },
): FlagIntake {
  const out: FlagIntake = { entries: [], deadLetters: [], invalid: [] };
  for (const m of messages) {
    const parsed = parseFlag(m.value, opts.maxBytes, opts.eventTime ? { eventTime: opts.eventTime } : {});
    out.entries.push({ offset: m.offset, flag: parsed.ok ? parsed.flag : null });
    if (parsed.ok) continue;
    out.invalid.push(parsed.code);
    out.deadLetters.push(deadLetterRecord(m, parsed, { dlqTopic: opts.dlqTopic, nowIso: opts.nowIso }));
  }
  return out;
}
