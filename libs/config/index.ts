import { z } from 'zod';
import { ConfigError } from '../errors';
import { connectionEnvShape, redactUrl } from './connections';

export * from './connections';

/**
 * Configuration comes from environment variables, validated once at start-up (raw -> validated, after
 * Temporal): code after start-up only ever sees the parsed type. A bad value stops the process with one
 * line that names the variable, the value and what is allowed.
 */
export type Env = Record<string, string | undefined>;

/** Secrets are never echoed back in error messages, nor are credentials inside a URL (even an invalid one). */
const SECRET_PATTERN = /(TOKEN|SECRET|PASSWORD|HASH|KEY)$/i;

export function formatIssue(issue: z.core.$ZodIssue, source: Env | Record<string, unknown>): string {
  const name = issue.path.map(String).join('.') || '(root)';
  const raw = (source as Record<string, unknown>)[name];
  const shown =
    raw === undefined
      ? '(unset)'
      : SECRET_PATTERN.test(name)
        ? '(hidden)'
        : JSON.stringify(redactUrl(String(raw)));
  return `${name}=${shown}: ${issue.message}`;
}

/** Parses `env` with `schema`; throws a ConfigError whose message is one line per bad variable. */
export function loadConfig<S extends z.ZodType>(schema: S, env: Env = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => formatIssue(i, env));
  throw new ConfigError(`invalid configuration: ${lines.join('; ')}`, { issues: lines });
}

// Reusable field builders. Each names what is allowed, so the message tells the user how to fix it.
/** A TCP port; 0 asks the OS for a free one (tests). */
export const port = (def: number) =>
  z.coerce
    .number({ error: 'must be a TCP port number (0-65535; 0 picks a free port)' })
    .int('must be a whole number (0-65535)')
    .min(0, 'must be between 0 and 65535')
    .max(65535, 'must be between 0 and 65535')
    .default(def);

export const positiveInt = (def: number, what = 'a positive whole number') =>
  z.coerce
    .number({ error: `must be ${what}` })
    .int(`must be ${what}`)
    .positive(`must be ${what}`)
    .default(def);

export const durationMs = (def: number) =>
  z.coerce
    .number({ error: 'must be a duration in milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(0, 'must be >= 0 milliseconds')
    .default(def);

export const csv = (def: string) =>
  z
    .string()
    .default(def)
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x.length > 0),
    )
    .refine((xs) => xs.length > 0, 'must be a comma-separated list with at least one entry');

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    error: 'must be one of fatal, error, warn, info, debug, trace, silent',
  })
  .default('info');

export const keyPrefix = (def: string) =>
  z
    .string()
    .default(def)
    .refine((s) => /^[A-Za-z0-9_.:-]{1,64}$/.test(s), 'must be 1-64 characters of A-Z a-z 0-9 _ . : -');

/** `host:port` or `[v6]:port`, port 1-65535, as kafkajs takes a broker. */
export function isBrokerAddress(s: string): boolean {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?):(\d{1,5})$/.exec(s);
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
}

/** A redis:// or rediss:// URL with a host and, if given, a valid port (what ioredis can connect to). */
export function isRedisUrl(s: string): boolean {
  if (!/^rediss?:\/\//.test(s)) return false;
  try {
    return new URL(s).hostname !== '';
  } catch {
    return false;
  }
}

/** Settings every service shares: Kafka, Redis, topics, HTTP, logging. */
export const commonEnvSchema = z.object({
  BULWARK_KAFKA_BROKERS: csv('127.0.0.1:9092').refine(
    (xs) => xs.every(isBrokerAddress),
    'must be a comma-separated list of host:port brokers (port 1-65535)',
  ),
  BULWARK_KAFKA_CLIENT_ID: z.string().min(1).default('bulwark'),
  BULWARK_REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .refine(
      isRedisUrl,
      'must be a redis:// or rediss:// URL with a host, e.g. redis://127.0.0.1:6379 (port 1-65535)',
    ),
  ...connectionEnvShape,
  BULWARK_KEY_PREFIX: keyPrefix('bulwark'),
  BULWARK_TOPIC_PREFIX: z
    .string()
    .default('')
    .refine((s) => /^[A-Za-z0-9._-]{0,100}$/.test(s), 'must be empty or letters, digits, . _ -'),
  BULWARK_PARTITIONS: positiveInt(6, 'a partition count >= 1'),
  BULWARK_LOG_LEVEL: logLevel,
});
export type CommonConfig = z.infer<typeof commonEnvSchema>;

/**
 * For a service's main(): load config or print the one-line reason and exit 1 without a stack trace,
 * so a supervisor shows the operator what to fix rather than crash-looping on noise.
 */
export function loadConfigOrExit<S extends z.ZodType>(schema: S, env: Env = process.env): z.infer<S> {
  try {
    return loadConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`bulwark: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
