import { BreakerError, type Breaker, type RequestOrigin } from '../../libs/breaker';
import { errorMessage } from '../../libs/errors';
import { HttpError, type HttpRequest, type HttpResponse } from '../../libs/http/server';
import type { Logger } from '../../libs/logger';

/** What a route learns while it runs: who asked (once authenticated) and about which scope. */
export interface RequestContext {
  operator?: string;
  scope?: string;
}

type Handler = (ctx: RequestContext, origin: RequestOrigin) => Promise<HttpResponse>;

/**
 * Wraps an operator route so that every request it answers is in the audit trail with its address, route,
 * status and operator (when known). A halt or resume that reached the breaker's script is recorded there,
 * with the same origin, atomically with its effect; everything else (401, 403, 429, 400, 404, reads) is
 * recorded here. A failure to record is logged and does not change the answer.
 */
export function auditedRoute(deps: { breaker: Breaker; logger: Logger }) {
  return async (req: HttpRequest, route: string, handler: Handler): Promise<HttpResponse> => {
    const ctx: RequestContext = {};
    const origin: RequestOrigin = { address: req.remoteAddress || 'unknown', method: req.method, route };
    let status = 500;
    let detail: string | undefined;
    let scripted = false;
    try {
      const res = await handler(ctx, origin);
      status = res.status;
      // A halt or resume answered below 400 went through the breaker's script, which recorded it.
      scripted = req.method === 'POST' && status < 400;
      if (status >= 400) detail = errorOf(res.body);
      return res;
    } catch (err) {
      if (err instanceof HttpError) {
        status = err.status;
        detail = errorOf(err.body);
        // A resume of an open scope was refused by the script, which recorded it.
        scripted = err.body.code === 'ENOTHALTED';
      } else if (err instanceof BreakerError) {
        scripted = err.code === 'ENOTHALTED';
        detail = err.message;
      } else detail = 'internal error';
      throw err;
    } finally {
      if (!scripted) await record(deps, { ...origin, status, ctx, detail });
    }
  };
}

function errorOf(body: unknown): string | undefined {
  const e = (body as { error?: unknown } | null)?.error;
  return typeof e === 'string' ? e.slice(0, 200) : undefined;
}

async function record(
  deps: { breaker: Breaker; logger: Logger },
  r: RequestOrigin & { status: number; ctx: RequestContext; detail: string | undefined },
): Promise<void> {
  try {
    await deps.breaker.recordRequest({
      address: r.address,
      method: r.method,
      route: r.route,
      status: r.status,
      ...(r.ctx.operator === undefined ? {} : { operator: r.ctx.operator }),
      ...(r.ctx.scope === undefined ? {} : { scope: r.ctx.scope }),
      ...(r.detail === undefined ? {} : { detail: r.detail }),
    });
  } catch (err) {
    deps.logger.error(
      { err: errorMessage(err), route: r.route, status: r.status },
      'auditing a request failed',
    );
  }
}
