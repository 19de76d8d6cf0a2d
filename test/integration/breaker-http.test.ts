import { request as httpRequest } from 'node:http';
import { silentLogger } from '../../libs/logger';
import { createRedis } from '../../libs/redis';
import type { AuthLimits } from '../../services/breaker/auth-limiter';
import { OperatorRegistry, newOperatorLine } from '../../services/breaker/operators';
import { startBreakerHttp } from '../helpers/breaker-http';
import { REDIS_URL, cleanRedis, testRedis, uniquePrefix } from '../helpers/env';

jest.setTimeout(30000);

const alice = newOperatorLine('alice');
const bob = newOperatorLine('bob');
const viewer = newOperatorLine('viewer', undefined, 'audit');
const operators = OperatorRegistry.parse([alice.line, bob.line, viewer.line].join(','), 'test');

describe('breaker HTTP API through real HTTP', () => {
  const redis = testRedis();
  const prefixes: string[] = [];
  const servers: { close: () => Promise<void> }[] = [];

  async function start(opts: { redis?: typeof redis; limits?: Partial<AuthLimits> } = {}) {
    const prefix = uniquePrefix('brk-http');
    prefixes.push(prefix);
    const server = await startBreakerHttp(opts.redis ?? redis, prefix, operators, {
      ...(opts.limits ? { limits: opts.limits } : {}),
    });
    servers.push(server);
    const { port, registry, breaker } = server;
    const call = async (method: string, path: string, body?: unknown, token?: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      expect(text).not.toMatch(/\n\s+at /); // never a stack trace
      return { status: res.status, body: JSON.parse(text) as Record<string, unknown>, headers: res.headers };
    };
    /** The same request from a chosen loopback address (127.0.0.0/8 is all local on Linux). */
    const callFrom = (from: string, method: string, path: string, body?: unknown, token?: string) =>
      new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        const text = body === undefined ? '' : JSON.stringify(body);
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            method,
            path,
            localAddress: from,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(text),
              ...(token ? { authorization: `Bearer ${token}` } : {}),
            },
          },
          (res) => {
            let data = '';
            res.on('data', (c: Buffer) => (data += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
          },
        );
        req.on('error', reject);
        req.end(text);
      });
    return { call, callFrom, registry, breaker };
  }

  afterAll(async () => {
    for (const s of servers) await s.close();
    for (const p of prefixes) await cleanRedis(redis, p);
    redis.disconnect();
  });

  it('serves withdrawal status to anyone, 400 for a bad asset', async () => {
    const { call } = await start();
    expect(await call('GET', '/v1/withdrawals/status?asset=ETH')).toMatchObject({
      status: 200,
      body: { allowed: true, scope: 'asset:ETH', state: 'open' },
    });
    expect(await call('GET', '/v1/withdrawals/status')).toMatchObject({
      status: 200,
      body: { allowed: true, scope: 'global' },
    });
    expect(await call('GET', '/v1/withdrawals/status?asset=eth')).toMatchObject({
      status: 400,
      body: { field: 'asset' },
    });
  });

  it('halts: 401 without or with a wrong token, 403 without the role, 400 naming the field, 404 for an unknown scope', async () => {
    const { call, registry } = await start();
    const halt = (body: unknown, token?: string) => call('POST', '/v1/breaker/halt', body, token);
    const noAuth = await halt({ scope: 'global', reason: 'x' });
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get('www-authenticate')).toBe('Bearer');
    expect((await halt({ scope: 'global', reason: 'x' }, `${alice.token}x`)).status).toBe(401);
    expect((await halt({ scope: 'global', reason: 'x' }, viewer.token)).status).toBe(403);
    expect(await halt('[1,2]', alice.token)).toMatchObject({ status: 400, body: { field: '(body)' } });
    expect(await halt('{not json', alice.token)).toMatchObject({ status: 400 });
    expect(await halt({ reason: 'x' }, alice.token)).toMatchObject({ status: 400, body: { field: 'scope' } });
    expect(await halt({ scope: 'global' }, alice.token)).toMatchObject({
      status: 400,
      body: { field: 'reason' },
    });
    expect(await halt({ scope: 'global', reason: 'x'.repeat(501) }, alice.token)).toMatchObject({
      status: 400,
      body: { field: 'reason' },
    });
    expect(await halt({ scope: 'asset:eth', reason: 'x' }, alice.token)).toMatchObject({
      status: 404,
      body: { field: 'scope' },
    });
    expect(await halt({ scope: 'wallets', reason: 'x' }, alice.token)).toMatchObject({ status: 404 });

    const ok = await halt({ scope: 'asset:ETH', reason: 'hot wallet drained' }, alice.token);
    expect(ok).toMatchObject({
      status: 200,
      body: { changed: true, scope: 'asset:ETH', state: 'halted', by: 'alice', version: 1 },
    });
    expect(await halt({ scope: 'asset:ETH', reason: 'again' }, bob.token)).toMatchObject({
      status: 200,
      body: { changed: false, state: 'halted', by: 'alice', reason: 'hot wallet drained' },
    });
    expect(await call('GET', '/v1/withdrawals/status?asset=ETH')).toMatchObject({
      body: { allowed: false, scope: 'asset:ETH', state: 'halted' },
    });
    expect(await registry.getSingleMetricAsString('bulwark_operator_auth_failures_total')).toMatch(/ 2$/m);
  });

  it('resumes with four eyes: 202 pending, the same operator again still pending, 200 for the second, 409 when open', async () => {
    const { call } = await start();
    const resume = (token: string, reason = 'checked') =>
      call('POST', '/v1/breaker/resume', { scope: 'global', reason }, token);
    expect((await resume(alice.token)).status).toBe(409);
    await call('POST', '/v1/breaker/halt', { scope: 'global', reason: 'critical flags' }, bob.token);
    expect((await resume(viewer.token)).status).toBe(403);
    expect(await resume(alice.token)).toMatchObject({
      status: 202,
      body: { status: 'pending', approvals: ['alice'], required: 2 },
    });
    const again = await resume(alice.token);
    expect(again).toMatchObject({ status: 202, body: { status: 'pending', approvals: ['alice'] } });
    expect(again.body.note).toMatch(/different operator/);
    expect((await call('GET', '/v1/withdrawals/status')).body.allowed).toBe(false);
    expect(await resume(bob.token, 'fix verified')).toMatchObject({
      status: 200,
      body: { status: 'resumed', scope: 'global', state: 'open', by: 'alice,bob', version: 2 },
    });
    expect((await call('GET', '/v1/withdrawals/status')).body.allowed).toBe(true);
  });

  it('serves the audit trail newest first to operators only', async () => {
    const { call } = await start();
    await call('POST', '/v1/breaker/halt', { scope: 'global', reason: 'one' }, alice.token);
    await call('POST', '/v1/breaker/resume', { scope: 'global', reason: 'two' }, alice.token);
    expect((await call('GET', '/v1/breaker/audit')).status).toBe(401);
    expect(await call('GET', '/v1/breaker/audit?limit=0', undefined, viewer.token)).toMatchObject({
      status: 400,
      body: { field: 'limit' },
    });
    const audit = await call('GET', '/v1/breaker/audit?limit=10', undefined, viewer.token);
    expect(audit.status).toBe(200);
    const entries = audit.body.entries as { action: string; by: string; reason: string }[];
    // Requests that reached no script (refusals, reads) are audited too; the changes are the others.
    expect(entries.filter((e) => e.action !== 'request').map((e) => [e.action, e.by, e.reason])).toEqual([
      ['resume-request', 'alice', 'two'],
      ['halt', 'alice', 'one'],
    ]);
  });

  it('never refuses a valid token: fifteen failed logins from an address, then a valid halt from it is 200', async () => {
    const { call, registry } = await start();
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) {
      const bad = i % 3 === 0 ? undefined : i % 3 === 1 ? 'guess' : `${alice.token.slice(1)}x`;
      statuses.push((await call('POST', '/v1/breaker/halt', { scope: 'global', reason: 'x' }, bad)).status);
    }
    // The first ten failures are 401, the rest 429 (with Retry-After): the limit answers failures only.
    expect(statuses).toEqual([...Array<number>(10).fill(401), ...Array<number>(5).fill(429)]);
    const halt = await call('POST', '/v1/breaker/halt', { scope: 'global', reason: 'attack' }, alice.token);
    expect(halt).toMatchObject({ status: 200, body: { changed: true, state: 'halted', by: 'alice' } });
    expect((await call('GET', '/v1/breaker/audit', undefined, viewer.token)).status).toBe(200);
    // A role problem is not a failed login either.
    expect(
      (await call('POST', '/v1/breaker/halt', { scope: 'global', reason: 'x' }, viewer.token)).status,
    ).toBe(403);
    const limited = await call('GET', '/v1/breaker/audit', undefined, 'guess-again');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await registry.getSingleMetricAsString('bulwark_operator_auth_failures_total')).toMatch(/ 16$/m);
    expect(await registry.getSingleMetricAsString('bulwark_operator_auth_limited_total')).toMatch(
      /limit="client".* 6$/m,
    );
    // Status stays open to everyone: it needs no authentication.
    expect((await call('GET', '/v1/withdrawals/status')).status).toBe(200);
  });

  it('a flood from many addresses beyond the global budget gets 429 for bad tokens only', async () => {
    const { callFrom, registry } = await start({ limits: { perClient: 3, global: 20 } });
    const statuses: number[] = [];
    // 40 addresses, one bad token each: no address reaches its own limit, together they pass the budget.
    for (let i = 0; i < 40; i++)
      statuses.push(
        (await callFrom(`127.0.0.${i + 10}`, 'GET', '/v1/breaker/audit', undefined, 'guess')).status,
      );
    expect(statuses).toEqual([...Array<number>(20).fill(401), ...Array<number>(20).fill(429)]);
    // Valid tokens pass during the flood, from a flooding address and from a new one.
    expect((await callFrom('127.0.0.10', 'GET', '/v1/breaker/audit', undefined, viewer.token)).status).toBe(
      200,
    );
    expect(
      await callFrom(
        '127.0.0.99',
        'POST',
        '/v1/breaker/halt',
        { scope: 'asset:BTC', reason: 'flood' },
        bob.token,
      ),
    ).toMatchObject({ status: 200, body: { changed: true, by: 'bob' } });
    expect((await callFrom('127.0.0.99', 'GET', '/v1/breaker/audit', undefined, 'guess')).status).toBe(429);
    expect(await registry.getSingleMetricAsString('bulwark_operator_auth_limited_total')).toMatch(
      /limit="global".* 21$/m,
    );
  });

  it('answers 503 and "not allowed" when Redis is unreachable, 404 for unknown paths', async () => {
    const own = createRedis({ url: REDIS_URL, logger: silentLogger(), commandTimeoutMs: 500 });
    const { call } = await start({ redis: own });
    own.disconnect();
    expect(await call('GET', '/v1/withdrawals/status?asset=ETH')).toMatchObject({
      status: 503,
      body: { allowed: false },
    });
    expect(
      await call('POST', '/v1/breaker/halt', { scope: 'global', reason: 'x' }, alice.token),
    ).toMatchObject({ status: 503 });
    expect((await call('GET', '/v1/nothing')).status).toBe(404);
  });
});
