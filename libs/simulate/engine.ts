import {
  ASSETS,
  ASSET_WEIGHTS,
  ASSET_WEIGHT_TOTAL,
  MFA_FACTORS,
  MFA_FACTOR_WEIGHTS,
  MFA_FACTOR_WEIGHT_TOTAL,
  assetByTicker,
  attackerIp,
  quote,
  userIp,
  type AssetSpec,
} from './catalog';
import { MinHeap, type HeapItem } from './heap';
import { badLine } from './noise';
import type { ResolvedOptions } from './options';
import { Rng } from './rng';
import * as wire from './wire';

// Globals are read once into module constants: inside a vm context (Jest runs every test file in one)
// each global lookup goes through an interceptor, which made the hot paths several times slower.
const { exp, floor, log, max, min } = Math;

/** What the generator knows about a line; never part of the line itself. */
export interface SimulatedEventMeta {
  /** True for every event the attacker caused (login, whitelisting, withdrawal lifecycle). */
  attacked: boolean;
  withdrawalId?: string;
  /** `event` is a valid first delivery; `duplicate` repeats an earlier line byte for byte. */
  kind: 'event' | 'invalid' | 'duplicate';
  type?: string;
  userId?: string;
  eventId?: string;
  /** Simulated arrival time (ms since epoch): lines come out in this order. */
  arrivalMs: number;
  occurredMs?: number;
  /** On a withdrawal.approved whose session's mfa.passed arrives after it, and on that mfa.passed. */
  lateMfa?: boolean;
  /** On attacked withdrawal events: the destination was whitelisted minutes before. */
  freshAddress?: boolean;
  /** On attacked withdrawal.approved: what the approval claimed. */
  mfaVerified?: boolean;
}

export interface SimulatedLine {
  line: string;
  meta: SimulatedEventMeta;
}

/** Live counters of one run; `peakBuffered` is the memory bound the streaming design promises. */
export interface SimulationStats {
  lines: number;
  events: number;
  invalidLines: number;
  duplicateLines: number;
  /** Most events ever held back waiting for their arrival time. */
  peakBuffered: number;
}

const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

// History sits far enough back that nothing in it can trip a 24 h rule, and well inside the 90 days the
// new-device rule remembers.
const HISTORY_MIN_AGE = 25 * HOUR;
const HISTORY_MAX_AGE = 14 * DAY;
// A whitelisted address, or a reset/enrolled MFA, waits this long before any ordinary withdrawal: the
// rules look back 24 h, the extra hour absorbs arrival jitter.
const COOLDOWN = 25 * HOUR;
// Ordinary users stay clearly under the velocity rule (more than 5 or 100,000 USD per sliding hour).
const VELOCITY_MAX_COUNT = 4;
const VELOCITY_MAX_USD = 80_000;
const ORDINARY_MIN_USD = 10;
const ORDINARY_MAX_USD = 25_000;
// A late mfa.passed must reach a reader before its event time is 20 s old, well inside the 30 s grace.
const LATE_MFA_MAX_LAG = 19_900;
const PER_SESSION_TWO_WITHDRAWALS = 0.1;
const NEW_DEVICE_SHARE = 0.03;
const MFA_RESET_SHARE = 0.002;
const NEWCOMER_SHARE = 0.06;
const ATTACK_MFA_UNVERIFIED_SHARE = 0.05;

const STREAM_USER = 1;
const STREAM_ATTACK = 2;
const STREAM_NOISE = 3;

const AUTH = 0;
const WALLET = 1;
const RAW = 2;
type Topic = typeof AUTH | typeof WALLET;

interface Address {
  asset: AssetSpec;
  address: string;
  usableFrom: number;
}

interface HistorySession {
  t: number;
  device: string;
  addresses: Address[];
}

interface UserState {
  userId: string;
  rng: Rng;
  devices: string[];
  homeIp: string;
  mobileIp: string;
  factor: string;
  addresses: Address[];
  history: HistorySession[];
  nextHistory: number;
  firstLive: number;
  meanGapMs: number;
  pWithdraw: number;
  newcomerPending: boolean;
  noWithdrawUntil: number;
  recentT: number[];
  recentUsd: number[];
  /** The attack's approval on this account, counted against the user's own velocity. */
  attackAt: number;
  attackUsd: number;
  lastArrival: [number, number];
}

