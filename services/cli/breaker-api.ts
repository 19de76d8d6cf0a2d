import fs from 'node:fs';
import { ConfigError } from '../../libs/errors';

/**
 * The CLI's client of a running breaker's HTTP API: its address from BULWARK_BREAKER_URL, the operator token
 * from BULWARK_TOKEN_FILE or BULWARK_TOKEN, never from argv (it would show in `ps` and shell history).
 */
export function breakerUrl(): string {
  const v = process.env.BULWARK_BREAKER_URL;
  return (v === undefined || v === '' ? 'http://127.0.0.1:8081' : v).replace(/\/+$/, '');
}

/** The operator token; `role` names what it must be allowed (for the message when none is set). */
export function operatorToken(role: string): string {
  const file = process.env.BULWARK_TOKEN_FILE;
  if (file) {
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(
        `BULWARK_TOKEN_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  const t = process.env.BULWARK_TOKEN;
  if (!t)
    throw new ConfigError(
      `set BULWARK_TOKEN_FILE or BULWARK_TOKEN to an operator token with the ${role} role`,
    );
  return t.trim();
}

export interface BreakerAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** One request to the breaker; a non-JSON answer is kept as `{ text }`. Network failures throw. */
export async function callBreaker(
  method: 'GET' | 'POST',
  route: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<BreakerAnswer> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${breakerUrl()}${route}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(text);
    body =
      v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { text };
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}
