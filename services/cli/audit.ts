import fs from 'node:fs';
import { controlKeysFromEnv, verifyTrail, type ControlKeyring, type TrailVerdict } from '../../libs/breaker';
import { ConfigError, UsageError } from '../../libs/errors';
import { KafkaClient, readTopicToEnd, topicNames } from '../../libs/kafka';
import { silentLogger } from '../../libs/logger';
import { intOpt, parse } from './args';
import { breakerUrl, callBreaker, operatorToken, printAnswer, reachBreaker } from './breaker-api';

/**
 * `bulwark audit show|verify|export`: shows the newest entries; checks the breaker's hash-chained audit trail as the API serves it and as
 * withdrawals.audit.v1 holds it, or writes it as JSON lines for a SIEM. The operator token comes from
 * BULWARK_TOKEN or BULWARK_TOKEN_FILE, never from argv; the signing keys (to check the HMACs) from
 * BULWARK_CONTROL_KEY_FILE or BULWARK_CONTROL_KEYS.
 */
export const AUDIT_USAGE = `usage: bulwark audit show [--limit N] [--json]
       bulwark audit verify [--source api|topic|both]
       bulwark audit export [--source api|topic] [--out FILE]

  show     the newest entries (default 20, at most 1000), newest first: who did what, when and why;
           --json prints the breaker's answer

  verify   checks every entry's hash (HMAC with the breaker's key), that each links to the one before and
           that none is missing; with both sources, that the API's trail and the topic's agree. Exits 0
           when intact, 1 naming the first bad entry.
  export   writes the trail oldest first, one JSON entry per line (standard output by default).
  --source both (verify's default), api (export's default) or topic

environment: BULWARK_BREAKER_URL (default http://127.0.0.1:8081), BULWARK_TOKEN or BULWARK_TOKEN_FILE (an
operator with the audit role), BULWARK_CONTROL_KEY_FILE or BULWARK_CONTROL_KEYS (verify), and for the topic
BULWARK_KAFKA_BROKERS, BULWARK_TOPIC_PREFIX`;

type Entry = Record<string, unknown>;
const PAGE = 1000;

