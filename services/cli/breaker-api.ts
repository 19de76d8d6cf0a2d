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

/** `call`, with a network failure turned into one line naming the address and the variable to check. */
export async function reachBreaker(call: () => Promise<BreakerAnswer>): Promise<BreakerAnswer> {
  try {
    return await call();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new Error(`cannot reach the breaker at ${breakerUrl()} (${cause}); check BULWARK_BREAKER_URL`);
  }
}

/** Prints a 2xx answer (text or JSON) and returns 0; any other answer is one line on stderr and 1. */
export function printAnswer(
  answer: BreakerAnswer,
  json: boolean,
  out: (answer: BreakerAnswer) => string,
): number {
  if (answer.status < 200 || answer.status > 299) {
    const b = answer.body;
    const why =
      typeof b.error === 'string' ? b.error : typeof b.text === 'string' ? b.text.slice(0, 200) : '';
    const field = typeof b.field === 'string' ? ` (field ${b.field})` : '';
    process.stderr.write(`bulwark: the breaker answered ${answer.status}: ${why}${field}\n`);
    return 1;
  }
  process.stdout.write(json ? `${JSON.stringify(answer.body)}\n` : `${out(answer)}\n`);
  return 0;
}
