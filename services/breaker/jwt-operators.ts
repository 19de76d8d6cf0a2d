import fs from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { ConfigError } from '../../libs/errors';
import type { BreakerEnv } from './config';
import { isOperatorName, ROLES, type Operator, type Role } from './operators';

/**
 * Operators from an OIDC identity provider: bearer JWTs verified against the provider's JWKS (jose), with
 * issuer, audience, expiry (`exp` required, `nbf` honoured, within a clock tolerance), an allow-list of
 * asymmetric algorithms (never `none`, never HMAC: a JWKS is public), the operator's name from one claim
 * and its roles from another. Four eyes count names, so the name claim must be one a person cannot change
 * or share (`sub` by default: OIDC never reassigns it within an issuer).
 */
export interface JwtSettings {
  issuer: string;
  audience: string;
  jwks: { url: URL } | { file: string };
  nameClaim: string;
  /** A claim name, or a dotted path into nested claims (`realm_access.roles`). */
  rolesClaim: string;
  /** Claim value -> role; values not listed are ignored (the provider has other roles too). */
  roleMap: ReadonlyMap<string, Role>;
  algorithms: string[];
  clockToleranceSec: number;
}

export type JwtOutcome =
  | { operator: Operator }
  /** `reason` is for the log: it never holds the token. `unavailable`: the keys could not be read. */
  | { reason: string; unavailable?: boolean };

const ASYMMETRIC = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** After a failed JWKS fetch, tokens are refused at once (503) for this long instead of fetching again. */
const FETCH_RETRY_MS = 5000;
/** Verification errors that are the token's fault; anything else from the key lookup means "keys unreadable". */
const TOKEN_FAULTS = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
]);

class KeysUnavailable extends Error {}

export class JwtOperators {
  private readonly getKey: JWTVerifyGetKey;

  constructor(private readonly settings: JwtSettings) {
    this.getKey = 'url' in settings.jwks ? remoteKeys(settings.jwks.url) : localKeys(settings.jwks.file);
  }

  /** Whether the bearer token is shaped like a JWT at all (header.payload.signature). */
  static looksLikeJwt(token: string): boolean {
    return JWT_SHAPE.test(token);
  }

  async verify(token: string): Promise<JwtOutcome> {
    const s = this.settings;
    // Cheap checks on the unverified token first, so a flood of junk costs no signature check or key fetch.
    const early = precheck(token, s);
    if (early) return { reason: early };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.getKey, {
        issuer: s.issuer,
        audience: s.audience,
        algorithms: s.algorithms,
        clockTolerance: s.clockToleranceSec,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      if (err instanceof KeysUnavailable) return { reason: err.message, unavailable: true };
      return { reason: joseReason(err) };
    }
    const name = payload[s.nameClaim];
    if (typeof name !== 'string' || !isOperatorName(name))
      return {
        reason: `claim ${s.nameClaim} is missing or not an operator name (1-64 of A-Z a-z 0-9 . _ @ -)`,
      };
    return { operator: { name, roles: rolesOf(claimAt(payload, s.rolesClaim), s.roleMap) } };
  }
}

function precheck(token: string, s: JwtSettings): string | null {
  try {
    const { alg } = decodeProtectedHeader(token);
    if (typeof alg !== 'string' || !s.algorithms.includes(alg))
      return `algorithm ${JSON.stringify(alg ?? null).slice(0, 20)} is not allowed`;
    const p = decodeJwt(token);
    if (p.iss !== s.issuer) return 'wrong issuer';
    const aud = Array.isArray(p.aud) ? p.aud : [p.aud];
    if (!aud.includes(s.audience)) return 'wrong audience';
    if (typeof p.exp !== 'number') return 'no expiry (exp)';
    if (p.exp + s.clockToleranceSec <= Date.now() / 1000) return 'expired';
    return null;
  } catch {
    return 'not a well-formed JWT';
  }
}

function joseReason(err: unknown): string {
  const e = err as { code?: string; claim?: string; message?: string };
  switch (e.code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `claim ${e.claim ?? '?'} invalid`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad signature';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'signed by an unknown key';
    default:
      return e.code ? `invalid (${e.code})` : 'invalid';
  }
}

/** The JWKS at `url`, cached by jose (10 min; an unknown key id refetches at most every 30 s). */
function remoteKeys(url: URL): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(url, { timeoutDuration: 3000, cooldownDuration: 30_000 });
  let failedAt = -Infinity;
  return async (header, token) => {
    if (!remote.fresh && Date.now() - failedAt < FETCH_RETRY_MS)
      throw new KeysUnavailable('JWKS unavailable (last fetch failed moments ago)');
    try {
      return await remote(header, token);
    } catch (err) {
      if (TOKEN_FAULTS.has((err as { code?: string }).code ?? '')) throw err;
      failedAt = Date.now();
      throw new KeysUnavailable(`JWKS unavailable: ${(err as Error).message}`);
    }
  };
}

