import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { commonEnvSchema, kafkaSecurity, loadConfig } from '../../libs/config';
import { KafkaClient, topicDeclarations, topicNames } from '../../libs/kafka';
import { silentLogger } from '../../libs/logger';
import { readAll } from '../helpers/detector';
import { uniquePrefix } from '../helpers/env';
import { scriptedService, type ScriptedService } from '../helpers/secure-services';

/**
 * The built detector, started as an operator would (`node dist/services/detector/main.js`), against the
 * SASL_SSL broker with ACLs and the TLS Redis with an ACL user: its start-up checks pass, it reads input as the
 * detector principal, dead-letters a bad message, and prints no password.
 */
jest.setTimeout(240000);

const MAIN = path.resolve(__dirname, '../../dist/services/detector/main.js');
const topics = topicNames();

describe('the detector service on a secured Kafka and Redis', () => {
  let kafka: ScriptedService;
  let redis: ScriptedService;
  let admin: KafkaClient;

  beforeAll(async () => {
    kafka = await scriptedService('kafka-secure.sh', '.cache/kafka-secure/env');
    redis = await scriptedService('redis-tls.sh', '.cache/redis-tls/env', 30000);
    const cfg = loadConfig(commonEnvSchema, {
      BULWARK_KAFKA_SSL_CA_FILE: kafka.env.KAFKA_SECURE_CA_FILE,
      BULWARK_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      BULWARK_KAFKA_SASL_USERNAME: 'admin',
      BULWARK_KAFKA_SASL_PASSWORD_FILE: kafka.env.KAFKA_SECURE_ADMIN_PASSWORD_FILE,
    });
    admin = new KafkaClient({
      brokers: [kafka.env.KAFKA_SECURE_BROKERS!],
      clientId: 'bulwark-test-admin',
      logger: silentLogger(),
      security: kafkaSecurity(cfg),
    });
    await admin.ensureTopics(topicDeclarations(topics, 1));
  });

  afterAll(async () => {
    await admin?.close();
    await redis?.stop();
    await kafka?.stop();
  });

  it('starts, dead-letters a bad message as the detector principal, and prints no password', async () => {
    const prefix = uniquePrefix('secure');
    const marker = `not json ${prefix}`;
    const producer = admin.producer();
    await producer.connect();
    await producer.send([{ topic: topics.auth, key: 'u-secure', value: marker }]);
    await producer.disconnect();

    let output = '';
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        BULWARK_KAFKA_BROKERS: kafka.env.KAFKA_SECURE_BROKERS,
        BULWARK_KAFKA_SSL_CA_FILE: kafka.env.KAFKA_SECURE_CA_FILE,
        BULWARK_KAFKA_SASL_MECHANISM: 'scram-sha-512',
        BULWARK_KAFKA_SASL_USERNAME: 'detector',
        BULWARK_KAFKA_SASL_PASSWORD_FILE: kafka.env.KAFKA_SECURE_DETECTOR_PASSWORD_FILE,
        BULWARK_REDIS_URL: redis.env.REDIS_TLS_URL,
        BULWARK_REDIS_TLS_CA_FILE: redis.env.REDIS_TLS_CA_FILE,
        BULWARK_REDIS_PASSWORD_FILE: redis.env.REDIS_TLS_BULWARK_PASSWORD_FILE,
        BULWARK_KEY_PREFIX: `bulwark:${prefix}`,
        BULWARK_TOPIC_PREFIX: '',
        BULWARK_DETECTOR_GROUP: `bulwark-detector-${prefix}`,
        BULWARK_DETECTOR_PORT: '0',
        BULWARK_LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const dead = await Promise.race([
        readAll(
          admin,
          [topics.dlq(topics.auth)],
          (msgs) => msgs.some((m) => m.value?.value === marker),
          60000,
        ),
        exited.then((code) => {
          throw new Error(`detector exited (${code}): ${output.slice(-2000)}`);
        }),
      ]);
      expect(dead.find((m) => m.value?.value === marker)?.value).toMatchObject({ sourceTopic: topics.auth });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    for (const file of [
      kafka.env.KAFKA_SECURE_DETECTOR_PASSWORD_FILE!,
      redis.env.REDIS_TLS_BULWARK_PASSWORD_FILE!,
    ])
      expect(output).not.toContain(fs.readFileSync(file, 'utf8').trim());
  });
});
