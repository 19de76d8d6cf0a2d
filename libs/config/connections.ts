import fs from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors';
import type { KafkaSecurity, SaslMechanism } from '../kafka/client';
import type { RedisClientOptions } from '../redis/client';

/**
 * How Bulwark reaches a secured Kafka and Redis: TLS, SASL and ACL users. Secrets come from files named by
 * environment variables (never argv), are read once at start, and never appear in an error message.
 */
const optionalPath = z.string().min(1, 'must be a file path').optional();

export const connectionEnvShape = {
  BULWARK_KAFKA_SSL: z
    .enum(['true', 'false', '1', '0', ''], { error: 'must be true or false' })
    .default('false')
    .transform((s) => s === 'true' || s === '1'),
  BULWARK_KAFKA_SSL_CA_FILE: optionalPath,
  BULWARK_KAFKA_SASL_MECHANISM: z
    .enum(['scram-sha-256', 'scram-sha-512', 'plain'], {
      error: 'must be one of scram-sha-256, scram-sha-512, plain',
    })
    .optional(),
  BULWARK_KAFKA_SASL_USERNAME: z.string().min(1, 'must not be empty').optional(),
  BULWARK_KAFKA_SASL_PASSWORD_FILE: optionalPath,
  BULWARK_REDIS_TLS_CA_FILE: optionalPath,
  BULWARK_REDIS_PASSWORD_FILE: optionalPath,
};
export const connectionEnvSchema = z.object(connectionEnvShape);
export type ConnectionEnv = z.infer<typeof connectionEnvSchema>;

/** Reads a file's text; injected so tests need no files. */
export type ReadText = (path: string) => string;
const readUtf8: ReadText = (path) => fs.readFileSync(path, 'utf8');

function bad(variable: string, shown: string | undefined, message: string): ConfigError {
  const line = `${variable}=${shown === undefined ? '(unset)' : JSON.stringify(shown)}: ${message}`;
  return new ConfigError(`invalid configuration: ${line}`, { issues: [line] });
}

function readFileFor(variable: string, path: string, read: ReadText, what: string): string {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw bad(variable, path, `cannot read it (${code}); point it at ${what}`);
  }
  return text;
}

