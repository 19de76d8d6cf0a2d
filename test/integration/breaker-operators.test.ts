import {
  Breaker,
  BreakerError,
  defaultBreakerConfig,
  parseBreakerConfig,
  parseControlKeys,
  verifyFields,
  type BreakerChange,
  type BreakerConfig,
} from '../../libs/breaker';
import type { KafkaClient } from '../../libs/kafka';
import { silentLogger } from '../../libs/logger';
import { controlPublisher, readControlRestore } from '../../services/breaker/control-topic';
import {
  TEST_CONTROL_KEYS,
  cleanRedis,
  deleteTopicsWithPrefix,
  provisionTopics,
  testKafka,
  testRedis,
  uniquePrefix,
  waitFor,
} from '../helpers/env';

jest.setTimeout(90000);

const keys = parseControlKeys(TEST_CONTROL_KEYS, 'test');

/** Every message on the control topic, in offset order. */
async function readControl(
  kafka: KafkaClient,
  topic: string,
  atLeast: number,
): Promise<Record<string, unknown>[]> {
  const got: { offset: bigint; key: string; value: Record<string, unknown> }[] = [];
  const consumer = kafka.consumer({
    groupId: uniquePrefix('ctl-reader'),
    topics: [topic],
    fromBeginning: true,
    handle: async (batch) => {
      for (const m of batch.messages)
        got.push({
          offset: BigInt(m.offset),
          key: m.key!.toString(),
          value: JSON.parse(m.value!.toString()),
        });
    },
  });
  await consumer.start();
  try {
    await waitFor(() => got.length >= atLeast, 30000);
  } finally {
    await consumer.stop();
  }
  got.sort((a, b) => (a.offset < b.offset ? -1 : 1));
  for (const g of got) expect(g.key).toBe(g.value.scope);
  return got.map((g) => g.value);
}

