import { serviceEnv } from '../helpers/service-env';
import { defaultBreakerConfig } from '../../libs/breaker';
import type { TopicNames } from '../../libs/kafka';
import { silentLogger } from '../../libs/logger';
import { breakerEnvSchema } from '../../services/breaker/config';
import { OperatorRegistry, newOperatorLine } from '../../services/breaker/operators';
import { startBreakerService, type RunningBreakerService } from '../../services/breaker/service';
import {
  cleanRedis,
  deleteTopicsWithPrefix,
  provisionTopics,
  testKafka,
  testRedis,
  uniquePrefix,
  waitFor,
} from '../helpers/env';

jest.setTimeout(90000);

describe('breaker service: flags from Kafka to a halt on the control topic', () => {
  const redis = testRedis();
  const kafka = testKafka();
  const topicPrefix = uniquePrefix('brk-svc');
  const keyPrefix = uniquePrefix('brk-svc');
  let topics: TopicNames;
  let service: RunningBreakerService | undefined;
  const producer = kafka.producer();
  const alice = newOperatorLine('alice');
  const bob = newOperatorLine('bob');

  beforeAll(async () => {
    topics = await provisionTopics(kafka, topicPrefix, 2);
    await producer.connect();
  });

  afterAll(async () => {
    await service?.stop();
    await producer.disconnect();
    await deleteTopicsWithPrefix(kafka, topicPrefix);
    await kafka.close();
    await cleanRedis(redis, keyPrefix);
    redis.disconnect();
  });

  it('consumes flags, dead-letters a bad one, halts, publishes, commits, and answers over HTTP', async () => {
    const env = {
      ...breakerEnvSchema.parse(serviceEnv(topicPrefix, { partitions: 2, keyPrefix: keyPrefix })),
      BULWARK_BREAKER_PORT: 0,
    };
    const operators = OperatorRegistry.parse(`${alice.line},${bob.line}`, 'test');
    service = await startBreakerService(env, operators, defaultBreakerConfig(), silentLogger());
    const base = `http://127.0.0.1:${service.port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok);

    const at = (m: number) => new Date(Date.UTC(2022, 0, 17, 0, m)).toISOString();
    const flags = ['u1', 'u2', 'u3'].map((u, i) => ({
      flagId: `mfa-missing:w${i}`,
      ruleId: 'mfa-missing',
      severity: 'critical',
      userId: u,
      withdrawalId: `w${i}`,
      eventId: `e${i}`,
      occurredAt: at(i * 2),
      raisedAt: at(i * 2),
      asset: 'ETH',
      amountUsd: 100,
      evidence: { mfaVerified: false },
    }));
    await producer.send([
      ...flags.map((f) => ({ topic: topics.flags, key: f.userId, value: JSON.stringify(f) })),
      // Redelivery of the first flag and a bad flag: neither changes anything, the bad one is dead-lettered.
      { topic: topics.flags, key: 'u1', value: JSON.stringify(flags[0]) },
      { topic: topics.flags, key: 'u9', value: '{"flagId":"x","severity":"urgent"}' },
    ]);

    await waitFor(async () => {
      const res = await fetch(`${base}/v1/withdrawals/status?asset=ETH`);
      return ((await res.json()) as { allowed: boolean }).allowed === false;
    }, 30000);
    const status = (await (await fetch(`${base}/v1/withdrawals/status`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ allowed: false, scope: 'global', state: 'halted', since: at(4) });

    // The change is on the control topic, and the bad flag on the DLQ, both read back from Kafka.
    const seen: { topic: string; value: Record<string, unknown> }[] = [];
    const reader = kafka.consumer({
      groupId: uniquePrefix('reader'),
      topics: [topics.control, topics.dlq(topics.flags)],
      handle: async (b) => {
        for (const m of b.messages) seen.push({ topic: b.topic, value: JSON.parse(m.value!.toString()) });
      },
    });
    await reader.start();
    try {
      await waitFor(
        () => seen.some((s) => s.topic === topics.control) && seen.some((s) => s.topic !== topics.control),
        30000,
      );
    } finally {
      await reader.stop();
    }
    expect(seen.find((s) => s.topic === topics.control)!.value).toEqual({
      scope: 'global',
      state: 'halted',
      since: at(4),
      reason: expect.stringContaining('critical-users: 3 distinct users'),
      trigger: 'critical-users',
      by: 'breaker',
      version: 1,
      at: at(4),
      crossedAt: at(4),
      kid: 'test',
      sig: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(seen.find((s) => s.topic === topics.dlq(topics.flags))!.value).toMatchObject({
      sourceTopic: topics.flags,
      code: 'schema',
      value: '{"flagId":"x","severity":"urgent"}',
    });

    // Offsets are committed up to the end of the flags topic.
    const end = await kafka.endOffsets(topics.flags);
    await waitFor(async () => {
      const committed = await kafka.committedOffsets(`${topicPrefix}-breaker`, topics.flags);
      return [...end].every(([p, high]) => high === '0' || committed.get(p) === high);
    });

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/bulwark_breaker_state\{scope="global",service="breaker"\} 1/);
    expect(metrics).toMatch(
      /bulwark_breaker_flags_consumed_total\{severity="critical",service="breaker"\} 4/,
    );
    expect(metrics).toMatch(/bulwark_dead_letters_total\{topic="[^"]+\.dlq",service="breaker"\} 1/);
    expect(metrics).not.toMatch(/bulwark_detector_last_progress_timestamp_seconds/);

    // Redis loses every breaker key: guards refuse meanwhile, and the service restores the halt from the
    // control topic by itself rather than starting open.
    await cleanRedis(redis, keyPrefix);
    await waitFor(
      async () => {
        const res = await fetch(`${base}/v1/breaker/audit?limit=5`, {
          headers: { authorization: `Bearer ${alice.token}` },
        });
        const { entries } = (await res.json()) as { entries: { action: string }[] };
        return entries.some((e) => e.action === 'restore');
      },
      20000,
      250,
    );
    const after = (await (await fetch(`${base}/v1/withdrawals/status`)).json()) as Record<string, unknown>;
    expect(after).toMatchObject({ allowed: false, state: 'halted', since: at(4) });
  });
});