/** A password file holds the password alone; one trailing newline (as editors and `echo` write) is dropped. */
function readSecret(variable: string, path: string, read: ReadText): string {
  const text = readFileFor(variable, path, read, 'a file holding only the password').replace(/\r?\n$/, '');
  if (text.length === 0) throw bad(variable, path, 'the file is empty; write the password into it');
  if (/[\r\n]/.test(text)) throw bad(variable, path, 'the file must hold the password on one line');
  return text;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readCa(variable: string, path: string, read: ReadText): string[] {
  const text = readFileFor(variable, path, read, 'a PEM file of the CA certificates to trust');
  const certs = text.match(PEM_CERT) ?? [];
  if (certs.length === 0)
    throw bad(variable, path, 'no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)');
  return certs;
}

/**
 * The Kafka security settings for `KafkaClient`, or undefined for PLAINTEXT. Throws a ConfigError naming the
 * variable when a setting is missing, contradictory or points at an unreadable file.
 */
export function kafkaSecurity(env: ConnectionEnv, read: ReadText = readUtf8): KafkaSecurity | undefined {
  const caFile = env.BULWARK_KAFKA_SSL_CA_FILE;
  const tls = env.BULWARK_KAFKA_SSL || caFile !== undefined;
  const security: KafkaSecurity = {};
  if (tls)
    security.tls = caFile === undefined ? {} : { ca: readCa('BULWARK_KAFKA_SSL_CA_FILE', caFile, read) };

  const mechanism: SaslMechanism | undefined = env.BULWARK_KAFKA_SASL_MECHANISM;
  const username = env.BULWARK_KAFKA_SASL_USERNAME;
  const passwordFile = env.BULWARK_KAFKA_SASL_PASSWORD_FILE;
  if (mechanism === undefined) {
    if (username !== undefined || passwordFile !== undefined)
      throw bad(
        'BULWARK_KAFKA_SASL_MECHANISM',
        undefined,
        'a SASL user or password file is set: set the mechanism too (scram-sha-256, scram-sha-512 or plain)',
      );
  } else {
    if (username === undefined)
      throw bad(
        'BULWARK_KAFKA_SASL_USERNAME',
        undefined,
        `required with SASL ${mechanism}: the principal's name`,
      );
    if (passwordFile === undefined)
      throw bad(
        'BULWARK_KAFKA_SASL_PASSWORD_FILE',
        undefined,
        `required with SASL ${mechanism}: a file holding the password (never put it in argv)`,
      );
    if (mechanism === 'plain' && !tls)
      throw bad(
        'BULWARK_KAFKA_SASL_MECHANISM',
        mechanism,
        'PLAIN sends the password in clear: set BULWARK_KAFKA_SSL=true (or a CA file), or use scram-sha-512',
      );
    const password = readSecret('BULWARK_KAFKA_SASL_PASSWORD_FILE', passwordFile, read);
    security.sasl = { mechanism, username, password };
  }
  return security.tls || security.sasl ? security : undefined;
}

/** What `createRedis` needs besides a logger: the URL, the ACL user's password from its file, the CA. */
export type RedisConnection = Pick<RedisClientOptions, 'url' | 'password' | 'tls'>;

/**
 * The Redis connection for `createRedis` from BULWARK_REDIS_URL (`rediss://user@host:port` for TLS and an
 * ACL user), BULWARK_REDIS_PASSWORD_FILE and BULWARK_REDIS_TLS_CA_FILE. Throws a ConfigError naming the
 * variable; the URL is shown with its credentials hidden.
 */
export function redisConnection(
  env: ConnectionEnv & { BULWARK_REDIS_URL: string },
  read: ReadText = readUtf8,
): RedisConnection {
  const url = env.BULWARK_REDIS_URL;
  const shownUrl = redactUrl(url);
  const tls = url.startsWith('rediss://');
  const conn: RedisConnection = { url };
  const caFile = env.BULWARK_REDIS_TLS_CA_FILE;
  if (caFile !== undefined) {
    if (!tls)
      throw bad(
        'BULWARK_REDIS_URL',
        shownUrl,
        'BULWARK_REDIS_TLS_CA_FILE is set: use a rediss:// URL for TLS',
      );
    conn.tls = { ca: readCa('BULWARK_REDIS_TLS_CA_FILE', caFile, read) };
  }
  const passwordFile = env.BULWARK_REDIS_PASSWORD_FILE;
  if (passwordFile !== undefined) {
    if (urlPassword(url) !== '')
      throw bad(
        'BULWARK_REDIS_URL',
        shownUrl,
        'has a password and BULWARK_REDIS_PASSWORD_FILE is set: keep the password in the file only',
      );
    conn.password = readSecret('BULWARK_REDIS_PASSWORD_FILE', passwordFile, read);
  }
  return conn;
}

function urlPassword(url: string): string {
  try {
    return new URL(url).password;
  } catch {
    return '';
  }
}

/**
 * A URL-like value with the password of its user-info (`user:***@`) and any `password=` query value
 * replaced by `***`. Works on invalid URLs too (`redis//u:pw@h`, `u:pw@h`): those are exactly the ones an
 * error message shows. Text without credentials comes back unchanged.
 */
export function redactUrl(value: string): string {
  return value
    .replace(
      /^(.*?\/\/|[A-Za-z][A-Za-z0-9+.-]*:\/*)?(\S*)@/,
      (_m, prefix: string | undefined, auth: string) => {
        const colon = auth.indexOf(':');
        return `${prefix ?? ''}${colon < 0 ? '***' : `${auth.slice(0, colon)}:***`}@`;
      },
    )
    .replace(/([?&;]\s*(?:password|pass|pwd|auth)\s*=)[^&;#]*/gi, '$1***');
}
