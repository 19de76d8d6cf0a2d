#!/usr/bin/env node
import fs from 'node:fs';
import { errorMessage } from '../../libs/errors';
import { newOperatorLine } from './operators';

/**
 * `node dist/services/breaker/hash-token.js <name> [--roles R] [--token-file FILE | --stdin]`
 * Prints the operator line (name, salt, SHA-256) on stdout. The token itself never passes through argv
 * (`ps` and shell history show it): it is made here and written to FILE (created with mode 600, never
 * overwritten) or shown on the terminal, or read from stdin and checked for strength.
 */
export const USAGE = [
  'usage: hash-token <name> [--roles halt+resume+audit] [--token-file FILE | --stdin]',
  '  makes a random token: written to FILE (mode 600), or shown once on the terminal',
  '  --stdin (or -) reads a token you made instead; it must be at least 32 characters and random',
  '  the operator line (salt and SHA-256 only) goes to stdout; tokens are never taken from arguments',
].join('\n');

export interface HashTokenIo {
  readStdin(): Promise<string>;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal: the only place a generated token is shown without --token-file. */
  stderrIsTerminal: boolean;
}

interface Args {
  name: string;
  roles?: string;
  tokenFile?: string;
  stdin: boolean;
}

function parseArgs(argv: string[]): Args | { error: string } | 'help' {
  let name: string | undefined;
  let roles: string | undefined;
  let tokenFile: string | undefined;
  let stdin = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return 'help';
    if (a === '--roles' || a === '--token-file') {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) return { error: `${a} needs a value` };
      if (a === '--roles') roles = v;
      else tokenFile = v;
    } else if (a === '--stdin' || a === '-') stdin = true;
    else if (a.startsWith('--')) return { error: `unknown option ${a}` };
    else if (name === undefined) name = a;
    // Deliberately not echoed: it is probably a token.
    else
      return {
        error:
          'a token on the command line is refused (ps and shell history show it): pipe it with --stdin, or let hash-token make one',
      };
  }
  if (name === undefined) return { error: 'the operator name is missing' };
  if (stdin && tokenFile !== undefined)
    return { error: '--token-file is for a generated token; with --stdin you already hold yours' };
  return { name, stdin, ...(roles !== undefined ? { roles } : {}), ...(tokenFile ? { tokenFile } : {}) };
}

/** The command, apart from the process, so tests run it in-process. Returns the exit code. */
export async function runHashToken(argv: string[], io: HashTokenIo): Promise<number> {
  const args = parseArgs(argv);
  if (args === 'help') {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  if ('error' in args) {
    io.stderr(`hash-token: ${args.error}\n${USAGE}\n`);
    return 2;
  }
  if (!args.stdin && args.tokenFile === undefined && !io.stderrIsTerminal) {
    io.stderr(
      'hash-token: stderr is not a terminal, so the new token has nowhere private to go: give --token-file FILE\n',
    );
    return 2;
  }
  const given = args.stdin ? (await io.readStdin()).replace(/\r?\n$/, '') : undefined;
  let made: { line: string; token: string };
  try {
    made = newOperatorLine(args.name, given, args.roles);
  } catch (err) {
    io.stderr(`hash-token: ${errorMessage(err)}\n`);
    return 2;
  }
  if (args.tokenFile !== undefined) {
    try {
      // 'wx': never overwrite (an existing file may be someone's token); mode 600 from the first byte.
      fs.writeFileSync(args.tokenFile, `${made.token}\n`, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      io.stderr(`hash-token: cannot create --token-file ${args.tokenFile} (${code}); nothing was written\n`);
      return 2;
    }
    io.stderr(`token for ${args.name} written to ${args.tokenFile} (mode 600)\n`);
  } else if (given === undefined) {
    io.stderr(`token for ${args.name} (shown once, hand it over privately):\n${made.token}\n`);
  }
  io.stdout(`${made.line}\n`);
  return 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

if (require.main === module) {
  runHashToken(process.argv.slice(2), {
    readStdin,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stderrIsTerminal: process.stderr.isTTY === true,
  }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`hash-token: ${errorMessage(err)}\n`);
      process.exit(2);
    },
  );
}
