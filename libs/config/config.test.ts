import { configErrorOf } from '../../test/helpers/config-error';
import { commonEnvSchema, isBrokerAddress, isRedisUrl, loadConfig, redactUrl } from './index';

describe('shared environment schema', () => {
  it('refuses a Redis URL that is not one, naming the variable', () => {
    for (const bad of ['nonsense', 'redis://', 'redis://127.0.0.1:99999', 'http://127.0.0.1:6379', ''])
      expect(configErrorOf(() => loadConfig(commonEnvSchema, { BULWARK_REDIS_URL: bad }))).toMatch(
        /^invalid configuration: BULWARK_REDIS_URL=.*: must be a redis:\/\/ or rediss:\/\/ URL with a host/,
      );
    for (const good of ['redis://127.0.0.1:6379', 'rediss://user:pw@cache.internal:6380/2', 'redis://h'])
      expect(isRedisUrl(good)).toBe(true);
  });

  it('never echoes the password of a Redis URL it refuses', () => {
    const msg = configErrorOf(() =>
      loadConfig(commonEnvSchema, { BULWARK_REDIS_URL: 'redis://app:s3cret@127.0.0.1:99999' }),
    );
    expect(msg).not.toContain('s3cret');
    expect(msg).toContain('redis://app:***@127.0.0.1:99999');
  });

  it('refuses brokers that are not host:port', () => {
    expect(configErrorOf(() => loadConfig(commonEnvSchema, { BULWARK_KAFKA_BROKERS: 'kafka' }))).toMatch(
      /BULWARK_KAFKA_BROKERS="kafka": must be a comma-separated list of host:port brokers/,
    );
    expect(isBrokerAddress('127.0.0.1:9092')).toBe(true);
    expect(isBrokerAddress('[::1]:9092')).toBe(true);
    expect(isBrokerAddress('kafka-0.kafka.svc:9093')).toBe(true);
    for (const bad of ['127.0.0.1:0', '127.0.0.1:65536', 'PLAINTEXT://h:9092', 'h:', ':9092'])
      expect(isBrokerAddress(bad)).toBe(false);
    expect(loadConfig(commonEnvSchema, { BULWARK_KAFKA_BROKERS: 'a:1, b:2' }).BULWARK_KAFKA_BROKERS).toEqual([
      'a:1',
      'b:2',
    ]);
  });

  it('redacts only credentials', () => {
    expect(redactUrl('redis://:pw@h:1')).toBe('redis://:***@h:1');
    expect(redactUrl('rediss://user@h:1/0')).toBe('rediss://***@h:1/0');
    expect(redactUrl('redis://h:1')).toBe('redis://h:1');
    expect(redactUrl('not a url @ all')).toBe('not a url @ all');
  });
});
