const TIME_KEY = /^(.*(?:at|At|Start|End))Ms$/;

/**
 * A flag's evidence as produced: every `...AtMs` / `...StartMs` / `...EndMs` number, at any depth, gets an
 * ISO twin under the name without `Ms` (`windowStartMs` -> `windowStart`, `atMs` -> `at`).
 */
export function withIsoTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withIsoTimes);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = withIsoTimes(v);
    const m = TIME_KEY.exec(k);
    if (m && typeof v === 'number' && Number.isFinite(v)) out[m[1]!] = new Date(v).toISOString();
  }
  return out;
}
