import { z } from 'zod';
import { flagSchema } from './flag';
import { TICKER_PATTERN } from './scope';

/**
 * Zod schemas of the breaker HTTP API's bodies (contract section 6), the source of `docs/api/openapi.json`.
 * They describe what `services/breaker/routes.ts` sends and accepts; the routes keep their own checks and
 * messages, and test/integration/api-schemas.test.ts holds the two together against a real breaker.
 */

const SCOPE_PATTERN = new RegExp(`^(global|asset:${TICKER_PATTERN.source.slice(1, -1)})$`);
export const MAX_OPERATOR_REASON_LENGTH = 500;

const scope = z
  .string()
  .regex(SCOPE_PATTERN)
  .meta({ description: '`global` or `asset:<UPPERCASE TICKER>`', examples: ['global', 'asset:ETH'] });
const breakerState = z.enum(['open', 'halted']);
const isoTime = z.string().meta({ format: 'date-time' });

/** Body of `POST /v1/breaker/halt` and `POST /v1/breaker/resume`. */
export const scopeReasonRequestSchema = z.object({
  scope,
  reason: z
    .string()
    .min(1)
    .max(MAX_OPERATOR_REASON_LENGTH)
    .regex(/\S/)
    .meta({ description: 'Why; kept in the audit trail. Not only whitespace.' }),
});

/** `GET /v1/withdrawals/status`: what a withdrawal service obeys. `allowed` is false unless sure. */
export const withdrawalStatusSchema = z.object({
  allowed: z.boolean(),
  scope: z.string().meta({ description: 'The scope that decided' }),
  state: z.enum(['open', 'halted', 'unknown']).meta({ description: '`unknown`: unreadable, never allowed' }),
  since: isoTime.nullable(),
  reason: z.string(),
});

const snapshotShape = {
  scope: z.string(),
  state: breakerState,
  since: isoTime,
  reason: z.string(),
  trigger: z.string().meta({ description: 'What tripped it; empty for operator actions' }),
  by: z.string().meta({ description: 'The operator, or `breaker` for automatic trips' }),
  version: z.number().int(),
  at: isoTime.meta({ description: 'When the change took effect, in event time (contract section 6)' }),
  crossedAt: isoTime
    .nullable()
    .meta({ description: 'Automatic trips: end of the first window that reached the threshold; else null' }),
};

/** `POST /v1/breaker/halt`: the scope's state after the call; `changed` is false when it was already halted. */
export const haltResponseSchema = z.object({ changed: z.boolean(), ...snapshotShape });

/** `POST /v1/breaker/resume`, 200: the second distinct operator's approval resumed the scope. */
export const resumedResponseSchema = z.object({ status: z.literal('resumed'), ...snapshotShape });

/** `POST /v1/breaker/resume`, 202: approvals so far (oldest first) and how many are required. */
export const resumePendingResponseSchema = z.object({
  status: z.literal('pending'),
  scope: z.string(),
  approvals: z.array(z.string()),
  required: z.number().int(),
  note: z.string().optional(),
});

/** One entry of the audit trail (libs/breaker/snapshot.ts `AuditEntry`). */
export const auditEntrySchema = z.object({
  id: z.string().meta({ description: 'Redis stream id of the sealed entry' }),
  seq: z.number().int().min(1).meta({ description: 'Position in the trail, from 1, without gaps' }),
  prev: z.string().meta({ description: '`hash` of the entry before (64 zeros for the first)' }),
  hash: z.string().meta({ description: 'HMAC-SHA-256 (key `kid`), or SHA-256 without a key, of the entry' }),
  kid: z.string().nullable(),
  recordedAt: isoTime.meta({ description: 'Wall time the entry was written' }),
  action: z.enum(['halt', 'trip', 'resume-request', 'resume', 'restore', 'request']),
  outcome: z.enum(['changed', 'pending', 'refused', 'no-op', 'answered']),
  scope: z.string(),
  by: z.string(),
  reason: z.string(),
  trigger: z.string(),
  state: z.enum(['open', 'halted', 'unknown']),
  version: z.number().int(),
  at: isoTime.optional(),
  crossedAt: isoTime.nullable().optional(),
  address: z.string().optional().meta({ description: 'Operator requests: the client address' }),
  method: z.string().optional(),
  route: z.string().optional(),
  status: z.number().int().optional().meta({ description: 'Operator requests: the HTTP status answered' }),
  previous: breakerState.optional(),
  approvals: z.array(z.string()).optional(),
  detail: z.unknown().optional(),
});

/** `GET /v1/breaker/audit`: newest first. */
export const auditResponseSchema = z.object({ entries: z.array(auditEntrySchema) });

/** Every error answer: a message, and the offending field or a code where there is one. */
export const errorResponseSchema = z.object({
  error: z.string(),
  field: z.string().optional(),
  code: z.string().optional(),
  retryAfterSeconds: z.number().optional(),
});

/** One trigger's window for one scope, as an operator reads it (Breaker.windows). */
export const windowViewSchema = z.object({
  trigger: z.string(),
  kind: z.enum(['distinct-users', 'distinct-withdrawals', 'sum-amount-usd']),
  scope: z.string(),
  windowMs: z.number().int(),
  threshold: z.number(),
  value: z.number().meta({ description: 'Users, withdrawals or USD, as the trigger counts' }),
  users: z.array(z.string()),
  withdrawals: z.number().int(),
  usd: z.number(),
  endsAt: isoTime.nullable().meta({ description: 'The newest flag in the window (event time)' }),
});
export type WindowView = z.infer<typeof windowViewSchema>;

/** A halted scope's four eyes: who approved its resume, until when, and how many more must. */
export const pendingResumeSchema = z.object({
  scope: z.string(),
  version: z.number().int(),
  required: z.number().int(),
  approvals: z.array(z.object({ operator: z.string(), reason: z.string(), at: isoTime, expiresAt: isoTime })),
  needed: z.number().int().meta({ description: 'Distinct operators still to approve' }),
});
export type PendingResume = z.infer<typeof pendingResumeSchema>;

export const detectorHealthSchema = z.object({
  progressAgeSeconds: z.number().nullable(),
  stalled: z.boolean(),
  stallMs: z.number().nullable(),
  flagWatermark: isoTime.nullable(),
  flagsHeld: z.number().int(),
});
export type DetectorHealth = z.infer<typeof detectorHealthSchema>;

/** `GET /v1/breaker/overview` (role `audit`): what the operator console shows, read in one call. */
export const overviewResponseSchema = z.object({
  operator: z.string().meta({ description: 'Who asked' }),
  scopes: z.array(z.object(snapshotShape)),
  windows: z
    .array(windowViewSchema)
    .meta({ description: "Each trigger's window per scope, read from the windows the breaker trips on" }),
  pending: z.array(pendingResumeSchema),
  flags: z.array(flagSchema).meta({ description: 'The newest flags counted, newest first (at most 50)' }),
  audit: z.array(auditEntrySchema).meta({ description: 'The newest audit entries (at most 50)' }),
  detector: detectorHealthSchema,
});
