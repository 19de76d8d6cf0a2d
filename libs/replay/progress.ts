/**
 * A progress line on standard error while a replay runs, only when it is a terminal: events, rate, the event
 * time reached and, when the log is a file of known size, the share read and the time left. Quiet
 * otherwise (and with --quiet), so piped output and CI logs stay clean.
 */
export interface ReplayProgress {
  update(events: number, eventTimeMs: number): void;
  done(events: number, eventTimeMs: number): void;
}

/** How far through its file a log is (bytes read of the file on disk, compressed or not). */
export interface ReadPosition {
  totalBytes: number;
  bytesRead(): number;
}

export const SILENT_PROGRESS: ReplayProgress = { update: () => undefined, done: () => undefined };

/** "12 s", "4 min 5 s", "1 h 2 min". */
export function formatEta(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function createProgress(
  stream: Pick<NodeJS.WriteStream, 'write' | 'isTTY'> = process.stderr,
  position?: ReadPosition,
  now: () => number = Date.now,
): ReplayProgress {
  if (!stream.isTTY) return SILENT_PROGRESS;
  const started = now();
  let last = -Infinity;
  const draw = (events: number, t: number, final: boolean) => {
    const at = now();
    if (!final && at - last < 200) return;
    last = at;
    const secs = Math.max((at - started) / 1000, 0.001);
    const time = Number.isFinite(t) ? new Date(t).toISOString().replace('.000Z', 'Z') : '-';
    let share = '';
    if (position && position.totalBytes > 0) {
      const read = Math.min(position.bytesRead(), position.totalBytes);
      const frac = read / position.totalBytes;
      share = `  ${(frac * 100).toFixed(1)}%`;
      if (!final && frac > 0) share += `  ETA ${formatEta(((at - started) * (1 - frac)) / frac)}`;
    }
    stream.write(
      `\r\x1b[2K${events.toLocaleString('en-US')} events  ${Math.round(events / secs).toLocaleString('en-US')}/s  event time ${time}${share}`,
    );
    if (final) stream.write('\n');
  };
  return { update: (e, t) => draw(e, t, false), done: (e, t) => draw(e, t, true) };
}
