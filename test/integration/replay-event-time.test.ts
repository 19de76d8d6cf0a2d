import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { replayInProcess } from '../../libs/replay/in-process';
import { loadReplayConfig } from '../../libs/replay/config';
import { readLines } from '../../libs/replay/lines';
import { testRedis } from '../helpers/env';

jest.setTimeout(60000);

const FIXTURES = path.resolve(__dirname, '../fixtures/replay');

/** An approval-free login of an unrelated user, dated `iso`. */
const stray = (id: string, iso: string) =>
  JSON.stringify({
    eventId: id,
    type: 'login.succeeded',
    occurredAt: iso,
    userId: 'u-stray',
    sessionId: 's-stray',
    ip: '198.51.100.1',
    deviceId: 'd-stray',
  });

describe('in-process replay: event-time sanity', () => {
  const redis = testRedis();
  afterAll(() => redis.disconnect());

  const run = async (lines: string[]) => {
    const config = loadReplayConfig(undefined);
    const result = await replayInProcess(readLines(Readable.from([lines.join('\n') + '\n'])), {
      redis,
      rules: config.rules,
      breaker: config.breaker,
    });
    return result.report;
  };

  it('a line dated 9999 or 1970 in a 2022 log is invalid and moves no event time; the log itself replays', async () => {
    const lines = fs.readFileSync(path.join(FIXTURES, 'basic.jsonl'), 'utf8').split('\n');
    const clean = await run(lines);
    // Right after u-2's approval, whose MFA arrives on the next line (within grace): a 9999 date moving
    // event time would close that decision at once and flag mfa-missing on wd-2.
    const at = lines.findIndex((l) => l.includes('"w-20"')) + 1;
    const noisy = [
      ...lines.slice(0, at),
      stray('x-future', '9999-12-31T23:59:59.000Z'),
      stray('x-epoch', '1970-01-01T00:00:00.000Z'),
      ...lines.slice(at),
    ];
    const report = await run(noisy);
    expect(report.flags).toEqual(clean.flags);
    expect(report.breaker).toEqual(clean.breaker);
    expect(report.events).toEqual({
      ...clean.events,
      total: clean.events.total + 2,
      invalid: clean.events.invalid + 2,
    });
    expect(clean.flags.some((f) => f.withdrawalId === 'wd-2')).toBe(false);
  });
});
