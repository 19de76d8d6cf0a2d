/**
 * The contract's event lines (section 2), written by hand in the contract's field order. Every value is
 * produced by the simulator from fixed alphabets (ids, tickers, addresses, IPs, ISO times), none needing
 * JSON escaping, so string templates replace JSON.stringify, the largest cost of generation. The tests
 * parse every line to keep this honest. Builders return the line without its opening brace: the eventId
 * goes first and is only given on release, in arrival order, so no line is ever re-sliced.
 */

// Globals are read once into module constants: inside a vm context (Jest runs every test file in one)
// each global lookup goes through an interceptor, which made the hot paths several times slower.
const { floor } = Math;

const DAY = 86_400_000;
const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
let cachedDay = NaN;
let cachedPrefix = '';

/** Same text as `new Date(ms).toISOString()` for whole milliseconds, without a Date per event. */
export function iso(ms: number): string {
  const day = floor(ms / DAY);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedPrefix = new Date(day * DAY).toISOString().slice(0, 11);
  }
  let r = ms - day * DAY;
  const h = floor(r / 3_600_000);
  r -= h * 3_600_000;
  const m = floor(r / 60_000);
  r -= m * 60_000;
  const s = floor(r / 1_000);
  return `${cachedPrefix}${PAD2[h]}:${PAD2[m]}:${PAD2[s]}.${PAD3[r - s * 1_000]}Z`;
}

const head = (type: string, at: number, userId: string): string =>
  `"type":"${type}","occurredAt":"${iso(at)}","userId":"${userId}"`;

export function loginSucceeded(
  at: number,
  userId: string,
  sessionId: string,
  ip: string,
  deviceId: string,
): string {
  return `${head('login.succeeded', at, userId)},"sessionId":"${sessionId}","ip":"${ip}","deviceId":"${deviceId}"}`;
}

export function loginFailed(
  at: number,
  userId: string,
  ip: string,
  deviceId: string,
  reason: string,
): string {
  return `${head('login.failed', at, userId)},"ip":"${ip}","deviceId":"${deviceId}","reason":"${reason}"}`;
}

export function mfaSession(
  type: 'mfa.passed' | 'mfa.failed',
  at: number,
  userId: string,
  sessionId: string,
  factor: string,
): string {
  return `${head(type, at, userId)},"sessionId":"${sessionId}","factor":"${factor}"}`;
}

export function mfaChange(
  type: 'mfa.reset' | 'mfa.enrolled',
  at: number,
  userId: string,
  factor: string,
): string {
  return `${head(type, at, userId)},"factor":"${factor}"}`;
}

export function addressWhitelisted(at: number, userId: string, address: string, asset: string): string {
  return `${head('address.whitelisted', at, userId)},"address":"${address}","asset":"${asset}"}`;
}

export interface WithdrawalFields {
  withdrawalId: string;
  sessionId: string;
  asset: string;
  amount: string;
  amountUsd: number;
  address: string;
}

function withdrawalBody(w: WithdrawalFields): string {
  return `,"withdrawalId":"${w.withdrawalId}","sessionId":"${w.sessionId}","asset":"${w.asset}","amount":"${w.amount}","amountUsd":${w.amountUsd},"address":"${w.address}"`;
}

export function withdrawalRequested(at: number, userId: string, w: WithdrawalFields): string {
  return `${head('withdrawal.requested', at, userId)}${withdrawalBody(w)}}`;
}

export function withdrawalApproved(
  at: number,
  userId: string,
  w: WithdrawalFields,
  factors: readonly string[],
  mfaVerified: boolean,
): string {
  let list = '';
  for (const f of factors) list += list === '' ? `"${f}"` : `,"${f}"`;
  return `${head('withdrawal.approved', at, userId)}${withdrawalBody(w)},"approval":{"factors":[${list}],"mfaVerified":${mfaVerified}}}`;
}

export function withdrawalCompleted(at: number, userId: string, withdrawalId: string): string {
  return `${head('withdrawal.completed', at, userId)},"withdrawalId":"${withdrawalId}"}`;
}

export function withdrawalRejected(at: number, userId: string, withdrawalId: string, reason: string): string {
  return `${head('withdrawal.rejected', at, userId)},"withdrawalId":"${withdrawalId}","reason":"${reason}"}`;
}
