/**
 * Event-time sanity as data. Event time only ever moves forward with the newest `occurredAt` seen, so one
 * event dated 9999 would hold a partition's event time there for ever, and one dated 1970 drags the
 * watermark back to the epoch. An event outside a plausible range is refused (dead-lettered, reason naming
 * `occurredAt`) before it can touch event time.
 *
 * The range is computed by the caller from times it reads (the wall clock, a replay's newest event time)
 * and passed in: nothing here reads a clock, so rule logic stays on event time.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface EventTimeBounds {
  /** How far `occurredAt` may lie ahead of the reference (clock skew between producers and us). */
  maxAheadMs: number;
  /** How far `occurredAt` may lie behind the reference. */
  maxBehindMs: number;
}

/**
 * Defaults: an hour ahead covers any sane clock skew; ten years behind refuses the epoch and zero dates
 * (1970, 0001) that broken producers send, yet accepts recorded logs of past years replayed through Kafka.
 * A live deployment may tighten `maxBehindMs` to its input topics' retention plus the longest window.
 */
export const DEFAULT_EVENT_TIME_BOUNDS: EventTimeBounds = { maxAheadMs: HOUR, maxBehindMs: 3650 * DAY };

/** The accepted interval of `occurredAt`, and what each end was measured from (for the reason). */
export interface EventTimeRange {
  earliestMs: number;
  latestMs: number;
  /** e.g. "the wall clock (BULWARK_EVENT_MAX_AHEAD_MS)" */
  latestFrom: string;
  earliestFrom: string;
  bounds: EventTimeBounds;
}

/** The range around `aheadRefMs` (ahead) and `behindRefMs` (behind; the same by default). */
export function eventTimeRange(
  bounds: EventTimeBounds,
  ref: { aheadRefMs: number; behindRefMs?: number; latestFrom: string; earliestFrom: string },
): EventTimeRange {
  return {
    latestMs: ref.aheadRefMs + bounds.maxAheadMs,
    earliestMs: (ref.behindRefMs ?? ref.aheadRefMs) - bounds.maxBehindMs,
    latestFrom: ref.latestFrom,
    earliestFrom: ref.earliestFrom,
    bounds,
  };
}

/** The reason an event time lies outside `range` (naming the field), or undefined when it lies inside. */
export function outsideRange(occurredAtMs: number, range: EventTimeRange): string | undefined {
  if (occurredAtMs > range.latestMs) {
    return `occurredAt: lies more than ${durationText(range.bounds.maxAheadMs)} ahead of ${range.latestFrom}`;
  }
  if (occurredAtMs < range.earliestMs) {
    return `occurredAt: lies more than ${durationText(range.bounds.maxBehindMs)} behind ${range.earliestFrom}`;
  }
  return undefined;
}

/** `3600000` -> "1 h", `315360000000` -> "3650 d". */
export function durationText(ms: number): string {
  if (ms % DAY === 0 && ms >= DAY) return `${ms / DAY} d`;
  if (ms % HOUR === 0 && ms >= HOUR) return `${ms / HOUR} h`;
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000} min`;
  if (ms % 1000 === 0 && ms >= 1000) return `${ms / 1000} s`;
  return `${ms} ms`;
}