interface AttackPlan {
  userIndex: number;
  withdrawalId: string;
  loginAt: number;
  whitelistAt: number | null;
  requestAt: number;
  approveAt: number;
  completeAt: number;
  asset: AssetSpec;
  amountUsd: number;
  address: string;
  mfaVerified: boolean;
  ip: string;
  device: string;
  lastArrival: [number, number];
}

interface Actor extends HeapItem {
  user: UserState | null;
  attack: AttackPlan | null;
}

/** An event on its way out; the same object waits in the arrival queue (`t` is its arrival time), which
 * halves the allocations per line. */
interface Draft extends HeapItem {
  occ: number;
  topic: Topic | typeof RAW;
  /** The JSON line after its opening brace, without the eventId (given on release, in arrival order);
   * for RAW the whole line. */
  body: string;
  meta: SimulatedEventMeta;
  /** For a late mfa.passed: the approval it must arrive after. */
  lateOf: Draft | null;
}

const iso = wire.iso;

function userIdOf(index: number): string {
  return `u-${String(index + 1).padStart(6, '0')}`;
}

/** Network and broker delays: mostly sub-second with a tail of a few seconds. */
function arrivalDelay(rng: Rng): number {
  return rng.chance(0.9) ? rng.int(5, 400) : rng.int(400, 3_000);
}

function ordinaryUsd(rng: Rng): number {
  // Log-normal around 400 USD: most withdrawals are small, a few are large.
  const usd = exp(log(400) + 1.3 * rng.normal());
  return min(ORDINARY_MAX_USD, max(ORDINARY_MIN_USD, usd));
}

/**
 * One pass of the simulation. Users (and the attacker, one actor per victim) are actors in a priority queue
 * by the time of their next session; a session's events wait in a second queue by arrival time, and
 * everything that arrives no later than the next session's start is released. Nothing can ever arrive
 * before its own session starts, so memory holds the users plus the few minutes of events in flight,
 * however long the span.
 */
export class SimulationRun {
  readonly stats: SimulationStats;
  private readonly attackPlans: readonly AttackPlan[];

  private readonly o: ResolvedOptions;
  private readonly users: UserState[] = [];
  private readonly actors = new MinHeap<Actor>();
  private readonly out = new MinHeap<Draft>();
  private readonly noise: Rng;
  /** Share of withdrawal sessions made late so that `lateMfaShare` of withdrawals are (late sessions carry
   * one withdrawal, the others 1.1 on average). */
  private readonly lateSessionShare: number;
  private seq = 0;
  private authSeq = 0;
  private walletSeq = 0;
  private badSeq = 0;
  private sessionSeq = 0;
  private deviceSeq = 0;
  private withdrawalSeq = 0;

  /** `stats`, when given, is updated in place as lines are produced. */
  constructor(o: ResolvedOptions, stats?: SimulationStats) {
    this.o = o;
    this.stats = Object.assign(stats ?? ({} as SimulationStats), {
      lines: 0,
      events: 0,
      invalidLines: 0,
      duplicateLines: 0,
      peakBuffered: 0,
    });
    this.noise = new Rng(o.seed, STREAM_NOISE);
    const s = o.lateMfaShare;
    this.lateSessionShare = min(
      1,
      ((1 + PER_SESSION_TWO_WITHDRAWALS) * s) / (1 + PER_SESSION_TWO_WITHDRAWALS * s),
    );
    for (let i = 0; i < o.users; i++) this.users.push(this.createUser(i));
    this.attackPlans = this.planAttack();
    for (const u of this.users) {
      const first = u.history[0]?.t ?? u.firstLive;
      if (first < o.endMs) this.actors.push({ t: first, seq: ++this.seq, user: u, attack: null });
    }
    for (const a of this.attackPlans)
      this.actors.push({ t: a.loginAt, seq: ++this.seq, user: null, attack: a });
  }

