/** Bulwark's v1 input events: schemas, types, and the parser the consumers run on every message. */
export * from './schemas';
export {
  DEFAULT_MAX_BYTES,
  parseEvent,
  topicOfType,
  type InvalidCode,
  type InvalidResult,
  type ParseOptions,
  type ParseResult,
} from './parse';
export { rfc3339ToEpochMs } from './timestamp';
export {
  DLQ_EXCERPT_BYTES,
  DLQ_MAX_KEY_BYTES,
  deadLetterRecord,
  encodeForDlq,
  type DeadLetter,
  type DeadLetterCause,
} from './dead-letter';
export {
  DEFAULT_EVENT_TIME_BOUNDS,
  durationText,
  eventTimeRange,
  outsideRange,
  type EventTimeBounds,
  type EventTimeRange,
} from './event-time';
