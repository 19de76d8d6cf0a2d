import type { Registry } from 'prom-client';
import { Breaker, defaultBreakerConfig } from '../../libs/breaker';
import { ServiceHttp } from '../../libs/http/server';
import { silentLogger } from '../../libs/logger';
import { breakerMetrics, createRegistry } from '../../libs/metrics';
import type { Redis } from '../../libs/redis';
import { AuthFailureLimiter, type AuthLimits } from '../../services/breaker/auth-limiter';
import { OperatorRegistry } from '../../services/breaker/operators';
import { registerBreakerRoutes } from '../../services/breaker/routes';

/**
 * The breaker's HTTP API in this process, on real Redis under `prefix`, without Kafka: for tests of what the
 * routes answer. `operators` is a BULWARK_OPERATORS value or a registry; `limits` overrides the
 * authentication-failure budget.
 */
export async function startBreakerHttp(
  redis: Redis,
  prefix: string,
  operators: string | OperatorRegistry,
  opts: { limits?: Partial<AuthLimits> } = {},
): Promise<{ base: string; port: number; registry: Registry; breaker: Breaker; close: () => Promise<void> }> {
  const registry = createRegistry('breaker', false);
  const metrics = breakerMetrics(registry);
  const breaker = await Breaker.create({
    redis,
    prefix,
    config: defaultBreakerConfig(),
    logger: silentLogger(),
    metrics,
  });
  const http = new ServiceHttp({
    port: 0,
    registry,
    logger: silentLogger(),
    ready: () => ({ ready: true, reasons: [] }),
  });
  registerBreakerRoutes(http, {
    breaker,
    operators: typeof operators === 'string' ? OperatorRegistry.parse(operators, 'test') : operators,
    limiter: new AuthFailureLimiter({ perClient: 10, windowMs: 60_000, ...opts.limits }),
    logger: silentLogger(),
    metrics,
  });
  const port = await http.listen();
  return { base: `http://127.0.0.1:${port}`, port, registry, breaker, close: () => http.close() };
}