function localKeys(file: string): JWTVerifyGetKey {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `BULWARK_OIDC_JWKS_FILE=${JSON.stringify(file)}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  try {
    return createLocalJWKSet(JSON.parse(text) as Parameters<typeof createLocalJWKSet>[0]);
  } catch (err) {
    throw new ConfigError(
      `BULWARK_OIDC_JWKS_FILE=${JSON.stringify(file)}: not a JSON Web Key Set { "keys": [...] } (${(err as Error).message})`,
    );
  }
}

function claimAt(payload: JWTPayload, path: string): unknown {
  if (path in payload) return payload[path];
  let v: unknown = payload;
  for (const part of path.split('.'))
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

/** Roles from a claim that is an array of strings or one space-separated string (like `scope`). */
function rolesOf(claim: unknown, map: ReadonlyMap<string, Role>): ReadonlySet<Role> {
  const values = Array.isArray(claim) ? claim : typeof claim === 'string' ? claim.split(' ') : [];
  const roles = new Set<Role>();
  for (const v of values) {
    const role = typeof v === 'string' ? map.get(v) : undefined;
    if (role) roles.add(role);
  }
  return roles;
}

/**
 * The JWT settings from the environment, or undefined when no BULWARK_OIDC_* source is set. Throws a
 * ConfigError naming the variable when they do not fit together.
 */
export function jwtSettingsFromEnv(env: BreakerEnv): JwtSettings | undefined {
  const { BULWARK_OIDC_ISSUER: issuer, BULWARK_OIDC_AUDIENCE: audience } = env;
  const url = env.BULWARK_OIDC_JWKS_URL;
  const file = env.BULWARK_OIDC_JWKS_FILE;
  if (!issuer && !audience && !url && !file) return undefined;
  const fix = 'set BULWARK_OIDC_ISSUER, BULWARK_OIDC_AUDIENCE and one of BULWARK_OIDC_JWKS_URL / _FILE';
  if (!issuer) throw new ConfigError(`BULWARK_OIDC_ISSUER is unset: ${fix}`);
  if (!audience) throw new ConfigError(`BULWARK_OIDC_AUDIENCE is unset: ${fix}`);
  if (!url === !file)
    throw new ConfigError(`set exactly one of BULWARK_OIDC_JWKS_URL and BULWARK_OIDC_JWKS_FILE: ${fix}`);
  let jwks: JwtSettings['jwks'];
  if (url) {
    const u = new URL(url);
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback))
      throw new ConfigError(
        `BULWARK_OIDC_JWKS_URL=${JSON.stringify(url)}: must be https (plain http only on 127.0.0.1/localhost): keys fetched in clear can be swapped`,
      );
    jwks = { url: u };
  } else jwks = { file: file! };
  for (const alg of env.BULWARK_OIDC_ALGORITHMS)
    if (!ASYMMETRIC.includes(alg))
      throw new ConfigError(
        `BULWARK_OIDC_ALGORITHMS: ${JSON.stringify(alg)} is not allowed; use asymmetric ones: ${ASYMMETRIC.join(', ')}`,
      );
  return {
    issuer,
    audience,
    jwks,
    nameClaim: env.BULWARK_OIDC_NAME_CLAIM,
    rolesClaim: env.BULWARK_OIDC_ROLES_CLAIM,
    roleMap: parseRoleMap(env.BULWARK_OIDC_ROLE_MAP),
    algorithms: env.BULWARK_OIDC_ALGORITHMS,
    clockToleranceSec: env.BULWARK_OIDC_CLOCK_TOLERANCE_S,
  };
}

function parseRoleMap(text: string | undefined): ReadonlyMap<string, Role> {
  if (text === undefined) return new Map(ROLES.map((r) => [r, r]));
  const map = new Map<string, Role>();
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0)) {
    const at = entry.lastIndexOf('=');
    const value = entry.slice(0, at).trim();
    const role = entry.slice(at + 1).trim();
    if (at <= 0 || !(ROLES as readonly string[]).includes(role))
      throw new ConfigError(
        `BULWARK_OIDC_ROLE_MAP: entry ${JSON.stringify(entry)} must be claimValue=role, role one of ${ROLES.join(', ')}`,
      );
    map.set(value, role as Role);
  }
  return map;
}