  /**
   * Release is inlined rather than delegated with `yield*`: a nested generator per session cost a fifth of
   * the run time.
   */
  *run(): Generator<SimulatedLine> {
    const actors = this.actors;
    const out = this.out;
    const o = this.o;
    const stats = this.stats;
    for (;;) {
      const a = actors.peek();
      // Nothing generated from now on can arrive before the next actor's time, so everything up to it is final.
      const limit = a === undefined ? Infinity : a.t;
      for (let p = out.peek(); p !== undefined && p.t <= limit; p = out.peek()) {
        out.pop();
        stats.lines++;
        if (p.topic === RAW) {
          stats.duplicateLines++;
          yield { line: p.body, meta: p.meta };
          continue;
        }
        const eventId = p.topic === AUTH ? `a-${++this.authSeq}` : `w-${++this.walletSeq}`;
        const line = `{"eventId":"${eventId}",${p.body}`;
        const meta = p.meta;
        meta.eventId = eventId;
        stats.events++;
        if (o.duplicateShare > 0 && this.noise.chance(o.duplicateShare)) {
          const at = p.t + this.noise.int(SECOND, 2 * MINUTE);
          this.buffer({
            t: at,
            seq: ++this.seq,
            occ: p.occ,
            body: line,
            topic: RAW,
            lateOf: null,
            meta: { ...meta, kind: 'duplicate', arrivalMs: at },
          });
        }
        yield { line, meta };
        if (o.invalidShare > 0 && this.noise.chance(o.invalidShare)) {
          stats.lines++;
          stats.invalidLines++;
          const bad = badLine(this.noise, ++this.badSeq, meta.userId ?? userIdOf(0), iso(p.t));
          yield { line: bad, meta: { attacked: false, kind: 'invalid', arrivalMs: p.t } };
        }
      }
      if (a === undefined) return;
      actors.pop();
      const next = a.user !== null ? this.stepUser(a.user, a.t) : this.stepAttack(a.attack!);
      if (next !== null && next < o.endMs) {
        a.t = next;
        a.seq = ++this.seq;
        actors.push(a);
      }
    }
  }

  private buffer(p: Draft): void {
    this.out.push(p);
    if (this.out.size > this.stats.peakBuffered) this.stats.peakBuffered = this.out.size;
  }

  private createUser(index: number): UserState {
    const o = this.o;
    const r = new Rng(o.seed, STREAM_USER, index);
    // Heterogeneous activity (mean about 1) so the log has quiet users and busy ones.
    const mult = min(5, max(0.1, exp(0.6 * r.normal() - 0.18)));
    const perDay = o.withdrawalsPerUserPerDay * mult;
    const q = this.lateSessionShare;
    const perWithdrawalSession = (1 - NEW_DEVICE_SHARE) * ((1 - q) * (1 + PER_SESSION_TWO_WITHDRAWALS) + q);
    const sessionsPerDay = max(0.5, perDay / (0.6 * perWithdrawalSession));
    const devices = [`d-${++this.deviceSeq}`];
    if (r.chance(0.4)) devices.push(`d-${++this.deviceSeq}`);
    const newcomer = r.chance(NEWCOMER_SHARE);
    const addresses: Address[] = [];
    if (!newcomer) {
      const n = r.weighted([55, 30, 15], 100) + 1;
      for (let k = 0; k < n; k++) addresses.push(this.newAddress(r));
    }
    const history: HistorySession[] = devices
      .map((device) => ({
        t: o.startMs - r.int(HISTORY_MIN_AGE, HISTORY_MAX_AGE),
        device,
        addresses: [] as Address[],
      }))
      .sort((a, b) => a.t - b.t);
    for (const a of addresses) r.pick(history).addresses.push(a);
    const span = o.endMs - o.startMs;
    const meanGapMs = DAY / sessionsPerDay;
    return {
      userId: userIdOf(index),
      rng: r,
      devices,
      homeIp: userIp(r),
      mobileIp: userIp(r),
      factor: MFA_FACTORS[r.weighted(MFA_FACTOR_WEIGHTS, MFA_FACTOR_WEIGHT_TOTAL)] ?? 'totp',
      addresses,
      history,
      nextHistory: 0,
      // A newcomer's first session whitelists its first address; it can withdraw 25 h later.
      firstLive: o.startMs + (newcomer ? r.int(0, min(12 * HOUR, floor(span / 2))) : floor(r.exp(meanGapMs))),
      meanGapMs,
      pWithdraw: min(1, perDay / (sessionsPerDay * perWithdrawalSession)),
      newcomerPending: newcomer,
      noWithdrawUntil: -Infinity,
      recentT: [],
      recentUsd: [],
      attackAt: NaN,
      attackUsd: 0,
      lastArrival: [-Infinity, -Infinity],
    };
  }

