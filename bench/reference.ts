/**
 * The reference reading: the contract's six default rules (section 5, with the defaults of
 * config/rules.default.yaml) over a JSONL event log, in plain TypeScript. Not part of the tests.
 *
 *   npm run build && node dist/bench/reference.js FILE [--out RESULT.json]
 *
 * It is the ceiling every replay figure is quoted against (bench/replay.ts), so it uses no framework on
 * purpose: no zod, no libs/ import, one JSON.parse per line, plain Maps and arrays per user, a binary heap
 * of decisions waiting for the grace period. Its semantics follow the rule kinds in libs/rules/kinds and
 * contract sections 2-5 and 7 (the event checks of section 2, dedup by (userId, eventId), event time as
 * the newest occurredAt, an approval decided by the auth-stream rules once event time has passed
 * occurredAt + grace). Where the engine bounds its memory in ways the contract does not ask (at most 256
 * MFA facts a user, 10,000 eventIds a user) this reading does not; it trims only what the default
 * retentions (rule reach + grace + maxSkew, and the 48 h dedup horizon) allow to go.
 */
import fs from 'node:fs';
import path from 'node:path';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The defaults of config/rules.default.yaml (contract section 5), spelled out here on purpose. */
export const REFERENCE_DEFAULTS = {
  graceMs: 30_000,
  dedupHorizonMs: 2 * DAY,
  maxSkewMs: 6 * HOUR,
  mfaLookbackMs: 10 * MINUTE,
  cooldownMs: DAY,
  mfaChangeWindowMs: DAY,
  deviceUnseenMs: 90 * DAY,
  loginWithinMs: 30 * MINUTE,
  velocityWindowMs: HOUR,
  velocityMaxCount: 5,
  velocityMaxUsd: 100_000,
  maxBytes: 65_536,
  maxAheadMs: HOUR,
  maxBehindMs: 3650 * DAY,
} as const;
const D = REFERENCE_DEFAULTS;

