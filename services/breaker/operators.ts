import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { ConfigError } from '../../libs/errors';
import { tokenWeakness } from './token-strength';

/**
 * Operator tokens are configured only as salted hashes: `name:salt:sha256hex(salt + token)[:roles]`.
 *
 * SHA-256, not scrypt: tokens are 256-bit random values made by hash-token.ts, so nothing can be guessed
 * and a slow hash would only add latency and let a flood of bad tokens burn CPU. The per-operator salt
 * keeps equal tokens from having equal hashes. Comparison is constant-time and runs over every operator,
 * so timing tells neither whether a token is close nor whose it is.
 *
 * Roles (optional 4th field, joined by `+`): `halt`, `resume`, `audit`; all three when omitted. A
 * request whose operator lacks the role gets 403.
 */
export const ROLES = ['halt', 'resume', 'audit'] as const;
export type Role = (typeof ROLES)[number];

export interface Operator {
  name: string;
  roles: ReadonlySet<Role>;
}

/** What the API needs from a set of static operators: the registry itself, or the reloading file. */
export interface OperatorVerifier {
  verify(token: string): Operator | null;
  readonly names: string[];
  withRole(role: Role): string[];
}

interface StoredOperator extends Operator {
  salt: string;
  hash: Buffer;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const SALT = /^[A-Za-z0-9+/=_-]{8,128}$/;
const HEX64 = /^[0-9a-f]{64}$/;
export const MAX_TOKEN_LENGTH = 4096;

/** Whether `name` may be an operator's name (static or from a JWT claim); "breaker" is the service's own. */
export function isOperatorName(name: string): boolean {
  return NAME.test(name) && name !== 'breaker';
}

export function hashToken(salt: string, token: string): string {
  return createHash('sha256')
    .update(salt + token, 'utf8')
    .digest('hex');
}

export class OperatorRegistry implements OperatorVerifier {
  private constructor(private readonly operators: StoredOperator[]) {}

  /**
   * Parses entries (comma- or newline-separated; `#` starts a comment). `source` names the variable in
   * errors; an entry's hash or salt is never echoed.
   */
  static parse(text: string, source: string): OperatorRegistry {
    const entries = text
      .split(/[\n,]/)
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter((l) => l.length > 0);
    const ops: StoredOperator[] = [];
    entries.forEach((entry, i) => {
      const where = `${source}: entry ${i + 1}`;
      const parts = entry.split(':');
      if (parts.length !== 3 && parts.length !== 4)
        throw new ConfigError(
          `${where} must be name:salt:sha256hex(salt+token)[:roles] (make one with hash-token)`,
        );
      const [name, salt, hash, roles] = parts as [string, string, string, string | undefined];
      if (!isOperatorName(name))
        throw new ConfigError(
          `${where}: name must be 1-64 characters of A-Z a-z 0-9 . _ @ - (not "breaker")`,
        );
      if (!SALT.test(salt))
        throw new ConfigError(`${where} (${name}): salt must be 8-128 characters of hex or base64`);
      if (!HEX64.test(hash.toLowerCase()))
        throw new ConfigError(`${where} (${name}): hash must be 64 hex characters (SHA-256)`);
      if (ops.some((o) => o.name === name))
        throw new ConfigError(`${where}: operator ${name} is listed twice`);
      ops.push({ name, salt, hash: Buffer.from(hash.toLowerCase(), 'hex'), roles: parseRoles(roles, where) });
    });
    return new OperatorRegistry(ops);
  }

  /** From BULWARK_OPERATORS or the file BULWARK_OPERATORS_FILE names (exactly one of them). */
  static fromEnv(inline: string | undefined, file: string | undefined): OperatorRegistry {
    if (inline && file) throw new ConfigError('set only one of BULWARK_OPERATORS and BULWARK_OPERATORS_FILE');
    if (file) {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (err) {
        throw new ConfigError(
          `BULWARK_OPERATORS_FILE=${JSON.stringify(file)}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
      return OperatorRegistry.parse(text, 'BULWARK_OPERATORS_FILE');
    }
    return OperatorRegistry.parse(inline ?? '', 'BULWARK_OPERATORS');
  }

  get names(): string[] {
    return this.operators.map((o) => o.name);
  }

  withRole(role: Role): string[] {
    return this.operators.filter((o) => o.roles.has(role)).map((o) => o.name);
  }

  /** The operator whose token this is, or null. Time does not depend on which operator, or how close. */
  verify(token: string): Operator | null {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    let found: StoredOperator | null = null;
    for (const op of this.operators) {
      const candidate = Buffer.from(hashToken(op.salt, token), 'hex');
      if (timingSafeEqual(candidate, op.hash) && found === null) found = op;
    }
    return found ? { name: found.name, roles: found.roles } : null;
  }
}

function parseRoles(text: string | undefined, where: string): ReadonlySet<Role> {
  if (text === undefined || text.trim() === '') return new Set(ROLES);
  const roles = text.split('+').map((r) => r.trim());
  for (const r of roles)
    if (!(ROLES as readonly string[]).includes(r))
      throw new ConfigError(
        `${where}: role ${JSON.stringify(r)} must be one of ${ROLES.join(', ')} (joined by +)`,
      );
  return new Set(roles as Role[]);
}

/** A new random token (or a given one, unless weak) and its configuration line. */
export function newOperatorLine(
  name: string,
  token = randomBytes(32).toString('base64url'),
  roles?: string,
): { line: string; token: string } {
  const weak = tokenWeakness(token);
  if (weak) throw new ConfigError(`${weak}; omit the token and a random one is made`);
  const salt = randomBytes(16).toString('hex');
  const line = `${name}:${salt}:${hashToken(salt, token)}${roles ? `:${roles}` : ''}`;
  // Round-trip through the parser so a bad name or role fails here, not at the service's start.
  OperatorRegistry.parse(line, 'hash-token');
  return { line, token };
}
