import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/**
 * A stand-in identity provider for tests: a JWKS served over HTTP on 127.0.0.1 and tokens signed with its
 * key (or with a key it does not publish).
 */
export interface TestIdp {
  issuer: string;
  audience: string;
  jwksUrl: string;
  /** How many times the JWKS was fetched. */
  fetches(): number;
  /** A token for `sub` with `claims`; `expiresIn` in seconds (negative: already expired). */
  sign(claims: JWTPayload, opts?: SignOptions): Promise<string>;
  close(): Promise<void>;
}

export interface SignOptions {
  expiresIn?: number;
  /** Sign with a fresh key the JWKS does not hold, under the published key id. */
  foreignKey?: boolean;
  kid?: string;
  issuer?: string;
  audience?: string;
  notBefore?: number;
}

export async function startTestIdp(alg: 'ES256' | 'RS256' | 'EdDSA' = 'ES256'): Promise<TestIdp> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const foreign = await generateKeyPair(alg);
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg, use: 'sig' };
  let fetches = 0;
  const server = http.createServer((req, res) => {
    fetches++;
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}/`;
  const audience = 'bulwark-breaker';
  return {
    issuer,
    audience,
    jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
    fetches: () => fetches,
    sign: async (claims, opts = {}) => {
      const now = Math.floor(Date.now() / 1000);
      const key: CryptoKey = opts.foreignKey ? foreign.privateKey : privateKey;
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg, kid: opts.kid ?? 'k1', typ: 'JWT' })
        .setIssuer(opts.issuer ?? issuer)
        .setAudience(opts.audience ?? audience)
        .setIssuedAt(now)
        .setExpirationTime(now + (opts.expiresIn ?? 300));
      if (opts.notBefore !== undefined) jwt.setNotBefore(now + opts.notBefore);
      return jwt.sign(key);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An unsigned token (`alg: none`) with the given claims: what a forger without the key would send. */
export function unsignedToken(header: Record<string, unknown>, claims: JWTPayload): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64(header)}.${b64(claims)}.`;
}