export const RULE_IDS = [
  'mfa-missing',
  'new-address-cooldown',
  'mfa-reset-withdrawal',
  'new-device-withdrawal',
  'velocity',
  'sanctioned-destination',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export interface ReferenceFlag {
  ruleId: RuleId;
  userId: string;
  withdrawalId: string;
  eventId: string;
  occurredAt: string;
  /** Event time of the decision: the approval's, or occurredAt + grace for the auth-stream rules. */
  raisedAtMs: number;
}

export interface ReferenceResult {
  /** Lines read, blank ones included. */
  lines: number;
  /** As the replay report counts them (contract section 7). */
  events: { total: number; valid: number; invalid: number; ignored: number; duplicate: number };
  flags: Record<RuleId, number>;
  flagList: ReferenceFlag[];
  /** Time spent reading and deciding (the sanctions lists loaded before), seconds. */
  seconds: number;
  linesPerSec: number;
}

export interface ReferenceOptions {
  /** Folder of sanctioned_addresses_<TICKER>.txt; default BULWARK_SANCTIONS_DIR, else data/ofac-sanctioned-addresses. */
  sanctionsDir?: string;
  /** The wall clock for the "ahead" bound of occurredAt; Date.now() by default. */
  wallClockMs?: number;
}

// --- Section 2: what a valid event is ------------------------------------------------------------------

/** One JSON line as parsed; every field is checked before it is used. */
interface Raw {
  eventId?: unknown;
  type?: unknown;
  occurredAt?: unknown;
  userId?: unknown;
  sessionId?: unknown;
  deviceId?: unknown;
  ip?: unknown;
  factor?: unknown;
  reason?: unknown;
  address?: unknown;
  asset?: unknown;
  withdrawalId?: unknown;
  amount?: unknown;
  amountUsd?: unknown;
  approval?: unknown;
}

const FACTORS: ReadonlySet<unknown> = new Set(['totp', 'sms', 'email', 'webauthn', 'biometric']);
const AMOUNT = /^(0|[1-9]\d*)(\.\d+)?$/;
const ASSET = /^[A-Z0-9]{2,15}$/;
const KNOWN_TYPES: ReadonlySet<string> = new Set([
  'login.succeeded',
  'login.failed',
  'mfa.passed',
  'mfa.failed',
  'mfa.enrolled',
  'mfa.reset',
  'address.whitelisted',
  'withdrawal.requested',
  'withdrawal.approved',
  'withdrawal.completed',
  'withdrawal.rejected',
]);

const text = (v: unknown, max: number): boolean => typeof v === 'string' && v.length >= 1 && v.length <= max;
const optReason = (v: unknown): boolean => v === undefined || (typeof v === 'string' && v.length <= 4096);

function digits(s: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/**
 * Epoch ms of an RFC 3339 date-time with a mandatory offset, NaN otherwise. By hand because Date.parse
 * accepts offset-less strings and rolls 2022-02-30 into March; fractions past the millisecond are cut.
 */
export function rfc3339Ms(s: string): number {
  const len = s.length;
  if (len < 20 || len > 64) return NaN;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const se = digits(s, 17, 2);
  if (
    y < 0 ||
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    d > daysInMonth(y, mo) ||
    h < 0 ||
    h > 23 ||
    mi < 0 ||
    mi > 59 ||
    se < 0 ||
    se > 59 ||
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(7) !== 45 ||
    (s.charCodeAt(10) | 0x20) !== 116 ||
    s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58
  )
    return NaN;
  let i = 19;
  let frac = 0;
  if (s.charCodeAt(i) === 46) {
    const start = ++i;
    let scale = 100;
    for (let c = s.charCodeAt(i); c >= 48 && c <= 57; c = s.charCodeAt(++i)) {
      frac += (c - 48) * scale;
      scale = scale === 1 ? 0 : scale / 10;
    }
    if (i === start) return NaN;
  }
  let off: number;
  const sign = s.charCodeAt(i);
  if ((sign | 0x20) === 122) {
    if (i + 1 !== len) return NaN;
    off = 0;
  } else if (sign === 43 || sign === 45) {
    if (i + 6 !== len || s.charCodeAt(i + 3) !== 58) return NaN;
    const oh = digits(s, i + 1, 2);
    const om = digits(s, i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
    off = (oh * 60 + om) * (sign === 43 ? 1 : -1);
  } else return NaN;
  return daysFromCivil(y, mo, d) * DAY + ((h * 60 + mi - off) * 60 + se) * 1000 + frac;
}

/** Days since 1970-01-01, proleptic Gregorian (H. Hinnant); Date.UTC would map years 0-99 to the 1900s. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

/** The type-specific fields of a known type are as section 2 says (the envelope is checked apart). */
function fieldsValid(type: string, o: Raw): boolean {
  switch (type) {
    case 'login.succeeded':
      return text(o.sessionId, 256) && text(o.ip, 256) && text(o.deviceId, 256);
    case 'login.failed':
      return text(o.ip, 256) && text(o.deviceId, 256) && optReason(o.reason);
    case 'mfa.passed':
    case 'mfa.failed':
      return text(o.sessionId, 256) && FACTORS.has(o.factor);
    case 'mfa.enrolled':
      return FACTORS.has(o.factor);
    case 'mfa.reset':
      return o.factor === undefined || FACTORS.has(o.factor);
    case 'address.whitelisted':
      return text(o.address, 256) && typeof o.asset === 'string' && ASSET.test(o.asset);
    case 'withdrawal.requested':
    case 'withdrawal.approved': {
      const ok =
        text(o.withdrawalId, 256) &&
        text(o.sessionId, 256) &&
        typeof o.asset === 'string' &&
        ASSET.test(o.asset) &&
        typeof o.amount === 'string' &&
        o.amount.length <= 80 &&
        AMOUNT.test(o.amount) &&
        typeof o.amountUsd === 'number' &&
        o.amountUsd >= 0 &&
        o.amountUsd <= 1e11 &&
        text(o.address, 256);
      if (!ok || type === 'withdrawal.requested') return ok;
      const a = o.approval as { factors?: unknown; mfaVerified?: unknown } | null | undefined;
      if (typeof a !== 'object' || a === null || Array.isArray(a)) return false;
      if (typeof a.mfaVerified !== 'boolean' || !Array.isArray(a.factors) || a.factors.length > 32)
        return false;
      for (const f of a.factors as unknown[]) if (!text(f, 64)) return false;
      return true;
    }
    case 'withdrawal.completed':
      return text(o.withdrawalId, 256);
    case 'withdrawal.rejected':
      return text(o.withdrawalId, 256) && optReason(o.reason);
    default:
      return false;
  }
}

// --- Addresses and second factors, as libs/rules/address.ts and second-factor.ts read the contract -----

const EVM = /^0x[0-9a-fA-F]{40}$/;
const BECH32 = /^[a-zA-Z]{1,83}1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,}$/;
const CASHADDR = /^(?:(?:bitcoincash|bchtest|bchreg):)?[qpQP][02-9ac-hj-np-zAC-HJ-NP-Z]{41}$/;
const singleCase = (s: string) => s === s.toLowerCase() || s === s.toUpperCase();

/** The address as its chain compares it: EVM and bech32 lower case, CashAddr without prefix, else exact. */
export function normalise(address: string): string {
  const a = address.trim();
  if (EVM.test(a)) return a.toLowerCase();
  if (CASHADDR.test(a) && singleCase(a)) {
    const lower = a.toLowerCase();
    const colon = lower.indexOf(':');
    return colon >= 0 ? lower.slice(colon + 1) : lower;
  }
  if (BECH32.test(a) && singleCase(a)) return a.toLowerCase();
  return a;
}

const NOT_SECOND: ReadonlySet<string> = new Set(['password', 'pin', 'none', '']);

/** mfa-missing by the approval's own claims: mfaVerified false, or no factor but password/pin/none. */
function claimsMissing(approval: { factors: string[]; mfaVerified: boolean }): boolean {
  if (!approval.mfaVerified) return true;
  for (const f of approval.factors) if (!NOT_SECOND.has(f.trim().toLowerCase())) return false;
  return true;
}

export function loadSanctions(dir: string): Set<string> {
  const out = new Set<string>();
  for (const name of fs.readdirSync(dir)) {
    if (!/^sanctioned_addresses_[A-Za-z0-9]+\.txt$/.test(name)) continue;
    for (const raw of fs.readFileSync(path.join(dir, name), 'utf8').split(/\r?\n/)) {
      const line = raw.trim();
      if (line !== '' && !line.startsWith('#')) out.add(normalise(line));
    }
  }
  if (out.size === 0) throw new Error(`${dir} holds no sanctioned_addresses_<TICKER>.txt`);
  return out;
}

function defaultSanctionsDir(): string {
  const env = process.env.BULWARK_SANCTIONS_DIR;
  if (env !== undefined && env !== '') return path.resolve(env);
  // The repository root is the folder with package.json, from bench/ (ts) or dist/bench/ (js).
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'data', 'ofac-sanctioned-addresses');
}

// --- Per-user state --------------------------------------------------------------------------------------

/** Everything kept about one user; the rarer facts are allocated on first use. */
class User {
  /** eventId -> occurredAt ms (dedup). */
  events = new Map<string, number>();
  // A user has a handful of sessions: flat parallel arrays scanned from the end allocate far less than a
  // Map and an array per session, and garbage collection is most of what this reading costs.
  /** mfa.passed: times (ascending) and their sessionIds. */
  mfaAt: number[] = [];
  mfaSession: string[] = [];
  /** Successful logins in arrival order: time, sessionId, deviceId. */
  loginAt: number[] = [];
  loginSession: string[] = [];
  loginDevice: string[] = [];
  /** deviceId -> times of every successful login from it. */
  devices = new Map<string, number[]>();
  /** normalised address -> times it was whitelisted. */
  whitelist: Map<string, number[]> | null = null;
  /** Times of mfa.reset / mfa.enrolled. */
  changes: number[] | null = null;
  /** withdrawalId -> its first approval's time and amountUsd (velocity counts each withdrawal once, there). */
  velocity: Map<string, { at: number; usd: number }> | null = null;
  /** `${rule index}:${withdrawalId}` -> decision time: one flag per rule and withdrawal. */
  raised: Map<string, number> | null = null;
  seen = 0;
  constructor(readonly userId: string) {}
}

/** An approval waiting for event time to pass occurredAt + grace; `rules` is a bit set of RULE_IDS. */
interface Pending {
  due: number;
  seq: number;
  user: User;
  t: number;
  sessionId: string;
  withdrawalId: string;
  eventId: string;
  occurredAt: string;
  rules: number;
}

const MFA_MISSING = 0;
const COOLDOWN = 1;
const MFA_RESET = 2;
const NEW_DEVICE = 3;
const VELOCITY = 4;
const SANCTIONED = 5;

/** A binary min-heap on (due, seq): decisions close in due order, ties in arrival order. */
class DueHeap {
  private readonly a: Pending[] = [];
  get size(): number {
    return this.a.length;
  }
  peekDue(): number {
    return this.a.length === 0 ? Infinity : this.a[0]!.due;
  }
  private less(x: Pending, y: Pending): boolean {
    return x.due < y.due || (x.due === y.due && x.seq < y.seq);
  }
  push(p: Pending): void {
    const a = this.a;
    let i = a.length;
    a.push(p);
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.less(p, a[up]!)) break;
      a[i] = a[up]!;
      i = up;
    }
    a[i] = p;
  }
  pop(): Pending {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && this.less(a[r]!, a[l]!) ? r : l;
        if (!this.less(a[c]!, last)) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

/** Trim a user's state one event in this many (it only bounds memory; rules read explicit ranges). */
const TRIM_EVERY = 16;
/** How long each fact must be kept: the rule's reach + grace, + maxSkew for auth facts read by approvals. */
const KEEP_MFA = D.mfaLookbackMs + D.graceMs + D.maxSkewMs;
const KEEP_CHANGES = D.mfaChangeWindowMs + D.graceMs + D.maxSkewMs;
const KEEP_SESSIONS = D.loginWithinMs + D.graceMs + D.maxSkewMs;
const KEEP_DEVICES = D.deviceUnseenMs + D.loginWithinMs + D.graceMs + D.maxSkewMs;
const KEEP_WHITELIST = D.cooldownMs + D.graceMs + D.maxSkewMs;
// Velocity also remembers which withdrawals it counted: a re-approval within the dedup horizon is the same one.
const KEEP_VELOCITY = Math.max(D.velocityWindowMs + D.graceMs + D.maxSkewMs, D.dedupHorizonMs);

function dropOld(list: number[], cut: number): number[] {
  let n = 0;
  while (n < list.length && list[n]! < cut) n++;
  return n === 0 ? list : list.slice(n);
}

function trimMap(map: Map<string, number[]>, cut: number): void {
  for (const [k, list] of map) {
    if (list[list.length - 1]! < cut) map.delete(k);
    else if (list[0]! < cut) map.set(k, dropOld(list, cut));
  }
}

/** Drops what no decision at or after `at` can read under the default retentions. */
function trim(u: User, at: number): void {
  const dedupCut = at - D.dedupHorizonMs;
  for (const [id, t] of u.events) if (t < dedupCut) u.events.delete(id);
  if (u.raised) for (const [id, t] of u.raised) if (t < dedupCut) u.raised.delete(id);
  const mfaCut = at - KEEP_MFA;
  let n = 0;
  while (n < u.mfaAt.length && u.mfaAt[n]! < mfaCut) n++;
  if (n > 0) {
    u.mfaAt = u.mfaAt.slice(n);
    u.mfaSession = u.mfaSession.slice(n);
  }
  trimMap(u.devices, at - KEEP_DEVICES);
  const loginCut = at - KEEP_SESSIONS;
  if (u.loginAt.some((x) => x < loginCut)) {
    const keep = u.loginAt.map((x) => x >= loginCut);
    u.loginAt = u.loginAt.filter((_, i) => keep[i]);
    u.loginSession = u.loginSession.filter((_, i) => keep[i]);
    u.loginDevice = u.loginDevice.filter((_, i) => keep[i]);
  }
  if (u.whitelist) trimMap(u.whitelist, at - KEEP_WHITELIST);
  if (u.changes) u.changes = dropOld(u.changes, at - KEEP_CHANGES);
  if (u.velocity) for (const [id, v] of u.velocity) if (v.at < at - KEEP_VELOCITY) u.velocity.delete(id);
}

/** Inserts `t` into an ascending list (events mostly arrive in time order: usually a push). */
function insertTime(list: number[], t: number): void {
  let i = list.length;
  while (i > 0 && list[i - 1]! > t) i--;
  if (i === list.length) list.push(t);
  else list.splice(i, 0, t);
}

/** True when some time in the ascending `list` lies in [lo, hi]. */
function anyIn(list: number[] | undefined, lo: number, hi: number): boolean {
  if (list === undefined) return false;
  for (let i = list.length - 1; i >= 0; i--) {
    const x = list[i]!;
    if (x <= hi) return x >= lo;
  }
  return false;
}

/** True when an mfa.passed of `sessionId` lies in [lo, hi]. */
function sessionMfaIn(u: User, sessionId: string, lo: number, hi: number): boolean {
  for (let i = u.mfaAt.length - 1; i >= 0; i--) {
    const x = u.mfaAt[i]!;
    if (x < lo) return false;
    if (x <= hi && u.mfaSession[i] === sessionId) return true;
  }
  return false;
}

// --- The reading -----------------------------------------------------------------------------------------

/** Runs the reading over lines fed one by one; `finish` closes what still waits and returns the result. */
export class ReferenceReader {
  private readonly users = new Map<string, User>();
  private readonly heap = new DueHeap();
  private seq = 0;
  private watermark = -Infinity;
  private readonly aheadLimit: number;
  private readonly sanctions: Set<string>;
  private readonly t0: bigint;
  readonly events = { total: 0, valid: 0, invalid: 0, ignored: 0, duplicate: 0 };
  readonly flagCounts: Record<RuleId, number> = {
    'mfa-missing': 0,
    'new-address-cooldown': 0,
    'mfa-reset-withdrawal': 0,
    'new-device-withdrawal': 0,
    velocity: 0,
    'sanctioned-destination': 0,
  };
  readonly flagList: ReferenceFlag[] = [];
  lines = 0;

  constructor(opts: ReferenceOptions = {}) {
    this.sanctions = loadSanctions(opts.sanctionsDir ?? defaultSanctionsDir());
    this.aheadLimit = (opts.wallClockMs ?? Date.now()) + D.maxAheadMs;
    this.t0 = process.hrtime.bigint();
  }

  line(raw: string): void {
    this.lines++;
    if (raw.trim() === '') return;
    this.events.total++;
    // Over 64 KiB of UTF-8; a UTF-16 unit is 1-3 bytes, so the exact count is rarely needed.
    if (raw.length * 3 > D.maxBytes && Buffer.byteLength(raw) > D.maxBytes) return this.invalid();
    if (!(raw as unknown as { isWellFormed(): boolean }).isWellFormed()) return this.invalid();
    let json: unknown;
    try {
      json = JSON.parse(raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw);
    } catch {
      return this.invalid();
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return this.invalid();
    const o = json as Raw;
    const type = o.type;
    if (!text(o.eventId, 128) || !text(type, 128) || !text(o.userId, 128) || typeof o.occurredAt !== 'string')
      return this.invalid();
    const t = rfc3339Ms(o.occurredAt);
    if (Number.isNaN(t)) return this.invalid();
    if (!KNOWN_TYPES.has(type as string)) {
      this.events.ignored++;
      return;
    }
    if (!fieldsValid(type as string, o)) return this.invalid();
    // Section 3/4: an absurd date is refused before it can move event time (ahead of the wall clock, or
    // far behind the log's own newest event time).
    if (t > this.aheadLimit || t < this.watermark - D.maxBehindMs) return this.invalid();

    if (t > this.watermark) {
      // Event time passes the due time of waiting decisions: they close before this event applies.
      while (this.heap.peekDue() < t) this.close(this.heap.pop());
      this.watermark = t;
    }
    const userId = o.userId as string;
    let u = this.users.get(userId);
    if (u === undefined) this.users.set(userId, (u = new User(userId)));
    const eventId = o.eventId as string;
    if (u.events.has(eventId)) {
      this.events.duplicate++;
      return;
    }
    this.events.valid++;
    if (u.seen++ % TRIM_EVERY === 0) trim(u, t);
    u.events.set(eventId, t);

    switch (type) {
      case 'mfa.passed': {
        // Kept in time order (a late MFA goes before newer ones).
        let i = u.mfaAt.length;
        while (i > 0 && u.mfaAt[i - 1]! > t) i--;
        u.mfaAt.splice(i, 0, t);
        u.mfaSession.splice(i, 0, o.sessionId as string);
        break;
      }
      case 'login.succeeded': {
        const deviceId = o.deviceId as string;
        const seen = u.devices.get(deviceId);
        if (seen === undefined) u.devices.set(deviceId, [t]);
        else insertTime(seen, t);
        u.loginAt.push(t);
        u.loginSession.push(o.sessionId as string);
        u.loginDevice.push(deviceId);
        break;
      }
      case 'mfa.reset':
      case 'mfa.enrolled':
        if (u.changes === null) u.changes = [t];
        else insertTime(u.changes, t);
        break;
      case 'address.whitelisted': {
        const a = normalise(o.address as string);
        u.whitelist ??= new Map();
        const list = u.whitelist.get(a);
        if (list === undefined) u.whitelist.set(a, [t]);
        else insertTime(list, t);
        break;
      }
      case 'withdrawal.approved':
        this.approve(u, o, t);
        break;
      default:
        break;
    }
  }

  private invalid(): void {
    this.events.invalid++;
  }

  /** The rules that read the approval's own stream decide now; the auth-stream ones wait for grace. */
  private approve(u: User, o: Raw, t: number): void {
    const withdrawalId = o.withdrawalId as string;
    const eventId = o.eventId as string;
    const occurredAt = o.occurredAt as string;
    const approval = o.approval as { factors: string[]; mfaVerified: boolean };
    const address = normalise(o.address as string);
    const amountUsd = o.amountUsd as number;
    let waiting = (1 << MFA_RESET) | (1 << NEW_DEVICE);

    if (claimsMissing(approval)) this.raise(u, MFA_MISSING, withdrawalId, eventId, occurredAt, t);
    else waiting |= 1 << MFA_MISSING;

    // new-address-cooldown: whitelisted w with 0 <= t - w < 24 h.
    if (u.whitelist !== null && anyIn(u.whitelist.get(address), t - D.cooldownMs + 1, t))
      this.raise(u, COOLDOWN, withdrawalId, eventId, occurredAt, t);

    // velocity: withdrawals whose first approval lies in (t - 1 h, t], this one included, each once;
    // strictly more than 5 of them or than 100,000 USD.
    u.velocity ??= new Map();
    if (!u.velocity.has(withdrawalId)) u.velocity.set(withdrawalId, { at: t, usd: amountUsd });
    let count = 0;
    let usd = 0;
    const lo = t - D.velocityWindowMs;
    for (const v of u.velocity.values())
      if (v.at > lo && v.at <= t) {
        count++;
        usd += v.usd;
      }
    if (count > D.velocityMaxCount || usd > D.velocityMaxUsd)
      this.raise(u, VELOCITY, withdrawalId, eventId, occurredAt, t);

    if (this.sanctions.has(address)) this.raise(u, SANCTIONED, withdrawalId, eventId, occurredAt, t);

    this.heap.push({
      due: t + D.graceMs,
      seq: this.seq++,
      user: u,
      t,
      sessionId: o.sessionId as string,
      withdrawalId,
      eventId,
      occurredAt,
      rules: waiting,
    });
  }

  /** The auth-stream rules, once event time has passed occurredAt + grace (late auth events counted). */
  private close(p: Pending): void {
    const u = p.user;
    const t = p.t;
    // mfa-missing: an mfa.passed of the session with t - 10 min <= m <= t + grace.
    if (p.rules & (1 << MFA_MISSING) && !sessionMfaIn(u, p.sessionId, t - D.mfaLookbackMs, t + D.graceMs))
      this.raise(u, MFA_MISSING, p.withdrawalId, p.eventId, p.occurredAt, p.due);
    // mfa-reset-withdrawal: a reset or enrolment c with 0 <= t - c < 24 h.
    if (u.changes !== null && anyIn(u.changes, t - D.mfaChangeWindowMs + 1, t))
      this.raise(u, MFA_RESET, p.withdrawalId, p.eventId, p.occurredAt, p.due);
    // new-device-withdrawal: the session's login L with 0 <= t - L < 30 min, from a device with no
    // successful login of this user in [L - 90 d, L).
    // The session's newest login is the one an approval in it follows.
    let login = -1;
    for (let i = 0; i < u.loginAt.length; i++)
      if (u.loginSession[i] === p.sessionId && (login < 0 || u.loginAt[i]! > u.loginAt[login]!)) login = i;
    const loginAt = login < 0 ? Infinity : u.loginAt[login]!;
    if (loginAt <= t && t - loginAt < D.loginWithinMs) {
      const before = u.devices.get(u.loginDevice[login]!);
      if (!anyIn(before, loginAt - D.deviceUnseenMs, loginAt - 1))
        this.raise(u, NEW_DEVICE, p.withdrawalId, p.eventId, p.occurredAt, p.due);
    }
  }

  private raise(
    u: User,
    rule: number,
    withdrawalId: string,
    eventId: string,
    occurredAt: string,
    at: number,
  ): void {
    const key = `${rule}:${withdrawalId}`;
    u.raised ??= new Map();
    if (u.raised.has(key)) return;
    u.raised.set(key, at);
    const ruleId = RULE_IDS[rule]!;
    this.flagCounts[ruleId]++;
    this.flagList.push({ ruleId, userId: u.userId, withdrawalId, eventId, occurredAt, raisedAtMs: at });
  }

  /** End of input: nothing earlier can still arrive, so every waiting decision closes. */
  finish(): ReferenceResult {
    while (this.heap.size > 0) this.close(this.heap.pop());
    const seconds = Number(process.hrtime.bigint() - this.t0) / 1e9;
    return {
      lines: this.lines,
      events: { ...this.events },
      flags: { ...this.flagCounts },
      flagList: this.flagList,
      seconds,
      linesPerSec: this.lines / seconds,
    };
  }
}

const stripCr = (line: string) => (line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line);

/**
 * Feeds a file's lines to `onLine`, read in 4 MiB chunks and cut at '\n' (a trailing '\r' dropped);
 * synchronous, since nothing else runs meanwhile.
 */
export function forEachLine(file: string, onLine: (line: string) => void): void {
  const fd = fs.openSync(file, 'r');
  try {
    let buf = Buffer.allocUnsafe(4 << 20);
    let have = 0;
    for (;;) {
      if (have === buf.length) {
        // One line longer than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const n = fs.readSync(fd, buf, have, buf.length - have, null);
      const end = have + n;
      if (n === 0) {
        // End of file: what is left is one last line without its newline.
        if (end > 0) onLine(stripCr(buf.toString('utf8', 0, end)));
        return;
      }
      // Cut at the last newline so no line (nor a UTF-8 sequence) is split across chunks.
      const last = buf.lastIndexOf(10, end - 1);
      if (last < 0) {
        have = end;
        continue;
      }
      const chunk = buf.toString('utf8', 0, last + 1);
      let from = 0;
      for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', from)) {
        onLine(stripCr(chunk.slice(from, nl)));
        from = nl + 1;
      }
      buf.copy(buf, 0, last + 1, end);
      have = end - last - 1;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The reading of a whole log: a file path, or the lines themselves. */
export function referenceReplay(
  input: string | Iterable<string>,
  opts: ReferenceOptions = {},
): ReferenceResult {
  const reader = new ReferenceReader(opts);
  if (typeof input === 'string') forEachLine(input, (l) => reader.line(l));
  else for (const l of input) reader.line(l);
  return reader.finish();
}

function main(): void {
  const argv = process.argv.slice(2);
  const file = argv.find((a, i) => !a.startsWith('--') && argv[i - 1] !== '--out');
  const outAt = argv.indexOf('--out');
  const out = outAt >= 0 ? argv[outAt + 1] : undefined;
  if (file === undefined || (outAt >= 0 && out === undefined)) {
    process.stderr.write('usage: node dist/bench/reference.js FILE [--out RESULT.json]\n');
    process.exit(2);
  }
  const result = referenceReplay(file);
  if (out !== undefined) fs.writeFileSync(out, JSON.stringify(result));
  const { flagList: _flags, ...summary } = result;
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

if (require.main === module) main();
