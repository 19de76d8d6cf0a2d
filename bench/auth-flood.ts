/**
 * What a flood of bad operator tokens costs the breaker's API, per kind of bad token. Not part of the tests.
 *
 *   npm run -s build && node dist/bench/auth-flood.js [requests per kind, default 4000]
 *
 * The API runs in this process (real Redis, 10 static operators, JWT operators from a JWKS file, default
 * limits) and 16 keep-alive connections send each kind in turn. CPU per request counts client and server
 * together (one process), so compare kinds with each other rather than reading the figures as absolute.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { Breaker, defaultBreakerConfig } from '../libs/breaker';
import { ServiceHttp } from '../libs/http/server';
import { silentLogger } from '../libs/logger';
import { breakerMetrics, createRegistry } from '../libs/metrics';
import { createRedis, deleteByPrefix } from '../libs/redis';
import { AuthFailureLimiter } from '../services/breaker/auth-limiter';
import { JwtOperators } from '../services/breaker/jwt-operators';
import { OperatorRegistry, newOperatorLine } from '../services/breaker/operators';
import { registerBreakerRoutes } from '../services/breaker/routes';

const ISSUER = 'https://idp.example/';
const AUDIENCE = 'bulwark-breaker';

async function main(n: number): Promise<void> {
  const redis = createRedis({
    url: process.env.BULWARK_REDIS_URL ?? 'redis://127.0.0.1:6379',
    logger: silentLogger(),
  });
  const prefix = `bench-auth-${Date.now().toString(36)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-flood-'));
  const registry = createRegistry('breaker', false);
  const metrics = breakerMetrics(registry);
  const breaker = await Breaker.create({
    redis,
    prefix,
    config: defaultBreakerConfig(),
    logger: silentLogger(),
    metrics,
  });

  const idp = await generateKeyPair('ES256');
  const forger = await generateKeyPair('ES256');
  const jwksFile = path.join(dir, 'jwks.json');
  fs.writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(idp.publicKey)), kid: 'k1' }] }));
  const jwt = new JwtOperators({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { file: jwksFile },
    nameClaim: 'sub',
    rolesClaim: 'roles',
    roleMap: new Map([['audit', 'audit']]),
    algorithms: ['ES256'],
    clockToleranceSec: 30,
  });
  const sign = (key: CryptoKey, iss = ISSUER) =>
    new SignJWT({ sub: 'vic', roles: ['audit'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(iss)
      .setAudience(AUDIENCE)
      .setExpirationTime('1h')
      .sign(key);

  const ops = Array.from({ length: 10 }, (_, i) => newOperatorLine(`op${i}`));
  const server = new ServiceHttp({
    port: 0,
    registry,
    logger: silentLogger(),
    ready: () => ({ ready: true, reasons: [] }),
  });
  registerBreakerRoutes(server, {
    breaker,
    operators: OperatorRegistry.parse(ops.map((o) => o.line).join(','), 'bench'),
    jwt,
    limiter: new AuthFailureLimiter(),
    logger: silentLogger(),
    metrics,
  });
  const port = await server.listen();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const one = (token: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/breaker/audit?limit=1',
          agent,
          headers: { authorization: `Bearer ${token}` },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end();
    });

  const kinds: [string, string][] = [
    ['warm-up (junk)', 'x'.repeat(43)],
    ['wrong static-looking token', newOperatorLine('nobody').token],
    ['JWT with a wrong issuer', await sign(forger.privateKey, 'https://evil.example/')],
    ['JWT with a forged signature', await sign(forger.privateKey)],
    ['valid JWT', await sign(idp.privateKey)],
    ['valid static token', ops[0]!.token],
  ];
  for (const [label, token] of kinds) {
    const codes: Record<number, number> = {};
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let sent = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (sent++ < n) {
          const c = await one(token);
          codes[c] = (codes[c] ?? 0) + 1;
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    process.stdout.write(
      `${label}: ${Math.round(n / seconds)} req/s, ${Math.round((cpu.user + cpu.system) / n)} µs CPU/request, answers ${JSON.stringify(codes)}\n`,
    );
  }
  agent.destroy();
  await server.close();
  await deleteByPrefix(redis, prefix);
  redis.disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
}

main(Number(process.argv[2] ?? 4000)).catch((err: unknown) => {
  process.stderr.write(`auth-flood: ${String(err)}\n`);
  process.exit(1);
});
