import { liveEngine } from '../../libs/engine';
import { windowStoreIndexKeys } from '../../libs/keys';
import { fastRules, publish, readAll, startDetector } from '../helpers/detector';
import { REDIS_URL, provisionTopics, realStack, waitFor } from '../helpers/env';
import { DAY, MIN, T0, approval, login, mfa } from '../helpers/events';
import { TcpProxy } from '../helpers/tcp-proxy';

jest.setTimeout(120000);

/**
 * A pending decision closed by closeDue whose reply is lost on the way back (the script ran in Redis, the
 * detector never heard): its flag must still be produced by the running detector, not only at the next
 * start-up.
 */
describe('detector: a lost closeDue reply', () => {
  const { kafka, redis, fresh } = realStack();

  it('produces the flags of a decision whose reply was lost, without a restart, once', async () => {
    const prefix = fresh('lostreply');
    const topics = await provisionTopics(kafka, prefix);
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379));
    const port = await proxy.start();
    const { detector, started } = startDetector(prefix, { BULWARK_REDIS_URL: `redis://127.0.0.1:${port}` });
    await started;
    const victim = `${prefix}-victim`;
    // The reply to the pipeline that registers the victim's candidate flags and runs its closeDue is lost.
    const lost = proxy.loseReplyTo((sent) => {
      const text = sent.toString('latin1');
      return text.includes(windowStoreIndexKeys(prefix).unacked) && text.includes(victim);
    });
    try {
      await publish(kafka, topics, [
        // Known devices, so only mfa-missing can flag.
        login('u-ok', 's-old', T0 - DAY, 'd-1'),
        login(victim, 's-old', T0 - DAY, 'd-1'),
        login('u-ok', 's-ok', T0, 'd-1'),
        mfa('u-ok', 's-ok', T0 + 10_000),
        approval('u-ok', 'wd-ok', 's-ok', T0 + MIN),
        // No MFA in the victim's session: mfa-missing, decided by closeDue once the grace period has passed.
        login(victim, 's-v', T0, 'd-1'),
        approval(victim, 'wd-victim', 's-v', T0 + MIN),
      ]);
      await lost;
      const msgs = await readAll(kafka, [topics.flags], (m) => m.length >= 1, 30000);
      expect(msgs.map((m) => m.value!.flagId)).toContain('mfa-missing:wd-victim');
      const engine = liveEngine({ redis, prefix, rules: fastRules() });
      await waitFor(async () => (await engine.unackedFlags()).length === 0, 20000);
      const all = await readAll(kafka, [topics.flags], (m) => m.length >= 1, 5000);
      expect(new Set(all.map((m) => m.value!.flagId))).toEqual(new Set(['mfa-missing:wd-victim']));
    } finally {
      await detector.stop();
      await proxy.stop();
    }
  });
});
