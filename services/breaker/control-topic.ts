import {
  chooseRestore,
  controlValue,
  type BreakerChange,
  type ControlKeyring,
  type RestoreChoice,
  type SealedEntry,
} from '../../libs/breaker';
import { readTopicToEnd, type BulwarkProducer, type KafkaClient } from '../../libs/kafka';
import type { Logger } from '../../libs/logger';
import type { BreakerMetrics } from '../../libs/metrics';

/** Publishes changes, signed, to the compacted control topic, keyed by scope (acks=-1 via BulwarkProducer). */
export function controlPublisher(producer: BulwarkProducer, topic: string, keys: ControlKeyring) {
  return async (changes: BreakerChange[]): Promise<void> => {
    await producer.send(changes.map((c) => ({ topic, key: c.scope, value: controlValue(c, keys) })));
  };
}

/** Publishes sealed audit entries to withdrawals.audit.v1, keyed by scope, in chain order. */
export function auditPublisher(producer: BulwarkProducer, topic: string) {
  return async (entries: SealedEntry[]): Promise<void> => {
    await producer.send(entries.map((e) => ({ topic, key: e.scope || '-', value: JSON.stringify(e) })));
  };
}

/**
 * Reads the control topic to its end and picks what to restore when Redis has lost its state: verified
 * snapshots only, or a fail-closed halt for a scope whose newest message does not verify. Every message
 * that does not verify is counted and logged (never its content: it may be an attacker's).
 */
export async function readControlRestore(
  kafka: KafkaClient,
  topic: string,
  keys: ControlKeyring,
  deps: { logger: Logger; metrics?: BreakerMetrics },
  timeoutMs = 30_000,
): Promise<RestoreChoice[]> {
  const messages = await readTopicToEnd(kafka, topic, { timeoutMs, groupLabel: 'breaker-restore' });
  const { choices, rejected } = chooseRestore(
    messages.map((m) => ({
      key: m.key === null ? null : m.key.toString('utf8'),
      value: m.value === null ? null : m.value.toString('utf8'),
    })),
    keys,
    new Date().toISOString(),
  );
  for (const r of rejected) deps.metrics?.controlRejected.inc({ topic: 'control', reason: r.reason });
  if (rejected.length > 0)
    deps.logger.error(
      { rejected: rejected.length, reasons: [...new Set(rejected.map((r) => r.reason))] },
      'control topic holds messages that do not verify: ignored (is someone else writing to it?)',
    );
  return choices;
}

/** The sealed entries on withdrawals.audit.v1, oldest first (unparseable values skipped, and counted). */
export async function readAuditTopic(
  kafka: KafkaClient,
  topic: string,
  deps: { metrics?: BreakerMetrics } = {},
  timeoutMs = 60_000,
): Promise<Record<string, unknown>[]> {
  const messages = await readTopicToEnd(kafka, topic, { timeoutMs, groupLabel: 'breaker-audit' });
  const out: Record<string, unknown>[] = [];
  for (const m of messages) {
    try {
      const v: unknown = JSON.parse(m.value?.toString('utf8') ?? '');
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        out.push(v as Record<string, unknown>);
        continue;
      }
    } catch {
      // counted below
    }
    deps.metrics?.controlRejected.inc({ topic: 'audit', reason: 'malformed' });
  }
  return out;
}