describe('breaker operators, audit and control topic on real Redis and Kafka', () => {
  const redis = testRedis();
  const kafka = testKafka();
  const topicPrefix = uniquePrefix('brk-ops');
  const keyPrefixes: string[] = [];
  const producer = kafka.producer();

  beforeAll(async () => {
    await provisionTopics(kafka, topicPrefix, 1);
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await deleteTopicsWithPrefix(kafka, topicPrefix);
    await kafka.close();
    for (const p of keyPrefixes) await cleanRedis(redis, p);
    redis.disconnect();
  });

  function newPrefix(): string {
    const p = uniquePrefix('brk');
    keyPrefixes.push(p);
    return p;
  }

  async function breaker(
    prefix: string,
    config: BreakerConfig = defaultBreakerConfig(),
    controlTopic?: string,
  ) {
    return Breaker.create({
      redis,
      prefix,
      config,
      logger: silentLogger(),
      ...(controlTopic ? { publish: controlPublisher(producer, controlTopic, keys) } : {}),
    });
  }

  it('halts by hand, resumes only with two distinct operators, audits every request and publishes every change', async () => {
    const control = `${topicPrefix}.ctl-a.withdrawals.control.v1`;
    await kafka.ensureTopics([{ topic: control, numPartitions: 1, configEntries: [] }]);
    const b = await breaker(newPrefix(), defaultBreakerConfig(), control);

    const halt = await b.halt('global', 'suspicious withdrawals reported by support', 'alice');
    expect(halt).toMatchObject({
      scope: 'global',
      state: 'halted',
      previous: 'open',
      trigger: 'manual',
      by: 'alice',
      version: 1,
    });
    expect(await b.halt('global', 'me too', 'bob')).toBeNull();

    const first = await b.requestResume('global', 'root cause fixed', 'alice');
    expect(first).toMatchObject({ status: 'pending', approvals: ['alice'], repeated: false });
    const again = await b.requestResume('global', 'really fixed', 'alice');
    expect(again).toMatchObject({ status: 'pending', approvals: ['alice'], repeated: true });
    expect((await b.status('global')).state).toBe('halted');

    const second = await b.requestResume('global', 'verified the fix', 'bob');
    expect(second.status).toBe('resumed');
    const resumed = (second as { change: BreakerChange }).change;
    expect(resumed).toMatchObject({
      state: 'open',
      previous: 'halted',
      trigger: 'resume',
      by: 'alice,bob',
      version: 2,
    });
    expect(resumed.reason).toBe('alice: root cause fixed; bob: verified the fix');
    await expect(b.requestResume('global', 'again', 'carol')).rejects.toMatchObject({ code: 'ENOTHALTED' });

    const trail = await b.audit();
    expect(trail.map((e) => [e.action, e.outcome, e.by])).toEqual([
      ['resume-request', 'refused', 'carol'],
      ['resume', 'changed', 'alice,bob'],
      ['resume-request', 'refused', 'alice'],
      ['resume-request', 'pending', 'alice'],
      ['halt', 'no-op', 'bob'],
      ['halt', 'changed', 'alice'],
    ]);
    expect(trail[1]).toMatchObject({ version: 2, state: 'open', approvals: ['alice', 'bob'] });
    expect(trail[5]).toMatchObject({
      reason: 'suspicious withdrawals reported by support',
      trigger: 'manual',
      version: 1,
    });
    for (const e of trail) expect(Date.parse(e.recordedAt)).not.toBeNaN();

    const published = await readControl(kafka, control, 2);
    expect(published).toEqual([
      {
        scope: 'global',
        state: 'halted',
        since: halt!.since,
        reason: halt!.reason,
        trigger: 'manual',
        by: 'alice',
        version: 1,
        at: halt!.at,
        crossedAt: null,
        kid: 'test',
        sig: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
      {
        scope: 'global',
        state: 'open',
        since: resumed.since,
        reason: resumed.reason,
        trigger: 'resume',
        by: 'alice,bob',
        version: 2,
        at: resumed.at,
        crossedAt: null,
        kid: 'test',
        sig: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);
    for (const m of published) expect(verifyFields(keys, m)).toEqual({ ok: true });
  });

  it('publishes automatic trips before onFlags resolves, and restores state from the control topic', async () => {
    const control = `${topicPrefix}.ctl-b.withdrawals.control.v1`;
    await kafka.ensureTopics([{ topic: control, numPartitions: 1, configEntries: [] }]);
    const prefix = newPrefix();
    const b = await breaker(prefix, defaultBreakerConfig(), control);
    const at = '2022-01-17T00:05:00.000Z';
    const flags = ['u1', 'u2', 'u3'].map((u, i) => ({
      flagId: `mfa-missing:w${i}`,
      ruleId: 'mfa-missing',
      severity: 'critical' as const,
      userId: u,
      withdrawalId: `w${i}`,
      eventId: `e${i}`,
      occurredAt: at,
      raisedAt: at,
      asset: 'BTC',
      amountUsd: 10,
      evidence: {},
    }));
    const [trip] = await b.onFlags(flags);
    expect(trip).toMatchObject({ trigger: 'critical-users', at });
    // The outbox is empty: the change was on the topic before onFlags resolved.
    expect(await redis.hlen(`${prefix}:{breaker}:outbox`)).toBe(0);
    const [onTopic] = await readControl(kafka, control, 1);
    expect(onTopic).toMatchObject({
      scope: 'global',
      state: 'halted',
      since: at,
      trigger: 'critical-users',
      version: 1,
    });

    // Redis loses everything; a new instance restores the halt from the topic instead of starting open.
    await cleanRedis(redis, prefix);
    const snapshots = await readControlRestore(kafka, control, keys, { logger: silentLogger() });
    const restored = await Breaker.create({
      redis,
      prefix,
      config: defaultBreakerConfig(),
      logger: silentLogger(),
      restore: snapshots,
    });
    expect(await restored.status('global')).toMatchObject({
      state: 'halted',
      version: 1,
      trigger: 'critical-users',
    });
    expect((await restored.audit(1))[0]).toMatchObject({ action: 'restore', state: 'halted' });
  });

  it('keeps a change in the outbox when publishing fails, and publishes it on the next flush', async () => {
    const prefix = newPrefix();
    let fail = true;
    const sent: BreakerChange[] = [];
    const b = await Breaker.create({
      redis,
      prefix,
      config: defaultBreakerConfig(),
      logger: silentLogger(),
      publish: async (changes) => {
        if (fail) throw new Error('broker away');
        sent.push(...changes);
      },
    });
    const change = await b.halt('asset:ETH', 'test', 'alice');
    expect(change).not.toBeNull();
    expect(sent).toEqual([]);
    fail = false;
    expect(await b.flushOutbox()).toBe(1);
    expect(sent).toEqual([change]);
    expect(await b.flushOutbox()).toBe(0);
  });

  it('approvals expire after the approval window and do not carry over to a new halt', async () => {
    const config = parseBreakerConfig({
      ...defaultBreakerConfig(),
      resume: { approvalsRequired: 2, approvalWindowMs: 400 },
    });
    const b = await breaker(newPrefix(), config);
    await b.halt('asset:BTC', 'test', 'alice');
    await b.requestResume('asset:BTC', 'ok', 'alice');
    await new Promise((r) => setTimeout(r, 600));
    expect(await b.requestResume('asset:BTC', 'ok', 'bob')).toMatchObject({
      status: 'pending',
      approvals: ['bob'],
    });
    expect(await b.requestResume('asset:BTC', 'ok', 'carol')).toMatchObject({ status: 'resumed' });
    // A pending approval given for one halt does not count for the next one.
    const c2 = parseBreakerConfig({ ...defaultBreakerConfig() });
    const b2 = await breaker(newPrefix(), c2);
    await b2.halt('global', 'first', 'alice');
    await b2.requestResume('global', 'ok', 'alice');
    await b2.requestResume('global', 'ok', 'bob');
    await b2.halt('global', 'second', 'carol');
    await b2.requestResume('global', 'pending for halt 1?', 'dave');
    expect(await b2.requestResume('global', 'ok', 'erin')).toMatchObject({ status: 'resumed' });
    expect(await b2.halt('global', 'third', 'carol')).toMatchObject({ version: 5 });
    expect(await b2.requestResume('global', 'ok', 'dave')).toMatchObject({
      status: 'pending',
      approvals: ['dave'],
    });
  });

  it('rejects unknown scopes and missing reasons with named errors', async () => {
    const b = await breaker(newPrefix());
    await expect(b.halt('asset:eth', 'x', 'alice')).rejects.toMatchObject({ code: 'EUNKNOWNSCOPE' });
    await expect(b.halt('everything', 'x', 'alice')).rejects.toBeInstanceOf(BreakerError);
    await expect(b.halt('global', '  ', 'alice')).rejects.toMatchObject({ code: 'EBADREQUEST' });
    await expect(b.requestResume('global', 'x', 'a,b')).rejects.toMatchObject({ code: 'EBADREQUEST' });
  });

  it('two instances racing on one prefix end in one consistent state with gapless versions', async () => {
    const prefix = newPrefix();
    const control = `${topicPrefix}.ctl-c.withdrawals.control.v1`;
    await kafka.ensureTopics([{ topic: control, numPartitions: 1, configEntries: [] }]);
    const [a, b] = await Promise.all([
      breaker(prefix, defaultBreakerConfig(), control),
      breaker(prefix, defaultBreakerConfig(), control),
    ]);

    // Both halt at once: exactly one wins.
    const halts = await Promise.all([a.halt('global', 'a', 'alice'), b.halt('global', 'b', 'bob')]);
    expect(halts.filter((h) => h !== null)).toHaveLength(1);
    expect(halts.find((h) => h)!.version).toBe(1);

    // Two operators approve at once through different instances: exactly one call resumes.
    const resumes = await Promise.all([
      a.requestResume('global', 'x', 'alice'),
      b.requestResume('global', 'y', 'bob'),
    ]);
    expect(resumes.map((r) => r.status).sort()).toEqual(['pending', 'resumed']);

    // A storm of mixed requests from both instances.
    const ops = ['alice', 'bob', 'carol'];
    const storm = [];
    for (let i = 0; i < 30; i++) {
      const inst = i % 2 === 0 ? a : b;
      const op = ops[i % 3]!;
      storm.push(
        i % 4 === 0
          ? inst.halt('global', `h${i}`, op)
          : inst.requestResume('global', `r${i}`, op).catch((e: unknown) => e),
      );
    }
    await Promise.all(storm);
    const final = await a.status('global');
    expect(await b.status('global')).toEqual(final);

    const trail = (await a.audit(1000)).filter((e) => e.outcome === 'changed').reverse();
    expect(trail.map((e) => e.version)).toEqual(trail.map((_, i) => i + 1));
    for (let i = 1; i < trail.length; i++) expect(trail[i]!.state).not.toBe(trail[i - 1]!.state);
    expect(trail[trail.length - 1]!.version).toBe(final.version);

    // The control topic ends with the same version (compaction keeps the newest per scope).
    await a.flushOutbox();
    await waitFor(
      async () => {
        const msgs = await readControl(kafka, control, 1);
        return msgs[msgs.length - 1]!.version === final.version;
      },
      30000,
      500,
    );
  });
});
