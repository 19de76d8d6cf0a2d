import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultBreakerConfig } from '../../libs/breaker';
import { liveEngine } from '../../libs/engine';
import { KafkaClient, topicDeclarations, topicNames, type TopicNames } from '../../libs/kafka';
import { silentLogger } from '../../libs/logger';
import { createRedis, type Redis } from '../../libs/redis';
import { replayInProcess } from '../../libs/replay/in-process';
import { newOperatorLine } from '../../services/breaker/operators';
import { fastRules, publish, readAll } from '../helpers/detector';
import { TEST_CONTROL_KEYS, uniquePrefix, waitFor } from '../helpers/env';
import { userStream, type Ev } from '../helpers/events';
import { OwnKafka, OwnRedis, ServiceProcess, freePort } from '../helpers/own-servers';

jest.setTimeout(300_000);

const DIST = path.resolve(__dirname, '../../dist/services');

interface FlagView {
  ruleId: string;
  severity: string;
  userId: string;
  withdrawalId: string;
  eventId: string;
  occurredAt: string;
}
const view = (flag: object): FlagView => {
  const f = flag as Record<string, unknown>;
  return {
    ruleId: String(f.ruleId),
    severity: String(f.severity),
    userId: String(f.userId),
    withdrawalId: String(f.withdrawalId),
    eventId: String(f.eventId),
    occurredAt: String(f.occurredAt),
  };
};
const byId = (a: FlagView, b: FlagView) =>
  `${a.ruleId}:${a.withdrawalId}`.localeCompare(`${b.ruleId}:${b.withdrawalId}`);

/**
 * Kill -9 of every moving part during one stream, on a broker and a Redis of this test's own (free ports,
 * AOF with appendfsync always): the flags must end exactly as an in-process replay of the same stream gives
 * them, and a Redis that comes back without its data must end halted and alerted.
 */
