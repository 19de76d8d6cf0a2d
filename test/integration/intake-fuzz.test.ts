import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEvent, topicOfType } from '../../libs/events';
import type { OutRecord, TopicNames } from '../../libs/kafka';
import { loadReplayConfig } from '../../libs/replay/config';
import { replayInProcess } from '../../libs/replay/in-process';
import { openLog, readLines } from '../../libs/replay/lines';
import { counter, readAll } from '../helpers/detector';
import { KAFKA_BROKERS, provisionTopics, realStack, waitFor } from '../helpers/env';
import { configFile, startReplayStack } from '../helpers/replay-stack';

jest.setTimeout(240000);

const FILE = path.resolve(__dirname, '../fixtures/replay/basic.jsonl');

/** A small seeded generator (mulberry32): the same hostile mix on every run. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Where = 'auth' | 'wallet' | 'flags';
/** One hostile message and what must become of it: a dead letter, or counted as ignored. */
interface Hostile {
  where: Where;
  key: string | Buffer | null;
  value: string | Buffer | null;
  expect: 'dlq' | 'ignored';
}

const iso = (ms: number) => new Date(ms).toISOString();
const T0 = Date.parse('2022-01-17T00:00:00.000Z');

function hostileMix(seed: number): Hostile[] {
  const rnd = prng(seed);
  const bytes = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
    b[0] = 0xff; // never valid UTF-8, so never an accidental event
    return b;
  };
  const out: Hostile[] = [];
  const dlq = (where: Where, value: string | Buffer | null, key: string | Buffer | null = 'fz-key') =>
    out.push({ where, key, value, expect: 'dlq' });
  const login = (over: Record<string, unknown>) =>
    JSON.stringify({
      eventId: `fz-${out.length}`,
      type: 'login.succeeded',
      occurredAt: iso(T0),
      userId: `fz-user-${out.length}`,
      sessionId: 's-fz',
      ip: '198.51.100.9',
      deviceId: 'd-fz',
      ...over,
    });
  const approval = (over: Record<string, unknown>) =>
    JSON.stringify({
      eventId: `fz-${out.length}`,
      type: 'withdrawal.approved',
      occurredAt: iso(T0),
      userId: `fz-user-${out.length}`,
      withdrawalId: `fz-wd-${out.length}`,
      sessionId: 's-fz',
      asset: 'ETH',
      amount: '1.5',
      amountUsd: 10,
      address: '0xfz',
      approval: { factors: ['password', 'totp'], mfaVerified: true },
      ...over,
    });
  const inputs: Where[] = ['auth', 'wallet'];
  const pick = () => inputs[Math.floor(rnd() * 2)]!;

  for (let i = 0; i < 120; i++) dlq(pick(), bytes(1 + Math.floor(rnd() * 300)));
  dlq('auth', bytes(800 * 1024));
  dlq('wallet', bytes(800 * 1024));
  for (let i = 0; i < 3; i++) dlq(pick(), login({ pad: 'x'.repeat(70 * 1024) }));
  for (let i = 0; i < 10; i++) dlq(pick(), null); // tombstones
  for (let i = 0; i < 5; i++) dlq(pick(), Buffer.alloc(0));
  for (let i = 0; i < 10; i++) dlq(pick(), `{"broken": ${i}`, i % 2 === 0 ? '' : null); // empty and null keys
  for (const depth of [100, 5000, 20000]) {
    dlq(pick(), '['.repeat(depth) + ']'.repeat(depth));
    dlq(pick(), '{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
  }
  for (const amountUsd of [1e300, -1, '1e3', null, 1e11 + 1]) dlq('wallet', approval({ amountUsd }));
  dlq('wallet', approval({}).replace('"amountUsd":10', '"amountUsd":1e999')); // Infinity
  dlq('wallet', approval({}).replace('"amountUsd":10', '"amountUsd":NaN'));
  for (const occurredAt of [
    '9999-12-31T23:59:59.000Z',
    '1970-01-01T00:00:00.000Z',
    '0001-01-01T00:00:00Z',
    'NaN',
    '2022-02-30T00:00:00Z',
    '2022-01-17T00:00:00',
    '',
    1642377600000,
  ]) {
    dlq('auth', login({ occurredAt }));
    dlq('wallet', approval({ occurredAt }));
  }
  for (let i = 0; i < 15; i++)
    out.push({
      where: pick(),
      key: `fz-u-${i}`,
      value: JSON.stringify({
        eventId: `fz-unknown-${i}`,
        type: `kyc.fuzzed.${i}`,
        occurredAt: iso(T0),
        userId: `fz-u-${i}`,
        nested: JSON.parse('{"a":'.repeat(50) + '1' + '}'.repeat(50)) as unknown,
      }),
      expect: 'ignored',
    });
  for (let i = 0; i < 5; i++) dlq(pick(), JSON.stringify({ eventId: `fz-x-${i}`, type: `kyc.${i}` })); // no envelope
  for (let i = 0; i < 5; i++) dlq('auth', approval({})); // wrong topic
  for (let i = 0; i < 5; i++) dlq('wallet', login({}));
  for (let i = 0; i < 10; i++)
    dlq(
      pick(),
      Buffer.concat([Buffer.from('{"eventId":"'), Buffer.from([0xc3, 0x28, 0xa0]), Buffer.from('"}')]),
    );
  for (let i = 0; i < 5; i++)
    dlq('auth', login({ ip: undefined }).replace('{', '{"__proto__":{"polluted":1},'));
  dlq('auth', 'x', Buffer.alloc(100 * 1024, 0x6b)); // a huge key
  dlq('auth', '"just a string"');
  dlq('wallet', '[1,2,3]');

  // The breaker's input: nothing here may count toward a trip.
  const flag = (over: Record<string, unknown>) =>
    JSON.stringify({
      flagId: `mfa-missing:fz-${out.length}`,
      ruleId: 'mfa-missing',
      severity: 'critical',
      userId: `fz-flag-${out.length}`,
      withdrawalId: `fz-${out.length}`,
      eventId: `fz-${out.length}`,
      occurredAt: iso(T0),
      raisedAt: iso(T0),
      asset: 'ETH',
      amountUsd: 10,
      evidence: {},
      ...over,
    });
  for (let i = 0; i < 40; i++) dlq('flags', bytes(1 + Math.floor(rnd() * 200)));
  dlq('flags', bytes(800 * 1024));
  for (let i = 0; i < 5; i++) dlq('flags', null);
  for (let i = 0; i < 3; i++) dlq('flags', flag({ occurredAt: '9999-01-01T00:00:00Z' }));
  for (let i = 0; i < 3; i++) dlq('flags', flag({ amountUsd: 1e300 }));
  for (let i = 0; i < 3; i++) dlq('flags', flag({ severity: 'apocalyptic' }));
  dlq('flags', '{"a":'.repeat(20000) + '1' + '}'.repeat(20000));
  dlq('flags', '[]');
  return out;
}

