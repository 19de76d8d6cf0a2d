import { ConfigError } from '../errors';
import {
  connectionEnvSchema,
  kafkaSecurity,
  redactUrl,
  redisConnection,
  type ConnectionEnv,
  type ReadText,
} from './connections';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
const files: Record<string, string> = {
  '/s/kafka.password': 's3cret-kafka\n',
  '/s/redis.password': 's3cret-redis',
  '/s/empty': '\n',
  '/s/two-lines': 'a\nb\n',
  '/s/ca.pem': `${CERT}\n${CERT}\n`,
  '/s/not-a-cert': 'hello',
};
const read: ReadText = (p) => {
  const text = files[p];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
  return text;
};
const env = (vars: Record<string, string>): ConnectionEnv => connectionEnvSchema.parse(vars);

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('kafkaSecurity', () => {
  it('is undefined for PLAINTEXT without SASL', () => {
    expect(kafkaSecurity(env({}), read)).toBeUndefined();
  });

  it('turns TLS on with the CA file and reads the SCRAM password from its file', () => {
    const sec = kafkaSecurity(
      env({
        BULWARK_KAFKA_SSL_CA_FILE: '/s/ca.pem',
        BULWARK_KAFKA_SASL_MECHANISM: 'scram-sha-512',
        BULWARK_KAFKA_SASL_USERNAME: 'breaker',
        BULWARK_KAFKA_SASL_PASSWORD_FILE: '/s/kafka.password',
      }),
      read,
    );
    expect(sec).toEqual({
      tls: { ca: [CERT, CERT] },
      sasl: { mechanism: 'scram-sha-512', username: 'breaker', password: 's3cret-kafka' },
    });
  });

  it('uses the system roots with BULWARK_KAFKA_SSL=true and no CA file', () => {
    expect(kafkaSecurity(env({ BULWARK_KAFKA_SSL: 'true' }), read)).toEqual({ tls: {} });
  });

  it.each([
    [{ BULWARK_KAFKA_SASL_USERNAME: 'x' }, 'BULWARK_KAFKA_SASL_MECHANISM=(unset)'],
    [{ BULWARK_KAFKA_SASL_MECHANISM: 'scram-sha-256' }, 'BULWARK_KAFKA_SASL_USERNAME=(unset)'],
    [
      { BULWARK_KAFKA_SASL_MECHANISM: 'scram-sha-256', BULWARK_KAFKA_SASL_USERNAME: 'x' },
      'BULWARK_KAFKA_SASL_PASSWORD_FILE=(unset)',
    ],
    [
      {
        BULWARK_KAFKA_SASL_MECHANISM: 'plain',
        BULWARK_KAFKA_SASL_USERNAME: 'x',
        BULWARK_KAFKA_SASL_PASSWORD_FILE: '/s/kafka.password',
      },
      'PLAIN sends the password in clear',
    ],
    [
      {
        BULWARK_KAFKA_SASL_MECHANISM: 'scram-sha-256',
        BULWARK_KAFKA_SASL_USERNAME: 'x',
        BULWARK_KAFKA_SASL_PASSWORD_FILE: '/s/missing',
      },
      'BULWARK_KAFKA_SASL_PASSWORD_FILE="/s/missing": cannot read it (ENOENT)',
    ],
    [
      {
        BULWARK_KAFKA_SASL_MECHANISM: 'scram-sha-256',
        BULWARK_KAFKA_SASL_USERNAME: 'x',
        BULWARK_KAFKA_SASL_PASSWORD_FILE: '/s/empty',
      },
      'the file is empty',
    ],
    [
      {
        BULWARK_KAFKA_SASL_MECHANISM: 'scram-sha-256',
        BULWARK_KAFKA_SASL_USERNAME: 'x',
        BULWARK_KAFKA_SASL_PASSWORD_FILE: '/s/two-lines',
      },
      'on one line',
    ],
    [
      { BULWARK_KAFKA_SSL_CA_FILE: '/s/not-a-cert' },
      'BULWARK_KAFKA_SSL_CA_FILE="/s/not-a-cert": no PEM certificate',
    ],
  ])('refuses %j naming the variable', (vars, expected) => {
    expect(message(() => kafkaSecurity(env(vars), read))).toContain(expected);
  });

  it('never puts a password file content in a message', () => {
    const msg = message(() =>
      kafkaSecurity(
        env({
          BULWARK_KAFKA_SASL_MECHANISM: 'plain',
          BULWARK_KAFKA_SASL_USERNAME: 'x',
          BULWARK_KAFKA_SASL_PASSWORD_FILE: '/s/kafka.password',
        }),
        read,
      ),
    );
    expect(msg).not.toContain('s3cret');
  });
});

describe('redisConnection', () => {
  const redisEnv = (vars: Record<string, string>) => ({ ...env(vars), BULWARK_REDIS_URL: vars.url ?? '' });

  it('passes a plain URL through', () => {
    expect(redisConnection(redisEnv({ url: 'redis://127.0.0.1:6379' }), read)).toEqual({
      url: 'redis://127.0.0.1:6379',
    });
  });

  it('takes the ACL user from the URL, the password from its file and the CA for rediss://', () => {
    expect(
      redisConnection(
        redisEnv({
          url: 'rediss://bulwark@10.0.0.5:6380',
          BULWARK_REDIS_PASSWORD_FILE: '/s/redis.password',
          BULWARK_REDIS_TLS_CA_FILE: '/s/ca.pem',
        }),
        read,
      ),
    ).toEqual({ url: 'rediss://bulwark@10.0.0.5:6380', password: 's3cret-redis', tls: { ca: [CERT, CERT] } });
  });

  it('refuses a CA file with a redis:// URL, hiding the URL password', () => {
    const msg = message(() =>
      redisConnection(
        redisEnv({ url: 'redis://u:hunter2@h:6379', BULWARK_REDIS_TLS_CA_FILE: '/s/ca.pem' }),
        read,
      ),
    );
    expect(msg).toContain('BULWARK_REDIS_URL=');
    expect(msg).toContain('use a rediss:// URL');
    expect(msg).not.toContain('hunter2');
  });

  it('refuses a password in both the URL and a file', () => {
    const msg = message(() =>
      redisConnection(
        redisEnv({ url: 'rediss://u:hunter2@h:6379', BULWARK_REDIS_PASSWORD_FILE: '/s/redis.password' }),
        read,
      ),
    );
    expect(msg).toContain('keep the password in the file only');
    expect(msg).not.toContain('hunter2');
  });
});

describe('redactUrl', () => {
  it.each([
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['rediss://user:pw@host:6380/0', 'rediss://user:***@host:6380/0'],
    ['rediss://user@host:6380', 'rediss://***@host:6380'],
    ['rediss://u:p@ss@host', 'rediss://u:***@host'],
    ['redis//u:pw@host', 'redis//u:***@host'],
    ['user:pw@host', 'user:***@host'],
    ['redis:/:pw@host', 'redis:/:***@host'],
    ['redis://host/?db=1&password=pw', 'redis://host/?db=1&password=***'],
    ['not a url @ all', 'not a url @ all'],
  ])('%s -> %s', (input, output) => {
    expect(redactUrl(input)).toBe(output);
  });
});
