import { AUDIT_USAGE } from './audit';
import { OPERATOR_USAGE } from './operator';

/** Usage text per subcommand; printed on --help (exit 0) and after a bad argument (exit 2). */
export const USAGE: Record<string, string> = {
  audit: AUDIT_USAGE,
  status: OPERATOR_USAGE,
  halt: OPERATOR_USAGE,
  resume: OPERATOR_USAGE,
  main: `usage: bulwark <command> [options]

commands:
  replay FILE      replay a recorded event log and report flags and breaker changes
  backtest FILE    replay a log under two rule configurations and report the flags that differ
  simulate         write a synthetic event log (ordinary traffic, optionally an attack)
  audit show       the newest audit entries (who, what, when, why); audit verify: check the hash-chained
                   trail (API and topic); audit export: JSON lines
  status           whether withdrawals are allowed, from a running breaker
  halt SCOPE       halt a scope now (operator token from BULWARK_TOKEN_FILE or BULWARK_TOKEN)
  resume SCOPE     approve resuming a scope; the second distinct operator's approval resumes it

Run 'bulwark <command> --help' for a command's options.`,
  replay: `usage: bulwark replay FILE [--mode in-process|kafka] [--store memory|redis] [--speed max|N] [--config FILE]
                      [--report FILE] [--keep] [--namespace NAME] [--settle-ms N] [--timeout-ms N] [--slice N]
                      [--live] [--quiet]

  FILE              one event per line (JSON, contract section 2) in arrival order; '-' reads standard input;
                    gzip files are read directly
  --mode            in-process (default): the rules and breaker run here; kafka: publish to the topics and
                    let the running services do the work
  --store           in-process: memory (default), windows held in this process (no Redis needed); redis,
                    windows in Redis under the replay's own namespace; both give the same report
  --speed           max (default) does not pace; N paces by event time N times faster than real time
  --config FILE     rules configuration (YAML or JSON), optionally with a 'breaker:' section of triggers
  --report FILE     write the JSON report there (default: standard output)
  --keep            --store redis: keep the replay's Redis namespace instead of deleting it
  --namespace NAME  --store redis: Redis key prefix to use (default: a fresh random one); refused when it
                    already holds keys or overlaps the live BULWARK_KEY_PREFIX; only NAME:* is deleted
  --settle-ms N     kafka: quiet time before the report is written (default 2000)
  --timeout-ms N    kafka: give up waiting for the services after N ms (default 300000)
  --slice N         kafka at speed max: after every N lines, wait until the detector has committed them and
                    the breaker has read their flags (default 0: publish the whole log as one backlog; the
                    services keep event-time order themselves)
  --quiet           no progress line and no summary on standard error (the report is unchanged)
  --live            kafka: allow publishing to the live topic names (BULWARK_TOPIC_PREFIX empty); without
                    it they are refused, since the replay's flags would reach the real breaker

environment: BULWARK_REDIS_URL, BULWARK_KEY_PREFIX (the live prefix a replay never touches), and for
--mode kafka BULWARK_KAFKA_BROKERS, BULWARK_TOPIC_PREFIX, BULWARK_DETECTOR_GROUP, BULWARK_BREAKER_GROUP
(as the running services use them; validated as they validate them)

exit codes: 0 done, 1 failed while running (one line says what), 2 bad usage or configuration`,
  backtest: `usage: bulwark backtest FILE --config A --config B [--report FILE] [--quiet]

  Replays FILE in-process under rule configuration A and under B, and reports the flags raised only under
  A, only under B, and how many both raised, in all and per rule (perRule), so a rule change is judged on
  history before it ships. A summary table goes to standard error unless --quiet.`,
  simulate: `usage: bulwark simulate [--users N] [--duration D] [--start ISO] [--seed N] [--rate R]
                        [--attack] [--attack-users N] [--attack-at ISO] [--attack-duration D]
                        [--fresh-address-share F] [--late-mfa-share F] [--invalid-share F]
                        [--duplicate-share F] [--out FILE] [--summary FILE]

  Writes a seeded, reproducible event log (one JSON event per line, arrival order) to FILE or standard
  output (gzip when FILE ends in .gz). --attack adds an attack like 17 January 2022: approvals without MFA
  for many users, many to freshly whitelisted addresses. --summary writes the ground truth as JSON.
  Durations: 30s, 15m, 2h, 2d or milliseconds. Defaults: 1000 users over 1d, seed 1, rate 1.5
  withdrawals per user per day; with --attack, 483 users 1h before the end, over 15m.`,
};