/** Shuffles `items` with the seeded generator (Fisher-Yates). */
function shuffle<T>(items: T[], rnd: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const topicOf = (topics: TopicNames, where: Where) =>
  where === 'auth' ? topics.auth : where === 'wallet' ? topics.wallet : topics.flags;

describe('fuzz: hostile messages on the input topics of a live detector and breaker', () => {
  const { kafka, redis, fresh } = realStack();

  it('the stream gives exactly its clean flags; every hostile message is dead-lettered or counted; nothing crashed', async () => {
    const prefix = fresh('fuzz');
    const topics = await provisionTopics(kafka, prefix);
    const cfgFile = configFile('fuzz', 'graceMs: 2000\nidleTimeoutMs: 1000\n');
    const config = loadReplayConfig(cfgFile);
    const reference = await replayInProcess(readLines(await openLog(FILE)), {
      redis,
      rules: config.rules,
      breaker: config.breaker,
    });

    const hostile = shuffle(hostileMix(20261201), prng(7));
    expect(hostile.length).toBeGreaterThanOrEqual(250);
    // Three through kcat, as another client would write them: a binary file, a tombstone, bad JSON.
    const kcatDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-fuzz-'));
    const binFile = path.join(kcatDir, 'bin');
    fs.writeFileSync(binFile, Buffer.from([0xff, 0x00, 0xfe, 0x7b, 0x22]));
    const kcat = (args: string[], input?: string) =>
      execFileSync('kcat', ['-P', '-b', KAFKA_BROKERS[0]!, ...args], { input, timeout: 30000 });
    kcat(['-t', topics.auth, '-k', 'kcat-1', binFile]);
    kcat(['-t', topics.wallet, '-K', ':', '-Z'], 'kcat-2:\n');
    kcat(['-t', topics.flags, '-K', ':'], 'kcat-3:{not json\n');
    fs.rmSync(kcatDir, { recursive: true, force: true });
    const viaKcat = { auth: 1, wallet: 1, flags: 1 };

    const stack = await startReplayStack(prefix, { kafka, redis, topics, config });
    try {
      const producer = kafka.producer();
      await producer.connect();
      const send = (items: Hostile[]) =>
        producer.send(
          items.map((h): OutRecord => ({ topic: topicOf(topics, h.where), key: h.key, value: h.value })),
        );
      // A third before the stream, the rest in bursts while it is replayed through the services.
      const third = Math.floor(hostile.length / 3);
      await send(hostile.slice(0, third));
      const replaying = stack.replay(FILE, Infinity, { timeoutMs: 120000, sliceLines: 10 });
      const rest = hostile.slice(third);
      for (let i = 0; i < rest.length; i += 20) {
        await send(rest.slice(i, i + 20));
        await new Promise((r) => setTimeout(r, 100));
      }
      await producer.disconnect();
      const report = await replaying;

      // 1. The stream's flags and breaker changes are exactly those of the clean in-process replay.
      expect(report.flags).toEqual(reference.report.flags);
      // crossedAt (the window that reached the threshold) follows from the flags alone; `at`, the breaker's
      // newest event time when it changed state, depends on the order flags arrive across partitions.
      expect(report.breaker.map((b) => [b.scope, b.state, b.trigger, b.crossedAt])).toEqual(
        reference.report.breaker.map((b) => [b.scope, b.state, b.trigger, b.crossedAt]),
      );
      for (const b of report.breaker) expect(b.crossedAt === null || b.at >= b.crossedAt).toBe(true);

      // 2. Every hostile message is dead-lettered or counted. The stream's own invalid lines that name a
      // known type are published too, and dead-lettered as live.
      const streamInvalid = { auth: 0, wallet: 0 };
      for (const line of fs.readFileSync(FILE, 'utf8').split('\n')) {
        if (line.trim() === '' || parseEvent(line).kind !== 'invalid') continue;
        let type: unknown;
        try {
          type = (JSON.parse(line) as { type?: unknown }).type;
        } catch {
          continue;
        }
        const t = typeof type === 'string' ? topicOfType(type) : undefined;
        if (t) streamInvalid[t]++;
      }
      const want = (where: Where, fate: Hostile['expect']) =>
        hostile.filter((h) => h.where === where && h.expect === fate).length;
      const dlqWant = {
        auth: want('auth', 'dlq') + viaKcat.auth + streamInvalid.auth,
        wallet: want('wallet', 'dlq') + viaKcat.wallet + streamInvalid.wallet,
        flags: want('flags', 'dlq') + viaKcat.flags,
      };
      for (const where of ['auth', 'wallet', 'flags'] as const) {
        const dlqTopic = topics.dlq(topicOf(topics, where));
        const letters = await readAll(kafka, [dlqTopic], (m) => m.length >= dlqWant[where], 60000);
        expect({ where, letters: letters.length }).toEqual({ where, letters: dlqWant[where] });
        for (const l of letters)
          expect(l.value).toEqual(
            expect.objectContaining({ reason: expect.any(String), code: expect.any(String) }),
          );
        // Each topic's ~800 KB pill came through as an excerpt with its size and hash.
        expect(letters.some((l) => l.value!.truncated === true && l.value!.size === 800 * 1024)).toBe(true);
      }
      const registry = stack.registry;
      expect(await counter(registry, 'bulwark_events_invalid_total', { topic: topics.auth })).toBe(
        dlqWant.auth,
      );
      expect(await counter(registry, 'bulwark_events_invalid_total', { topic: topics.wallet })).toBe(
        dlqWant.wallet,
      );
      // (The stream's own line of an unknown type is counted by the replay and never published.)
      expect(await counter(registry, 'bulwark_events_ignored_total')).toBe(
        want('auth', 'ignored') + want('wallet', 'ignored'),
      );

      // Redelivered stream events (a producer retrying) are counted as duplicates and change nothing. The
      // last ones: the file opens with logins weeks older than the rest, beyond the dedup horizon (2 days of
      // event time), whose dedup entries may already be trimmed depending on how far event time has moved.
      const before = await counter(registry, 'bulwark_events_duplicate_total');
      const again = fs
        .readFileSync(FILE, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '' && parseEvent(l).kind === 'valid')
        .slice(-10);
      const republisher = kafka.producer();
      await republisher.connect();
      await republisher.send(
        again.map((line): OutRecord => {
          const e = JSON.parse(line) as { type: string; userId: string };
          return {
            topic: topicOfType(e.type) === 'auth' ? topics.auth : topics.wallet,
            key: e.userId,
            value: line,
          };
        }),
      );
      await republisher.disconnect();
      await waitFor(async () => (await counter(registry, 'bulwark_events_duplicate_total')) >= before + 10);
      expect(await counter(registry, 'bulwark_events_duplicate_total')).toBe(before + 10);

      // 3. Nothing crashed: no failed batch, no restart, both services ready.
      expect(await counter(registry, 'bulwark_batch_failures_total')).toBe(0);
      expect(await counter(registry, 'bulwark_consumer_restarts_total')).toBe(0);
      expect((await stack.detector.readiness()).ready).toBe(true);
      const ready = await fetch(`http://127.0.0.1:${stack.breaker.port}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      await stack.stop();
    }
  });
});
