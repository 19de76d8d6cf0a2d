/**
 * Refuses operator tokens that are plainly weak. A string's real entropy cannot be measured, only bounded
 * from above: this estimate (length times the Shannon entropy of its characters) rejects short tokens,
 * repeated characters and pieces, runs like "abcdefgh" and small alphabets; not a long passphrase of
 * dictionary words. Tokens hash-token
 * generates (32 random bytes, about 200 bits by this estimate) always pass; the rule is for given tokens.
 */
export const MIN_TOKEN_LENGTH = 32;
export const MIN_TOKEN_BITS = 128;

/** Why the token is too weak, or null when it is acceptable. Never quotes the token. */
export function tokenWeakness(token: string): string | null {
  if (token.length < MIN_TOKEN_LENGTH)
    return `the token has ${token.length} characters; at least ${MIN_TOKEN_LENGTH} are needed`;
  if (!/^[\x21-\x7e]+$/.test(token))
    return 'the token must be printable ASCII without spaces (letters, digits, punctuation)';
  if (repeatsItself(token))
    return 'the token repeats itself (a run of 8 equal or consecutive characters, or an 8-character piece twice)';
  const bits = estimatedBits(token);
  if (bits < MIN_TOKEN_BITS)
    return `the token is too predictable (about ${Math.floor(bits)} bits by character statistics; at least ${MIN_TOKEN_BITS} are needed)`;
  return null;
}

/** Length times the Shannon entropy per character of the token's own character frequencies. */
export function estimatedBits(token: string): number {
  const counts = new Map<string, number>();
  for (const c of token) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / token.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * token.length;
}

const PIECE = 8;

/** A repeated 8-character piece or a run of 8 equal or consecutive characters (random tokens have neither). */
function repeatsItself(token: string): boolean {
  const seen = new Set<string>();
  for (let i = 0; i + PIECE <= token.length; i++) {
    const piece = token.slice(i, i + PIECE);
    if (seen.has(piece)) return true;
    seen.add(piece);
  }
  let run = 1;
  let step = NaN;
  for (let i = 1; i < token.length; i++) {
    const d = token.charCodeAt(i) - token.charCodeAt(i - 1);
    if (Math.abs(d) <= 1 && d === step) run++;
    else {
      run = Math.abs(d) <= 1 ? 2 : 1;
      step = d;
    }
    if (run >= PIECE) return true;
  }
  return false;
}
