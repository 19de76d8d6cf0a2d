import { parseControlKeys } from './control-keys';
import { signFields } from './control-keys';
import { chooseRestore, controlValue, decideStatus, parseSnapshot } from './snapshot';

const snap = (scope: string, state: string, extra = {}) =>
  JSON.stringify({
    scope,
    state,
    since: '2022-01-17T00:00:00.000Z',
    reason: 'r',
    trigger: 't',
    by: 'b',
    version: 1,
    ...extra,
  });

describe('snapshots and the fail-closed status decision', () => {
  it('parses well-formed snapshots only', () => {
    expect(parseSnapshot(snap('global', 'open'))).toMatchObject({
      scope: 'global',
      state: 'open',
      version: 1,
    });
    expect(parseSnapshot(null)).toBeNull();
    expect(parseSnapshot('nope')).toBeNull();
    expect(parseSnapshot(snap('global', 'closed'))).toBeNull();
    expect(parseSnapshot(snap('global', 'open', { version: '1' }))).toBeNull();
  });

  it('allows only when global is readable and open and the asset is not halted', () => {
    expect(decideStatus(snap('global', 'open'), null, 'ETH')).toMatchObject({
      allowed: true,
      scope: 'asset:ETH',
      state: 'open',
    });
    expect(decideStatus(snap('global', 'open'), snap('asset:ETH', 'open'), 'ETH').allowed).toBe(true);
    expect(decideStatus(snap('global', 'open'), null)).toMatchObject({ allowed: true, scope: 'global' });
  });

  it('refuses when global is halted, missing or corrupt, or the asset is halted or corrupt', () => {
    expect(decideStatus(snap('global', 'halted'), snap('asset:ETH', 'open'), 'ETH')).toMatchObject({
      allowed: false,
      scope: 'global',
      state: 'halted',
    });
    expect(decideStatus(null, snap('asset:ETH', 'open'), 'ETH')).toMatchObject({
      allowed: false,
      state: 'unknown',
    });
    expect(decideStatus('garbage', null, 'ETH')).toMatchObject({ allowed: false, state: 'unknown' });
    expect(decideStatus(snap('global', 'open'), snap('asset:ETH', 'halted'), 'ETH')).toMatchObject({
      allowed: false,
      scope: 'asset:ETH',
      state: 'halted',
    });
    expect(decideStatus(snap('global', 'open'), '{}', 'ETH')).toMatchObject({
      allowed: false,
      scope: 'asset:ETH',
      state: 'unknown',
    });
  });

  it('writes the control topic value with exactly the contract fields, signed', () => {
    const keys = parseControlKeys(`k1:${Buffer.alloc(32, 7).toString('base64')}`, 'test');
    const value = JSON.parse(
      controlValue(
        { ...JSON.parse(snap('global', 'halted')), at: 'x', crossedAt: null, previous: 'open' },
        keys,
      ),
    );
    expect(Object.keys(value)).toEqual([
      'scope',
      'state',
      'since',
      'reason',
      'trigger',
      'by',
      'version',
      'at',
      'crossedAt',
      'kid',
      'sig',
    ]);
    expect(value.kid).toBe('k1');
  });

  describe('chooseRestore', () => {
    const keys = parseControlKeys(`k1:${Buffer.alloc(32, 5).toString('base64')}`, 'test');
    const now = '2026-01-01T00:00:00.000Z';
    const signed = (state: string, version: number) => ({
      key: 'global',
      value: JSON.stringify(
        signFields(keys, {
          scope: 'global',
          state,
          since: 's',
          reason: 'r',
          trigger: 't',
          by: 'b',
          version,
          at: 's',
          crossedAt: null,
        }),
      ),
    });
    const forged = {
      key: 'global',
      value: JSON.stringify({ scope: 'global', state: 'open', version: 1000 }),
    };

    it('never opens on a forged higher version: the genuine halt is kept', () => {
      const r = chooseRestore([signed('open', 0), signed('halted', 1), forged], keys, now);
      expect(r.choices).toEqual([
        { failClosed: false, snapshot: expect.objectContaining({ state: 'halted', version: 1 }) },
      ]);
      expect(r.rejected).toEqual([{ reason: 'unsigned', scope: 'global' }]);
    });

    it('halts (fail closed) where only a forgery remains, or a forgery follows an open state', () => {
      for (const msgs of [[forged], [signed('open', 2), forged]]) {
        const [c] = chooseRestore(msgs, keys, now).choices;
        expect(c).toMatchObject({
          failClosed: true,
          snapshot: { scope: 'global', state: 'halted', at: now },
        });
      }
      const bad = { key: 'global', value: signed('open', 5).value.replace('"open"', '"halted"') };
      expect(chooseRestore([bad], keys, now).rejected).toEqual([
        { reason: 'bad-signature', scope: 'global' },
      ]);
    });

    it('takes the highest verified version otherwise', () => {
      const [c] = chooseRestore([signed('halted', 1), signed('open', 2)], keys, now).choices;
      expect(c).toMatchObject({ failClosed: false, snapshot: { state: 'open', version: 2 } });
    });
  });
});
