import { parseFlag, type Flag, type FlagInvalidCode } from '../../libs/breaker';
import type { OutRecord, RawMessage } from '../../libs/kafka';

/** The JSON value written to `<flags topic>.dlq`; the same shape as the detector's dead letters. */
export interface FlagDeadLetter {
  value: string | null;
  encoding: 'utf8' | 'base64';
  sourceTopic: string;
  partition: number;
  offset: string;
  key: string | null;
  reason: string;
  code: FlagInvalidCode;
  field?: string;
  deadLetteredAt: string;
}

export interface FlagIntake {
  flags: Flag[];
  deadLetters: OutRecord[];
  invalid: FlagInvalidCode[];
}

/** Sorts a batch into valid flags and dead letters. Pure apart from the dead-letter time it is given. */
export function intakeFlags(
  messages: RawMessage[],
  opts: { dlqTopic: string; nowIso: string; maxBytes?: number },
): FlagIntake {
  const out: FlagIntake = { flags: [], deadLetters: [], invalid: [] };
  for (const m of messages) {
    const parsed = parseFlag(m.value, opts.maxBytes);
    if (parsed.ok) {
      out.flags.push(parsed.flag);
      continue;
    }
    const original = encodeValue(m.value);
    const letter: FlagDeadLetter = {
      value: original.value,
      encoding: original.encoding,
      sourceTopic: m.topic,
      partition: m.partition,
      offset: m.offset,
      key: m.key === null ? null : m.key.toString('utf8'),
      reason: parsed.reason,
      code: parsed.code,
      ...(parsed.field === undefined ? {} : { field: parsed.field }),
      deadLetteredAt: opts.nowIso,
    };
    out.invalid.push(parsed.code);
    out.deadLetters.push({
      topic: opts.dlqTopic,
      key: m.key === null ? null : m.key.toString('utf8'),
      value: JSON.stringify(letter),
      headers: { 'bulwark-reason': parsed.code },
    });
  }
  return out;
}

/** Text when the bytes are valid UTF-8, else base64, so a dead letter always holds the original exactly. */
function encodeValue(value: Buffer | null): { value: string | null; encoding: 'utf8' | 'base64' } {
  if (value === null) return { value: null, encoding: 'utf8' };
  const text = value.toString('utf8');
  return Buffer.from(text, 'utf8').equals(value)
    ? { value: text, encoding: 'utf8' }
    : { value: value.toString('base64'), encoding: 'base64' };
}
