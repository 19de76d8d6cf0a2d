/**
 * Text from operators ends up in logs, the audit trail and the unauthenticated status answer. Control
 * characters (C0, C1) and the Unicode bidirectional controls can forge log lines or make a reason read
 * differently on screen (U+202E reverses what follows), so reasons holding them are refused, and any text
 * served or logged from stored state is neutralised as well (a snapshot restored or written by an older
 * version may predate the check).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'gu');

export function hasUnsafeChars(s: string): boolean {
  return UNSAFE.test(s);
}

/** Replaces each unsafe character by its escape, `\u202e`, so it is visible and inert. */
export function neutraliseText(s: string): string {
  return s.replace(UNSAFE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
