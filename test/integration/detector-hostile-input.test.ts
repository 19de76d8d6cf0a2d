import { createHash } from 'node:crypto';
import { liveEngine } from '../../libs/engine';
import { DLQ_MAX_MESSAGE_BYTES } from '../../libs/kafka';
import { counter, fastRules, publish, readAll, startDetector } from '../helpers/detector';
import { provisionTopics, realStack, waitFor } from '../helpers/env';
import { DAY, MIN, T0, approval, login, mfa } from '../helpers/events';

jest.setTimeout(120000);

describe('detector: no single message stops or fools it', () => {
  const { kafka, redis, fresh } = realStack();

  it('dead-letters ~800 KB of binary as an excerpt with size and SHA-256, and consumes on (a poison pill)', async () => {
    const prefix = fresh('poison');
    const topics = await provisionTopics(kafka, prefix);
    const pill = Buffer.alloc(800 * 1024);
    for (let i = 0; i < pill.length; i++) pill[i] = (i * 131 + 7) & 0xff;
    await publish(kafka, topics, [
      login('u-1', 's-1', T0),
      { raw: pill, topic: 'auth', key: 'u-pill' },
      login('u-2', 's-2', T0 + 1000),
    ]);
    const { detector, registry, started } = startDetector(prefix);
    await started;
    try {
      const dlq = await readAll(kafka, [topics.dlq(topics.auth)], (m) => m.length >= 1);
      expect(dlq[0]!.key).toBe('u-pill');
      expect(dlq[0]!.value).toMatchObject({
        truncated: true,
        size: pill.length,
        sha256: createHash('sha256').update(pill).digest('hex'),
        encoding: 'base64',
        code: 'too_large',
        sourceTopic: topics.auth,
      });
      // Before the fix the whole pill was embedded (base64, over a megabyte): the producer's non-retriable
      // error crashed the consumer for good and nothing after the pill was ever consumed.
      await waitFor(async () => (await counter(registry, 'bulwark_events_consumed_total')) === 3);
      expect(await counter(registry, 'bulwark_batch_failures_total')).toBe(0);
      await waitFor(async () => (await detector.readiness()).ready);
    } finally {
      await detector.stop();
    }
  });

  it('refuses to start on an existing dead-letter topic too small for its letters, saying how to fix it', async () => {
    const prefix = fresh('small-dlq');
    const dlq = `${prefix}.auth.events.v1.dlq`;
    await kafka.ensureTopics([
      { topic: dlq, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '10000' }] },
    ]);
    const { detector, started } = startDetector(prefix);
    await expect(started).rejects.toThrow(
      `topic ${dlq} has max.message.bytes=10000, below the ${DLQ_MAX_MESSAGE_BYTES} it needs`,
    );
    await detector.stop();
  });

  it('an event dated 9999 or 1970 is dead-lettered naming occurredAt and moves no event time', async () => {
    const prefix = fresh('event-time');
    const topics = await provisionTopics(kafka, prefix);
    // A grace period longer than the quiet below, so only a jump of event time could close the decision.
    const rules = { ...fastRules(), graceMs: 30_000 };
    const { detector, registry, started } = startDetector(prefix, {}, rules);
    await started;
    try {
      await publish(kafka, topics, [
        login('u-1', 's-old', T0 - 30 * DAY),
        login('u-1', 's-1', T0),
        approval('u-1', 'wd-1', 's-1', T0 + MIN),
        login('u-far', 's-far', Date.parse('9999-12-31T23:59:59.000Z')),
        login('u-epoch', 's-epoch', Date.parse('1970-01-01T00:00:00.000Z')),
      ]);
      await waitFor(async () => (await counter(registry, 'bulwark_events_consumed_total')) === 5);
      // A quiet period: every partition goes idle (1 s). Before the fix event time jumped to 9999 here and
      // the approval's decision closed at once, before its MFA (within grace) had arrived: mfa-missing.
      await new Promise((r) => setTimeout(r, 3000));
      await publish(kafka, topics, [mfa('u-1', 's-1', T0 + MIN + 1000)]);
      await waitFor(async () => (await counter(registry, 'bulwark_events_consumed_total')) === 6);
      // Event time moves past the approval's grace period on a real event.
      await publish(kafka, topics, [login('u-late', 's-late', T0 + 10 * MIN)]);
      const engine = liveEngine({ redis, prefix, rules });
      await waitFor(async () => (await engine.pendingCount()) === 0, 60000);
      // Every decision is made (nothing pending) and none raised a flag.
      expect(await counter(registry, 'bulwark_flags_total')).toBe(0);

      const dlq = await readAll(kafka, [topics.dlq(topics.auth)], (m) => m.length >= 2);
      expect(dlq.map((m) => [m.key, m.value!.code, m.value!.field])).toEqual(
        expect.arrayContaining([
          ['u-far', 'event_time', 'occurredAt'],
          ['u-epoch', 'event_time', 'occurredAt'],
        ]),
      );
      expect(dlq.map((m) => String(m.value!.reason)).sort()).toEqual([
        'occurredAt: lies more than 1 h ahead of the wall clock (BULWARK_EVENT_MAX_AHEAD_MS)',
        'occurredAt: lies more than 3650 d behind the wall clock (BULWARK_EVENT_MAX_BEHIND_MS)',
      ]);
      expect(await counter(registry, 'bulwark_events_invalid_total', { code: 'event_time' })).toBe(2);
    } finally {
      await detector.stop();
    }
  });
});
