import { liveEngine } from '../../libs/engine';
import { counter, fastRules, publish, readAll, startDetector } from '../helpers/detector';
import { provisionTopics, realStack, waitFor } from '../helpers/env';
import { DAY, T0, approval, login, mfa } from '../helpers/events';

jest.setTimeout(90000);

describe('detector intake against the real broker and Redis', () => {
  const { kafka, redis, fresh } = realStack();
  const prefix = fresh('intake');

  it('applies valid events once, dead-letters each kind of bad input with its reason, ignores unknown types', async () => {
    const topics = await provisionTopics(kafka, prefix);
    const goodMfa = mfa('u-1', 's-1', T0 + 5000);
    const badApproval = approval('u-2', 'wd-2', 's-2', T0 + 60_000, { mfaVerified: false });
    await publish(kafka, topics, [
      login('u-1', 's-old', T0 - 30 * DAY),
      login('u-1', 's-1', T0),
      goodMfa,
      goodMfa, // redelivered by the producer: a duplicate
      login('u-2', 's-old2', T0 - 30 * DAY),
      login('u-2', 's-2', T0),
      approval('u-1', 'wd-1', 's-1', T0 + 60_000),
      badApproval,
      badApproval, // duplicate: no second flag
      { eventId: 'x-1', type: 'login.mystery', occurredAt: new Date(T0).toISOString(), userId: 'u-3' },
      { raw: 'not json at all', topic: 'auth' },
      { raw: '[1,2,3]', topic: 'auth' },
      { raw: null, topic: 'auth' },
      { raw: Buffer.from([0xff, 0xfe, 0x7b]), topic: 'auth' },
      { raw: JSON.stringify({ ...login('u-4', 's-4', T0), pad: 'x'.repeat(70 * 1024) }), topic: 'auth' },
      { raw: JSON.stringify({ ...mfa('u-5', 's-5', T0), sessionId: undefined }), topic: 'auth' },
      { raw: JSON.stringify(approval('u-6', 'wd-6', 's-6', T0)), topic: 'auth' },
    ]);
    const { detector, registry, started } = startDetector(prefix);
    await started;
    try {
      const dlq = await readAll(kafka, [topics.dlq(topics.auth)], (m) => m.length >= 7);
      const byCode = Object.fromEntries(dlq.map((m) => [m.value!.code as string, m.value!]));
      expect(Object.keys(byCode).sort()).toEqual([
        'not_json',
        'not_object',
        'not_utf8',
        'null',
        'schema',
        'too_large',
        'wrong_topic',
      ]);
      expect(byCode.schema).toMatchObject({ field: 'sessionId', sourceTopic: topics.auth, encoding: 'utf8' });
      expect(byCode.not_utf8).toMatchObject({
        encoding: 'base64',
        value: Buffer.from([0xff, 0xfe, 0x7b]).toString('base64'),
      });
      expect(byCode.null).toMatchObject({ value: null });
      for (const letter of dlq) {
        expect(letter.value).toEqual(
          expect.objectContaining({
            partition: expect.any(Number),
            offset: expect.any(String),
            reason: expect.any(String),
          }),
        );
      }

      const engine = liveEngine({ redis, prefix, rules: fastRules() });
      await waitFor(
        async () =>
          (await engine.pendingCount()) === 0 &&
          (await counter(registry, 'bulwark_events_consumed_total')) === 17,
      );
      const flags = await readAll(kafka, [topics.flags], (m) => m.length >= 1);
      await new Promise((r) => setTimeout(r, 1500)); // a second flag, were one wrongly raised, would have come by now
      const again = await readAll(kafka, [topics.flags], (m) => m.length >= 1);
      expect(flags.map((f) => f.value!.flagId)).toEqual(['mfa-missing:wd-2']);
      expect(again).toHaveLength(1);
      expect(flags[0]!.key).toBe('u-2');

      expect(await counter(registry, 'bulwark_events_invalid_total', { topic: topics.auth })).toBe(7);
      expect(await counter(registry, 'bulwark_dead_letters_total')).toBe(7);
      expect(await counter(registry, 'bulwark_events_ignored_total')).toBe(1);
      expect(await counter(registry, 'bulwark_events_duplicate_total')).toBe(2);
      expect(
        await counter(registry, 'bulwark_flags_total', { rule: 'mfa-missing', severity: 'critical' }),
      ).toBe(1);
      const text = await registry.metrics();
      for (const name of [
        'bulwark_consumer_lag',
        'bulwark_decision_latency_seconds',
        'bulwark_pending_decisions',
        'bulwark_redis_errors_total',
      ])
        expect(text).toContain(name);
      expect((await detector.readiness()).ready).toBe(true);
    } finally {
      await detector.stop();
    }
  });
});
