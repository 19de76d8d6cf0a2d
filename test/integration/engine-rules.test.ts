import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BulwarkEvent } from '../../libs/events';
import type { Flag } from '../../libs/engine';
import { DAY, EventFactory, HOUR, MINUTE, sourced } from '../../libs/engine/synthetic-traffic';
import { parseRulesConfig, type RulesConfig } from '../../libs/rules';
import { engineBackends, type Engine } from '../helpers/engines';
import { cleanRedis, testRedis, uniquePrefix } from '../helpers/env';

/** The other five rules at the edges of their windows, on every engine (the Redis one on the real Redis). */

const T0 = Date.parse('2022-01-17T00:00:00.000Z');
const GRACE = 30_000;
const SANCTIONED_ETH = '0x722122dF12D4e14e13Ac3b6895a86e84145b6967';
const SANCTIONED_USDT = '0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff';

const redis = testRedis();
/** One base prefix per file (one SCAN to clean up); each engine gets its own namespace under it. */
const base = uniquePrefix('engine-rules');
let namespaces = 0;
const listsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-engine-lists-'));
fs.writeFileSync(path.join(listsDir, 'sanctioned_addresses_ETH.txt'), `${SANCTIONED_ETH}\n`);
fs.writeFileSync(path.join(listsDir, 'sanctioned_addresses_USDT.txt'), `${SANCTIONED_USDT}\n`);
fs.writeFileSync(path.join(listsDir, 'sanctioned_addresses_XBT.txt'), '123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX\n');

afterAll(async () => {
  await cleanRedis(redis, base);
  redis.disconnect();
  fs.rmSync(listsDir, { recursive: true, force: true });
}, 60_000);

function config(list: unknown[]): RulesConfig {
  return parseRulesConfig({ rules: list }, { env: { BULWARK_SANCTIONS_DIR: listsDir } });
}

