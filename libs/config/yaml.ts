import fs from 'node:fs';
import { parseDocument, type YAMLError } from 'yaml';
import { ConfigError, errorMessage, fileErrorReason } from '../errors';

/** `line 3, column 7: Map keys must be unique (DUPLICATE_KEY)`: one line, where the yaml library knows it. */
function describe(err: YAMLError): string {
  // The library's message repeats the position and appends a multi-line excerpt; keep its first sentence.
  const what = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  const at = err.linePos?.[0];
  return `${at ? `line ${at.line}, column ${at.col}: ` : ''}${what} (${err.code})`;
}

/**
 * Parses YAML (or JSON, a subset of it) strictly: any error or warning (a duplicate key, a bad indent, an
 * unknown tag) is a ConfigError naming `source` and the line and column, never a silent best guess.
 */
export function parseYamlText(text: string, source: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new ConfigError(`${source}: not valid YAML: ${describe(problem)}`);
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(`${source}: not valid YAML: ${errorMessage(err)}`);
  }
}

/** Reads and parses a YAML/JSON file; an unreadable file is a ConfigError naming it and why. */
export function readYamlFile(file: string, source: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const why = fileErrorReason(err);
    throw new ConfigError(`${source}: cannot read (${why})`);
  }
  return parseYamlText(text, source);
}
