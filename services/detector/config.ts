import { z } from 'zod';
import { commonEnvSchema, durationMs, port, positiveInt } from '../../libs/config';
import { httpEnvShape } from '../../libs/config/http';
import { DEFAULT_EVENT_TIME_BOUNDS } from '../../libs/events';

/** The detector's environment: the shared settings plus its own. Every default is the contract's. */
export const detectorEnvSchema = commonEnvSchema.extend(httpEnvShape).extend({
  BULWARK_DETECTOR_PORT: port(8080),
  BULWARK_DETECTOR_HOST: z.string().min(1).default('127.0.0.1'),
  BULWARK_DETECTOR_GROUP: z.string().min(1).default('bulwark-detector'),
  BULWARK_RULES_CONFIG: z.string().min(1).optional(),
  BULWARK_MAX_EVENT_BYTES: positiveInt(65536, 'a size in bytes >= 1'),
  /** How often pending decisions are checked against the watermark when no batch arrives. */
  BULWARK_TICK_MS: durationMs(1000).refine((v) => v >= 50, 'must be at least 50 milliseconds'),
  BULWARK_PARTITIONS_CONCURRENCY: positiveInt(2, 'a whole number >= 1'),
  /**
   * Most bytes fetched per partition per request: one batch is at most this much, so it bounds the memory a
   * batch takes and how far (in event time) one partition runs ahead of the others in one step.
   */
  BULWARK_FETCH_MAX_BYTES_PER_PARTITION: positiveInt(1048576, 'a size in bytes >= 1'),
  /**
   * Event-time alignment: a partition whose newest event time runs more than this past the group's
   * watermark, with input still waiting, is paused until the others catch up (default: the rules' grace
   * period; 0 turns alignment off). Keeps partitions together after a backlog, so a trip is seen at the
   * earliest crossing rather than on whichever partition ran ahead.
   */
  BULWARK_ALIGN_MAX_AHEAD_MS: z.coerce
    .number({ error: 'must be a duration in milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(0, 'must be >= 0 milliseconds (0 turns alignment off)')
    .optional(),
  /**
   * After Redis lost its data, how far back (ms of message time) the detector group re-reads its input to
   * rebuild the windows. Default: the longest window the rules read (device history: 90 days and more).
   */
  BULWARK_REBUILD_WINDOW_MS: z.coerce
    .number({ error: 'must be a duration in milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(1, 'must be >= 1 millisecond')
    .optional(),
  /**
   * Event-time sanity: an event whose occurredAt lies further than this ahead of the wall clock (default
   * 1 h) is dead-lettered (code event_time) and never moves event time.
   */
  BULWARK_EVENT_MAX_AHEAD_MS: durationMs(DEFAULT_EVENT_TIME_BOUNDS.maxAheadMs).refine(
    (v) => v >= 1000,
    'must be at least 1000 milliseconds (clock skew between producers is normal)',
  ),
  /**
   * ... or further than this behind it (default 3650 days: refuses 1970 and zero dates, accepts recorded
   * logs of past years replayed through Kafka). Live, the input topics' retention plus the longest window
   * (90 days of device history) is a tighter choice.
   */
  BULWARK_EVENT_MAX_BEHIND_MS: durationMs(DEFAULT_EVENT_TIME_BOUNDS.maxBehindMs).refine(
    (v) => v >= 86_400_000,
    'must be at least 86400000 milliseconds (1 day); a backlog being caught up is normal',
  ),
});
export type DetectorConfig = z.infer<typeof detectorEnvSchema>;
