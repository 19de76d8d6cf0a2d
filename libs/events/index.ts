/** Bulwark's v1 input events: schemas, types, and the parser the consumers run on every message. */
export * from './schemas';
export {
  DEFAULT_MAX_BYTES,
  encodeForDlq,
  parseEvent,
  topicOfType,
  type InvalidCode,
  type InvalidResult,
  type ParseOptions,
  type ParseResult,
} from './parse';
export { rfc3339ToEpochMs } from './timestamp';