  private newAddress(r: Rng): Address {
    const asset = ASSETS[r.weighted(ASSET_WEIGHTS, ASSET_WEIGHT_TOTAL)] ?? ASSETS[0]!;
    return { asset, address: asset.address(r), usableFrom: Infinity };
  }

  private planAttack(): AttackPlan[] {
    const a = this.o.attack;
    if (a === null || a.users === 0) return [];
    const r = new Rng(this.o.seed, STREAM_ATTACK);
    const ips = Array.from({ length: 8 }, () => attackerIp(r));
    // The attacker's few machines get ordinary-looking device ids: only behaviour may give them away.
    const devices = Array.from({ length: 5 }, () => `d-${++this.deviceSeq}`);
    const eth = assetByTicker('ETH');
    const btc = assetByTicker('BTC');
    const drop = {
      ETH: Array.from({ length: 12 }, () => eth.address(r)),
      BTC: Array.from({ length: 6 }, () => btc.address(r)),
    };
    // Partial Fisher-Yates: distinct victims without rejection sampling.
    const order = new Uint32Array(this.o.users);
    for (let i = 0; i < order.length; i++) order[i] = i;
    const plans: AttackPlan[] = [];
    const d = a.durationMs;
    for (let k = 0; k < a.users; k++) {
      const j = k + floor(r.float() * (order.length - k));
      const victim = order[j]!;
      order[j] = order[k]!;
      order[k] = victim;
      const fresh = r.chance(a.freshAddressShare);
      const loginAt = a.atMs + floor(r.range(0, 0.4) * d);
      const whitelistAt = fresh ? loginAt + floor(r.range(0.01, 0.05) * d) : null;
      const requestAt =
        (whitelistAt ?? loginAt) + floor((fresh ? r.range(0.05, 0.3) : r.range(0.01, 0.1)) * d);
      const approveAt = min(requestAt + r.int(300, 2_000), a.endMs - 1);
      const asset = r.chance(0.65) ? eth : btc;
      const plan: AttackPlan = {
        userIndex: victim,
        withdrawalId: `wd-atk-${k + 1}`,
        loginAt,
        whitelistAt,
        requestAt,
        approveAt,
        completeAt: approveAt + r.int(30 * SECOND, 5 * MINUTE),
        asset,
        amountUsd: exp(r.range(log(2_000), log(60_000))),
        address: r.pick(drop[asset.ticker as 'ETH' | 'BTC']),
        mfaVerified: !r.chance(ATTACK_MFA_UNVERIFIED_SHARE),
        ip: r.pick(ips),
        device: r.pick(devices),
        lastArrival: [-Infinity, -Infinity],
      };
      const u = this.users[victim]!;
      u.attackAt = approveAt;
      u.attackUsd = quote(asset, plan.amountUsd).amountUsd;
      plans.push(plan);
    }
    return plans;
  }

  private stepUser(u: UserState, t: number): number | null {
    const h = u.history[u.nextHistory];
    if (h !== undefined) {
      u.nextHistory++;
      this.historySession(u, h);
      return u.history[u.nextHistory]?.t ?? u.firstLive;
    }
    const last = this.liveSession(u, t);
    return last + max(MINUTE, floor(u.rng.exp(u.meanGapMs)));
  }

  private draft(
    occ: number,
    topic: Topic,
    type: string,
    body: string,
    userId: string,
    attacked = false,
  ): Draft {
    return {
      t: 0,
      seq: 0,
      occ,
      topic,
      body,
      lateOf: null,
      // Every field is present from the start: adding one later would give each event's meta a second
      // allocation (an out-of-object property store).
      meta: {
        attacked,
        kind: 'event',
        type,
        userId,
        eventId: undefined,
        withdrawalId: undefined,
        arrivalMs: 0,
        occurredMs: occ,
        lateMfa: undefined,
        freshAddress: undefined,
        mfaVerified: undefined,
      },
    };
  }

