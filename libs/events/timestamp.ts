/**
 * RFC 3339 timestamps with a mandatory offset (`Z` or `+hh:mm`), as the contract requires for `occurredAt`.
 *
 * Hand-rolled rather than `Date.parse` because `Date.parse` accepts offset-less strings (as local time),
 * rolls impossible dates like 2022-02-30 over into March, and maps years below 100 to the 1900s; a regex
 * would allocate a match array on every event of the hot path.
 */

/** Longer than any sane timestamp (a nanosecond fraction and an offset make 35); bounds the scan. */
export const MAX_TIMESTAMP_LENGTH = 64;

const MS_PER_DAY = 86_400_000;

/**
 * Epoch milliseconds of an RFC 3339 date-time with offset, or NaN when `text` is not one. Fractions beyond
 * milliseconds are truncated. A leap second (`:60`) is rejected: epoch time cannot represent it.
 */
export function rfc3339ToEpochMs(text: string): number {
  const len = text.length;
  if (len < 20 || len > MAX_TIMESTAMP_LENGTH) return NaN;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (
    year < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59 ||
    text.charCodeAt(4) !== 0x2d /* - */ ||
    text.charCodeAt(7) !== 0x2d ||
    (text.charCodeAt(10) | 0x20) !== 0x74 /* T or t: RFC 3339 5.6 allows lower case */ ||
    text.charCodeAt(13) !== 0x3a /* : */ ||
    text.charCodeAt(16) !== 0x3a
  ) {
    return NaN;
  }

  let i = 19;
  let fractionMs = 0;
  if (text.charCodeAt(i) === 0x2e /* . */) {
    i++;
    const start = i;
    let scale = 100;
    // Only the first three digits count: summing ever smaller float steps could round up a whole ms.
    for (let c = text.charCodeAt(i); c >= 0x30 && c <= 0x39; c = text.charCodeAt(++i)) {
      fractionMs += (c - 0x30) * scale;
      scale = scale === 1 ? 0 : scale / 10;
    }
    if (i === start) return NaN;
  }

  let offsetMinutes: number;
  const sign = text.charCodeAt(i);
  if ((sign | 0x20) === 0x7a /* Z or z */) {
    if (i + 1 !== len) return NaN;
    offsetMinutes = 0;
  } else if (sign === 0x2b /* + */ || sign === 0x2d /* - */) {
    if (i + 6 !== len || text.charCodeAt(i + 3) !== 0x3a) return NaN;
    const offsetHour = digits(text, i + 1, 2);
    const offsetMinute = digits(text, i + 4, 2);
    if (offsetHour < 0 || offsetHour > 23 || offsetMinute < 0 || offsetMinute > 59) return NaN;
    offsetMinutes = (offsetHour * 60 + offsetMinute) * (sign === 0x2b ? 1 : -1);
  } else {
    return NaN;
  }

  return (
    daysFromCivil(year, month, day) * MS_PER_DAY +
    ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 +
    fractionMs
  );
}

/** The non-negative integer in `text[at, at + count)`, or -1 when any of those is not an ASCII digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const c = text.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
