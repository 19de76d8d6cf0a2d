import pino, { type Logger } from 'pino';

/**
 * One root pino logger; every module takes a child with its `component`. Secrets are redacted by path
 * wherever they might appear, and event payloads are logged only at debug level by the callers.
 */
export type { Logger };

const REDACT = [
  'token',
  'authorization',
  'password',
  'secret',
  '*.token',
  '*.authorization',
  '*.password',
  '*.secret',
  'req.headers.authorization',
  'headers.authorization',
];

let root: Logger | undefined;

export function rootLogger(level = process.env.BULWARK_LOG_LEVEL ?? 'info'): Logger {
  if (!root) {
    root = pino({
      level,
      base: { service: process.env.BULWARK_SERVICE ?? 'bulwark' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    });
  }
  return root;
}

export function componentLogger(component: string, parent?: Logger): Logger {
  return (parent ?? rootLogger()).child({ component });
}

/** A logger that drops everything: for tests and for the replay CLI's quiet mode. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
