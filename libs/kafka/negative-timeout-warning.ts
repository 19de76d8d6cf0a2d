/**
 * kafkajs 2.2.4 schedules a timer at `throttledUntil - Date.now()` with `throttledUntil` starting at -1
 * (tulios/kafkajs#1751, unfixed upstream), so on Node 24 every process that talks to Kafka prints a
 * TimeoutNegativeWarning to stderr. Node clamps the delay to 1 ms, as kafkajs expects; the warning says
 * nothing an operator can act on, so that one warning type is dropped process-wide (Bulwark's own timers never
 * take a negative delay). Every other warning passes through unchanged.
 */
let installed = false;

export function silenceKafkajsNegativeTimeoutWarning(): void {
  if (installed) return;
  installed = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: unknown } | undefined)?.type;
    const name = warning instanceof Error ? warning.name : type;
    if (name === 'TimeoutNegativeWarning') return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}
