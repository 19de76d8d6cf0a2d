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

/** For loggers made here: the logger they were derived from and their component, so nesting never repeats a key. */
const derived = new WeakMap<Logger, { base: Logger; component: string }>();

/**
 * A child logger with `component` set. Under a parent that has a component already, the name nests
 * ("detector.kafka") instead of adding a second `component` key to every line (pino repeats bound keys).
 */
export function componentLogger(component: string, parent?: Logger): Logger {
  const p = parent ?? rootLogger();
  const known = derived.get(p);
  const base = known ? known.base : p;
  const name = known ? `${known.component}.${component}` : component;
  const child = base.child({ component: name });
  derived.set(child, { base, component: name });
  return child;
}

/** A logger that drops everything: for tests and for the replay CLI's quiet mode. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * For CLI commands: JSON lines on stderr (stdout may carry a report), silent unless BULWARK_LOG_LEVEL asks,
 * so `BULWARK_LOG_LEVEL=debug bulwark replay …` shows what a long wait is waiting for.
 */
export function cliLogger(component: string, level = process.env.BULWARK_LOG_LEVEL ?? 'silent'): Logger {
  return pino(
    {
      level,
      base: { component },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination(2),
  );
}
