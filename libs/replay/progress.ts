/**
 * A progress line on standard error while a replay runs, only when it is a terminal: events, rate and the
 * event time reached. Quiet otherwise, so piped output and CI logs stay clean.
 */
export interface ReplayProgress {
  update(events: number, eventTimeMs: number): void;
  done(events: number, eventTimeMs: number): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): ReplayProgress {
  if (!stream.isTTY) return { update: () => undefined, done: () => undefined };
  const started = Date.now();
  let last = 0;
  const draw = (events: number, t: number, final: boolean) => {
    const now = Date.now();
    if (!final && now - last < 200) return;
    last = now;
    const secs = Math.max((now - started) / 1000, 0.001);
    const at = Number.isFinite(t) ? new Date(t).toISOString().replace('.000Z', 'Z') : '-';
    stream.write(
      `\r\x1b[2K${events.toLocaleString('en-US')} events  ${Math.round(events / secs).toLocaleString('en-US')}/s  event time ${at}`,
    );
    if (final) stream.write('\n');
  };
  return { update: (e, t) => draw(e, t, false), done: (e, t) => draw(e, t, true) };
}
