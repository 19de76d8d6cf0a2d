import { z } from 'zod';
import {
  auditEntrySchema,
  auditResponseSchema,
  overviewResponseSchema,
  errorResponseSchema,
  haltResponseSchema,
  resumePendingResponseSchema,
  resumedResponseSchema,
  scopeReasonRequestSchema,
  withdrawalStatusSchema,
} from '../breaker/api-schemas';
import { TICKER_PATTERN } from '../breaker/scope';
import { AUTH_TYPES, EVENT_SCHEMAS, type EventType } from '../events/schemas';

/**
 * The files integrating teams read, generated from the zod schemas so they cannot drift: a JSON Schema per
 * event type (contract section 2) and an OpenAPI 3.1 document for the breaker API (section 6). Written by
 * `npm run schemas`; libs/published-schemas/generate.test.ts fails when the committed copies are stale.
 */

type JsonObject = Record<string, unknown>;

/** Paths relative to the repository root, each with the file's text. */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const type of EVENT_SCHEMAS.keys())
    files.set(`docs/schemas/events/${type}.schema.json`, toText(eventJsonSchema(type)));
  files.set('docs/api/openapi.json', toText(openApiDocument()));
  return files;
}

const SCHEMA_BASE = 'https://bulwark.invalid/schemas/events/';

/** The JSON Schema (2020-12) of one event type, as a producer sends it (zod's input side). */
export function eventJsonSchema(type: EventType): JsonObject {
  const schema = EVENT_SCHEMAS.get(type);
  if (!schema) throw new Error(`no schema for event type ${type}`);
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as JsonObject;
  const properties = json.properties as Record<string, JsonObject>;
  // The RFC 3339 check is a zod refinement, which JSON Schema cannot carry: say it with `format`.
  if (properties.occurredAt)
    properties.occurredAt = {
      ...properties.occurredAt,
      format: 'date-time',
      description: 'Event time: RFC 3339 with an offset, like "2022-01-17T00:01:02.000Z"',
    };
  const topic = (AUTH_TYPES as readonly string[]).includes(type) ? 'auth.events.v1' : 'wallet.events.v1';
  const { $schema, ...rest } = json;
  return {
    $schema,
    $id: `${SCHEMA_BASE}${type}.schema.json`,
    title: type,
    description: `Event "${type}" on ${topic} (Bulwark contract v1, section 2). Unknown extra fields are allowed and ignored.`,
    ...rest,
  };
}

/** OpenAPI 3.1 for the breaker's HTTP API; component schemas come from libs/breaker/api-schemas.ts. */
export function openApiDocument(): JsonObject {
  const registry = z.registry<{ id: string }>();
  const components = {
    ScopeReasonRequest: scopeReasonRequestSchema,
    WithdrawalStatus: withdrawalStatusSchema,
    HaltResponse: haltResponseSchema,
    ResumedResponse: resumedResponseSchema,
    ResumePendingResponse: resumePendingResponseSchema,
    AuditEntry: auditEntrySchema,
    AuditResponse: auditResponseSchema,
    Overview: overviewResponseSchema,
    Error: errorResponseSchema,
  };
  for (const [id, schema] of Object.entries(components)) registry.add(schema, { id });
  // The input side for responses too: no `additionalProperties: false`, so a client ignores fields added later.
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, JsonObject> };
  // OpenAPI 3.1 sets the dialect once, and names each component by its key.
  for (const s of Object.values(schemas)) {
    delete s.$schema;
    delete s.$id;
  }
  const ref = (id: keyof typeof components) => ({ $ref: `#/components/schemas/${id}` });
  const json = (id: keyof typeof components, description: string) => ({
    description,
    content: { 'application/json': { schema: ref(id) } },
  });
  const operatorErrors = {
    '400': json('Error', 'Bad request; `field` names the offending field'),
    '401': json('Error', 'Missing or invalid bearer token'),
    '403': json('Error', 'The operator lacks the role'),
    '429': json(
      'Error',
      'A failed authentication over the per-client or global limit; see Retry-After (a valid token always passes)',
    ),
    '503': json('Error', 'The breaker state store, or the keys that verify operator JWTs, are unavailable'),
  };
  const scopeBody = {
    required: true,
    content: { 'application/json': { schema: ref('ScopeReasonRequest') } },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Bulwark breaker API',
      version: '1',
      description:
        'The circuit breaker that halts withdrawals (Bulwark contract v1, section 6). Operator endpoints take `Authorization: Bearer <token>`. A withdrawal service must treat any answer other than 200 with `allowed: true` as not allowed.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths: {
      '/v1/withdrawals/status': {
        get: {
          operationId: 'getWithdrawalStatus',
          summary: 'May a withdrawal of this asset go out now?',
          parameters: [
            {
              name: 'asset',
              in: 'query',
              required: false,
              description: 'Upper-case ticker; without it only `global` decides',
              schema: { type: 'string', pattern: `^${TICKER_SOURCE}$` },
            },
          ],
          responses: {
            '200': json('WithdrawalStatus', 'The state that decides for this asset'),
            '400': json('Error', '`asset` is not an upper-case ticker'),
            '503': json('WithdrawalStatus', 'State unavailable: `allowed` is false (fail closed)'),
          },
        },
      },
      '/v1/breaker/halt': {
        post: {
          operationId: 'halt',
          summary: 'Halt a scope (role `halt`)',
          security: [{ bearer: [] }],
          requestBody: scopeBody,
          responses: {
            '200': json('HaltResponse', 'The scope is halted'),
            ...operatorErrors,
            '404': json('Error', 'Unknown scope'),
          },
        },
      },
      '/v1/breaker/resume': {
        post: {
          operationId: 'resume',
          summary: 'Approve resuming a scope (role `resume`); the second distinct operator resumes it',
          security: [{ bearer: [] }],
          requestBody: scopeBody,
          responses: {
            '200': json('ResumedResponse', 'The scope is open again'),
            '202': json('ResumePendingResponse', 'Approval recorded; another operator must approve'),
            ...operatorErrors,
            '404': json('Error', 'Unknown scope'),
            '409': json('Error', 'The scope is not halted'),
          },
        },
      },
      '/v1/breaker/audit': {
        get: {
          operationId: 'audit',
          summary: 'The audit trail, newest first (role `audit`)',
          security: [{ bearer: [] }],
          parameters: [
            {
              name: 'limit',
              in: 'query',
              required: false,
              schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            },
          ],
          responses: { '200': json('AuditResponse', 'Audit entries'), ...operatorErrors },
        },
      },
      '/v1/breaker/overview': {
        get: {
          operationId: 'overview',
          summary:
            'What the operator console shows: states, four eyes, trigger windows, flags, audit, detector (role `audit`)',
          security: [{ bearer: [] }],
          responses: { '200': json('Overview', 'The overview'), ...operatorErrors },
        },
      },
      '/console/': {
        get: {
          summary:
            'The operator console (HTML; its data comes from /v1/breaker/overview with the operator token)',
          responses: { '200': { description: 'The console page', content: { 'text/html': {} } } },
        },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'Alive' } } } },
      '/readyz': {
        get: {
          summary: 'Readiness',
          responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready' } },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'Prometheus text', content: { 'text/plain': {} } } },
        },
      },
    },
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
  };
}

const TICKER_SOURCE = TICKER_PATTERN.source.slice(1, -1);

function toText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
