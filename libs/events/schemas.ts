import { z } from 'zod';
import { MAX_TIMESTAMP_LENGTH, rfc3339ToEpochMs } from './timestamp';

/**
 * Schemas of the v1 input events (contract section 2). Objects strip unknown keys, so producers may add
 * fields without breaking us and nothing we did not ask for travels further. Every message says what is
 * allowed, never the bad value: the DLQ record already carries the original, and values can be large or
 * personal.
 */

export const AUTH_TYPES = [
  'login.succeeded',
  'login.failed',
  'mfa.passed',
  'mfa.failed',
  'mfa.enrolled',
  'mfa.reset',
] as const;
export const WALLET_TYPES = [
  'address.whitelisted',
  'withdrawal.requested',
  'withdrawal.approved',
  'withdrawal.completed',
  'withdrawal.rejected',
] as const;
export type AuthType = (typeof AUTH_TYPES)[number];
export type WalletType = (typeof WALLET_TYPES)[number];
export type EventType = AuthType | WalletType;
export type Topic = 'auth' | 'wallet';

export const FACTORS = ['totp', 'sms', 'email', 'webauthn', 'biometric'] as const;
export type Factor = (typeof FACTORS)[number];

export const MAX_EVENT_ID_LENGTH = 128;
export const MAX_USER_ID_LENGTH = 128;
export const MAX_TYPE_LENGTH = 128;
export const MAX_ID_LENGTH = 256;
export const MAX_AMOUNT_LENGTH = 80;
/** Free text; the message size limit is the real bound, this only keeps one field from hogging it. */
export const MAX_REASON_LENGTH = 4096;
export const MAX_APPROVAL_FACTORS = 32;
export const MAX_FACTOR_NAME_LENGTH = 64;

/**
 * The largest `amountUsd` accepted: a hundred billion dollars, far above any real withdrawal, and small
 * enough that its cents (1e13) and sums of hundreds of them stay exact integers in doubles, Lua and
 * Redis's HINCRBY. Without a bound 1e300 was valid and could not be counted at all.
 */
export const MAX_AMOUNT_USD = 100_000_000_000;

export const AMOUNT_PATTERN = /^(0|[1-9]\d*)(\.\d+)?$/;
export const ASSET_PATTERN = /^[A-Z0-9]{2,15}$/;

/**
 * One error map per field: a missing field reads "is required", anything else the field's rule. Zod runs
 * it only when an issue is raised, so the valid path builds no strings.
 */
function rule(what: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => (issue.input === undefined ? 'is required' : what) };
}

const text = (max: number) =>
  z
    .string(rule(`must be a string of 1-${max} characters`))
    .min(1)
    .max(max);

const eventId = text(MAX_EVENT_ID_LENGTH);
const userId = text(MAX_USER_ID_LENGTH);
const id = text(MAX_ID_LENGTH);

/**
 * The last timestamp checked and its value: the field check and the object transform that adds
 * `occurredAtMs` see the same string back to back, so the second conversion is a string compare.
 */
let lastTimestamp = '';
let lastTimestampMs = Number.NaN;
function epochMsOf(timestamp: string): number {
  if (timestamp !== lastTimestamp) {
    lastTimestampMs = rfc3339ToEpochMs(timestamp);
    lastTimestamp = timestamp;
  }
  return lastTimestampMs;
}

const TIMESTAMP_RULE = 'must be an RFC 3339 timestamp with an offset, like "2022-01-17T00:01:02.000Z"';
const occurredAt = z
  .string(rule(TIMESTAMP_RULE))
  .max(MAX_TIMESTAMP_LENGTH)
  .refine((s) => !Number.isNaN(epochMsOf(s)), rule(TIMESTAMP_RULE));

const amount = z
  .string(rule('must be a decimal string like "1.25"'))
  .max(MAX_AMOUNT_LENGTH)
  .regex(AMOUNT_PATTERN);