describe.each(engineBackends(redis))('$name', (backend) => {
  async function engine(cfg: RulesConfig): Promise<Engine> {
    const prefix = `${base}:${++namespaces}`;
    return backend.create(prefix, cfg);
  }

  /** Applies the events as one batch, closes everything, acks; returns every flag. */
  async function flagsOf(e: Engine, events: BulwarkEvent[]): Promise<Flag[]> {
    const res = await e.applyBatch(sourced(events));
    const closed = await e.closeDue(Number.MAX_SAFE_INTEGER);
    const all = [...res.flags, ...closed];
    await e.ackFlags(all);
    return all;
  }

  const ids = (flags: Flag[]) => flags.map((f) => f.flagId).sort();

  describe('new-address-cooldown', () => {
    const f = new EventFactory('cd');
    const addr = '0xAbCdEf0000000000000000000000000000000001';
    const approve = (u: string, at: number) =>
      f.approved(u, at, { withdrawalId: `w-${u}`, sessionId: 's', address: addr.toLowerCase() });

    it('flags at once an address whitelisted less than 24 h before; exactly 24 h before is past the cooldown', async () => {
      const e = await engine(config([{ kind: 'new-address-cooldown' }]));
      const inside = await e.applyBatch(sourced([f.whitelist('in', T0 - DAY + 1, addr), approve('in', T0)]));
      expect(ids(inside.flags)).toEqual(['new-address-cooldown:w-in']);
      expect(inside.flags[0]).toMatchObject({ severity: 'high', raisedAt: '2022-01-17T00:00:00.000Z' });
      expect(inside.flags[0]!.evidence).toMatchObject({
        address: addr.toLowerCase(),
        whitelistedAt: new Date(T0 - DAY + 1).toISOString(),
        ageMs: DAY - 1,
        cooldownMs: DAY,
      });
      expect(await flagsOf(e, [f.whitelist('out', T0 - DAY, addr), approve('out', T0)])).toEqual([]);
    });

    it('ignores other addresses and whitelistings after the approval; compares EVM addresses case-insensitively', async () => {
      const e = await engine(config([{ kind: 'new-address-cooldown' }]));
      expect(
        await flagsOf(e, [
          f.whitelist('a', T0 - HOUR, '0x00000000000000000000000000000000000000bb'),
          approve('a', T0),
        ]),
      ).toEqual([]);
      expect(await flagsOf(e, [approve('b', T0), f.whitelist('b', T0 + 1, addr)])).toEqual([]);
      expect(
        ids(
          await flagsOf(e, [
            f.whitelist('c', T0 - MINUTE, addr.toUpperCase().replace('0X', '0x')),
            approve('c', T0),
          ]),
        ),
      ).toEqual(['new-address-cooldown:w-c']);
    });

    it('uses the newest whitelisting of the address', async () => {
      const e = await engine(config([{ kind: 'new-address-cooldown' }]));
      const events = [
        f.whitelist('u', T0 - 3 * DAY, addr),
        f.whitelist('u', T0 - HOUR, addr),
        approve('u', T0),
      ];
      expect(ids(await flagsOf(e, events))).toEqual(['new-address-cooldown:w-u']);
    });

    it('a whitelisting later than the approval, seen before it, does not hide an earlier one', async () => {
      const e = await engine(config([{ kind: 'new-address-cooldown' }]));
      const events = [
        f.whitelist('u', T0 - HOUR, addr),
        f.whitelist('u', T0 + MINUTE, addr),
        approve('u', T0),
      ];
      const flags = await flagsOf(e, events);
      expect(ids(flags)).toEqual(['new-address-cooldown:w-u']);
      expect(flags[0]!.evidence).toMatchObject({ whitelistedAtMs: T0 - HOUR, ageMs: HOUR });
    });
  });

  describe('mfa-reset-withdrawal', () => {
    const f = new EventFactory('rs');
    const approve = (u: string, at = T0) => f.approved(u, at, { withdrawalId: `w-${u}`, sessionId: 's' });
    const cfg = () => config([{ kind: 'mfa-reset-withdrawal' }]);

    it('flags a reset in (approval - 24 h, approval], after the grace period', async () => {
      const e = await engine(cfg());
      await e.applyBatch(sourced([f.mfaReset('edge', T0 - DAY + 1), approve('edge')]));
      expect(await e.closeDue(T0 + GRACE - 1)).toEqual([]);
      const flags = await e.closeDue(T0 + GRACE);
      expect(ids(flags)).toEqual(['mfa-reset-withdrawal:w-edge']);
      expect(flags[0]).toMatchObject({ severity: 'high', raisedAt: new Date(T0 + GRACE).toISOString() });
      expect(flags[0]!.evidence).toMatchObject({
        change: 'mfa.reset',
        factor: 'totp',
        atMs: T0 - DAY + 1,
        ageMs: DAY - 1,
        windowMs: DAY,
      });
    });

    it('does not flag a reset or an enrolment exactly 24 h before, nor one after the approval', async () => {
      const e = await engine(cfg());
      expect(await flagsOf(e, [f.mfaReset('old', T0 - DAY), approve('old')])).toEqual([]);
      expect(await flagsOf(e, [f.mfaEnrolled('olden', T0 - DAY), approve('olden')])).toEqual([]);
      expect(await flagsOf(e, [approve('after'), f.mfaReset('after', T0 + 1)])).toEqual([]);
    });

    it('counts a new enrolment the same way, and a reset that arrives after the approval but within grace', async () => {
      const e = await engine(cfg());
      const enrolled = await flagsOf(e, [f.mfaEnrolled('en', T0 - MINUTE), approve('en')]);
      expect(enrolled[0]!.evidence).toMatchObject({ change: 'mfa.enrolled', factor: 'webauthn' });
      await e.applyBatch(sourced([approve('late')]));
      await e.applyBatch(sourced([f.mfaReset('late', T0 - HOUR)]));
      expect(ids(await e.closeDue(T0 + GRACE))).toEqual(['mfa-reset-withdrawal:w-late']);
    });
  });

  describe('new-device-withdrawal', () => {
    const f = new EventFactory('nd');
    const cfg = () => config([{ kind: 'new-device-withdrawal' }]);
    const approve = (u: string, session = 'sess', at = T0) =>
      f.approved(u, at, { withdrawalId: `w-${u}`, sessionId: session });

    it('flags a login from a never-seen device less than 30 min before; exactly 30 min before does not', async () => {
      const e = await engine(cfg());
      const flags = await flagsOf(e, [
        f.login('edge', T0 - 30 * MINUTE + 1, 'sess', 'dev-x'),
        approve('edge'),
      ]);
      expect(ids(flags)).toEqual(['new-device-withdrawal:w-edge']);
      expect(flags[0]).toMatchObject({ severity: 'medium', raisedAt: new Date(T0 + GRACE).toISOString() });
      expect(flags[0]!.evidence).toMatchObject({
        sessionId: 'sess',
        deviceId: 'dev-x',
        loginAt: new Date(T0 - 30 * MINUTE + 1).toISOString(),
        deviceLastSeenAtMs: null,
      });
      expect(await flagsOf(e, [f.login('old', T0 - 30 * MINUTE, 'sess', 'dev-x'), approve('old')])).toEqual(
        [],
      );
    });

    it('a device seen exactly 90 days before the login is known; 1 ms earlier it is new again', async () => {
      const e = await engine(cfg());
      const login = T0 - 5 * MINUTE;
      const known = [
        f.login('k', login - 90 * DAY, 'old', 'dev'),
        f.login('k', login, 'sess', 'dev'),
        approve('k'),
      ];
      expect(await flagsOf(e, known)).toEqual([]);
      const stale = [
        f.login('s', login - 90 * DAY - 1, 'old', 'dev'),
        f.login('s', login, 'sess', 'dev'),
        approve('s'),
      ];
      const flags = await flagsOf(e, stale);
      expect(ids(flags)).toEqual(['new-device-withdrawal:w-s']);
      expect(flags[0]!.evidence).toMatchObject({ deviceLastSeenAtMs: login - 90 * DAY - 1 });
    });

    it("only the approval session's login counts, and a login that arrives after the approval still does", async () => {
      const e = await engine(cfg());
      expect(await flagsOf(e, [f.login('o', T0 - MINUTE, 'another', 'dev-new'), approve('o')])).toEqual([]);
      await e.applyBatch(sourced([approve('late')]));
      await e.applyBatch(sourced([f.login('late', T0 - MINUTE, 'sess', 'dev-new')]));
      expect(ids(await e.closeDue(T0 + GRACE))).toEqual(['new-device-withdrawal:w-late']);
    });

    it('an earlier login from the device that arrives after the session login, within grace, makes it known', async () => {
      const e = await engine(cfg());
      await e.applyBatch(sourced([f.login('k', T0 - 5 * MINUTE, 'sess', 'dev'), approve('k')]));
      await e.applyBatch(sourced([f.login('k', T0 - 10 * DAY, 'old', 'dev')]));
      expect(await e.closeDue(T0 + GRACE)).toEqual([]);
    });

    it('a sighting after the session login is not one before it: the device is still new', async () => {
      const e = await engine(cfg());
      const flags = await flagsOf(e, [
        f.login('n', T0 - MINUTE, 'other', 'dev'),
        f.login('n', T0 - 5 * MINUTE, 'sess', 'dev'),
        approve('n'),
      ]);
      expect(ids(flags)).toEqual(['new-device-withdrawal:w-n']);
      expect(flags[0]!.evidence).toMatchObject({ deviceLastSeenAtMs: null });
    });
  });

  describe('velocity', () => {
    const f = new EventFactory('vel');
    const cfg = () => config([{ kind: 'velocity' }]);
    const approve = (u: string, at: number, w: string, amountUsd = 100) =>
      f.approved(u, at, { withdrawalId: w, sessionId: 's', amountUsd });

    it('flags the 6th approved withdrawal within an hour, at once; 5 do not', async () => {
      const e = await engine(cfg());
      const five = [0, 1, 2, 3, 4].map((i) => approve('u', T0 + i * MINUTE, `w${i}`));
      expect((await e.applyBatch(sourced(five))).flags).toEqual([]);
      const sixth = await e.applyBatch(sourced([approve('u', T0 + HOUR - 1, 'w5')]));
      expect(ids(sixth.flags)).toEqual(['velocity:w5']);
      expect(sixth.flags[0]).toMatchObject({ severity: 'medium', raisedAt: sixth.flags[0]!.occurredAt });
      expect(sixth.flags[0]!.evidence).toMatchObject({
        count: 6,
        maxCount: 5,
        exceeded: 'count',
        windowMs: HOUR,
      });
    });

    it('the window is (t - 1 h, t]: an approval exactly an hour before no longer counts', async () => {
      const e = await engine(cfg());
      const events = [0, 1, 2, 3, 4].map((i) => approve('u', T0 + i * MINUTE, `w${i}`));
      events.push(approve('u', T0 + HOUR, 'w5'));
      expect(await flagsOf(e, events)).toEqual([]);
    });

    it('counts a withdrawal approved twice once', async () => {
      const e = await engine(cfg());
      const events = [0, 1, 2, 3, 4].map((i) => approve('u', T0 + i * MINUTE, `w${i}`));
      events.push(approve('u', T0 + 10 * MINUTE, 'w4'));
      expect(await flagsOf(e, events)).toEqual([]);
    });

    it('a withdrawal approved again hours after its first approval is still one, counted at the first', async () => {
      const e = await engine(cfg());
      const later = T0 + 2 * HOUR;
      const events = [approve('u', T0, 'w0')];
      for (let i = 1; i <= 4; i++) events.push(approve('u', later + i * MINUTE, `w${i}`));
      events.push(approve('u', later + 5 * MINUTE, 'w0'), approve('u', later + 6 * MINUTE, 'w5'));
      // w1..w5 lie in w5's hour; w0 was approved two hours earlier.
      expect(await flagsOf(e, events)).toEqual([]);
      expect(ids(await flagsOf(e, [approve('u', later + 7 * MINUTE, 'w6')]))).toEqual(['velocity:w6']);
    });

    it('flags more than 100,000 USD in the hour; exactly 100,000 does not', async () => {
      const e = await engine(cfg());
      expect(await flagsOf(e, [approve('a', T0, 'a1', 50_000), approve('a', T0 + 1, 'a2', 50_000)])).toEqual(
        [],
      );
      const over = await flagsOf(e, [
        approve('b', T0, 'b1', 50_000),
        approve('b', T0 + HOUR - 1, 'b2', 50_000.01),
      ]);
      expect(ids(over)).toEqual(['velocity:b2']);
      expect(over[0]!.evidence).toMatchObject({
        count: 2,
        sumUsd: 100_000.01,
        maxUsd: 100_000,
        exceeded: 'usd',
      });
      expect(
        await flagsOf(e, [approve('c', T0, 'c1', 60_000), approve('c', T0 + HOUR, 'c2', 60_000)]),
      ).toEqual([]);
    });

    it('runs a second instance of the kind with its own params and severity', async () => {
      const e = await engine(
        config([
          { kind: 'velocity' },
          {
            id: 'velocity-large',
            kind: 'velocity',
            severity: 'high',
            params: { windowMs: HOUR, maxCount: 1, maxUsd: 500_000 },
          },
        ]),
      );
      const flags = await flagsOf(e, [approve('u', T0, 'w1', 600_000)]);
      expect(flags.map((x) => [x.flagId, x.severity]).sort()).toEqual([
        ['velocity-large:w1', 'high'],
        ['velocity:w1', 'medium'],
      ]);
      expect(ids(await flagsOf(e, [approve('v', T0, 'x1', 10), approve('v', T0 + 1, 'x2', 10)]))).toEqual([
        'velocity-large:x2',
      ]);
    });
  });

  describe('sanctioned-destination', () => {
    const f = new EventFactory('sd');
    const approve = (u: string, address: string, asset = 'ETH') =>
      f.approved(u, T0, { withdrawalId: `w-${u}`, sessionId: 's', address, asset });

    it('flags at once an address on any list, compared as its chain compares it', async () => {
      const e = await engine(config([{ kind: 'sanctioned-destination' }]));
      const res = await e.applyBatch(
        sourced([
          approve('eth', SANCTIONED_ETH.toLowerCase()),
          approve('usdt', SANCTIONED_USDT.toUpperCase().replace('0X', '0x'), 'ETH'),
          approve('btc', '123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX', 'BTC'),
          approve('btc-case', '123wbudmsjv4gctdvez6qq6z8nxskrj4kx', 'BTC'),
          approve('clean', '0x00000000000000000000000000000000000000cc'),
        ]),
      );
      expect(ids(res.flags)).toEqual([
        'sanctioned-destination:w-btc',
        'sanctioned-destination:w-eth',
        'sanctioned-destination:w-usdt',
      ]);
      const usdt = res.flags.find((x) => x.userId === 'usdt')!;
      expect(usdt).toMatchObject({ severity: 'critical', raisedAt: usdt.occurredAt });
      expect(usdt.evidence).toMatchObject({ lists: ['USDT'], normalisedAddress: SANCTIONED_USDT });
    });
  });

  describe('all default rules together', () => {
    it('one approval can raise several rules, each once, and redelivery adds none', async () => {
      const e = await engine(
        config([
          { kind: 'mfa-missing' },
          { kind: 'new-address-cooldown' },
          { kind: 'mfa-reset-withdrawal' },
          { kind: 'new-device-withdrawal' },
          { kind: 'velocity' },
          { kind: 'sanctioned-destination' },
        ]),
      );
      const f = new EventFactory('all');
      const events: BulwarkEvent[] = [
        f.mfaReset('u', T0 - HOUR),
        f.login('u', T0 - 10 * MINUTE, 's', 'attacker-device'),
        f.whitelist('u', T0 - 5 * MINUTE, SANCTIONED_ETH),
        f.approved('u', T0, {
          withdrawalId: 'w',
          sessionId: 's',
          address: SANCTIONED_ETH,
          amountUsd: 250_000,
          mfaVerified: false,
        }),
      ];
      const first = await flagsOf(e, events);
      expect(ids(first)).toEqual([
        'mfa-missing:w',
        'mfa-reset-withdrawal:w',
        'new-address-cooldown:w',
        'new-device-withdrawal:w',
        'sanctioned-destination:w',
        'velocity:w',
      ]);
      const again = await flagsOf(e, events);
      expect(again).toEqual([]);
      const second = await flagsOf(e, [
        f.approved('u', T0 + 1000, {
          withdrawalId: 'w',
          sessionId: 's',
          address: SANCTIONED_ETH,
          mfaVerified: false,
        }),
      ]);
      expect(second).toEqual([]);
    });
  });
});
