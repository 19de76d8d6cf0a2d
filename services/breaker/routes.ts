import { Breaker, BreakerError, isScope } from '../../libs/breaker';
import { TICKER_PATTERN } from '../../libs/breaker/scope';
import { StateStoreError } from '../../libs/errors';
import { HttpError, type HttpRequest, type HttpResponse, type ServiceHttp } from '../../libs/http/server';
import type { Logger } from '../../libs/logger';
import type { BreakerMetrics } from '../../libs/metrics';
import { auditedRoute, type RequestContext } from './audit-requests';
import { clientKey, type AuthFailureLimiter } from './auth-limiter';
import { JwtOperators, type JwtOutcome } from './jwt-operators';
import { MAX_TOKEN_LENGTH, type Operator, type OperatorVerifier, type Role } from './operators';

/**
 * The breaker's HTTP API (contract section 6). Operators authenticate with `Authorization: Bearer <token>`
 * (a static token or an OIDC JWT). Order of checks: authentication (401, or 429 for a failure over the
 * per-client or global limit; 503 when JWT keys cannot be read), role (403), body (400 naming the field),
 * scope (404). Errors are JSON without stack traces; tokens are never logged.
 */
export interface BreakerRoutesDeps {
  breaker: Breaker;
  /** Static operators (tokens as salted hashes); reloaded from a file when one is configured. */
  operators: OperatorVerifier;
  /** OIDC/JWT operators, when configured. */
  jwt?: JwtOperators;
  limiter: AuthFailureLimiter;
  logger: Logger;
  metrics?: BreakerMetrics;
  /** What the operator console shows (services/breaker/overview.ts); the route is absent without it. */
  overview?: () => Promise<unknown>;
}

const MAX_AUDIT = 1000;

export function registerBreakerRoutes(http: ServiceHttp, deps: BreakerRoutesDeps): void {
  const { breaker } = deps;

  http.route('GET', '/v1/withdrawals/status', (req) =>
    guarded(async () => {
      const asset = req.query.get('asset');
      if (asset !== null && !TICKER_PATTERN.test(asset))
        throw new HttpError(400, { error: 'asset must be an upper-case ticker, e.g. ETH', field: 'asset' });
      try {
        return { status: 200, body: await breaker.statusForAsset(asset ?? undefined) };
      } catch (err) {
        if (!(err instanceof StateStoreError)) throw err;
        // Fail closed in the answer too: whoever asks must not read "unknown" as "go".
        return {
          status: 503,
          body: {
            allowed: false,
            scope: 'global',
            state: 'unknown',
            since: null,
            reason: 'breaker state unavailable',
          },
        };
      }
    }),
  );

  // Every operator request lands in the audit trail, refusals included (services/breaker/audit-requests.ts).
  const audited = auditedRoute(deps);

  http.route('POST', '/v1/breaker/halt', (req) =>
    audited(req, '/v1/breaker/halt', (ctx, origin) =>
      guarded(async () => {
        const op = await authenticate(req, 'halt', deps, ctx);
        const { scope, reason } = scopeAndReason(await req.json());
        ctx.scope = scope;
        const change = await breaker.halt(scope, reason, op.name, undefined, origin);
        deps.logger.warn({ operator: op.name, scope, changed: change !== null }, 'operator halt');
        if (change) {
          const { previous: _p, ...snapshot } = change;
          return { status: 200, body: { changed: true, ...snapshot } };
        }
        return { status: 200, body: { changed: false, ...(await breaker.status(scope)) } };
      }),
    ),
  );

  http.route('POST', '/v1/breaker/resume', (req) =>
    audited(req, '/v1/breaker/resume', (ctx, origin) =>
      guarded(async () => {
        const op = await authenticate(req, 'resume', deps, ctx);
        const { scope, reason } = scopeAndReason(await req.json());
        ctx.scope = scope;
        const r = await breaker.requestResume(scope, reason, op.name, origin);
        deps.logger.warn({ operator: op.name, scope, status: r.status }, 'operator resume request');
        if (r.status === 'resumed') {
          const { previous: _p, ...snapshot } = r.change;
          return { status: 200, body: { status: 'resumed', ...snapshot } };
        }
        return {
          status: 202,
          body: {
            status: 'pending',
            scope,
            approvals: r.approvals,
            required: r.required,
            ...(r.repeated ? { note: `${op.name} already approved; a different operator must approve` } : {}),
          },
        };
      }),
    ),
  );

  http.route('GET', '/v1/breaker/audit', (req) =>
    audited(req, '/v1/breaker/audit', (ctx) =>
      guarded(async () => {
        await authenticate(req, 'audit', deps, ctx);
        const raw = req.query.get('limit');
        const limit = raw === null ? 100 : Number(raw);
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT)
          throw new HttpError(400, {
            error: `limit must be a whole number from 1 to ${MAX_AUDIT}`,
            field: 'limit',
          });
        // Pages back from an entry's id (the `id` of the oldest entry of the previous page).
        const before = req.query.get('before');
        if (before !== null && !/^\d{1,20}-\d{1,20}$/.test(before))
          throw new HttpError(400, {
            error: 'before must be an audit entry id such as 1700000000000-0',
            field: 'before',
          });
        return { status: 200, body: { entries: await breaker.audit(limit, before ?? undefined) } };
      }),
    ),
  );

  // The console polls this every few seconds: authenticated (audit role) but, unlike the audit route, not
  // itself written to the audit trail, which it would flood; a refused request is still counted and limited.
  const overview = deps.overview;
  if (overview)
    http.route('GET', '/v1/breaker/overview', (req) =>
      guarded(async () => {
        const op = await authenticate(req, 'audit', deps);
        return { status: 200, body: { operator: op.name, ...((await overview()) as object) } };
      }),
    );
}