const AMOUNT_USD_RULE = `must be a non-negative number of at most ${MAX_AMOUNT_USD} (1e11)`;
const amountUsd = z.number(rule(AMOUNT_USD_RULE)).nonnegative().max(MAX_AMOUNT_USD);
const asset = z
  .string(rule('must be an upper-case ticker like "ETH" (2-15 of A-Z, 0-9)'))
  .regex(ASSET_PATTERN);
const factor = z.enum(FACTORS, rule(`must be one of ${FACTORS.join(', ')}`));
const reason = z
  .string(rule(`must be a string of at most ${MAX_REASON_LENGTH} characters`))
  .max(MAX_REASON_LENGTH);
/** Not checked as an address: the contract gives no format, and no rule compares IPs beyond equality. */
const ip = text(MAX_ID_LENGTH);
const approval = z.object(
  {
    factors: z
      .array(
        text(MAX_FACTOR_NAME_LENGTH),
        rule(`must be an array of at most ${MAX_APPROVAL_FACTORS} factor names`),
      )
      .max(MAX_APPROVAL_FACTORS),
    mfaVerified: z.boolean(rule('must be true or false')),
  },
  rule('must be an object { "factors": string[], "mfaVerified": boolean }'),
);

/**
 * Zod's ahead-of-time compiled fast path: about ten times faster on valid events (measured with
 * parse.bench.ts), and invalid input falls back to the regular parser, so issues and messages are the same.
 */
function fast<T extends z.ZodType>(schema: T): T {
  return z.compile(schema);
}

const envelopeShape = {
  eventId,
  type: text(MAX_TYPE_LENGTH),
  occurredAt,
  userId,
};

/** The fields every event carries, whatever its type; used to accept or reject events of unknown types. */
export const envelopeSchema = fast(z.object(envelopeShape, rule('must be a JSON object')));
export type Envelope = z.output<typeof envelopeSchema>;

function withOccurredAtMs<E extends { occurredAt: string }>(event: E): E & { occurredAtMs: number } {
  // Zod built `event` for this parse alone, so adding to it is safe and saves a copy.
  const out = event as E & { occurredAtMs: number };
  out.occurredAtMs = epochMsOf(event.occurredAt);
  return out;
}

/** The envelope with `type` pinned to one value; spread into each event's object shape. */
function envelopeOf<T extends EventType>(type: T) {
  return { ...envelopeShape, type: z.literal(type, rule(`must be "${type}"`)) };
}

const objectRule = rule('must be a JSON object');

export const loginSucceededSchema = fast(
  z
    .object({ ...envelopeOf('login.succeeded'), sessionId: id, ip, deviceId: id }, objectRule)
    .transform(withOccurredAtMs),
);
export const loginFailedSchema = fast(
  z
    .object({ ...envelopeOf('login.failed'), ip, deviceId: id, reason: reason.optional() }, objectRule)
    .transform(withOccurredAtMs),
);
export const mfaPassedSchema = fast(
  z.object({ ...envelopeOf('mfa.passed'), sessionId: id, factor }, objectRule).transform(withOccurredAtMs),
);
export const mfaFailedSchema = fast(
  z.object({ ...envelopeOf('mfa.failed'), sessionId: id, factor }, objectRule).transform(withOccurredAtMs),
);
export const mfaEnrolledSchema = fast(
  z.object({ ...envelopeOf('mfa.enrolled'), factor }, objectRule).transform(withOccurredAtMs),
);
export const mfaResetSchema = fast(
  z.object({ ...envelopeOf('mfa.reset'), factor: factor.optional() }, objectRule).transform(withOccurredAtMs),
);