describe('chaos: detector, breaker, broker and Redis killed mid-stream', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-chaos-'));
  const broker = new OwnKafka(path.join(dir, 'kafka'));
  const redisServer = new OwnRedis(path.join(dir, 'redis'));
  const rulesFile = path.join(dir, 'rules.json');
  const services: ServiceProcess[] = [];
  const clients: KafkaClient[] = [];
  let redis: Redis;
  let passed = 0;

  const kafka = (): KafkaClient => {
    const k = new KafkaClient({ brokers: [broker.brokers], clientId: 'chaos-test', logger: silentLogger() });
    clients.push(k);
    return k;
  };

  beforeAll(async () => {
    fs.writeFileSync(rulesFile, JSON.stringify({ graceMs: 2000, idleTimeoutMs: 1000 }));
    await Promise.all([broker.start(), redisServer.start()]);
    redis = createRedis({ url: redisServer.url, logger: silentLogger() });
  });

  afterAll(async () => {
    for (const s of services) await s.kill().catch(() => undefined);
    for (const k of clients) await k.close().catch(() => undefined);
    redis?.disconnect();
    await broker.stop();
    await redisServer.stop();
    if (passed === 2) fs.rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`chaos test: broker, Redis and service logs kept in ${dir}\n`);
  });

  /** A detector and a breaker process on `prefix`, talking to this test's broker and Redis. */
  async function startServices(prefix: string) {
    const alice = newOperatorLine('alice');
    const bob = newOperatorLine('bob');
    const detectorPort = await freePort();
    const breakerPort = await freePort();
    const common = () => ({
      ...process.env,
      BULWARK_KAFKA_BROKERS: broker.brokers,
      BULWARK_REDIS_URL: redisServer.url,
      BULWARK_KEY_PREFIX: prefix,
      BULWARK_TOPIC_PREFIX: `${prefix}.`,
      BULWARK_PARTITIONS: '3',
      BULWARK_DETECTOR_GROUP: `${prefix}-detector`,
      BULWARK_BREAKER_GROUP: `${prefix}-breaker`,
      BULWARK_LOG_LEVEL: 'info',
    });
    const detector = new ServiceProcess(
      path.join(DIST, 'detector/main.js'),
      () => ({
        ...common(),
        BULWARK_DETECTOR_PORT: String(detectorPort),
        BULWARK_RULES_CONFIG: rulesFile,
        BULWARK_TICK_MS: '200',
      }),
      path.join(dir, `${prefix}-detector.log`),
    );
    const breaker = new ServiceProcess(
      path.join(DIST, 'breaker/main.js'),
      () => ({
        ...common(),
        BULWARK_BREAKER_PORT: String(breakerPort),
        BULWARK_OPERATORS: `${alice.line},${bob.line}`,
        BULWARK_CONTROL_KEYS: TEST_CONTROL_KEYS,
      }),
      path.join(dir, `${prefix}-breaker.log`),
    );
    services.push(detector, breaker);
    detector.start();
    breaker.start();
    const detectorUrl = `http://127.0.0.1:${detectorPort}`;
    const breakerUrl = `http://127.0.0.1:${breakerPort}`;
    const ready = async () => {
      await waitFor(async () => (await fetch(`${detectorUrl}/readyz`)).ok, 90_000, 250);
      await waitFor(async () => (await fetch(`${breakerUrl}/readyz`)).ok, 90_000, 250);
    };
    await ready();
    const metric = async (url: string, name: string) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
      return line === undefined ? undefined : Number(line.split(' ').pop());
    };
    return { detector, breaker, detectorUrl, breakerUrl, ready, metric };
  }

  async function committedSum(k: KafkaClient, group: string, topic: string): Promise<number> {
    const c = await k.committedOffsets(group, topic);
    return [...c.values()].reduce((a, o) => a + Math.max(0, Number(o)), 0);
  }

  async function caughtUp(k: KafkaClient, group: string, topics: string[]): Promise<boolean> {
    for (const t of topics) {
      const end = await k.endOffsets(t);
      const committed = await k.committedOffsets(group, t);
      if (![...end].every(([p, high]) => high === '0' || committed.get(p) === high)) return false;
    }
    return true;
  }

  /** Every flag on the topic (read to its end offsets), one per flagId. */
  async function flagsOn(k: KafkaClient, topics: TopicNames): Promise<FlagView[]> {
    const total = [...(await k.endOffsets(topics.flags)).values()].reduce((a, o) => a + Number(o), 0);
    const msgs = total === 0 ? [] : await readAll(k, [topics.flags], (m) => m.length >= total, 60_000);
    const seen = new Map<string, FlagView>();
    for (const m of msgs) seen.set(String(m.value!.flagId), view(m.value!));
    return [...seen.values()].sort(byId);
  }

  async function reference(events: Ev[]) {
    const { report } = await replayInProcess(
      (async function* () {
        for (const e of events) yield JSON.stringify(e);
      })(),
      { redis, rules: fastRules(), breaker: defaultBreakerConfig() },
    );
    return report;
  }

  /** Publishes and waits until the detector has committed past some of it (it is mid-stream). */
  async function publishAndProgress(k: KafkaClient, topics: TopicNames, group: string, events: Ev[]) {
    const before = await committedSum(k, group, topics.auth);
    await publish(k, topics, events);
    await waitFor(async () => (await committedSum(k, group, topics.auth)) > before, 90_000, 100);
  }

  it('ends with exactly the flags of a clean run after kill -9 of the detector, breaker, broker and Redis', async () => {
    const { events } = userStream(300, 5, 'c');
    const expected = await reference(events);
    expect(expected.flags.length).toBeGreaterThan(0);
    const prefix = uniquePrefix('chaos');
    const topics = topicNames(`${prefix}.`);
    await kafka().ensureTopics(topicDeclarations(topics, 3));
    const svc = await startServices(prefix);
    const group = `${prefix}-detector`;
    const chunk = Math.ceil(events.length / 5);
    const part = (i: number) => events.slice(i * chunk, (i + 1) * chunk);

    let k = kafka();
    await publishAndProgress(k, topics, group, part(0));
    await svc.detector.restart();
    await publishAndProgress(k, topics, group, part(1));
    await svc.breaker.restart();
    await publishAndProgress(k, topics, group, part(2));
    await redisServer.kill();
    await redisServer.start(); // same directory: the AOF is loaded
    await publishAndProgress(k, topics, group, part(3));
    await broker.kill();
    await broker.start();
    k = kafka();
    await publish(k, topics, part(4));

    await waitFor(() => caughtUp(k, group, [topics.auth, topics.wallet]), 120_000, 250);
    const engine = liveEngine({ redis, prefix, rules: fastRules() });
    await waitFor(async () => (await engine.pendingCount()) === 0, 60_000);
    await waitFor(async () => (await engine.unackedFlags()).length === 0, 30_000);
    await waitFor(() => caughtUp(k, `${prefix}-breaker`, [topics.flags]), 60_000, 250);

    expect(await flagsOn(k, topics)).toEqual(expected.flags.map(view).sort(byId));
    // No loss was seen (AOF kept the data), and the breaker halted as the clean run did.
    expect(await svc.metric(svc.detectorUrl, 'bulwark_state_losses_total')).toBe(0);
    const status = (await (await fetch(`${svc.breakerUrl}/v1/withdrawals/status`)).json()) as Record<
      string,
      unknown
    >;
    const lastGlobal = expected.breaker.filter((c) => c.scope === 'global').pop();
    expect(status.state).toBe(lastGlobal?.state ?? 'open');
    await svc.detector.kill('SIGTERM');
    await svc.breaker.kill('SIGTERM');
    passed++;
  });

  it('with Redis restarted without its data: ends halted and alerted, and rebuilt without a flag flood', async () => {
    const { events } = userStream(200, 0, 'l');
    const expected = await reference(events);
    const prefix = uniquePrefix('chaosloss');
    const topics = topicNames(`${prefix}.`);
    const k = kafka();
    await k.ensureTopics(topicDeclarations(topics, 3));
    const svc = await startServices(prefix);
    const group = `${prefix}-detector`;
    const half = Math.floor(events.length / 2);
    await publish(k, topics, events.slice(0, half));
    await waitFor(() => caughtUp(k, group, [topics.auth, topics.wallet]), 90_000, 250);
    expect((await (await fetch(`${svc.breakerUrl}/v1/withdrawals/status`)).json()) as unknown).toMatchObject({
      state: 'open',
    });

    await redisServer.kill(true);
    await redisServer.start();
    await publish(k, topics, events.slice(half));

    const status = await waitFor(async () => {
      const s = (await (await fetch(`${svc.breakerUrl}/v1/withdrawals/status`)).json()) as Record<
        string,
        unknown
      >;
      return s.state === 'halted' ? s : undefined;
    }, 60_000);
    expect(status).toMatchObject({ allowed: false, state: 'halted' });
    expect(String(status!.reason)).toMatch(/Redis lost its data/);
    await waitFor(async () => (await svc.metric(svc.breakerUrl, 'bulwark_state_lost')) === 1, 30_000);
    await waitFor(async () => (await svc.metric(svc.detectorUrl, 'bulwark_state_lost')) === 1, 30_000);
    expect(await svc.metric(svc.breakerUrl, 'bulwark_state_losses_total')).toBe(1);
    expect(await svc.metric(svc.detectorUrl, 'bulwark_state_losses_total')).toBe(1);

    // The detector re-read its input: once caught up, the flags are the clean run's (no new-device flood).
    await waitFor(async () => (await redis.hget(`${prefix}:epoch`, 'rebuiltAt')) !== null, 60_000);
    await waitFor(() => caughtUp(k, group, [topics.auth, topics.wallet]), 120_000, 250);
    const engine = liveEngine({ redis, prefix, rules: fastRules() });
    await waitFor(async () => (await engine.pendingCount()) === 0, 60_000);
    expect(await flagsOn(k, topics)).toEqual(expected.flags.map(view).sort(byId));
    // Still halted: only two operators lift it.
    expect(
      ((await (await fetch(`${svc.breakerUrl}/v1/withdrawals/status`)).json()) as { state: string }).state,
    ).toBe('halted');
    passed++;
  });
});
