import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

describe('a process that loads libs/kafka (Node 24)', () => {
  it('prints no TimeoutNegativeWarning, and still prints every other warning', () => {
    const script = [
      "require('./dist/libs/kafka');",
      'setTimeout(() => undefined, -1796192315303);',
      "process.emitWarning('kept', 'SomeOtherWarning');",
    ].join('\n');
    const run = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stderr).not.toMatch(/TimeoutNegativeWarning/);
    expect(run.stderr).toMatch(/SomeOtherWarning: kept/);
  });
});
