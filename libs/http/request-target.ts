/**
 * Parses an HTTP request target without trusting it: a target the server cannot make sense of is a client
 * fault (400), never an exception. `new URL(target, base)` reads `//host...` as an authority and throws on
 * `//[`, so origin-form targets are split by hand and only absolute-form ones go through `URL`.
 */
export interface RequestTarget {
  path: string;
  query: URLSearchParams;
}

// RFC 9112 origin-form: absolute-path [ "?" query ]; pchar = unreserved / pct-encoded / sub-delims / ":" / "@".
const PCHAR = "[A-Za-z0-9\\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2}";
const ORIGIN_FORM = new RegExp(`^((?:/(?:${PCHAR})*)+)(?:\\?((?:${PCHAR}|[/?])*))?$`);

/** The path and query of `target`, or null when it is not a well-formed origin- or absolute-form target. */
export function parseRequestTarget(target: string): RequestTarget | null {
  if (target.startsWith('/')) {
    const m = ORIGIN_FORM.exec(target);
    if (!m) return null;
    return { path: m[1]!, query: new URLSearchParams(m[2] ?? '') };
  }
  if (/^https?:\/\//i.test(target)) {
    try {
      const url = new URL(target);
      return { path: url.pathname, query: url.searchParams };
    } catch {
      return null;
    }
  }
  return null;
}