  private withdrawalDraft(
    occ: number,
    type: string,
    body: string,
    userId: string,
    withdrawalId: string,
    attacked = false,
  ): Draft {
    const d = this.draft(occ, WALLET, type, body, userId, attacked);
    d.meta.withdrawalId = withdrawalId;
    return d;
  }

  private mfaPassed(at: number, userId: string, sessionId: string, factor: string): Draft {
    return this.draft(
      at,
      AUTH,
      'mfa.passed',
      wire.mfaSession('mfa.passed', at, userId, sessionId, factor),
      userId,
    );
  }

  private whitelist(u: UserState, a: Address, at: number): Draft {
    a.usableFrom = at + COOLDOWN;
    const body = wire.addressWhitelisted(at, u.userId, a.address, a.asset.ticker);
    return this.draft(at, WALLET, 'address.whitelisted', body, u.userId);
  }

  /** The user's past, before the span: their devices and (unless a newcomer) long-whitelisted addresses. */
  private historySession(u: UserState, h: HistorySession): void {
    const r = u.rng;
    const userId = u.userId;
    const sessionId = `s-${++this.sessionSeq}`;
    const drafts: Draft[] = [
      this.draft(
        h.t,
        AUTH,
        'login.succeeded',
        wire.loginSucceeded(h.t, userId, sessionId, u.homeIp, h.device),
        userId,
      ),
    ];
    let c = h.t + r.int(3 * SECOND, 20 * SECOND);
    drafts.push(this.mfaPassed(c, userId, sessionId, u.factor));
    for (const a of h.addresses) {
      c += r.int(20 * SECOND, 2 * MINUTE);
      drafts.push(this.whitelist(u, a, c));
    }
    this.emit(drafts, r, u.lastArrival);
  }

  /** One ordinary session starting at `t`; returns the event time of its last event. */
  private liveSession(u: UserState, t: number): number {
    const r = u.rng;
    const userId = u.userId;
    const drafts: Draft[] = [];
    const newcomerFirst = u.newcomerPending;
    u.newcomerPending = false;
    // Sessions on a device the user never used before do not withdraw (exchanges hold those back), so
    // ordinary traffic does not trip the new-device rule.
    const newDevice = !newcomerFirst && r.chance(NEW_DEVICE_SHARE);
    const device = newDevice
      ? `d-${++this.deviceSeq}`
      : u.devices.length > 1 && r.chance(0.3)
        ? u.devices[1]!
        : u.devices[0]!;
    const ip = newDevice ? userIp(r) : r.chance(0.15) ? u.mobileIp : u.homeIp;
    let c = t;
    if (r.chance(0.03)) {
      drafts.push(
        this.draft(c, AUTH, 'login.failed', wire.loginFailed(c, userId, ip, device, 'bad_password'), userId),
      );
      c += r.int(4 * SECOND, 30 * SECOND);
    }
    const sessionId = `s-${++this.sessionSeq}`;
    drafts.push(
      this.draft(c, AUTH, 'login.succeeded', wire.loginSucceeded(c, userId, sessionId, ip, device), userId),
    );
    c += r.int(3 * SECOND, 20 * SECOND);
    if (r.chance(0.02)) {
      const body = wire.mfaSession('mfa.failed', c, userId, sessionId, u.factor);
      drafts.push(this.draft(c, AUTH, 'mfa.failed', body, userId));
      c += r.int(5 * SECOND, 25 * SECOND);
    }
    if (!newDevice && !newcomerFirst && r.chance(MFA_RESET_SHARE)) {
      // Lost authenticator: reset, re-enrol, then no withdrawal for 25 h, as the reset rule expects.
      c += r.int(30 * SECOND, 3 * MINUTE);
      drafts.push(this.draft(c, AUTH, 'mfa.reset', wire.mfaChange('mfa.reset', c, userId, u.factor), userId));
      c += r.int(MINUTE, 10 * MINUTE);
      u.factor = r.chance(0.3) ? 'webauthn' : 'totp';
      drafts.push(
        this.draft(c, AUTH, 'mfa.enrolled', wire.mfaChange('mfa.enrolled', c, userId, u.factor), userId),
      );
      u.noWithdrawUntil = c + COOLDOWN;
      c += r.int(5 * SECOND, MINUTE);
      drafts.push(this.mfaPassed(c, userId, sessionId, u.factor));
      return this.emit(drafts, r, u.lastArrival);
    }
    const mfaAt = c;
    const mfa = this.mfaPassed(c, userId, sessionId, u.factor);
    drafts.push(mfa);
    if (!newDevice && r.chance(u.pWithdraw)) {
      const late = r.chance(this.lateSessionShare);
      const count = !late && r.chance(PER_SESSION_TWO_WITHDRAWALS) ? 2 : 1;
      // Late sessions approve within seconds, so the MFA can still arrive after the approval and inside 20 s.
      let requestAt = mfaAt + (late ? r.int(10 * SECOND, 12 * SECOND) : r.int(10 * SECOND, 3 * MINUTE));
      for (let k = 0; k < count; k++) {
        const approval = this.ordinaryWithdrawal(u, sessionId, requestAt, late, drafts);
        if (approval === null) break;
        if (late) {
          mfa.lateOf = approval;
          mfa.meta.lateMfa = true;
          approval.meta.lateMfa = true;
        }
        c = approval.occ;
        requestAt = c + r.int(20 * SECOND, 100 * SECOND);
      }
    }
    if (!newDevice && (newcomerFirst || r.chance(0.015)) && u.addresses.length < 8) {
      const n = newcomerFirst ? r.int(1, 2) : 1;
      for (let k = 0; k < n; k++) {
        c += r.int(15 * SECOND, 90 * SECOND);
        const a = this.newAddress(r);
        u.addresses.push(a);
        drafts.push(this.whitelist(u, a, c));
      }
    }
    return this.emit(drafts, r, u.lastArrival);
  }