export const addressWhitelistedSchema = fast(
  z
    .object({ ...envelopeOf('address.whitelisted'), address: id, asset }, objectRule)
    .transform(withOccurredAtMs),
);
const withdrawalShape = { withdrawalId: id, sessionId: id, asset, amount, amountUsd, address: id };
export const withdrawalRequestedSchema = fast(
  z
    .object({ ...envelopeOf('withdrawal.requested'), ...withdrawalShape }, objectRule)
    .transform(withOccurredAtMs),
);
export const withdrawalApprovedSchema = fast(
  z
    .object({ ...envelopeOf('withdrawal.approved'), ...withdrawalShape, approval }, objectRule)
    .transform(withOccurredAtMs),
);
export const withdrawalCompletedSchema = fast(
  z
    .object({ ...envelopeOf('withdrawal.completed'), withdrawalId: id }, objectRule)
    .transform(withOccurredAtMs),
);
export const withdrawalRejectedSchema = fast(
  z
    .object({ ...envelopeOf('withdrawal.rejected'), withdrawalId: id, reason: reason.optional() }, objectRule)
    .transform(withOccurredAtMs),
);

/** Shows an intersection as one object type in editors and error messages. */
type Flat<T> = { [K in keyof T]: T[K] } & {};

export type LoginSucceeded = Flat<z.output<typeof loginSucceededSchema>>;
export type LoginFailed = Flat<z.output<typeof loginFailedSchema>>;
export type MfaPassed = Flat<z.output<typeof mfaPassedSchema>>;
export type MfaFailed = Flat<z.output<typeof mfaFailedSchema>>;
export type MfaEnrolled = Flat<z.output<typeof mfaEnrolledSchema>>;
export type MfaReset = Flat<z.output<typeof mfaResetSchema>>;
export type AddressWhitelisted = Flat<z.output<typeof addressWhitelistedSchema>>;
export type WithdrawalRequested = Flat<z.output<typeof withdrawalRequestedSchema>>;
export type WithdrawalApproved = Flat<z.output<typeof withdrawalApprovedSchema>>;
export type WithdrawalCompleted = Flat<z.output<typeof withdrawalCompletedSchema>>;
export type WithdrawalRejected = Flat<z.output<typeof withdrawalRejectedSchema>>;
export type Approval = WithdrawalApproved['approval'];

export type AuthEvent = LoginSucceeded | LoginFailed | MfaPassed | MfaFailed | MfaEnrolled | MfaReset;
export type WalletEvent =
  AddressWhitelisted | WithdrawalRequested | WithdrawalApproved | WithdrawalCompleted | WithdrawalRejected;
export type BulwarkEvent = AuthEvent | WalletEvent;

/** Narrows a parsed event by its type: `EventOf<'mfa.passed'>` is `MfaPassed`. */
export type EventOf<T extends EventType> = Extract<BulwarkEvent, { type: T }>;

export const authEventSchema = fast(
  z.discriminatedUnion('type', [
    loginSucceededSchema,
    loginFailedSchema,
    mfaPassedSchema,
    mfaFailedSchema,
    mfaEnrolledSchema,
    mfaResetSchema,
  ]),
);
export const walletEventSchema = fast(
  z.discriminatedUnion('type', [
    addressWhitelistedSchema,
    withdrawalRequestedSchema,
    withdrawalApprovedSchema,
    withdrawalCompletedSchema,
    withdrawalRejectedSchema,
  ]),
);
/** Any v1 event. `parseEvent` picks the per-type schema directly, which is what the hot path should do. */
export const bulwarkEventSchema = fast(
  z.discriminatedUnion('type', [...authEventSchema.options, ...walletEventSchema.options]),
);

/** Every event schema by its type; a Map so that a `type` like "constructor" finds nothing. */
export const EVENT_SCHEMAS: ReadonlyMap<EventType, z.ZodType<BulwarkEvent>> = new Map<
  EventType,
  z.ZodType<BulwarkEvent>
>([
  ['login.succeeded', loginSucceededSchema],
  ['login.failed', loginFailedSchema],
  ['mfa.passed', mfaPassedSchema],
  ['mfa.failed', mfaFailedSchema],
  ['mfa.enrolled', mfaEnrolledSchema],
  ['mfa.reset', mfaResetSchema],
  ['address.whitelisted', addressWhitelistedSchema],
  ['withdrawal.requested', withdrawalRequestedSchema],
  ['withdrawal.approved', withdrawalApprovedSchema],
  ['withdrawal.completed', withdrawalCompletedSchema],
  ['withdrawal.rejected', withdrawalRejectedSchema],
]);