/**
 * The operator behind the request's bearer token. A valid credential always passes, whatever failed before
 * it from the same client; the limiter only decides whether a failure is answered 401 or 429. Static
 * tokens are checked first (a few SHA-256, constant time), then JWTs. Failures are logged only below the
 * limits, so a flood costs no log line per request.
 */
async function authenticate(
  req: HttpRequest,
  role: Role,
  deps: BreakerRoutesDeps,
  ctx?: RequestContext,
): Promise<Operator> {
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  const checked: JwtOutcome = m ? await verifyToken(m[1]!, deps) : { reason: 'missing bearer token' };
  if ('operator' in checked) {
    const op = checked.operator;
    // Known from here on, so a 403 is audited with the operator's name.
    if (ctx) ctx.operator = op.name;
    if (!op.roles.has(role))
      throw new HttpError(403, { error: `operator ${op.name} lacks the ${role} role` });
    return op;
  }
  if (checked.unavailable) {
    // Not the client's fault: not counted against it, and never an "allow".
    deps.metrics?.jwksErrors.inc();
    deps.logger.error({ reason: checked.reason }, 'cannot verify operator JWTs');
    throw new HttpError(503, { error: 'operator tokens cannot be verified right now; try again shortly' });
  }
  const address = req.remoteAddress || 'unknown';
  const over = deps.limiter.recordFailure(clientKey(address));
  deps.metrics?.authFailures.inc();
  if (over) {
    deps.metrics?.authLimited.inc({ limit: over.limit });
    if (over.first)
      deps.logger.warn(
        { address, limit: over.limit },
        'too many failed operator authentications: answering 429 (logged once per episode)',
      );
    throw new HttpError(429, {
      error: 'too many failed authentications; try again later',
      retryAfterSeconds: over.retryAfterSeconds,
    });
  }
  deps.logger.warn(
    { address, presented: m !== null, reason: checked.reason },
    'operator authentication failed',
  );
  throw new HttpError(401, { error: m ? 'invalid token' : 'missing bearer token' });
}

async function verifyToken(token: string, deps: BreakerRoutesDeps): Promise<JwtOutcome> {
  if (token.length > MAX_TOKEN_LENGTH) return { reason: 'token too long' };
  const op = deps.operators.verify(token);
  if (op) return { operator: op };
  if (deps.jwt && JwtOperators.looksLikeJwt(token)) return deps.jwt.verify(token);
  return { reason: 'unknown token' };
}

function scopeAndReason(body: unknown): { scope: string; reason: string } {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(400, { error: 'body must be a JSON object { "scope", "reason" }', field: '(body)' });
  const b = body as Record<string, unknown>;
  if (typeof b.scope !== 'string' || b.scope.length === 0)
    throw new HttpError(400, { error: 'scope is required (a string)', field: 'scope' });
  if (typeof b.reason !== 'string' || b.reason.trim().length === 0)
    throw new HttpError(400, { error: 'reason is required (a non-empty string)', field: 'reason' });
  if (b.reason.length > 500)
    throw new HttpError(400, { error: 'reason must be at most 500 characters', field: 'reason' });
  if (!isScope(b.scope))
    throw new HttpError(404, {
      error: 'unknown scope: use "global" or "asset:<UPPERCASE TICKER>"',
      field: 'scope',
    });
  return { scope: b.scope, reason: b.reason };
}

/** Maps the breaker's named errors to status codes; anything else becomes the server's plain 500. */
async function guarded(fn: () => Promise<HttpResponse>): Promise<HttpResponse> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof HttpError) {
      if (err.status === 429)
        return {
          status: 429,
          body: err.body,
          headers: { 'retry-after': String(err.body.retryAfterSeconds ?? 60) },
        };
      if (err.status === 401)
        return { status: 401, body: err.body, headers: { 'www-authenticate': 'Bearer' } };
      throw err;
    }
    if (err instanceof BreakerError) {
      const status = err.code === 'EUNKNOWNSCOPE' ? 404 : err.code === 'ENOTHALTED' ? 409 : 400;
      const field = typeof err.context.field === 'string' ? { field: err.context.field } : {};
      throw new HttpError(status, { error: err.message, code: err.code, ...field });
    }
    if (err instanceof StateStoreError)
      throw new HttpError(503, { error: 'breaker state store unavailable' });
    throw err;
  }
}