  /** Adds one withdrawal's events to `drafts`; returns its approval, or null when none may happen now. */
  private ordinaryWithdrawal(
    u: UserState,
    sessionId: string,
    requestAt: number,
    late: boolean,
    drafts: Draft[],
  ): Draft | null {
    const r = u.rng;
    if (requestAt < u.noWithdrawUntil) return null;
    const usable = u.addresses.filter((a) => a.usableFrom <= requestAt);
    if (usable.length === 0) return null;
    const dest = r.pick(usable);
    const approveAt = requestAt + (late ? r.int(400, 2_500) : r.int(500, 4_000));
    while (u.recentT.length > 0 && (u.recentT[0] ?? 0) <= approveAt - HOUR) {
      u.recentT.shift();
      u.recentUsd.shift();
    }
    let count = u.recentT.length;
    let spent = u.recentUsd.reduce((sum, x) => sum + x, 0);
    if (u.attackAt > approveAt - HOUR && u.attackAt <= approveAt) {
      count++;
      spent += u.attackUsd;
    }
    if (count >= VELOCITY_MAX_COUNT) return null;
    let usd = ordinaryUsd(r);
    const room = VELOCITY_MAX_USD - spent;
    if (usd > room) usd = room * r.range(0.2, 0.9);
    if (usd < ORDINARY_MIN_USD) return null;
    const { amount, amountUsd } = quote(dest.asset, usd);
    const withdrawalId = `wd-${++this.withdrawalSeq}`;
    const userId = u.userId;
    const w = { withdrawalId, sessionId, asset: dest.asset.ticker, amount, amountUsd, address: dest.address };
    drafts.push(
      this.withdrawalDraft(
        requestAt,
        'withdrawal.requested',
        wire.withdrawalRequested(requestAt, userId, w),
        userId,
        withdrawalId,
      ),
    );
    if (!late && r.chance(0.015)) {
      const at = requestAt + r.int(SECOND, 30 * SECOND);
      const reason = r.pick(['insufficient_funds', 'address_format', 'limit_exceeded']);
      const body = wire.withdrawalRejected(at, userId, withdrawalId, reason);
      drafts.push(this.withdrawalDraft(at, 'withdrawal.rejected', body, userId, withdrawalId));
      return null;
    }
    const approvedBody = wire.withdrawalApproved(approveAt, userId, w, ['password', u.factor], true);
    const approval = this.withdrawalDraft(
      approveAt,
      'withdrawal.approved',
      approvedBody,
      userId,
      withdrawalId,
    );
    drafts.push(approval);
    u.recentT.push(approveAt);
    u.recentUsd.push(amountUsd);
    const doneAt = approveAt + r.int(20 * SECOND, 10 * MINUTE);
    const doneBody = wire.withdrawalCompleted(doneAt, userId, withdrawalId);
    drafts.push(this.withdrawalDraft(doneAt, 'withdrawal.completed', doneBody, userId, withdrawalId));
    return approval;
  }