export async function audit(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(`${AUDIT_USAGE}\n`);
    return 0;
  }
  if (sub === 'show') return show(rest);
  if (sub !== 'verify' && sub !== 'export')
    throw new UsageError(
      sub === undefined
        ? 'audit needs show, verify or export'
        : `unknown audit command ${JSON.stringify(sub)}`,
    );
  const { values, positionals } = parse(rest, { source: { type: 'string' }, out: { type: 'string' } });
  if (values.help) {
    process.stdout.write(`${AUDIT_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const source = values.source ?? (sub === 'verify' ? 'both' : 'api');
  const allowed = sub === 'verify' ? ['api', 'topic', 'both'] : ['api', 'topic'];
  if (!allowed.includes(source))
    throw new UsageError(`--source must be ${allowed.join(' or ')}, got ${JSON.stringify(source)}`);
  if (sub === 'verify' && values.out !== undefined) throw new UsageError('--out is for export');

  if (sub === 'export') {
    const entries = source === 'api' ? await readApi() : await readTopic();
    const text = entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length > 0 ? '\n' : '');
    if (values.out === undefined || values.out === '-') process.stdout.write(text);
    else fs.writeFileSync(values.out, text);
    process.stderr.write(`exported ${entries.length} audit entries\n`);
    return 0;
  }

  const keys = controlKeysFromEnv(process.env);
  if (!keys)
    throw new ConfigError(
      'audit verify needs the breaker signing keys: set BULWARK_CONTROL_KEY_FILE or BULWARK_CONTROL_KEYS',
    );
  // The topic first: the API's trail, read after, can only be longer (a shorter one was truncated).
  const topic = source === 'api' ? undefined : await readTopic();
  const api = source === 'topic' ? undefined : await readApi();
  const problems = compare(api, topic, keys);
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`bulwark audit verify: ${p}\n`);
    return 1;
  }
  const parts = [
    api ? `${api.length} entries from the API` : undefined,
    topic ? `${topic.length} messages on the topic` : undefined,
  ].filter(Boolean);
  process.stdout.write(`audit trail intact: ${parts.join(', ')}\n`);
  return 0;
}

/** `audit show`: the newest entries as a table (or the API's JSON). */
async function show(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { limit: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) {
    process.stdout.write(`${AUDIT_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const limit = intOpt('limit', values.limit, 20, 1);
  if (limit > PAGE) throw new UsageError(`--limit must be at most ${PAGE}`);
  const token = operatorToken('audit');
  const answer = await reachBreaker(() => callBreaker('GET', `/v1/breaker/audit?limit=${limit}`, { token }));
  return printAnswer(answer, values.json === true, (a) => auditTable((a.body.entries ?? []) as Entry[]));
}

/** The entries as aligned columns, the reason last (it may be long). */
function auditTable(entries: Entry[]): string {
  const rows = entries.map((e) => [
    String(e.seq),
    String(e.recordedAt)
      .replace('T', ' ')
      .replace(/\.\d{3}Z$/, 'Z'),
    String(e.action),
    String(e.outcome),
    String(e.scope),
    String(e.by),
    String(e.reason),
  ]);
  const head = ['#', 'recorded', 'action', 'outcome', 'scope', 'by', 'reason'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line), ...(entries.length === 0 ? ['(no audit entries)'] : [])].join('\n');
}

/** Problems found, the first bad entry first per source; empty when everything verifies and agrees. */
export function compare(
  api: Entry[] | undefined,
  topic: Entry[] | undefined,
  keys: ControlKeyring,
): string[] {
  const problems: string[] = [];
  const say = (where: string, v: TrailVerdict) => {
    if (!v.ok) problems.push(`${where}: first bad entry seq ${v.seq}: ${v.problem}`);
  };
  if (api) say('API trail', verifyTrail(api, keys));
  if (topic) say('audit topic', verifyTrail(topic, keys, { allowDuplicates: true }));
  if (api && topic && problems.length === 0) {
    const bySeq = new Map(api.map((e) => [e.seq, e.hash]));
    for (const t of topic) {
      const h = bySeq.get(t.seq);
      if (h === undefined) {
        problems.push(
          `API trail: entry seq ${String(t.seq)} is on the audit topic but missing from the API (deleted)`,
        );
        break;
      }
      if (h !== t.hash) {
        problems.push(`API trail: entry seq ${String(t.seq)} differs from the audit topic's (altered)`);
        break;
      }
    }
  }
  return problems;
}

function env(name: string, def: string): string {
  const v = process.env[name];
  return v === undefined || v === '' ? def : v;
}

/** The whole trail from GET /v1/breaker/audit, paged back with `before`, oldest first. */
async function readApi(): Promise<Entry[]> {
  const base = breakerUrl();
  const auth = { authorization: `Bearer ${operatorToken('audit')}` };
  const all: Entry[] = [];
  let before: string | undefined;
  for (;;) {
    const url = `${base}/v1/breaker/audit?limit=${PAGE}${before ? `&before=${encodeURIComponent(before)}` : ''}`;
    const res = await fetch(url, { headers: auth });
    if (!res.ok) throw new Error(`GET ${base}/v1/breaker/audit answered ${res.status}`);
    const { entries } = (await res.json()) as { entries: Entry[] };
    all.push(...entries);
    if (entries.length < PAGE) break;
    before = String(entries[entries.length - 1]!.id);
  }
  // The stream id is Redis's, not part of the chain.
  return all.reverse().map(({ id: _id, ...e }) => e);
}

async function readTopic(): Promise<Entry[]> {
  const kafka = new KafkaClient({
    brokers: env('BULWARK_KAFKA_BROKERS', '127.0.0.1:9092').split(','),
    clientId: 'bulwark-audit',
    logger: silentLogger(),
  });
  try {
    const topic = topicNames(env('BULWARK_TOPIC_PREFIX', '')).audit;
    const messages = await readTopicToEnd(kafka, topic, { timeoutMs: 60_000, groupLabel: 'audit-verify' });
    return messages.map((m) => {
      try {
        const v: unknown = JSON.parse(m.value?.toString('utf8') ?? 'null');
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Entry;
      } catch {
        // reported below
      }
      return { offset: m.offset, unparseable: true };
    });
  } finally {
    await kafka.close();
  }
}
