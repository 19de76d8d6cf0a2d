import { serviceEnv } from '../helpers/service-env';
import { defaultBreakerConfig } from '../../libs/breaker';
import { liveEngine } from '../../libs/engine';
import { loadConfig } from '../../libs/config';
import { stateEpochKey } from '../../libs/keys';
import { silentLogger } from '../../libs/logger';
import { breakerEnvSchema } from '../../services/breaker/config';
import { OperatorRegistry, newOperatorLine } from '../../services/breaker/operators';
import { startBreakerService } from '../../services/breaker/service';
import { counter, fastRules, publish, readAll, startDetector } from '../helpers/detector';
import { cleanRedis, provisionTopics, realStack, waitFor } from '../helpers/env';
import { HOUR, T0, approval, login, mfa, userStream, type Ev } from '../helpers/events';

jest.setTimeout(150000);

/** A second day for the same users: a session from their usual device, with MFA. Nothing should flag. */
function secondSessions(users: number): Ev[] {
  const events: Ev[] = [];
  for (let i = 0; i < users; i++) {
    const u = `u-${i}`;
    const t = T0 + 2 * HOUR + i * 1000;
    events.push(
      login(u, `s2-${u}`, t),
      mfa(u, `s2-${u}`, t + 5000),
      approval(u, `wd2-${u}`, `s2-${u}`, t + 60_000),
    );
  }
  return events;
}

/**
 * Redis loses every key of a live detector's and breaker's prefix. The loss must be noticed (counted,
 * alerted), global halted (fail closed) with a reason naming it, and the windows rebuilt from Kafka, so later
 * decisions are the ones a run without the loss makes: no new-device flag for every known device.
 */
describe('Redis loses its data under a live detector and breaker', () => {
  const { kafka, redis, fresh } = realStack();

  it('is counted, alerted and halts global; the windows are rebuilt from Kafka', async () => {
    const prefix = fresh('loss');
    const topics = await provisionTopics(kafka, prefix);
    const users = 50;
    const { events, attackedWithdrawals } = userStream(users, 2);
    const expected = attackedWithdrawals.map((wd) => `mfa-missing:${wd}`).sort();

    const { detector, registry, started } = startDetector(prefix);
    await started;
    const alice = newOperatorLine('alice');
    const bob = newOperatorLine('bob');
    const env = {
      ...loadConfig(breakerEnvSchema, serviceEnv(prefix, { partitions: 3 })),
      BULWARK_BREAKER_PORT: 0,
    };
    const breaker = await startBreakerService(
      env,
      OperatorRegistry.parse(`${alice.line},${bob.line}`, 'test'),
      defaultBreakerConfig(),
      silentLogger(),
    );
    const base = `http://127.0.0.1:${breaker.port}`;
    const engine = liveEngine({ redis, prefix, rules: fastRules() });
    // Every flag message on the topic so far (read to the end offsets), as distinct flagIds.
    const flagIds = async (atLeast: number) => {
      await waitFor(async () => {
        const n = [...(await kafka.endOffsets(topics.flags)).values()].reduce((a, o) => a + Number(o), 0);
        return n >= atLeast;
      }, 60000);
      const total = [...(await kafka.endOffsets(topics.flags)).values()].reduce((a, o) => a + Number(o), 0);
      const msgs = await readAll(kafka, [topics.flags], (m) => m.length >= total, 60000);
      return [...new Set(msgs.map((m) => String(m.value!.flagId)))].sort();
    };
    const metric = async (name: string) => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
      return line === undefined ? undefined : Number(line.split(' ').pop());
    };
    try {
      await publish(kafka, topics, events);
      expect(await flagIds(expected.length)).toEqual(expected);
      await waitFor(async () => (await engine.pendingCount()) === 0, 30000);
      expect((await breaker.breaker.status('global')).state).toBe('open');
      expect(await metric('bulwark_state_lost')).toBe(0);

      // Every key of this test's prefix goes (never FLUSHALL: the Redis is shared).
      await cleanRedis(redis, prefix);

      await waitFor(async () => (await counter(registry, 'bulwark_state_losses_total')) === 1, 30000);
      const halted = await waitFor(async () => {
        const s = await breaker.breaker.status('global');
        return s.state === 'halted' && s.trigger === 'state-lost' ? s : undefined;
      }, 30000);
      expect(halted!.reason).toMatch(/Redis lost its data/);
      expect((await (await fetch(`${base}/v1/withdrawals/status`)).json()) as unknown).toMatchObject({
        allowed: false,
      });
      expect(await metric('bulwark_state_lost')).toBe(1);
      expect(await metric('bulwark_state_losses_total')).toBe(1);
      expect(await counter(registry, 'bulwark_state_lost')).toBe(1);

      // The detector sought its group back and re-reads the stream: the windows come back.
      await waitFor(async () => (await redis.hget(stateEpochKey(prefix), 'rebuiltAt')) !== null, 30000);
      await waitFor(async () => {
        const end = await kafka.endOffsets(topics.auth);
        const committed = await kafka.committedOffsets(`${prefix}-detector`, topics.auth);
        return [...end].every(([p, high]) => committed.get(p) === high);
      }, 60000);
      await waitFor(async () => (await engine.pendingCount()) === 0, 30000);

      // Later sessions from known devices decide as without the loss: no new-device flag, nothing new.
      await publish(kafka, topics, secondSessions(users));
      await waitFor(async () => {
        const end = await kafka.endOffsets(topics.wallet);
        const committed = await kafka.committedOffsets(`${prefix}-detector`, topics.wallet);
        return [...end].every(([p, high]) => committed.get(p) === high);
      }, 60000);
      await waitFor(async () => (await engine.pendingCount()) === 0, 30000);
      expect(await flagIds(expected.length)).toEqual(expected);

      // Halted until two operators resume (four eyes); then the loss stops alerting.
      expect((await breaker.breaker.status('global')).state).toBe('halted');
      for (const op of [alice, bob]) {
        const res = await fetch(`${base}/v1/breaker/resume`, {
          method: 'POST',
          headers: { authorization: `Bearer ${op.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ scope: 'global', reason: 'windows rebuilt, checked' }),
        });
        expect(res.status).toBeLessThan(300);
      }
      expect((await breaker.breaker.status('global')).state).toBe('open');
      await waitFor(async () => (await metric('bulwark_state_lost')) === 0, 20000);
      await waitFor(async () => (await counter(registry, 'bulwark_state_lost')) === 0, 20000);
      expect(await counter(registry, 'bulwark_state_losses_total')).toBe(1);
    } finally {
      await detector.stop();
      await breaker.stop();
    }
  });
});
