import { z } from 'zod';
import { commonEnvSchema, csv, durationMs, port, positiveInt } from '../../libs/config';
import { httpEnvShape } from '../../libs/config/http';

/** The breaker service's environment (shared settings in libs/config). */
export const breakerEnvSchema = commonEnvSchema.extend(httpEnvShape).extend({
  BULWARK_BREAKER_PORT: port(8081),
  BULWARK_BREAKER_HOST: z.string().min(1).default('127.0.0.1'),
  /** Comma-separated `name:salt:sha256hex(salt+token)[:roles]`; or a file of them (one per line). */
  BULWARK_OPERATORS: z.string().optional(),
  BULWARK_OPERATORS_FILE: z.string().min(1).optional(),
  BULWARK_BREAKER_GROUP: z.string().min(1).default('bulwark-breaker'),
  BULWARK_DETECTOR_GROUP: z.string().min(1).default('bulwark-detector'),
  /** Overrides the detector-stalled trigger's stallMs from the triggers file. */
  BULWARK_STALL_MS: z.coerce
    .number({ error: 'must be a duration in milliseconds' })
    .int('must be a whole number of milliseconds')
    .positive('must be > 0 milliseconds')
    .optional(),
  /**
   * Flags are counted in event-time order across partitions: one is held until the detector's flag
   * watermark passes it, or at most this long (wall clock); 0 counts each flag as it arrives.
   */
  BULWARK_FLAG_ORDER_MAX_HOLD_MS: z.coerce
    .number({ error: 'must be a duration in milliseconds (0 turns ordering off)' })
    .int('must be a whole number of milliseconds')
    .min(0, 'must be >= 0 milliseconds (0 turns ordering off)')
    .default(10000),
  BULWARK_STALL_CHECK_MS: durationMs(5000).refine((n) => n >= 100, 'must be at least 100 milliseconds'),
  /** Triggers file (YAML); config/breaker.default.yaml when unset. */
  BULWARK_BREAKER_CONFIG: z.string().min(1).optional(),
  /** Failed authentications per client (IPv4 address or IPv6 /64) per minute before 429. */
  BULWARK_AUTH_FAILURES_PER_MIN: positiveInt(10, 'a whole number of failures >= 1'),
  /** Failed authentications from all clients together per minute before every failure gets 429. */
  BULWARK_AUTH_FAILURES_GLOBAL_PER_MIN: positiveInt(600, 'a whole number of failures >= 1'),
  /** How often BULWARK_OPERATORS_FILE is checked for changes (SIGHUP reloads at once). */
  BULWARK_OPERATORS_RELOAD_MS: durationMs(2000).refine((n) => n >= 100, 'must be at least 100 milliseconds'),
  // OIDC/JWT operators (jwt-operators.ts checks how these combine).
  BULWARK_OIDC_ISSUER: z.string().min(1).optional(),
  BULWARK_OIDC_AUDIENCE: z.string().min(1).optional(),
  BULWARK_OIDC_JWKS_URL: z.url({ error: 'must be a URL (https, or http on 127.0.0.1/localhost)' }).optional(),
  BULWARK_OIDC_JWKS_FILE: z.string().min(1).optional(),
  BULWARK_OIDC_NAME_CLAIM: z.string().min(1).default('sub'),
  BULWARK_OIDC_ROLES_CLAIM: z.string().min(1).default('roles'),
  /** `claimValue=role,...`; by default the claim values `halt`, `resume`, `audit` are the roles. */
  BULWARK_OIDC_ROLE_MAP: z.string().min(1).optional(),
  BULWARK_OIDC_ALGORITHMS: csv('RS256,PS256,ES256,EdDSA'),
  BULWARK_OIDC_CLOCK_TOLERANCE_S: z.coerce
    .number({ error: 'must be a whole number of seconds from 0 to 300' })
    .int('must be a whole number of seconds from 0 to 300')
    .min(0, 'must be a whole number of seconds from 0 to 300')
    .max(300, 'must be a whole number of seconds from 0 to 300')
    .default(30),
  /**
   * The control-state signing keys, `kid:base64secret` one per line (the first signs, all verify): a file
   * (preferred), or the same inline, comma-separated. Required; never logged (libs/breaker/control-keys.ts).
   */
  BULWARK_CONTROL_KEY_FILE: z.string().min(1).optional(),
  BULWARK_CONTROL_KEYS: z.string().min(1).optional(),
});
export type BreakerEnv = z.infer<typeof breakerEnvSchema>;
