import { configErrorOf } from '../../test/helpers/config-error';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseYamlText, readYamlFile } from './yaml';

describe('strict YAML', () => {
  it('names the line and column of a mistake, on one line', () => {
    const msg = configErrorOf(() => parseYamlText('a: 1\nb: [1,\n', 'x.yaml'));
    expect(msg).toMatch(/^x\.yaml: not valid YAML: line \d+, column \d+: .+ \([A-Z_]+\)$/);
    expect(msg).not.toContain('\n');
  });

  it('refuses a duplicate key instead of keeping the last value', () => {
    expect(configErrorOf(() => parseYamlText('graceMs: 1\ngraceMs: 2\n', 'x.yaml'))).toBe(
      'x.yaml: not valid YAML: line 2, column 1: Map keys must be unique (DUPLICATE_KEY)',
    );
  });

  it('reads JSON and YAML alike, and names an unreadable file', () => {
    expect(parseYamlText('{"a": [1, 2]}', 'j')).toEqual({ a: [1, 2] });
    expect(parseYamlText('', 'empty')).toBeNull();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-yaml-'));
    try {
      expect(configErrorOf(() => readYamlFile(path.join(dir, 'nope.yaml'), 'the file'))).toBe(
        'the file: cannot read (no such file)',
      );
      expect(configErrorOf(() => readYamlFile(dir, 'the dir'))).toBe('the dir: cannot read (is a directory)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
