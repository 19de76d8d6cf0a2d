/**
 * Seeded, reproducible synthetic event logs for Bulwark: ordinary exchange traffic for N users plus an
 * optional replay of the January 2022 incident (withdrawals approved without a second factor). The same
 * seed and options always give byte-identical output, and generation streams in bounded memory.
 */
import { SimulationRun, type SimulatedLine, type SimulationStats } from './engine';
import { resolveOptions, type SimulateOptions } from './options';

export { parseDuration } from './duration';
export { DEFAULT_INCIDENT, DEFAULT_START, type AttackOptions, type SimulateOptions } from './options';
export type { SimulatedEventMeta, SimulatedLine, SimulationStats } from './engine';

/** Every line (one JSON event, no newline) in arrival order. */
export function* simulate(opts: SimulateOptions): Generator<string> {
  for (const { line } of new SimulationRun(resolveOptions(opts)).run()) yield line;
}

/**
 * Like `simulate`, with what the generator knows about each line (attacked or not, arrival time, ...).
 * Pass `stats` to watch counters, including the peak number of buffered events, while it runs.
 */
export function simulateEvents(opts: SimulateOptions, stats?: SimulationStats): Generator<SimulatedLine> {
  return new SimulationRun(resolveOptions(opts), stats).run();
}

export interface SimulationSummary extends SimulationStats {
  users: number;
  spanStart: string;
  /** Where ordinary traffic stops: start + duration, or the attack's end if that is later. */
  spanEnd: string;
  firstOccurredAt: string | null;
  lastOccurredAt: string | null;
  eventsByType: Record<string, number>;
  ordinaryWithdrawals: number;
  ordinaryApprovals: number;
  lateMfaWithdrawals: number;
  attackStart: string | null;
  attackEnd: string | null;
  /** Sorted. */
  attackedUsers: string[];
  /** In arrival order of their approvals. */
  attackedWithdrawalIds: string[];
  attackFreshAddressWithdrawalIds: string[];
  attackUnverifiedWithdrawalIds: string[];
  attackedUsd: number;
}

/** Ground truth for tests and demos, from a full deterministic pass (nothing is kept but counters and the
 * attack's ids, which are bounded by `attack.users`). */
export function simulateSummary(opts: SimulateOptions): SimulationSummary {
  const resolved = resolveOptions(opts);
  const run = new SimulationRun(resolved);
  const eventsByType: Record<string, number> = {};
  const attackedUsers = new Set<string>();
  const attackedWithdrawalIds: string[] = [];
  const fresh: string[] = [];
  const unverified: string[] = [];
  let first = Infinity;
  let last = -Infinity;
  let ordinaryWithdrawals = 0;
  let ordinaryApprovals = 0;
  let lateMfaWithdrawals = 0;
  let attackedUsd = 0;
  for (const { line, meta } of run.run()) {
    if (meta.kind !== 'event' || meta.type === undefined) continue;
    eventsByType[meta.type] = (eventsByType[meta.type] ?? 0) + 1;
    const occ = meta.occurredMs ?? 0;
    if (occ < first) first = occ;
    if (occ > last) last = occ;
    if (meta.attacked) {
      if (meta.userId !== undefined) attackedUsers.add(meta.userId);
      if (meta.type === 'withdrawal.approved' && meta.withdrawalId !== undefined) {
        attackedWithdrawalIds.push(meta.withdrawalId);
        if (meta.freshAddress === true) fresh.push(meta.withdrawalId);
        if (meta.mfaVerified === false) unverified.push(meta.withdrawalId);
        attackedUsd += (JSON.parse(line) as { amountUsd: number }).amountUsd;
      }
    } else if (meta.type === 'withdrawal.requested') {
      ordinaryWithdrawals++;
    } else if (meta.type === 'withdrawal.approved') {
      ordinaryApprovals++;
      if (meta.lateMfa === true) lateMfaWithdrawals++;
    }
  }
  const a = resolved.attack;
  return {
    ...run.stats,
    users: resolved.users,
    spanStart: new Date(resolved.startMs).toISOString(),
    spanEnd: new Date(resolved.endMs).toISOString(),
    firstOccurredAt: Number.isFinite(first) ? new Date(first).toISOString() : null,
    lastOccurredAt: Number.isFinite(last) ? new Date(last).toISOString() : null,
    eventsByType,
    ordinaryWithdrawals,
    ordinaryApprovals,
    lateMfaWithdrawals,
    attackStart: a === null ? null : new Date(a.atMs).toISOString(),
    attackEnd: a === null ? null : new Date(a.endMs).toISOString(),
    attackedUsers: [...attackedUsers].sort(),
    attackedWithdrawalIds,
    attackFreshAddressWithdrawalIds: fresh,
    attackUnverifiedWithdrawalIds: unverified,
    attackedUsd: Math.round(attackedUsd * 100) / 100,
  };
}

export interface WriteResult {
  lines: number;
  bytes: number;
  events: number;
  invalidLines: number;
  duplicateLines: number;
  attackedWithdrawals: number;
  peakBuffered: number;
}

// Lines are joined into chunks of about this size: one write per line would dominate the run time.
const CHUNK_CHARS = 64 * 1024;

/**
 * Writes the log, one line per event with a trailing newline, honouring back-pressure. The stream is left
 * open: the caller owns it (it may be stdout).
 */
export async function writeSimulation(
  opts: SimulateOptions,
  out: NodeJS.WritableStream,
): Promise<WriteResult> {
  const run = new SimulationRun(resolveOptions(opts));
  let failure: unknown = null;
  const onError = (err: unknown): void => {
    failure = err ?? new Error('write failed');
  };
  out.on('error', onError);
  let bytes = 0;
  let attackedWithdrawals = 0;
  let chunk = '';
  const flush = async (): Promise<void> => {
    if (failure !== null) throw failure;
    bytes += Buffer.byteLength(chunk);
    const ok = out.write(chunk);
    chunk = '';
    if (!ok) await drained(out, () => failure);
  };
  try {
    for (const { line, meta } of run.run()) {
      if (meta.attacked && meta.kind === 'event' && meta.type === 'withdrawal.approved')
        attackedWithdrawals++;
      chunk += line + '\n';
      if (chunk.length >= CHUNK_CHARS) await flush();
    }
    if (chunk.length > 0) await flush();
    if (failure !== null) throw failure;
  } finally {
    out.removeListener('error', onError);
  }
  const s = run.stats;
  return {
    lines: s.lines,
    bytes,
    events: s.events,
    invalidLines: s.invalidLines,
    duplicateLines: s.duplicateLines,
    attackedWithdrawals,
    peakBuffered: s.peakBuffered,
  };
}

function drained(out: NodeJS.WritableStream, failed: () => unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      out.removeListener('drain', done);
      out.removeListener('error', done);
      out.removeListener('close', done);
      const err = failed();
      if (err !== null) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve();
    };
    out.on('drain', done);
    out.on('error', done);
    out.on('close', done);
  });
}