  private stepAttack(p: AttackPlan): null {
    const r = new Rng(this.o.seed, STREAM_ATTACK, 1, p.userIndex);
    const userId = this.users[p.userIndex]!.userId;
    const sessionId = `s-${++this.sessionSeq}`;
    const wid = p.withdrawalId;
    const fresh = p.whitelistAt !== null;
    const drafts: Draft[] = [
      this.draft(
        p.loginAt,
        AUTH,
        'login.succeeded',
        wire.loginSucceeded(p.loginAt, userId, sessionId, p.ip, p.device),
        userId,
        true,
      ),
    ];
    if (p.whitelistAt !== null) {
      const body = wire.addressWhitelisted(p.whitelistAt, userId, p.address, p.asset.ticker);
      const d = this.draft(p.whitelistAt, WALLET, 'address.whitelisted', body, userId, true);
      d.meta.freshAddress = true;
      drafts.push(d);
    }
    const { amount, amountUsd } = quote(p.asset, p.amountUsd);
    const w = { withdrawalId: wid, sessionId, asset: p.asset.ticker, amount, amountUsd, address: p.address };
    // The approver claims a verified second factor it never checked; only the factor list tells the truth.
    const approvedBody = wire.withdrawalApproved(p.approveAt, userId, w, ['password'], p.mfaVerified);
    const approved = this.withdrawalDraft(
      p.approveAt,
      'withdrawal.approved',
      approvedBody,
      userId,
      wid,
      true,
    );
    approved.meta.mfaVerified = p.mfaVerified;
    const completedBody = wire.withdrawalCompleted(p.completeAt, userId, wid);
    for (const d of [
      this.withdrawalDraft(
        p.requestAt,
        'withdrawal.requested',
        wire.withdrawalRequested(p.requestAt, userId, w),
        userId,
        wid,
        true,
      ),
      approved,
      this.withdrawalDraft(p.completeAt, 'withdrawal.completed', completedBody, userId, wid, true),
    ]) {
      d.meta.freshAddress = fresh;
      drafts.push(d);
    }
    this.emit(drafts, r, p.lastArrival);
    return null;
  }

  /**
   * Gives each draft an arrival time and buffers it. Within one producer and topic, arrival keeps event
   * order (one Kafka partition per user); ordinary events past the span's end are dropped. Returns the
   * event time of the last draft.
   */
  private emit(drafts: Draft[], r: Rng, lastArrival: [number, number]): number {
    drafts.sort((a, b) => a.occ - b.occ);
    const end = this.o.endMs;
    let deferred: Draft | null = null;
    for (const d of drafts) {
      if (!d.meta.attacked && d.occ >= end) continue;
      if (d.lateOf !== null) {
        deferred = d;
        continue;
      }
      this.place(d, max(d.occ + arrivalDelay(r), lastArrival[d.topic as Topic] + 1), lastArrival);
      if (deferred !== null && deferred.lateOf === d) {
        const after = d.t + 50;
        const room = max(1, min(3_000, deferred.occ + LATE_MFA_MAX_LAG - after));
        this.place(deferred, max(after + floor(r.float() * room), lastArrival[AUTH] + 1), lastArrival);
        deferred = null;
      }
    }
    // The approval fell past the end of the span: the MFA then simply arrives on time.
    if (deferred !== null) {
      delete deferred.meta.lateMfa;
      this.place(deferred, max(deferred.occ + arrivalDelay(r), lastArrival[AUTH] + 1), lastArrival);
    }
    return drafts[drafts.length - 1]?.occ ?? 0;
  }

  private place(d: Draft, arrival: number, lastArrival: [number, number]): void {
    lastArrival[d.topic as Topic] = arrival;
    d.t = arrival;
    d.seq = ++this.seq;
    d.meta.arrivalMs = arrival;
    this.buffer(d);
  }
}
