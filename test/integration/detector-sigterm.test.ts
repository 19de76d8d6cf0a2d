import { spawn } from 'node:child_process';
import path from 'node:path';
import { counter, detectorEnv, publish, startDetector } from '../helpers/detector';
import { provisionTopics, realStack, waitFor } from '../helpers/env';
import { T0, login } from '../helpers/events';

jest.setTimeout(180000);

const MAIN = path.resolve(__dirname, '../../dist/services/detector/main.js');

describe('detector: SIGTERM commits the batch in hand', () => {
  const { kafka, fresh } = realStack();

  it('stopped with SIGTERM mid-stream and restarted, it sees no duplicate: every finished batch was committed', async () => {
    const prefix = fresh('sigterm');
    const topics = await provisionTopics(kafka, prefix);
    const total = 3000;
    await publish(
      kafka,
      topics,
      Array.from({ length: total }, (_, i) => login(`u-${i % 300}`, `s-${i}`, T0 + i * 1000)),
    );
    const sum = async () =>
      [...(await kafka.committedOffsets(`${prefix}-detector`, topics.auth)).values()]
        .map((o) => (o === '-1' ? 0 : Number(o)))
        .reduce((a, b) => a + b, 0);

    // Small fetches make many small batches, so the signal lands while a batch is in hand.
    const env = {
      ...process.env,
      ...detectorEnv(prefix, { BULWARK_FETCH_MAX_BYTES_PER_PARTITION: '4096' }),
    };
    const first = spawn(process.execPath, [MAIN], { env, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => first.once('exit', (code) => r(code)));
    await waitFor(async () => (await sum()) >= total / 4, 60000, 20);
    first.kill('SIGTERM');
    expect(await exited).toBe(0);
    const committed = await sum();
    expect(committed).toBeLessThan(total); // mid-stream indeed

    // Restarted: it reads from the committed offsets. Before the fix the batch in hand at SIGTERM had been
    // applied but its commit skipped, so it came again as duplicates.
    const { detector, registry, started } = startDetector(prefix);
    await started;
    try {
      await waitFor(async () => (await sum()) === total, 90000);
      await waitFor(
        async () => (await counter(registry, 'bulwark_events_consumed_total')) === total - committed,
      );
      expect(await counter(registry, 'bulwark_events_duplicate_total')).toBe(0);
    } finally {
      await detector.stop();
    }
  });
});
