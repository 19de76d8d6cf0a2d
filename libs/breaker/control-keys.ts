import { createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { ConfigError } from '../errors';

/**
 * The breaker's HMAC-SHA-256 keys (contract section 6). The first key signs; every key verifies, so a key
 * can rotate: add the new one first, keep the old one listed until nothing signed with it matters any more.
 * HMAC rather than Ed25519 because the same secret also makes the audit chain unforgeable, and every reader
 * that verifies is the breaker itself or an operator tool holding the key. Secrets never appear in errors.
 */
export interface ControlKey {
  kid: string;
  secret: Buffer;
}

export interface ControlKeyring {
  /** The key that signs. */
  current: ControlKey;
  byKid: ReadonlyMap<string, ControlKey>;
}

const KID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const MIN_SECRET_BYTES = 32;

/**
 * Parses `kid:base64secret` entries (comma- or newline-separated; `#` starts a comment line). `source`
 * names where they came from, for the error.
 */
export function parseControlKeys(text: string, source: string): ControlKeyring {
  const entries = text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('#'));
  if (entries.length === 0)
    throw new ConfigError(
      `${source}: no key; expected kid:base64secret (make one with scripts/control-key.sh)`,
    );
  const byKid = new Map<string, ControlKey>();
  const keys = entries.map((entry, i) => {
    const colon = entry.indexOf(':');
    const kid = colon < 0 ? '' : entry.slice(0, colon);
    const b64 = colon < 0 ? '' : entry.slice(colon + 1);
    if (!KID_PATTERN.test(kid))
      throw new ConfigError(
        `${source}: entry ${i + 1} must be kid:base64secret with a kid of 1-64 characters A-Z a-z 0-9 . _ -`,
      );
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64))
      throw new ConfigError(`${source}: key ${kid}: the secret must be base64`);
    const secret = Buffer.from(b64, 'base64');
    if (secret.length < MIN_SECRET_BYTES)
      throw new ConfigError(
        `${source}: key ${kid}: the secret must be at least ${MIN_SECRET_BYTES} random bytes (openssl rand -base64 32)`,
      );
    if (byKid.has(kid)) throw new ConfigError(`${source}: key id ${kid} appears twice`);
    const key = { kid, secret };
    byKid.set(kid, key);
    return key;
  });
  return { current: keys[0]!, byKid };
}

/**
 * The keyring from `BULWARK_CONTROL_KEY_FILE` (preferred: a file readable by the breaker only) or
 * `BULWARK_CONTROL_KEYS`; undefined when neither is set.
 */
export function controlKeysFromEnv(env: {
  BULWARK_CONTROL_KEYS?: string | undefined;
  BULWARK_CONTROL_KEY_FILE?: string | undefined;
}): ControlKeyring | undefined {
  const file = env.BULWARK_CONTROL_KEY_FILE;
  if (file !== undefined && file !== '') {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `BULWARK_CONTROL_KEY_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    return parseControlKeys(text, 'BULWARK_CONTROL_KEY_FILE');
  }
  const inline = env.BULWARK_CONTROL_KEYS;
  if (inline !== undefined && inline !== '') return parseControlKeys(inline, 'BULWARK_CONTROL_KEYS');
  return undefined;
}

/** Like controlKeysFromEnv, but a missing key is a configuration error naming both variables. */
export function requireControlKeys(env: Parameters<typeof controlKeysFromEnv>[0]): ControlKeyring {
  const keys = controlKeysFromEnv(env);
  if (!keys)
    throw new ConfigError(
      'BULWARK_CONTROL_KEY_FILE or BULWARK_CONTROL_KEYS must hold the breaker signing key (kid:base64secret, ' +
        'at least 32 random bytes; scripts/control-key.sh makes one)',
    );
  return keys;
}

/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members dropped. What is signed and hashed,
 * so the same content gives the same bytes whatever order a producer wrote the fields in.
 */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError('cannot sign a non-finite number');
    return JSON.stringify(v) ?? 'null';
  }
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x === undefined ? null : x)).join(',')}]`;
  const o = v as Record<string, unknown>;
  const parts = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`);
  return `{${parts.join(',')}}`;
}

export function hmacHex(key: ControlKey, text: string): string {
  return createHmac('sha256', key.secret).update(text, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Signs `fields` (everything but `kid` and `sig`) with the current key; returns them with `kid` and `sig`. */
export function signFields<T extends Record<string, unknown>>(
  keys: ControlKeyring,
  fields: T,
): T & { kid: string; sig: string } {
  const kid = keys.current.kid;
  const sig = hmacHex(keys.current, canonicalJson({ ...fields, kid }));
  return { ...fields, kid, sig };
}

export type SignatureCheck =
  { ok: true } | { ok: false; reason: 'unsigned' | 'unknown-kid' | 'bad-signature' };

/** Verifies a signed object: `sig` over every other field, `kid` included. */
export function verifyFields(keys: ControlKeyring, o: Record<string, unknown>): SignatureCheck {
  const { sig, ...rest } = o;
  if (typeof sig !== 'string' || typeof rest.kid !== 'string') return { ok: false, reason: 'unsigned' };
  const key = keys.byKid.get(rest.kid);
  if (!key) return { ok: false, reason: 'unknown-kid' };
  return sameDigest(hmacHex(key, canonicalJson(rest)), sig)
    ? { ok: true }
    : { ok: false, reason: 'bad-signature' };
}
