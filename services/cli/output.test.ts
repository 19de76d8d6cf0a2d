import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../libs/errors';
import { checkDistinct, checkWritable } from './output';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-out-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('output paths are checked before any work', () => {
  it('refuses a path in a missing directory, a directory, or under a file', () => {
    expect(() => checkWritable('report', path.join(dir, 'no', 'r.json'))).toThrow(
      new UsageError(`cannot write --report ${path.join(dir, 'no', 'r.json')}: no such directory`),
    );
    expect(() => checkWritable('report', dir)).toThrow(/: is a directory$/);
    fs.writeFileSync(path.join(dir, 'f'), 'x');
    expect(() => checkWritable('summary', path.join(dir, 'f', 'r.json'))).toThrow(
      /^cannot write --summary .*: a parent is not a directory$/,
    );
  });

  it('leaves an existing file as it was and creates nothing new', () => {
    const existing = path.join(dir, 'old.json');
    fs.writeFileSync(existing, 'previous report');
    checkWritable('report', existing);
    expect(fs.readFileSync(existing, 'utf8')).toBe('previous report');
    const fresh = path.join(dir, 'new.json');
    checkWritable('report', fresh);
    expect(fs.existsSync(fresh)).toBe(false);
    checkWritable('report', undefined);
    checkWritable('out', '-');
  });

  it('refuses two outputs on one path', () => {
    expect(() => checkDistinct({ out: path.join(dir, 'a'), summary: path.join(dir, '.', 'a') })).toThrow(
      /--out and --summary name the same file/,
    );
    expect(() => checkDistinct({ out: '-', summary: path.join(dir, 'a') })).not.toThrow();
  });
});
