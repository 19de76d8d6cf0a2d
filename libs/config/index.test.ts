import { ConfigError } from '../errors';
import { commonEnvSchema, loadConfig } from './index';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(commonEnvSchema, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('an invalid BULWARK_REDIS_URL', () => {
  it.each([
    ['missing colon', 'redis//bulwark:hunter2@10.0.0.5:6379'],
    ['wrong scheme', 'tcp://bulwark:hunter2@10.0.0.5:6379'],
    ['no scheme', 'bulwark:hunter2@10.0.0.5:6379'],
    ['password only', 'redis:/:hunter2@10.0.0.5'],
    ['password in the query', 'http://10.0.0.5:6379/?password=hunter2'],
  ])('is named without its password (%s)', (_label, url) => {
    const err = configError({ BULWARK_REDIS_URL: url });
    expect(err.message).toContain('BULWARK_REDIS_URL=');
    expect(err.message).toContain('must be a redis:// or rediss:// URL');
    expect(err.message).not.toContain('hunter2');
    expect(JSON.stringify(err.context)).not.toContain('hunter2');
  });

  it('still shows the host, so the operator can see which value is wrong', () => {
    expect(configError({ BULWARK_REDIS_URL: 'tcp://u:hunter2@10.0.0.5:6379' }).message).toContain(
      '@10.0.0.5:6379',
    );
  });
});

describe('Kafka security variables', () => {
  it('names a bad SASL mechanism and lists the allowed ones', () => {
    const err = configError({ BULWARK_KAFKA_SASL_MECHANISM: 'scram-sha-1' });
    expect(err.message).toContain('BULWARK_KAFKA_SASL_MECHANISM="scram-sha-1"');
    expect(err.message).toContain('scram-sha-256, scram-sha-512, plain');
  });

  it('accepts a valid set', () => {
    const cfg = loadConfig(commonEnvSchema, {
      BULWARK_KAFKA_SSL: 'true',
      BULWARK_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      BULWARK_KAFKA_SASL_USERNAME: 'breaker',
      BULWARK_KAFKA_SASL_PASSWORD_FILE: '/run/secrets/kafka',
    });
    expect(cfg.BULWARK_KAFKA_SSL).toBe(true);
    expect(cfg.BULWARK_KAFKA_SASL_MECHANISM).toBe('scram-sha-512');
  });
});
