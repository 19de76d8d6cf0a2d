import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { commonEnvSchema, kafkaSecurity, loadConfig, type Env } from '../../libs/config';
import { KafkaClient, topicDeclarations, topicNames, type OutRecord } from '../../libs/kafka';
import { silentLogger } from '../../libs/logger';
import { readAll, startDetector } from '../helpers/detector';
import { cleanRedis, testRedis, uniquePrefix, waitFor } from '../helpers/env';
import { scriptedService, type ScriptedService } from '../helpers/secure-services';

/**
 * Bulwark's own KafkaClient against a broker with only a SASL_SSL listener and ACLs on (scripts/kafka-secure.sh):
 * the breaker's principal may write the control and audit topics, the detector's may not, a wrong password
 * and a plaintext client are turned away. Never the shared broker on 9092.
 */
jest.setTimeout(180000);

// The audit topic of contract section 1 (libs/kafka/topics.ts names it once the audit trail lands there).
const topics = topicNames();

describe('Kafka with SASL_SSL and ACLs', () => {
  let broker: ScriptedService;
  const clients: KafkaClient[] = [];
  const logLines: string[] = [];
  const capture = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });

  /** A client configured the way a service is: from environment variables through libs/config. */
  function client(principal: string, vars: Env = {}): KafkaClient {
    const env: Env = {
      BULWARK_KAFKA_BROKERS: broker.env.KAFKA_SECURE_BROKERS,
      BULWARK_KAFKA_SSL_CA_FILE: broker.env.KAFKA_SECURE_CA_FILE,
      BULWARK_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      BULWARK_KAFKA_SASL_USERNAME: principal,
      BULWARK_KAFKA_SASL_PASSWORD_FILE: broker.env[`KAFKA_SECURE_${principal.toUpperCase()}_PASSWORD_FILE`],
      ...vars,
    };
    const cfg = loadConfig(commonEnvSchema, env);
    const c = new KafkaClient({
      brokers: cfg.BULWARK_KAFKA_BROKERS,
      clientId: `bulwark-test-${principal}`,
      logger: capture,
      connectionTimeoutMs: 5000,
      security: kafkaSecurity(cfg),
    });
    clients.push(c);
    return c;
  }

  async function send(c: KafkaClient, records: OutRecord[]): Promise<void> {
    const producer = c.producer();
    try {
      await producer.connect();
      await producer.send(records);
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }

  const record = (topic: string, scope: string): OutRecord => ({
    topic,
    key: scope,
    value: JSON.stringify({ scope, state: 'open', version: 1000, at: new Date().toISOString() }),
  });

  beforeAll(async () => {
    broker = await scriptedService('kafka-secure.sh', '.cache/kafka-secure/env');
    // Topics are provisioned by the administrator; services only need Describe to see them.
    const admin = client('admin');
    await admin.ensureTopics(topicDeclarations(topics, 1));
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    await broker?.stop();
  });

  it('lets the breaker principal write the control and audit topics', async () => {
    await expect(
      send(client('breaker'), [record(topics.control, 'ETH'), record(topics.audit, 'ETH')]),
    ).resolves.toBeUndefined();
  });

  it('refuses the detector principal on the control and the audit topic, while it may write flags', async () => {
    const detector = client('detector');
    await expect(send(detector, [record(topics.flags, 'user-1')])).resolves.toBeUndefined();
    await expect(send(detector, [record(topics.control, 'global')])).rejects.toThrow(/authoriz/i);
    await expect(send(detector, [record(topics.audit, 'global')])).rejects.toThrow(/authoriz/i);
  });

  it('runs the detector service as the detector principal: reads input, writes the DLQ, commits offsets', async () => {
    const prefix = uniquePrefix('sasl-detector');
    const marker = `not json ${prefix}`;
    const admin = client('admin');
    await send(admin, [{ topic: topics.auth, key: 'u-sasl', value: marker }]);
    const { detector, started } = startDetector(prefix, {
      BULWARK_KAFKA_BROKERS: broker.env.KAFKA_SECURE_BROKERS!,
      BULWARK_TOPIC_PREFIX: '',
      BULWARK_DETECTOR_GROUP: `bulwark-detector-${prefix}`,
      BULWARK_KAFKA_SSL_CA_FILE: broker.env.KAFKA_SECURE_CA_FILE!,
      BULWARK_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      BULWARK_KAFKA_SASL_USERNAME: 'detector',
      BULWARK_KAFKA_SASL_PASSWORD_FILE: broker.env.KAFKA_SECURE_DETECTOR_PASSWORD_FILE!,
    });
    const redis = testRedis();
    try {
      await started;
      const dead = await readAll(admin, [topics.dlq(topics.auth)], (msgs) =>
        msgs.some((m) => m.value?.value === marker),
      );
      expect(dead.find((m) => m.value?.value === marker)?.value).toMatchObject({ sourceTopic: topics.auth });
      await waitFor(async () => {
        const committed = await admin.committedOffsets(`bulwark-detector-${prefix}`, topics.auth);
        return [...committed.values()].some((o) => Number(o) > 0);
      });
    } finally {
      await detector.stop();
      await cleanRedis(redis, prefix);
      redis.disconnect();
    }
  });

  it('turns away the breaker principal with a wrong password, and never logs the password', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-sasl-'));
    const wrong = path.join(dir, 'wrong.password');
    fs.writeFileSync(wrong, 'not-the-password-4f1c9e\n', { mode: 0o600 });
    const c = client('breaker', { BULWARK_KAFKA_SASL_PASSWORD_FILE: wrong });
    await expect(send(c, [record(topics.control, 'global')])).rejects.toThrow(/SASL|authenticat/i);
    const real = fs.readFileSync(broker.env.KAFKA_SECURE_BREAKER_PASSWORD_FILE!, 'utf8').trim();
    const logged = logLines.join('');
    expect(logged).not.toContain('not-the-password-4f1c9e');
    expect(logged).not.toContain(real);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('turns away a plaintext client on the SASL_SSL port', async () => {
    const plain = new KafkaClient({
      brokers: [broker.env.KAFKA_SECURE_BROKERS!],
      clientId: 'bulwark-test-plaintext',
      logger: silentLogger(),
      connectionTimeoutMs: 2000,
    });
    clients.push(plain);
    await expect(plain.admin((a) => a.listTopics())).rejects.toThrow(/closed connection/i);
  });

  it('turns away a TLS client that offers no SASL credentials', async () => {
    const c = client('breaker', {
      BULWARK_KAFKA_SASL_MECHANISM: undefined,
      BULWARK_KAFKA_SASL_USERNAME: undefined,
      BULWARK_KAFKA_SASL_PASSWORD_FILE: undefined,
    });
    await expect(c.admin((a) => a.listTopics())).rejects.toThrow(/closed connection/i);
  });

  it('refuses a broker certificate the client does not trust', async () => {
    // TLS on, system roots only: the test CA is unknown, so the handshake fails before any credential is sent.
    const c = client('breaker', { BULWARK_KAFKA_SSL_CA_FILE: undefined, BULWARK_KAFKA_SSL: 'true' });
    await expect(c.admin((a) => a.listTopics())).rejects.toThrow(/self-signed certificate/i);
  });
});
