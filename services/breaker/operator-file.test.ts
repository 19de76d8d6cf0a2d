import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../../test/helpers/env';
import { OperatorFile, requireResumers, type ReloadOutcome } from './operator-file';
import { newOperatorLine } from './operators';

describe('OperatorFile', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'operators-'));
  const file = path.join(dir, 'operators');
  const alice = newOperatorLine('alice');
  const bob = newOperatorLine('bob');
  const carol = newOperatorLine('carol');
  let ops: OperatorFile | undefined;
  afterEach(() => ops?.stop());
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('picks up a changed file by itself: a removed operator stops working, an added one starts', async () => {
    fs.writeFileSync(file, `${alice.line}\n${bob.line}\n`);
    ops = OperatorFile.load(file, requireResumers(false));
    const heard: ReloadOutcome[] = [];
    ops.watch(100, (r) => heard.push(r));
    expect(ops.verify(alice.token)).toMatchObject({ name: 'alice' });

    // Replaced by rename, as editors and config management do.
    fs.writeFileSync(`${file}.new`, `${bob.line}\n${carol.line}\n`);
    fs.renameSync(`${file}.new`, file);
    await waitFor(() => ops!.verify(alice.token) === null);
    expect(ops.verify(carol.token)).toMatchObject({ name: 'carol' });
    expect(ops.names).toEqual(['bob', 'carol']);
    expect(heard.find((h) => h.outcome === 'changed')).toMatchObject({ names: ['bob', 'carol'] });
  });

  it('keeps the old list when the new file is bad, and says why without quoting a hash', async () => {
    fs.writeFileSync(file, `${alice.line}\n${bob.line}\n`);
    ops = OperatorFile.load(file, requireResumers(false));
    const secretish = bob.line.split(':')[2]!;
    const bad: [string, RegExp][] = [
      [`${alice.line}\nbob:short:${secretish}\n`, /entry 2 \(bob\): salt/],
      [`${alice.line}\n`, /at least 2 operators with the resume role/],
      [`${alice.line}\n${alice.line}\n`, /listed twice/],
    ];
    for (const [text, why] of bad) {
      fs.writeFileSync(file, text);
      const r = ops.reload('SIGHUP');
      expect(r).toMatchObject({ outcome: 'error', trigger: 'SIGHUP', error: expect.stringMatching(why) });
      expect(r.error).not.toContain(secretish);
      expect(ops.verify(bob.token)).toMatchObject({ name: 'bob' });
    }
    fs.rmSync(file);
    expect(ops.reload()).toMatchObject({
      outcome: 'error',
      error: expect.stringMatching(/cannot read \(ENOENT\)/),
    });
    expect(ops.verify(alice.token)).toMatchObject({ name: 'alice' });
    fs.writeFileSync(file, `${alice.line}\n${bob.line}\n`);
    expect(ops.reload().outcome).toBe('unchanged');
  });

  it('refuses a bad file at start', () => {
    fs.writeFileSync(file, 'nonsense\n');
    expect(() => OperatorFile.load(file)).toThrow(/BULWARK_OPERATORS_FILE: entry 1 must be/);
    fs.writeFileSync(file, `${alice.line}\n`);
    expect(() => OperatorFile.load(file, requireResumers(false))).toThrow(/four eyes/);
    // With JWT operators, the identity provider supplies the second resumer.
    expect(OperatorFile.load(file, requireResumers(true)).names).toEqual(['alice']);
  });
});
