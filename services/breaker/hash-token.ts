#!/usr/bin/env node
import { errorMessage } from '../../libs/errors';
import { newOperatorLine } from './operators';

/**
 * `node dist/services/breaker/hash-token.js <name> [token | -] [--roles halt+resume+audit]`
 * Prints the BULWARK_OPERATORS line on stdout. Without a token it makes a random one and shows it once on
 * stderr; `-` reads the token from stdin, which beats passing it as an argument (argv shows in `ps`).
 */
const USAGE =
  'usage: hash-token <name> [token | -] [--roles halt+resume+audit]   (- reads the token from stdin)';
const MIN_GIVEN_TOKEN = 24;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function main(argv: string[]): Promise<number> {
  let name: string | undefined;
  let roles: string | undefined;
  let fromStdin = false;
  let given: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--roles') roles = argv[++i];
    else if (a === '-') fromStdin = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    } else if (name === undefined) name = a;
    else if (given === undefined && !fromStdin) given = a;
    else {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
  }
  if (name === undefined || (fromStdin && given !== undefined)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let token = given;
  if (fromStdin) token = await readStdin();
  if (token !== undefined) {
    if (token.length < MIN_GIVEN_TOKEN) {
      process.stderr.write(`hash-token: a given token must be at least ${MIN_GIVEN_TOKEN} characters\n`);
      return 2;
    }
  }
  const out = newOperatorLine(name, token, roles);
  if (token === undefined)
    process.stderr.write(`token for ${name} (shown once, hand it over privately):\n${out.token}\n`);
  process.stdout.write(`${out.line}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`hash-token: ${errorMessage(err)}\n`);
    process.exit(2);
  },
);
