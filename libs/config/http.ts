import fs from 'node:fs';
import tls from 'node:tls';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../errors';
import type { HttpLimits } from '../http/server';

/**
 * The HTTP settings every service shares (libs/http): timeouts and caps that bound what one client can
 * cost, and optional HTTPS. Spread into a service's env schema with `.extend(httpEnvShape)`.
 */
const ms = (def: number) =>
  z.coerce
    .number({ error: 'must be a duration in milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(100, 'must be at least 100 milliseconds')
    .max(600000, 'must be at most 600000 milliseconds (10 minutes)')
    .default(def);
const count = (def: number, what: string) =>
  z.coerce
    .number({ error: `must be ${what}` })
    .int(`must be ${what}`)
    .positive(`must be ${what}`)
    .default(def);

export const httpEnvShape = {
  BULWARK_HTTP_HEADERS_TIMEOUT_MS: ms(5000),
  BULWARK_HTTP_REQUEST_TIMEOUT_MS: ms(10000),
  BULWARK_HTTP_KEEPALIVE_TIMEOUT_MS: ms(5000),
  BULWARK_HTTP_SOCKET_TIMEOUT_MS: ms(15000),
  BULWARK_HTTP_MAX_CONNECTIONS: count(1000, 'a number of connections >= 1'),
  BULWARK_HTTP_MAX_CONNECTIONS_PER_ADDRESS: count(100, 'a number of connections >= 1'),
  BULWARK_HTTP_MAX_BODY_BYTES: count(16384, 'a size in bytes >= 1'),
  /** PEM certificate (chain) and its key: both set serves HTTPS; neither serves plain HTTP. */
  BULWARK_HTTP_TLS_CERT_FILE: z.string().min(1).optional(),
  BULWARK_HTTP_TLS_KEY_FILE: z.string().min(1).optional(),
};
export type HttpEnv = z.infer<z.ZodObject<typeof httpEnvShape>>;

export interface HttpServerSettings {
  limits: HttpLimits;
  tls?: { cert: Buffer; key: Buffer };
}

/** The ServiceHttp options from the env; reads the TLS files now, so a bad one stops the process at start. */
export function httpServerSettings(env: HttpEnv): HttpServerSettings {
  if (env.BULWARK_HTTP_HEADERS_TIMEOUT_MS > env.BULWARK_HTTP_REQUEST_TIMEOUT_MS)
    throw new ConfigError(
      `BULWARK_HTTP_HEADERS_TIMEOUT_MS=${env.BULWARK_HTTP_HEADERS_TIMEOUT_MS}: must not exceed BULWARK_HTTP_REQUEST_TIMEOUT_MS (${env.BULWARK_HTTP_REQUEST_TIMEOUT_MS})`,
    );
  if (env.BULWARK_HTTP_MAX_CONNECTIONS_PER_ADDRESS > env.BULWARK_HTTP_MAX_CONNECTIONS)
    throw new ConfigError(
      `BULWARK_HTTP_MAX_CONNECTIONS_PER_ADDRESS=${env.BULWARK_HTTP_MAX_CONNECTIONS_PER_ADDRESS}: must not exceed BULWARK_HTTP_MAX_CONNECTIONS (${env.BULWARK_HTTP_MAX_CONNECTIONS})`,
    );
  const limits: HttpLimits = {
    headersTimeoutMs: env.BULWARK_HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: env.BULWARK_HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: env.BULWARK_HTTP_KEEPALIVE_TIMEOUT_MS,
    socketTimeoutMs: env.BULWARK_HTTP_SOCKET_TIMEOUT_MS,
    maxConnections: env.BULWARK_HTTP_MAX_CONNECTIONS,
    maxConnectionsPerAddress: env.BULWARK_HTTP_MAX_CONNECTIONS_PER_ADDRESS,
    maxBodyBytes: env.BULWARK_HTTP_MAX_BODY_BYTES,
  };
  const certFile = env.BULWARK_HTTP_TLS_CERT_FILE;
  const keyFile = env.BULWARK_HTTP_TLS_KEY_FILE;
  if (certFile === undefined && keyFile === undefined) return { limits };
  if (certFile === undefined || keyFile === undefined)
    throw new ConfigError(
      `${certFile === undefined ? 'BULWARK_HTTP_TLS_CERT_FILE' : 'BULWARK_HTTP_TLS_KEY_FILE'}=(unset): HTTPS needs both BULWARK_HTTP_TLS_CERT_FILE and BULWARK_HTTP_TLS_KEY_FILE; set both, or neither for plain HTTP`,
    );
  const cert = readPem('BULWARK_HTTP_TLS_CERT_FILE', certFile);
  const key = readPem('BULWARK_HTTP_TLS_KEY_FILE', keyFile);
  try {
    tls.createSecureContext({ cert, key });
  } catch (err) {
    throw new ConfigError(
      `BULWARK_HTTP_TLS_CERT_FILE=${JSON.stringify(certFile)}, BULWARK_HTTP_TLS_KEY_FILE=${JSON.stringify(keyFile)}: not a usable PEM certificate and matching key (${errorMessage(err)})`,
    );
  }
  return { limits, tls: { cert, key } };
}

function readPem(variable: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? errorMessage(err);
    throw new ConfigError(
      `${variable}=${JSON.stringify(file)}: cannot read the file (${code}); give a readable PEM file`,
    );
  }
}
