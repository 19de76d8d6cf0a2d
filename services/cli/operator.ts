import { UsageError } from '../../libs/errors';
import { parse } from './args';
import { callBreaker, operatorToken, printAnswer, reachBreaker, type BreakerAnswer } from './breaker-api';

/**
 * `bulwark status|halt|resume`: an operator's commands against a running breaker, so nobody at 3 a.m. has to
 * put a token on a curl command line. Human-readable by default, the API's JSON answer with --json.
 */
export const OPERATOR_USAGE = `usage: bulwark status [--asset TICKER] [--json]
       bulwark halt SCOPE --reason TEXT [--json]
       bulwark resume SCOPE --reason TEXT [--json]

  status   whether withdrawals are allowed (of one asset, or of every asset), and which scope decided
  halt     halt SCOPE (global or asset:TICKER) now
  resume   approve resuming SCOPE; the second distinct operator's approval resumes it (four eyes)
  --json   print the breaker's answer as JSON

environment: BULWARK_BREAKER_URL (default http://127.0.0.1:8081), and for halt and resume
BULWARK_TOKEN_FILE or BULWARK_TOKEN (an operator token with the halt or resume role; never an argument)

exit codes: 0 done (status: answered), 1 refused or the breaker unreachable, 2 bad usage`;

export async function status(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { asset: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) return help();
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const query = values.asset === undefined ? '' : `?asset=${encodeURIComponent(values.asset)}`;
  const answer = await reachBreaker(() => callBreaker('GET', `/v1/withdrawals/status${query}`));
  return printAnswer(answer, values.json === true, (a) => {
    const b = a.body;
    const what = values.asset === undefined ? 'withdrawals' : `${values.asset} withdrawals`;
    const verdict = b.allowed === true ? 'ALLOWED' : 'NOT ALLOWED';
    const since = typeof b.since === 'string' ? ` since ${b.since}` : '';
    const reason = typeof b.reason === 'string' && b.reason !== '' ? `: ${b.reason}` : '';
    return `${what} ${verdict} (scope ${String(b.scope)} ${String(b.state)}${since})${reason}`;
  });
}

export function halt(argv: string[]): Promise<number> {
  return change('halt', argv, (a) => {
    const b = a.body;
    if (b.changed === false)
      return `${String(b.scope)} was already halted (since ${String(b.since)}: ${String(b.reason)})`;
    return `halted ${String(b.scope)} at ${String(b.at)} (version ${String(b.version)})`;
  });
}

export function resume(argv: string[]): Promise<number> {
  return change('resume', argv, (a) => {
    const b = a.body;
    if (b.status === 'resumed')
      return `resumed ${String(b.scope)} at ${String(b.at)} (version ${String(b.version)})`;
    const approvals = Array.isArray(b.approvals) ? b.approvals.map(String) : [];
    const missing = Math.max(0, Number(b.required) - approvals.length);
    const note = typeof b.note === 'string' ? ` (${b.note})` : '';
    return (
      `resume of ${String(b.scope)} approved by ${approvals.join(', ') || 'nobody yet'}; ` +
      `${missing} more distinct operator${missing === 1 ? '' : 's'} needed${note}`
    );
  });
}

async function change(
  action: 'halt' | 'resume',
  argv: string[],
  out: (answer: BreakerAnswer) => string,
): Promise<number> {
  const { values, positionals } = parse(argv, { reason: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) return help();
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0 ? 'SCOPE is required (global or asset:TICKER)' : 'exactly one SCOPE',
    );
  if (values.reason === undefined || values.reason.trim() === '')
    throw new UsageError(`--reason is required: say why you ${action}`);
  const token = operatorToken(action);
  const body = { scope: positionals[0], reason: values.reason };
  const answer = await reachBreaker(() => callBreaker('POST', `/v1/breaker/${action}`, { token, body }));
  return printAnswer(answer, values.json === true, out);
}

function help(): number {
  process.stdout.write(`${OPERATOR_USAGE}\n`);
  return 0;
}
