import {
  auditResponseSchema,
  errorResponseSchema,
  haltResponseSchema,
  resumePendingResponseSchema,
  resumedResponseSchema,
  scopeReasonRequestSchema,
  withdrawalStatusSchema,
} from '../../libs/breaker/api-schemas';
import { newOperatorLine } from '../../services/breaker/operators';
import { startBreakerHttp } from '../helpers/breaker-http';
import { cleanRedis, testRedis, uniquePrefix } from '../helpers/env';

jest.setTimeout(30000);

/**
 * docs/api/openapi.json is generated from libs/breaker/api-schemas.ts; this holds those schemas to what the
 * real routes answer, so the published document cannot describe an API the breaker does not serve.
 * Parsed `.strict()`: a field the routes send that the schema does not name fails here.
 */
describe('breaker API answers match the published schemas', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('api-schemas');
  const alice = newOperatorLine('alice');
  const bob = newOperatorLine('bob');
  let http: { base: string; close: () => Promise<void> };
  let base: string;

  beforeAll(async () => {
    http = await startBreakerHttp(redis, prefix, `${alice.line},${bob.line}`);
    base = http.base;
  });

  afterAll(async () => {
    await http.close();
    await cleanRedis(redis, prefix);
    redis.disconnect();
  });

  async function call(method: string, path: string, body?: unknown, token?: string) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  }

  it('status, halt, four-eyes resume, audit and errors', async () => {
    const request = { scope: 'asset:ETH', reason: 'schema check' };
    expect(scopeReasonRequestSchema.parse(request)).toEqual(request);

    const open = await call('GET', '/v1/withdrawals/status?asset=ETH');
    expect(open.status).toBe(200);
    withdrawalStatusSchema.strict().parse(open.body);

    const halt = await call('POST', '/v1/breaker/halt', request, alice.token);
    expect(halt.status).toBe(200);
    expect(haltResponseSchema.strict().parse(halt.body)).toMatchObject({ changed: true, state: 'halted' });
    const again = await call('POST', '/v1/breaker/halt', request, alice.token);
    expect(haltResponseSchema.strict().parse(again.body)).toMatchObject({ changed: false });

    const halted = await call('GET', '/v1/withdrawals/status?asset=ETH');
    expect(withdrawalStatusSchema.strict().parse(halted.body)).toMatchObject({ allowed: false });

    const first = await call('POST', '/v1/breaker/resume', request, alice.token);
    expect(first.status).toBe(202);
    resumePendingResponseSchema.strict().parse(first.body);
    const repeated = await call('POST', '/v1/breaker/resume', request, alice.token);
    expect(resumePendingResponseSchema.strict().parse(repeated.body).note).toBeDefined();
    const second = await call('POST', '/v1/breaker/resume', request, bob.token);
    expect(second.status).toBe(200);
    expect(resumedResponseSchema.strict().parse(second.body)).toMatchObject({ state: 'open' });

    const audit = await call('GET', '/v1/breaker/audit?limit=50', undefined, alice.token);
    expect(audit.status).toBe(200);
    const entries = auditResponseSchema.strict().parse(audit.body).entries;
    expect(entries.length).toBeGreaterThanOrEqual(4);
    // Entries strictly as well, so a new audit field shows up here before it is missing from the docs.
    for (const e of (audit.body as { entries: unknown[] }).entries)
      auditResponseSchema.shape.entries.element.strict().parse(e);

    for (const [status, answer] of [
      [400, await call('POST', '/v1/breaker/halt', { scope: 'global' }, alice.token)],
      [401, await call('POST', '/v1/breaker/halt', request, 'wrong')],
      [404, await call('POST', '/v1/breaker/halt', { scope: 'nowhere', reason: 'x' }, alice.token)],
      [409, await call('POST', '/v1/breaker/resume', request, alice.token)],
    ] as const) {
      expect(answer.status).toBe(status);
      errorResponseSchema.strict().parse(answer.body);
    }
  });
});
